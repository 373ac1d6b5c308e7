package sources

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// The standard library reads bzip2 but cannot write it. These are the outputs of the bzip2
// tool (1.0.8, -9):
var (
	// printf '0001 kv/data/a\n0002 kv/data/b\n0003 kv/data/c\n' | bzip2 -9
	bzip2Lines = mustHex("425a68393141592653597f1c565a000006598000104000f8003c0805002000223d5019a4c840000509e16cb1c919a6ca32350e59f1772453850907f1c565a0")
	// printf '0001 kv/data/a\n' followed by 8 MiB of '\n', | bzip2 -9: 72 bytes, 116,000 times.
	bzip2Bomb = mustHex("425a683931415926535988d09746010103d98080104000e00024080502000820005081a068054a9ea3269e5300401ba90120137579c9ccbabf72e01007e2ee48a70a12111a12e8c0")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func zstdOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xzOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeText(t *testing.T, enc encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := enc.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAll opens content as a file and reads it with ForEachLine: its first 16 lines and how
// many there are.
func readAll(t *testing.T, content []byte, lim openLimits) (lines []string, n int, oi *openedInput, err error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(f, content, 0o644); err != nil {
		t.Fatal(err)
	}
	oi, err = open(Input{Name: f}, nil, lim)
	if err != nil {
		return nil, 0, nil, err
	}
	t.Cleanup(func() { oi.close() })
	_, err = ForEachLine(oi.r, DefaultMaxLineBytes, func(line []byte, _ int, tooLong bool) {
		if n++; len(lines) < 16 {
			lines = append(lines, string(line))
		}
	})
	return lines, n, oi, err
}

// TestOpenCompressedAndEncoded: every compression read is found by content, layer by layer,
// and UTF-16 / UTF-32 text with a byte order mark and lone-CR line ends come out as the same
// lines of UTF-8 as the plain file.
func TestOpenCompressedAndEncoded(t *testing.T) {
	want := []string{textLine(1, "kv/data/a"), textLine(2, "kv/data/b"), textLine(3, "kv/data/c")}
	text := strings.Join(want, "\n") + "\n"
	plain := []byte(text)
	utf16le := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	for _, tc := range []struct {
		name       string
		content    []byte
		compressed bool
		note       string
	}{
		{"plain", plain, false, ""},
		{"gzip", testutil.Gzip(t, plain), true, ""},
		{"gzip in gzip", testutil.Gzip(t, testutil.Gzip(t, plain)), true, "decompressed gzip inside gzip"},
		{"zstd", zstdOf(t, plain), true, "decompressed zstd"},
		{"bzip2", bzip2Lines, true, "decompressed bzip2"},
		{"xz", xzOf(t, plain), true, "decompressed xz"},
		{"zstd in gzip", testutil.Gzip(t, zstdOf(t, plain)), true, "decompressed zstd inside gzip"},
		{"UTF-16LE", encodeText(t, utf16le, text), false, "UTF-16LE text"},
		{"UTF-16BE", encodeText(t, unicode.UTF16(unicode.BigEndian, unicode.UseBOM), text), false, "UTF-16BE text"},
		{"UTF-32LE", encodeText(t, utf32.UTF32(utf32.LittleEndian, utf32.UseBOM), text), false, "UTF-32LE text"},
		{"UTF-16LE gzip", testutil.Gzip(t, encodeText(t, utf16le, text)), true, "UTF-16LE text"},
		{"CRLF", []byte(strings.ReplaceAll(text, "\n", "\r\n")), false, ""},
		{"CR", []byte(strings.ReplaceAll(text, "\n", "\r")), false, "lines end with CR alone"},
		{"CR without a last line end", []byte(strings.TrimSuffix(strings.ReplaceAll(text, "\n", "\r"), "\r")), false, "CR alone"},
		{"UTF-16 CR", encodeText(t, utf16le, strings.ReplaceAll(text, "\n", "\r")), false, "CR alone"},
		{"CR xz", xzOf(t, []byte(strings.ReplaceAll(text, "\n", "\r"))), true, "CR alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, oi, err := readAll(t, tc.content, openLimits{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("lines %q, want %q", got, want)
			}
			if oi.compressed != tc.compressed {
				t.Errorf("compressed %v", oi.compressed)
			}
			if note := oi.note(); tc.note == "" && note != "" || !strings.Contains(note, tc.note) {
				t.Errorf("note %q, want %q", note, tc.note)
			}
		})
	}
}

