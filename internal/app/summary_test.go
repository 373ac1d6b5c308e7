package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestSummaryFailedFiles: a file that could not be opened is not counted as read; it is named
// once, with its reason, beside the count (it once said "Files read: 3" when one of three failed).
func TestSummaryFailedFiles(t *testing.T) {
	dir := t.TempDir()
	zip := filepath.Join(dir, "c.log")
	if err := os.WriteFile(zip, []byte("PK\x03\x04"+strings.Repeat("x", 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, errb := testIO()
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json"}, Paths: []string{incident, incident + "x", zip}})
	if err != nil { // incident+"x" does not exist: Expand reports it, it is not one of the files
		t.Fatalf("scan: %v\n%s", err, errb)
	}
	got := errb.String()
	for _, want := range []string{
		"Files read:        1 of 2 (",
		"; 1 could not be opened\n  " + zip + ": open " + zip + ": a zip archive: unsupported",
		"  unreadable: open " + incident + "x: no such file", // a path that matched nothing stays apart
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "a zip archive"); n != 2 { // the warning, and the summary once
		t.Errorf("the zip's error appears %d times, want 2 (warning, summary):\n%s", n, got)
	}
}

// TestSummaryInternalError: a file a reader panicked on is counted apart, with how to report it;
// the stack only with --verbose.
func TestSummaryInternalError(t *testing.T) {
	r := &report.Result{Files: []sources.FileStats{
		{File: "a.log", Format: "vault", Lines: 10, Parsed: 10},
		{File: "b.log", Format: "vault", Lines: 3, ReadError: "read b.log: internal error after line 3: boom (a bug in vaultsentry, please report it; ...)"},
		{File: "c.log", Format: "vault", Lines: 4, Parsed: 3, Malformed: 1, ReadError: "read c.log: unexpected EOF"},
	}}
	panics := []*sources.PanicError{{File: "b.log", Value: "boom", Stack: []byte("goroutine 7 [running]:\nmain.f()\n\t/src/x.go:1 +0x1\n")}}
	for _, verbose := range []bool{false, true} {
		var w bytes.Buffer
		writeSummary(&w, r, panics, time.Second, verbose)
		got := w.String()
		for _, want := range []string{
			"Files read:        2 of 3 (0 B); 1 failed with an internal error\n  b.log: read b.log: internal error after line 3: boom",
			"Internal error:    a bug in vaultsentry; the other files were analysed. Please report it at " + issuesURL,
			"  c.log: read c.log: unexpected EOF", // read in part: counted as read, the error listed
		} {
			if !strings.Contains(got, want) {
				t.Errorf("verbose=%v: summary lacks %q:\n%s", verbose, want, got)
			}
		}
		if strings.Contains(got, "goroutine") {
			t.Errorf("verbose=%v: the summary prints the stack:\n%s", verbose, got)
		}
		if n := strings.Count(got, "internal error after line 3"); n != 1 {
			t.Errorf("verbose=%v: b.log's error is listed %d times:\n%s", verbose, n, got)
		}
		hint := " with the stack --verbose prints"
		if verbose {
			hint = " with the stack printed above"
		}
		if !strings.Contains(got, issuesURL+hint+"\n") {
			t.Errorf("verbose=%v: summary lacks %q:\n%s", verbose, hint, got)
		}
	}

	var w bytes.Buffer
	writePanics(&w, []*sources.PanicError{{File: "b\x1b[31m.log", Value: "boom", Stack: panics[0].Stack}})
	want := "internal error reading b\\x1b[31m.log: boom (a bug in vaultsentry; please report it at " + issuesURL + " with this stack):\n" +
		"  goroutine 7 [running]:\n  main.f()\n      /src/x.go:1 +0x1\n"
	if w.String() != want {
		t.Errorf("writePanics:\n%q\nwant\n%q", w.String(), want)
	}
}
