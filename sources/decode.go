package sources

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
)

// ErrUnsupportedInput means an input is in a container or compression vaultsentry does not
// read (lz4, 7z, zip, tar, ...): it is named, never read as text.
var ErrUnsupportedInput = errors.New("unsupported")

// Inputs are recognised by content, never by name: rotated and shipped logs are named
// anything. A file may be compressed more than once (a gzip of a .gz, as some shippers do);
// each layer is opened in turn, up to maxLayers.
const maxLayers = 4

// Memory limits of the decompressors, so a crafted header cannot make one allocate what it
// asks for. zstd's is the zstd tool's own default limit (window log 27); xz -9 uses 64 MiB.
const (
	zstdMaxWindow = 128 << 20
	xzMaxDict     = 256 << 20
)

// compression is one compressed layer, told by its magic number.
type compression struct {
	name string // "gzip", "zstd", ...
	// open returns the decompressed stream and what releases it; nil for a compression
	// vaultsentry does not read.
	open func(r *bufio.Reader) (io.Reader, func(), error)
}

// sniffMagicBytes is how much a layer's start is looked at: tar's "ustar" is at byte 257.
const sniffMagicBytes = 512

// sniffCompression names the compression or container b starts with; ok is false for plain
// data (text, or binary nothing here knows).
func sniffCompression(b []byte) (c compression, ok bool) {
	has := func(magic string) bool { return bytes.HasPrefix(b, []byte(magic)) }
	switch {
	case has("\x1f\x8b"):
		return compression{"gzip", openGzip}, true
	case has("\x28\xb5\x2f\xfd"):
		return compression{"zstd", openZstd}, true
	case has("BZh") && len(b) >= 10 && b[3] >= '1' && b[3] <= '9' &&
		(bytes.Equal(b[4:10], []byte("1AY&SY")) || bytes.Equal(b[4:10], []byte("\x17rE8P\x90"))):
		return compression{"bzip2", openBzip2}, true
	case has("\xfd7zXZ\x00"):
		return compression{"xz", openXz}, true
	case has("\x04\x22\x4d\x18"), has("\x02\x21\x4c\x18"):
		return compression{name: "lz4"}, true
	case has("7z\xbc\xaf\x27\x1c"):
		return compression{name: "7z"}, true
	case has("PK\x03\x04"), has("PK\x05\x06"):
		return compression{name: "zip"}, true
	case has("Rar!\x1a\x07"):
		return compression{name: "rar"}, true
	case has("LZIP"):
		return compression{name: "lzip"}, true
	case has("\x1f\x9d"):
		return compression{name: "compress (.Z)"}, true
	case has("\x89LZO\x00\r\n\x1a\n"):
		return compression{name: "lzop"}, true
	case has("\xff\x06\x00\x00sNaPpY"):
		return compression{name: "snappy"}, true
	case len(b) >= 262 && bytes.Equal(b[257:262], []byte("ustar")):
		return compression{name: "tar"}, true
	}
	return compression{}, false
}

// unsupported is the error for a layer vaultsentry does not read: it says what the file is and
// what to do, instead of counting every line as invalid JSON.
func (c compression) unsupported(layer int) error {
	verb, what := "decompress", c.name+"-compressed"
	switch c.name {
	case "tar", "zip", "7z", "rar":
		verb, what = "extract", "a "+c.name+" archive"
	}
	if layer > 0 {
		what += " (inside " + fmt.Sprint(layer) + " layer(s) of compression)"
	}
	return fmt.Errorf("%s: %w; %s it first", what, ErrUnsupportedInput, verb)
}

func openGzip(r *bufio.Reader) (io.Reader, func(), error) {
	zr, err := getGzip(r)
	if err != nil {
		return nil, nil, err
	}
	return zr, func() { zr.Close(); gzips.Put(zr) }, nil
}

func openZstd(r *bufio.Reader) (io.Reader, func(), error) {
	// One goroutine: files are already read in parallel, and each decoder goroutine holds
	// its own window.
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		return nil, nil, err
	}
	return d, d.Close, nil
}

func openBzip2(r *bufio.Reader) (io.Reader, func(), error) {
	return bzip2.NewReader(r), func() {}, nil
}

