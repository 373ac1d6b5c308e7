package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/text/encoding/unicode"
)

// TestEncodedInputs: the real binary reads a Vault audit log compressed with zstd, bzip2, xz or
// gzip twice, in UTF-16 with a byte order mark, or with CR line ends, as it reads the plain
// file (every line parsed, a note says how it was read), and names an lz4 file as what it is
// (exit 3) instead of reporting every line as invalid JSON. Files are named .log whatever they
// hold: content decides.
func TestEncodedInputs(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "vault", "openbao-capture2-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	var zs bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	var xzb bytes.Buffer
	xw, _ := xz.NewWriter(&xzb)
	xw.Write(plain)
	xw.Close()
	utf16, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(plain)
	utf16be, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes(plain)
	files := map[string][]byte{
		"zstd.log":    zs.Bytes(),
		"xz.log":      xzb.Bytes(),
		"gzgz.log":    gz(gz(plain)),
		"utf16le.log": utf16,
		"utf16be.log": utf16be,
		"cr.log":      bytes.ReplaceAll(plain, []byte("\n"), []byte("\r")),
	}
	notes := map[string]string{"zstd.log": "decompressed zstd", "xz.log": "decompressed xz", "gzgz.log": "gzip inside gzip",
		"utf16le.log": "UTF-16LE", "utf16be.log": "UTF-16BE", "cr.log": "CR alone", "bzip2.log": "decompressed bzip2"}
	// Go writes no bzip2; the bzip2 tool does, where it is installed.
	if out, err := exec.Command("bzip2", "-c", filepath.Join("testdata", "vault", "openbao-capture2-audit.log")).Output(); err == nil {
		files["bzip2.log"] = out
	} else {
		t.Log("no bzip2 tool: the bzip2 case is left to the unit test's fixture")
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, code := run(t, dir, "scan", "--format", "json", name)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var doc struct {
				Stats struct {
					Files []struct {
						Lines, Parsed, Malformed int
						Note                     string
						ReadError                string `json:"read_error"`
					}
				}
			}
			if err := json.Unmarshal(stdout, &doc); err != nil || len(doc.Stats.Files) != 1 {
				t.Fatalf("report: %v\n%s", err, stdout)
			}
			f := doc.Stats.Files[0]
			if f.Parsed != 251 || f.Malformed != 0 || f.ReadError != "" {
				t.Errorf("%+v, want the 251 entries of the plain file", f)
			}
			if !strings.Contains(f.Note, notes[name]) {
				t.Errorf("note %q, want %q", f.Note, notes[name])
			}
		})
	}
	t.Run("lz4", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "lz4.log"), []byte("\x04\x22\x4d\x18\x64\x40\xa7\x00\x00\x00\x00"), 0o644)
		_, stderr, code := run(t, dir, "scan", "lz4.log")
		if code != 3 || !bytes.Contains(stderr, []byte("lz4-compressed: unsupported; decompress it first")) {
			t.Errorf("exit %d\n%s", code, stderr)
		}
	})
}
