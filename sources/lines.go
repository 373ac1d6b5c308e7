package sources

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineBytes bounds one line. Vault lines of several megabytes are normal (numbers in
// a KV secret are not HMAC'd); a longer line is skipped and counted, not fatal.
const DefaultMaxLineBytes = 64 << 20

// lineFunc receives one line without its line ending. tooLong lines arrive with a nil line.
type lineFunc func(line []byte, n int, tooLong bool)

// forEachLine reads r line by line with bufio.Reader.ReadSlice, so a line longer than the buffer
// is still read whole (bufio.Scanner would stop for good at 64 KiB). It returns the bytes read and
// the first read error other than io.EOF (a truncated gzip, an I/O error): what was read before
// it has already been delivered.
func forEachLine(r *bufio.Reader, maxLine int, fn lineFunc) (int64, error) {
	var (
		long    []byte
		inLong  bool
		tooLong bool
		n       int
		total   int64
	)
	for {
		chunk, err := r.ReadSlice('\n')
		total += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			inLong = true
			if !tooLong {
				if len(long)+len(chunk) > maxLine {
					tooLong, long = true, nil
				} else {
					long = append(long, chunk...)
				}
			}
			continue
		}
		line := chunk
		if inLong && !tooLong {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > 0 || tooLong {
			n++
			if tooLong || len(line) > maxLine {
				fn(nil, n, true)
			} else {
				line = bytes.TrimSuffix(line, []byte{'\n'})
				line = bytes.TrimSuffix(line, []byte{'\r'})
				fn(line, n, false)
			}
		}
		long, inLong, tooLong = long[:0], false, false
		if cap(long) > 4<<20 { // do not keep a huge buffer alive for the rest of the file
			long = nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}