func openXz(r *bufio.Reader) (io.Reader, func(), error) {
	// The reader allocates the dictionary the header asks for (up to 4 GiB): look first.
	if dict, ok := xzDictSize(r); ok && dict > xzMaxDict {
		return nil, nil, fmt.Errorf("xz dictionary of %d MiB is more than the %d MiB allowed (recompress it with xz -9 or less)", dict>>20, xzMaxDict>>20)
	}
	zr, err := xz.ReaderConfig{DictCap: 1 << 20}.NewReader(r)
	if err != nil {
		return nil, nil, err
	}
	return zr, func() {}, nil
}

// xzDictSize reads the LZMA2 dictionary size of an xz stream's first block. Later blocks of
// a stream written by the xz tool use the same filters.
func xzDictSize(r *bufio.Reader) (int64, bool) {
	const streamHeader = 12
	b, _ := r.Peek(streamHeader + 1024)
	if len(b) < streamHeader+2 {
		return 0, false
	}
	b = b[streamHeader:]
	size := (int(b[0]) + 1) * 4
	if b[0] == 0 || len(b) < size {
		return 0, false // an index only (no block), or a header cut short
	}
	hdr := b[2:size]
	flags := b[1]
	uvarint := func() (uint64, bool) {
		v, n := binary.Uvarint(hdr)
		if n <= 0 {
			return 0, false
		}
		hdr = hdr[n:]
		return v, true
	}
	if flags&0x40 != 0 { // compressed size
		if _, ok := uvarint(); !ok {
			return 0, false
		}
	}
	if flags&0x80 != 0 { // uncompressed size
		if _, ok := uvarint(); !ok {
			return 0, false
		}
	}
	for range int(flags&0x03) + 1 {
		id, ok1 := uvarint()
		n, ok2 := uvarint()
		if !ok1 || !ok2 || uint64(len(hdr)) < n {
			return 0, false
		}
		props := hdr[:n]
		hdr = hdr[n:]
		if id == 0x21 && len(props) == 1 { // LZMA2
			c := props[0]
			if c > 40 {
				return 0, false
			}
			if c == 40 {
				return 1<<32 - 1, true
			}
			return int64(2|c&1) << (c/2 + 11), true
		}
	}
	return 0, false
}

// textEncoding is a Unicode encoding other than UTF-8 told by its byte order mark.
func textEncoding(b []byte) (encoding.Encoding, string) {
	switch {
	// UTF-32 first: its little-endian mark starts with UTF-16's.
	case bytes.HasPrefix(b, []byte{0xff, 0xfe, 0, 0}):
		return utf32.UTF32(utf32.LittleEndian, utf32.ExpectBOM), "UTF-32LE"
	case bytes.HasPrefix(b, []byte{0, 0, 0xfe, 0xff}):
		return utf32.UTF32(utf32.BigEndian, utf32.ExpectBOM), "UTF-32BE"
	case bytes.HasPrefix(b, []byte{0xff, 0xfe}):
		return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "UTF-16LE"
	case bytes.HasPrefix(b, []byte{0xfe, 0xff}):
		return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "UTF-16BE"
	}
	return nil, ""
}

// transcode returns r read as UTF-8 when it starts with the byte order mark of another
// Unicode encoding (Windows tools write UTF-16 with a BOM), and the encoding's name.
// Positions in the file are then positions in the UTF-8 text.
func transcode(r io.Reader, head []byte) (io.Reader, string) {
	enc, name := textEncoding(head)
	if enc == nil {
		return r, ""
	}
	return transform.NewReader(r, enc.NewDecoder()), name
}

// crOnly reports whether head uses a lone carriage return as its line ending (classic Mac OS,
// some Windows tools): a CR and no LF at all. A line of JSON holds no raw CR (strings escape
// it), so a CR there is a line end or whitespace between tokens.
func crOnly(head []byte) bool {
	if bytes.HasPrefix(head, parquetMagic) { // binary: its bytes are not line ends
		return false
	}
	return bytes.IndexByte(head, '\n') < 0 && bytes.IndexByte(head, '\r') >= 0
}

// parquetMagic starts (and ends) every Parquet file.
var parquetMagic = []byte("PAR1")

// crReader turns every CR that is not followed by an LF into an LF, byte for byte (offsets do
// not move), so line readers see ordinary line ends; a CRLF stays as it is. A CR that ends a
// read looks at the next byte in r's buffer.
type crReader struct{ r *bufio.Reader }

func (c *crReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	b := p[:n]
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		next := byte(0)
		if i+1 < len(b) {
			next = b[i+1]
		} else if ahead, perr := c.r.Peek(1); perr == nil {
			next = ahead[0]
		}
		if next != '\n' {
			b[i] = '\n'
		}
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return n, err
}
