package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteOutputReplacesWhole: the file appears only complete; a render that fails, or a
// context that ends during it, leaves the previous file and no temporary file.
func TestWriteOutputReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	prev := []byte("previous report\n")
	os.WriteFile(path, prev, 0o640)
	noTemp := func(t *testing.T) {
		t.Helper()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	}
	same := func(t *testing.T) {
		t.Helper()
		if got, _ := os.ReadFile(path); !bytes.Equal(got, prev) {
			t.Errorf("previous file changed: %q", got)
		}
		noTemp(t)
	}

	diskFull := errors.New("no space left on device")
	err := writeOutput(context.Background(), nil, path, "report", func(w io.Writer) error {
		io.WriteString(w, "half a rep")
		return diskFull
	})
	var re *RuntimeError
	if !errors.As(err, &re) || !errors.Is(err, diskFull) || !strings.Contains(re.Hint, "previous file is intact") {
		t.Errorf("failed render: %v", err)
	}
	same(t)

	ctx, cancel := context.WithCancel(context.Background())
	err = writeOutput(ctx, nil, path, "report", func(w io.Writer) error {
		io.WriteString(w, "first part")
		cancel()
		_, err := io.WriteString(w, "second part")
		return err
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while writing the report") {
		t.Errorf("interrupted render: %v", err)
	}
	same(t)

	if err := writeOutput(context.Background(), nil, path, "report", func(w io.Writer) error {
		_, err := io.WriteString(w, "new report\n")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new report\n" {
		t.Errorf("new report: %q", got)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the replaced file's 0640", st.Mode().Perm())
	}
	noTemp(t)
}

// TestWriteOutputStdout: standard output gets the output in one write once complete; nothing
// when interrupted; a failed write is a RuntimeError.
func TestWriteOutputStdout(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	err := writeOutput(ctx, &out, "-", "report", func(w io.Writer) error {
		io.WriteString(w, "partial")
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("interrupted: %v, %q written", err, out.String())
	}
	closed := errors.New("standard output is closed")
	err = writeOutput(context.Background(), failWriter{closed}, "", "report", func(w io.Writer) error {
		_, err := io.WriteString(w, "report")
		return err
	})
	var re *RuntimeError
	if !errors.As(err, &re) || !errors.Is(err, closed) {
		t.Errorf("closed stdout: %v", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestScanCancelled: a cancelled context ends a scan as interrupted, before anything is written.
func TestScanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, out, _ := testIO()
	dir := t.TempDir()
	bl := filepath.Join(dir, "history.vsb")
	_, err := Scan(ctx, ScanRequest{Options: Options{IO: s, Format: "json", Quiet: true, BaselinePath: bl, UpdateBaseline: true},
		Paths: []string{incident}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("err %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("report written: %q", out.String())
	}
	if _, err := os.Stat(bl); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("baseline written: %v", err)
	}
}

// TestScanOutputs: one analysis, one file per output in its format; an output that cannot be
// written does not cost the others, and the error names it.
func TestScanOutputs(t *testing.T) {
	dir := t.TempDir()
	s, out, _ := testIO()
	outs := []Output{
		{Path: filepath.Join(dir, "r.html"), Format: "html"},
		{Path: filepath.Join(dir, "missing", "f.json"), Format: "json"},
		{Path: filepath.Join(dir, "f.sarif"), Format: "sarif"},
	}
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: s, Quiet: true, Outputs: outs}, Paths: []string{incident}})
	var re *RuntimeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "1 of 3 report outputs not written ("+outs[1].Path+")") {
		t.Fatalf("err %v", err)
	}
	for path, want := range map[string]string{outs[0].Path: "<html", outs[2].Path: `"version": "2.1.0"`} {
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, lacks %q", path, err, want)
		}
	}
	if out.Len() != 0 {
		t.Errorf("standard output written: %q", out.String())
	}
}
