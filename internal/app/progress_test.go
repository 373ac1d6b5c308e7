package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
)

// testIO returns buffered streams.
func testIO() (IO, *bytes.Buffer, *bytes.Buffer) {
	out, errb := &bytes.Buffer{}, &bytes.Buffer{}
	return IO{In: &bytes.Buffer{}, Out: out, Err: errb}, out, errb
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.log")
	os.WriteFile(file, bytes.Repeat([]byte("x"), 1000), 0o644)
	ins := []sources.Input{{Name: file}}

	s, _, _ := testIO()
	if newProgress(s, false, false, ins) != nil {
		t.Error("no progress when stderr is not a terminal and --verbose is off")
	}
	s.ErrTTY = true
	if newProgress(s, true, false, ins) != nil {
		t.Error("--quiet turns progress off")
	}

	s, _, errb := testIO()
	s.ErrTTY = true
	p := newProgress(s, false, false, ins)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.start = clock
	p.now = func() time.Time { return clock }
	clock = clock.Add(time.Second)
	p.update(sources.Progress{File: file, Read: 250, Size: 1000, Lines: 8192})
	line := errb.String()
	for _, want := range []string{"\r\x1b[K", "reading 0/1 files", "250 B of 1000 B (25%)", "8192 lines", "ETA 3s", "audit.log"} {
		if !strings.Contains(line, want) {
			t.Errorf("status line %q lacks %q", line, want)
		}
	}
	clock = clock.Add(time.Second)
	p.update(sources.Progress{File: file, Read: 1000, Size: 1000, Lines: 9000, Done: true})
	p.finish()
	if !strings.HasSuffix(errb.String(), "\r\x1b[K") {
		t.Errorf("finish should clear the status line: %q", errb.String())
	}

	s, _, errb = testIO() // verbose, not a terminal: one plain line per file, no carriage returns
	p = newProgress(s, false, true, ins)
	p.update(sources.Progress{File: file, Read: 1000, Size: 1000, Lines: 9000, Done: true})
	p.finish()
	if got := errb.String(); strings.ContainsAny(got, "\r\x1b") || !strings.Contains(got, "read "+file+": 9000 lines") {
		t.Errorf("verbose output = %q", got)
	}
}
