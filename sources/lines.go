package sources

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// DefaultMaxLineBytes bounds one line. Vault lines of several megabytes are normal (numbers in
// a KV secret are not HMAC'd); a longer line is skipped and counted, not fatal. It is also the
// most memory one line can take while it is read.
const DefaultMaxLineBytes = 64 << 20

// lineFunc receives one line without its line ending ("\n", "\r\n", or a lone "\r" in a file
// whose lines end so). Lines longer than the limit arrive with a nil line and tooLong set. n is
// the 1-based line number.
type lineFunc func(line []byte, n int, tooLong bool)

// keepLongBuffer is the largest line buffer kept for the next long line; a bigger one is
// released so one huge line does not pin its memory for the rest of the file.
const keepLongBuffer = 4 << 20

// ForEachLine reads r line by line with bufio.Reader.ReadSlice, so a line longer than the buffer
// is still read whole (bufio.Scanner would stop for good at 64 KiB), and a line longer than
// maxLine bytes (line ending excluded) is counted without being kept: memory stays bounded by
// maxLine whatever the input. A last line without a newline is a line. It returns every byte
// read (line endings included) and the first read error other than io.EOF (a truncated gzip, an
// I/O error): the lines before it, and the partial line at the break, have been delivered.
//
// When the first buffer of r holds a CR and no LF, lines end with a lone CR (as open finds
// too, for every reader): a CR not followed by an LF then ends a line.
func ForEachLine(r *bufio.Reader, maxLine int, fn lineFunc) (int64, error) {
	if head, _ := r.Peek(r.Size()); crOnly(head) {
		r = bufio.NewReaderSize(&crReader{r: r}, r.Size())
	}
	var (
		long    []byte // the current line when it spans several buffers
		size    int    // bytes of the current line so far, line ending included
		tooLong bool
		n       int
		total   int64
	)
	for {
		chunk, err := r.ReadSlice('\n')
		total += int64(len(chunk))
		size += len(chunk)
		if errors.Is(err, bufio.ErrBufferFull) {
			if !tooLong {
				// One byte of slack: a final '\r' belongs to the line ending, not the line.
				if size-1 > maxLine {
					tooLong, long = true, long[:0]
				} else {
					long = append(long, chunk...) // ReadSlice's buffer is reused by the next call
				}
			}
			continue
		}
		if size > 0 {
			n++
			content := size - lineEnding(chunk, long)
			if tooLong || content > maxLine {
				fn(nil, n, true)
			} else {
				line := chunk
				if len(long) > 0 {
					long = append(long, chunk...)
					line = long
				}
				line = bytes.TrimSuffix(line, []byte{'\n'})
				line = bytes.TrimSuffix(line, []byte{'\r'})
				fn(line, n, false)
			}
		}
		size, tooLong, long = 0, false, long[:0]
		if cap(long) > keepLongBuffer {
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

// lineEnding is the length of the line ending ("\n", "\r\n", or "\r" at the end of input) of
// the line whose last piece is chunk and whose earlier pieces are in long.
func lineEnding(chunk, long []byte) int {
	last := func(i int) byte { // i-th byte from the end of long+chunk, 0 when there is none
		if i <= len(chunk) {
			return chunk[len(chunk)-i]
		}
		if i -= len(chunk); i <= len(long) {
			return long[len(long)-i]
		}
		return 0
	}
	switch last(1) {
	case '\n':
		if last(2) == '\r' {
			return 2
		}
		return 1
	case '\r':
		return 1
	}
	return 0
}