// TestOpenUnsupported: a compression or archive that is not read is named, with what to do,
// instead of being read as lines of binary.
func TestOpenUnsupported(t *testing.T) {
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("audit.log")
	w.Write([]byte("{}\n"))
	zw.Close()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "audit.log", Mode: 0o644, Size: 3})
	tw.Write([]byte("{}\n"))
	tw.Close()
	lz4 := []byte("\x04\x22\x4d\x18\x64\x40\xa7\x00\x00\x00\x00")
	five := []byte("{}\n")
	for range 5 {
		five = testutil.Gzip(t, five)
	}
	for _, tc := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"lz4", lz4, "lz4-compressed: unsupported; decompress it first"},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04"), "7z archive: unsupported; extract it first"},
		{"zip", zb.Bytes(), "zip archive: unsupported; extract it first"},
		{"tar", tb.Bytes(), "tar archive: unsupported; extract it first"},
		{"tar.gz", testutil.Gzip(t, tb.Bytes()), "a tar archive (inside 1 layer(s) of compression): unsupported"},
		{"lz4 in gzip", testutil.Gzip(t, lz4), "lz4-compressed (inside 1 layer(s) of compression)"},
		{"compress", []byte("\x1f\x9d\x90{"), "compress (.Z)-compressed: unsupported"},
		{"five layers", five, "compressed more than 4 times (gzip, gzip, gzip, gzip, then gzip): unsupported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readAll(t, tc.content, openLimits{})
			if !errors.Is(err, ErrUnsupportedInput) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecompressionGuards: --max-decompressed-bytes and the ratio guard stop every
// decompressor, each layer of a nested file, and a stream of empty lines is measured by its
// lines as well as its bytes.
func TestDecompressionGuards(t *testing.T) {
	bomb := append([]byte(textLine(1, "kv/data/a")+"\n"), bytes.Repeat([]byte{'\n'}, 8<<20)...)
	bombs := map[string][]byte{
		"gzip":         testutil.Gzip(t, bomb),
		"gzip in gzip": testutil.Gzip(t, testutil.Gzip(t, bomb)),
		"zstd":         zstdOf(t, bomb),
		"bzip2":        bzip2Bomb,
		"xz":           xzOf(t, bomb),
	}
	for name, content := range bombs {
		t.Run(name, func(t *testing.T) {
			t.Run("size limit", func(t *testing.T) {
				lines, n, _, err := readAll(t, content, openLimits{maxDecompressed: 1 << 20, maxRatio: -1})
				if !errors.Is(err, ErrDecompressionLimit) || !strings.Contains(err.Error(), "--max-decompressed-bytes") {
					t.Errorf("err %v", err)
				}
				if n == 0 || n > 1<<20 || lines[0] != textLine(1, "kv/data/a") {
					t.Errorf("%d lines", n)
				}
			})
			t.Run("ratio limit", func(t *testing.T) {
				_, _, _, err := readAll(t, content, openLimits{ratioFloor: 1 << 20, lineFloor: 1 << 30})
				if !errors.Is(err, ErrDecompressionLimit) || !strings.Contains(err.Error(), "bytes decompressed") ||
					!strings.Contains(err.Error(), "--max-gzip-ratio") {
					t.Errorf("err %v", err)
				}
			})
			t.Run("empty lines", func(t *testing.T) {
				// The byte ratio's floor is not reached: the lines stop it.
				_, n, _, err := readAll(t, content, openLimits{lineFloor: 1 << 16})
				if !errors.Is(err, ErrDecompressionLimit) || !strings.Contains(err.Error(), "lines decompressed") {
					t.Errorf("err %v", err)
				}
				if n > 1<<16+guardReadMax {
					t.Errorf("%d lines read before the guard stopped: %v", n, err)
				}
			})
			t.Run("no ratio check", func(t *testing.T) {
				_, n, _, err := readAll(t, content, openLimits{ratioFloor: 1 << 20, lineFloor: 1 << 16, maxRatio: -1})
				if err != nil || n != 8<<20+1 {
					t.Errorf("ratio check off: %d lines, %v", n, err)
				}
			})
		})
	}
	// A real log's lines are far from the line limit.
	var log bytes.Buffer
	for i := range 300_000 {
		log.WriteString(textLine(i, "kv/data/team-a/app-b/s") + "\n")
	}
	if _, n, _, err := readAll(t, testutil.Gzip(t, log.Bytes()), openLimits{lineFloor: 1 << 16}); err != nil || n != 300_000 {
		t.Errorf("short log lines: %d lines, %v", n, err)
	}
}

// TestXzDictionaryLimit: an xz header asking for a dictionary over the limit is refused before
// the reader allocates it.
func TestXzDictionaryLimit(t *testing.T) {
	// The dictionary size is read right for the sizes xz writes.
	for _, dict := range []int{1 << 20, 3 << 20, 8 << 20} {
		var buf bytes.Buffer
		zw, _ := xz.WriterConfig{DictCap: dict}.NewWriter(&buf)
		zw.Write([]byte("{}\n"))
		zw.Close()
		if got, ok := xzDictSize(bufio.NewReader(bytes.NewReader(buf.Bytes()))); !ok || got != int64(dict) {
			t.Errorf("dictionary %d read as %d, %v", dict, got, ok)
		}
		if dict != 1<<20 {
			continue
		}
		// The same file claiming 512 MiB (code 34: 2 << 28) in its block header, at byte 16
		// after the stream header, the header size, flags, filter id and properties size.
		b := bytes.Clone(buf.Bytes())
		if b[14] != 0x21 || b[15] != 1 {
			t.Fatalf("block header % x", b[12:20])
		}
		b[16] = 34
		_, _, _, err := readAll(t, b, openLimits{})
		if err == nil || !strings.Contains(err.Error(), "xz dictionary of 512 MiB") {
			t.Errorf("err %v", err)
		}
	}
}

// TestForEachLineCR: ForEachLine itself takes a lone CR as a line end, wherever the reads cut
// the input, and leaves CRLF files as they were.
func TestForEachLineCR(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\rb\r\rc", "a|b||c"},
		{"a\rb\r", "a|b"},
		{"a\r\nb\r\n", "a|b"},
		{"\r", ""},
		{"a\rb\r\nc\r", "a\rb|c"}, // LF line ends: a CR inside a line stays
	} {
		for _, size := range []int{16, 4096} {
			r := bufio.NewReaderSize(iotest.OneByteReader(strings.NewReader(tc.in)), size)
			var got []string
			n, err := ForEachLine(r, DefaultMaxLineBytes, func(line []byte, _ int, _ bool) { got = append(got, string(line)) })
			if err != nil || strings.Join(got, "|") != tc.want || n != int64(len(tc.in)) {
				t.Errorf("%q (buffer %d): %q, %d bytes, %v; want %q", tc.in, size, got, n, err, tc.want)
			}
		}
	}
}

