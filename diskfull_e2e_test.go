package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// End-to-end tests of a full disk, with the real binary (built by TestMain in
// main_test.go): a report or a baseline that does not fit fails the run with exit 3 and says
// which part was not written, and the file it would have replaced is as it was.

// fullDisk mounts a 64 KiB tmpfs for the test and returns its directory; files is called to put
// what the test needs there (a previous report, a baseline) before the rest of the space is
// filled. The test is skipped unless it runs as root on Linux and mount works: a real full
// file system is the only honest way to get ENOSPC from write(2) and fsync(2).
func fullDisk(t *testing.T, files func(dir string)) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a full disk is simulated with a Linux tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; run the tests as root to check a full disk")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount a tmpfs (needed to check a full disk): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
			exec.Command("umount", "-l", dir).Run() // do not leave it mounted over the test's temp dir
		}
	})
	files(dir)
	fill(t, dir)
	return dir
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for range 1 << 10 { // 4 MiB at most: far more than the file system holds
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return
		}
	}
	t.Fatalf("fill %s: 4 MiB written and still not full: is it the 64 KiB tmpfs?", dir)
}

// noTempFiles fails if a temporary file (report or baseline) is left in dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left on the full disk: %s", e.Name())
		}
	}
}

// completeReport fails unless path holds a whole JSON report with findings.
func completeReport(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var doc struct{ Findings []json.RawMessage }
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Findings) == 0 {
		t.Fatalf("the report is not a complete JSON report with findings (%v): %.300s", err, data)
	}
}

// TestDiskFull: a scan whose -o report does not fit, and one whose baseline does not.
func TestDiskFull(t *testing.T) {
	wd, _ := os.Getwd()
	input := filepath.Join(wd, "testdata", "vault", "incident.jsonl")
	small := filepath.Join(wd, "testdata", "vault", "openbao-capture2-audit.log")
	prevReport := []byte("{\"previous\": \"report\"}\n")
	work := t.TempDir() // the working directory of the runs: no vaultsentry.yaml there

	// learn writes a baseline at path from a small log and returns its bytes.
	learn := func(t *testing.T, path string) []byte {
		t.Helper()
		if _, stderr, code := run(t, work, "baseline", "learn", "--baseline", path, small); code != 0 {
			t.Fatalf("learn the starting baseline: exit %d\n%s", code, stderr)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	t.Run("report", func(t *testing.T) {
		disk := fullDisk(t, func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "report.json"), prevReport, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		report := filepath.Join(disk, "report.json")
		_, stderr, code := run(t, work, "scan", "--format", "json", "-o", report, input)
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		for _, want := range []string{"error: write report " + report + ": ", "no space left on device", "the previous file is intact"} {
			if !bytes.Contains(stderr, []byte(want)) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if got, err := os.ReadFile(report); err != nil || !bytes.Equal(got, prevReport) {
			t.Errorf("the previous report was replaced or damaged (%v): %.200q", err, got)
		}
		noTempFiles(t, disk)
	})

	t.Run("report with a baseline update", func(t *testing.T) {
		// The report does not fit: the baseline, on a disk with room, is not updated either, or
		// the next run would judge the same events against a history that already holds them.
		bl := filepath.Join(t.TempDir(), "history.vsb")
		before := learn(t, bl)
		disk := fullDisk(t, func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, "report.json"), prevReport, 0o644); err != nil {
				t.Fatal(err)
			}
		})
		report := filepath.Join(disk, "report.json")
		_, stderr, code := run(t, work, "scan", "--format", "json", "-o", report, "--baseline", bl, "--update-baseline", input)
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		for _, want := range []string{"error: write report " + report + ": ", "no space left on device", "the baseline was not updated"} {
			if !bytes.Contains(stderr, []byte(want)) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if got, err := os.ReadFile(report); err != nil || !bytes.Equal(got, prevReport) {
			t.Errorf("the previous report was replaced or damaged (%v): %.200q", err, got)
		}
		if after, err := os.ReadFile(bl); err != nil || !bytes.Equal(before, after) {
			t.Errorf("the baseline changed (%v)", err)
		}
		noTempFiles(t, disk)
	})

	t.Run("baseline", func(t *testing.T) {
		var before []byte
		disk := fullDisk(t, func(dir string) { before = learn(t, filepath.Join(dir, "history.vsb")) })
		bl := filepath.Join(disk, "history.vsb")
		report := filepath.Join(t.TempDir(), "report.json")
		_, stderr, code := run(t, work, "scan", "--format", "json", "-o", report, "--baseline", bl, "--update-baseline", input)
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		for _, want := range []string{"report written, baseline not saved", "no space left on device", "the previous baseline is intact"} {
			if !bytes.Contains(stderr, []byte(want)) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		completeReport(t, report)
		if after, err := os.ReadFile(bl); err != nil || !bytes.Equal(before, after) {
			t.Errorf("the previous baseline changed (%v)", err)
		}
		noTempFiles(t, disk)
	})
}
