package sources

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// splitLinesRef is the obvious definition forEachLine must agree with.
func splitLinesRef(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte{'\n'})
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1] // a final newline ends the last line, it does not start one
	}
	return parts
}

// FuzzForEachLine: whatever the bytes, buffer size and limit, the bytes counted are the bytes
// given, and the lines are those of splitLinesRef (without "\r\n" / "\n"; a file that starts
// with CR line ends and no LF ends a line at every lone CR), too-long exactly when longer than
// the limit.
func FuzzForEachLine(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nlast"), uint8(0), uint16(10))
	f.Add([]byte(strings.Repeat("x", 100)+"\n"+strings.Repeat("y", 20)+"\r\n"), uint8(0), uint16(50))
	f.Add([]byte("\r\n\r\n\n"), uint8(3), uint16(0))
	f.Add(bytes.Repeat([]byte{0}, 64), uint8(1), uint16(16))
	f.Add([]byte(strings.Repeat("z", 33)+"\r"), uint8(0), uint16(33))
	f.Fuzz(func(t *testing.T, data []byte, buf uint8, limit uint16) {
		size := 16 + int(buf) // bufio's minimum is 16: lines longer than the buffer are the point
		maxLine := int(limit)
		var got [][]byte
		var tooLong []bool
		var nums []int
		n, err := ForEachLine(bufio.NewReaderSize(bytes.NewReader(data), size), maxLine, func(line []byte, n int, tl bool) {
			got = append(got, bytes.Clone(line))
			tooLong = append(tooLong, tl)
			nums = append(nums, n)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(data)) {
			t.Fatalf("counted %d bytes of %d", n, len(data))
		}
		ref := data
		if crOnly(data[:min(len(data), size)]) {
			// A file whose start has CR line ends and no LF: every lone CR ends a line.
			ref = bytes.Clone(data)
			for i := range ref {
				if ref[i] == '\r' && (i+1 == len(ref) || ref[i+1] != '\n') {
					ref[i] = '\n'
				}
			}
		}
		want := splitLinesRef(ref)
		if len(got) != len(want) {
			t.Fatalf("%d lines, want %d", len(got), len(want))
		}
		for i, w := range want {
			if nums[i] != i+1 {
				t.Errorf("line %d numbered %d", i+1, nums[i])
			}
			w = bytes.TrimSuffix(w, []byte{'\r'})
			if wantLong := len(w) > maxLine; tooLong[i] != wantLong {
				t.Errorf("line %d (%d bytes, limit %d): tooLong %v", i+1, len(w), maxLine, tooLong[i])
				continue
			}
			if !tooLong[i] && !bytes.Equal(got[i], w) {
				t.Errorf("line %d = %q, want %q", i+1, got[i], w)
			}
			if tooLong[i] && got[i] != nil {
				t.Errorf("line %d too long but delivered", i+1)
			}
		}
	})
}
