package sources

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// TestGzipBomb: the decompressed-size and ratio guards stop a gzip bomb with a read error;
// the lines before are kept.
func TestGzipBomb(t *testing.T) {
	// 8 MiB of newlines compress about 1000 times: the shape of a bomb.
	bomb := testutil.Gzip(t, append([]byte(textLine(1, "kv/data/a")+"\n"), bytes.Repeat([]byte{'\n'}, 8<<20)...))

	t.Run("size limit", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "bomb.gz")
		os.WriteFile(f, bomb, 0o644)
		oi, err := open(Input{Name: f}, nil, openLimits{maxDecompressed: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer oi.close()
		lines := 0
		n, err := ForEachLine(oi.r, DefaultMaxLineBytes, func([]byte, int, bool) { lines++ })
		if !errors.Is(err, ErrDecompressionLimit) || !strings.Contains(err.Error(), "--max-decompressed-bytes") {
			t.Errorf("err %v", err)
		}
		if n > 1<<20 || lines == 0 {
			t.Errorf("read %d bytes, %d lines", n, lines)
		}
	})
	t.Run("ratio limit", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "bomb.gz")
		os.WriteFile(f, bomb, 0o644)
		oi, err := open(Input{Name: f}, nil, openLimits{ratioFloor: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		defer oi.close()
		n, err := ForEachLine(oi.r, DefaultMaxLineBytes, func([]byte, int, bool) {})
		if !errors.Is(err, ErrDecompressionLimit) || !strings.Contains(err.Error(), "--max-gzip-ratio") {
			t.Errorf("err %v", err)
		}
		// The compressed side is counted as read from the file, buffer included: the guard trips
		// once the output passes 200 times that.
		if limit := int64(DefaultMaxGzipRatio*len(bomb)) + 1<<20; n > limit {
			t.Errorf("read %d bytes before stopping, want <= %d", n, limit)
		}
	})
	t.Run("no ratio check", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "bomb.gz")
		os.WriteFile(f, bomb, 0o644)
		oi, err := open(Input{Name: f}, nil, openLimits{ratioFloor: 1 << 20, maxRatio: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer oi.close()
		if _, err := ForEachLine(oi.r, DefaultMaxLineBytes, func([]byte, int, bool) {}); err != nil {
			t.Errorf("ratio check off: %v", err)
		}
	})
}

// TestGrowingFile: an active audit.log is read up to its size at open, plus the end of the line
// being written then; what is appended later is left for the next run and noted.
func TestGrowingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.log")
	first := textLine(1, "kv/data/a") + "\n"
	second := textLine(2, "kv/data/b")
	half := len(second) / 2
	os.WriteFile(p, []byte(first+second[:half]), 0o644)

	oi, err := open(Input{Name: p}, nil, openLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer oi.close()
	// The writer finishes the line and writes more while we read.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(second[half:] + "\n" + textLine(3, "kv/data/c") + "\n")
	f.Close()

	var got []string
	n, err := ForEachLine(oi.r, DefaultMaxLineBytes, func(line []byte, _ int, _ bool) { got = append(got, string(line)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != second {
		t.Fatalf("read %d lines %q: want the two lines begun before open, the second whole", len(got), got)
	}
	if n != int64(len(first)+len(second)+1) {
		t.Errorf("read %d bytes", n)
	}
	if note := oi.note(); !strings.Contains(note, "grew while read") {
		t.Errorf("note %q", note)
	}
}

// TestGrowingFileEndless: a writer that never stops cannot keep the reader going.
func TestGrowingFileEndless(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.log")
	os.WriteFile(p, []byte(textLine(1, "kv/data/a")+"\n"), 0o644)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
		defer f.Close()
		line := []byte(textLine(2, "kv/data/b") + "\n")
		for {
			select {
			case <-stop:
				return
			default:
				f.Write(line)
			}
		}
	}()
	deadline := time.AfterFunc(time.Minute, func() { panic("reading a growing file did not end") })
	oi, err := open(Input{Name: p}, nil, openLimits{})
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	_, err = ForEachLine(oi.r, DefaultMaxLineBytes, func([]byte, int, bool) { lines++ })
	oi.close()
	deadline.Stop()
	close(stop)
	<-done
	if err != nil || lines < 1 {
		t.Errorf("read %d lines, err %v", lines, err)
	}
}

// textLine is a line of text, unique by i; reading below the format layer needs no log syntax.
func textLine(i int, s string) string { return fmt.Sprintf("%04d %s", i, s) }
