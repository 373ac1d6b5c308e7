package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// End-to-end tests of the terminal table with the real binary (built by TestMain): the width
// comes from the terminal (a PTY of 80 and 120 columns) or from COLUMNS when piped.

// tableSample is a sample whose findings have several severities and come in time order.
const tableSample = "testdata/vault/incident.jsonl"

// ansiSeq matches the colour sequences the table writes on a terminal.
var ansiSeq = regexp.MustCompile("\x1b\\[[0-9;]*m")

// runPTY runs vaultsentry with stdout on a PTY of cols columns and returns what the terminal
// showed (colour sequences kept, CR LF turned back into LF) and stderr, which stays a pipe.
func runPTY(t *testing.T, cols uint16, env []string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: cols})
	if err != nil {
		t.Skipf("no PTY here: %v", err)
	}
	defer ptmx.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(&out, ptmx) // ends with EIO once the child has closed the terminal
	}()
	err = cmd.Wait()
	<-done
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run vaultsentry: %v", err)
	}
	if bytes.Contains(errb.Bytes(), []byte("panic")) {
		t.Fatalf("vaultsentry panicked:\n%s", errb.Bytes())
	}
	return bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n")), errb.Bytes()
}

// saveShot writes a capture under $VAULTSENTRY_SHOTS when set, else in the test's temporary
// directory, and logs where.
func saveShot(t *testing.T, name string, b []byte) {
	t.Helper()
	dir := os.Getenv("VAULTSENTRY_SHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("capture: %s", p)
}

// checkTable asserts what the issue asks of the table at a width: no line wider, the summary
// first, rows worst first. It returns the severities of the rows.
func checkTable(t *testing.T, width int, out []byte, severityOrder bool) []analyze.Severity {
	t.Helper()
	plain := ansiSeq.ReplaceAllString(string(out), "")
	lines := strings.Split(strings.TrimSuffix(plain, "\n"), "\n")
	for i, l := range lines {
		if w := twwidth.Width(l); w > width {
			t.Errorf("line %d is %d columns, the terminal %d: %q", i+1, w, width, l)
		}
	}
	if !regexp.MustCompile(`^\d+ findings?: (\d+ (critical|high|medium|low|info)(, )?)+; \d+ identit(y|ies)(; \d+ secrets? read by them| read \d+ secrets?)$`).MatchString(lines[0]) {
		t.Errorf("the first line is not the summary: %q", lines[0])
	}
	var sevs []analyze.Severity
	for _, l := range lines[1:] {
		word, _, _ := strings.Cut(l, " ")
		if s, err := analyze.ParseSeverity(word); err == nil && word == strings.ToUpper(word) {
			sevs = append(sevs, s)
		}
	}
	if len(sevs) == 0 {
		t.Fatalf("no rows:\n%s", plain)
	}
	for i := 1; severityOrder && i < len(sevs); i++ {
		if sevs[i] > sevs[i-1] {
			t.Errorf("row %d is %s after %s: not in severity order", i+1, sevs[i], sevs[i-1])
		}
	}
	return sevs
}

// TestTableFitsTerminal runs a scan under PTYs of 80 and 120 columns and piped with COLUMNS=80.
func TestTableFitsTerminal(t *testing.T) {
	for _, cols := range []uint16{80, 120} {
		t.Run("pty "+strconv.Itoa(int(cols)), func(t *testing.T) {
			out, _ := runPTY(t, cols, []string{"NO_COLOR=", "COLUMNS="}, "scan", tableSample)
			saveShot(t, "scan-pty-"+strconv.Itoa(int(cols))+".ansi", out)
			saveShot(t, "scan-pty-"+strconv.Itoa(int(cols))+".txt", []byte(ansiSeq.ReplaceAllString(string(out), "")))
			if cols == 80 && !bytes.Contains(out, []byte("\x1b[")) {
				t.Error("no colour on a terminal")
			}
			checkTable(t, int(cols), out, true)
		})
	}
	t.Run("COLUMNS=80 piped", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), "scan", tableSample)
		cmd.Env = append(os.Environ(), "COLUMNS=80", "NO_COLOR=")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		saveShot(t, "scan-columns-80.txt", out)
		if bytes.Contains(out, []byte("\x1b[")) {
			t.Error("colour when piped")
		}
		checkTable(t, 80, out, true)
	})
	t.Run("piped without COLUMNS is 120 wide", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), "scan", "--sort", "time", "--group-by", "identity", tableSample)
		cmd.Env = append(os.Environ(), "COLUMNS=")
		out, _ := cmd.Output()
		checkTable(t, 120, out, false)
		if !bytes.Contains(out, []byte("\nidentity ")) {
			t.Error("--group-by identity: no group heading")
		}
	})
	t.Run("bad --sort is a usage error", func(t *testing.T) {
		_, errb, code := run(t, ".", "scan", "--sort", "worst", tableSample)
		if code != 2 || !bytes.Contains(errb, []byte("hint: pass --sort severity|time")) {
			t.Errorf("exit %d, stderr %s", code, errb)
		}
	})
}

// TestTableScenarioShots renders the practice scenario at 80 and 120 columns under a PTY when
// VAULTSENTRY_SCENARIO names its directory (it is not part of the repository), and checks it
// like the sample.
func TestTableScenarioShots(t *testing.T) {
	dir := os.Getenv("VAULTSENTRY_SCENARIO")
	if dir == "" {
		t.Skip("VAULTSENTRY_SCENARIO is not set")
	}
	files := []string{"vault-main/audit.log-20260923.gz", "vault-main/audit.log", "vault-backoffice/audit.log", "openbao-cards/audit.log"}
	args := []string{"scan", "--config", filepath.Join(dir, "vaultsentry.yaml"), "--learn-until", "2026-09-23T12:00:00Z"}
	for _, f := range files {
		args = append(args, filepath.Join(dir, f))
	}
	for _, cols := range []uint16{80, 120} {
		out, errb := runPTY(t, cols, []string{"NO_COLOR=", "COLUMNS="}, args...)
		saveShot(t, "scenario-pty-"+strconv.Itoa(int(cols))+".ansi", out)
		saveShot(t, "scenario-pty-"+strconv.Itoa(int(cols))+".txt", []byte(ansiSeq.ReplaceAllString(string(out), "")))
		saveShot(t, "scenario-pty-"+strconv.Itoa(int(cols))+".stderr.txt", errb)
		checkTable(t, int(cols), out, true)
	}
}
