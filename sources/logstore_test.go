package sources

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// TestSpool: lines reach their stream's input in order across buffer flushes, two streams of one
// name are told apart, and Close removes the files.
func TestSpool(t *testing.T) {
	sp, err := NewSpool()
	if err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte("x"), 1000)
	for i := range 200 { // 200 KB in stream a: flushed several times
		if err := sp.Write("a", "loki {job=\"v\"}", append([]byte{byte('0' + i%10)}, long...)); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			if err := sp.Write("b", "loki {job=\"v\"}", []byte("b line")); err != nil {
				t.Fatal(err)
			}
		}
	}
	ins, err := sp.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 2 || ins[0].Name != `loki {job="v"}` || ins[1].Name != `loki {job="v"} #2` || sp.Streams() != 2 {
		t.Fatalf("inputs %+v", ins)
	}
	rc, err := ins[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 200 || int64(len(data)) != ins[0].Size {
		t.Fatalf("%d lines, %d bytes, size %d", len(lines), len(data), ins[0].Size)
	}
	for i, l := range lines {
		if l[0] != byte('0'+i%10) {
			t.Fatalf("line %d out of order", i)
		}
	}
	dir := sp.dir
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("spool directory left behind: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := RedactURL("https://user:s3cret@es.example:9200/base?token=abc#x"); got != "https://es.example:9200/base" {
		t.Errorf("RedactURL = %q", got)
	}
}