// TestCRReaderBoundaries: a CR that ends one read is decided by the byte after it.
func TestCRReaderBoundaries(t *testing.T) {
	in := "x\ry\r\nz\r\r\n\r"
	for _, size := range []int{16, 17, 4096} {
		br := bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(in)), size)
		var out bytes.Buffer
		if _, err := out.ReadFrom(iotest.OneByteReader(&crReader{r: br})); err != nil {
			t.Fatal(err)
		}
		if want := "x\ny\r\nz\n\r\n\n"; out.String() != want {
			t.Errorf("buffer %d: %q, want %q", size, out.String(), want)
		}
	}
}

// TestDescribeUTF16WithoutBOM: UTF-16 text without a byte order mark, which is not transcoded
// (nothing tells it from binary for sure), is named rather than called binary data.
func TestDescribeUTF16WithoutBOM(t *testing.T) {
	text := strings.Repeat(`{"time":"2026-09-23T00:00:00Z","type":"request"}`+"\n", 3)
	for _, tc := range []struct {
		enc  encoding.Encoding
		want string
	}{
		{unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "UTF-16LE text without a byte order mark"},
		{unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "UTF-16BE text without a byte order mark"},
	} {
		b := encodeText(t, tc.enc, text)
		if got := ScanHead(b, true).Describe(); !strings.Contains(got, tc.want) {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	if got := ScanHead([]byte("\x00\x01\x02\x03\xff\xfe\x00\x00\x10\x20\x30\x40\x50\x60\x70\x80"), true).Describe(); got != "binary data" {
		t.Errorf("binary: %q", got)
	}
}
