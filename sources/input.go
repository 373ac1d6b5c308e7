package sources

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// ErrNoInput means a path named on the command line matched nothing readable.
var ErrNoInput = errors.New("no such file")

// ErrDecompressionLimit means a compressed input decompressed to more than the limits allow
// (a decompression bomb, or a legitimate archive larger than --max-decompressed-bytes). The
// limits apply to every compression read (gzip, zstd, bzip2, xz) and to each layer.
var ErrDecompressionLimit = errors.New("decompression limit reached")

// Limits on what reading one gzip input may cost. Memory does not depend on them (input is
// streamed and a line is bounded by MaxLineBytes); they bound the time a hostile archive can take.
const (
	// DefaultMaxDecompressedBytes stops reading a gzip input after 64 GiB of decompressed data:
	// far above a day of audit log from a busy cluster, and about a minute of work.
	DefaultMaxDecompressedBytes int64 = 64 << 30
	// DefaultMaxGzipRatio stops reading a gzip input that expands more than 200 times. Real
	// Vault / OpenBao audit logs compress 5-25x (every entry carries unique ids, times and
	// HMACs); a gzip bomb expands about 1000x, DEFLATE's limit.
	DefaultMaxGzipRatio = 200
	// gzipRatioFloor is how much must have been decompressed before the ratio is checked, so a
	// small, very repetitive file (a test fixture) is never stopped.
	gzipRatioFloor int64 = 256 << 20
)

// Input is one file to read, or standard input when Name is "-".
type Input struct {
	Name string
	// Found is true for a file found by walking a directory or expanding a glob, false for one
	// named on the command line: a found file that is not a log is skipped quietly, a named one
	// is described.
	Found bool
	// Open, when set, opens an input that is not a local file (an S3 object, a log store's
	// answer): Name is then only what statistics and findings call it. The reader it returns is
	// read like a file's bytes (decompressed when compressed); Size is its size when known.
	Open func() (io.ReadCloser, error)
	Size int64
}

// Expand turns command-line arguments into inputs: files as given, directories walked (every
// regular file inside, sorted), glob patterns expanded, and "-" for standard input. Arguments
// that match nothing are returned as errors, without stopping the others.
//
// Symbolic links: a link named on the command line is followed. Inside a directory, a link to
// a regular file is read, a link to a directory is reported and not followed (so a loop of
// links cannot trap the walk), and a broken link or a special file (FIFO, device, socket, which
// could block forever) is reported and skipped. A file reached twice (named twice, or through
// a link or a hard link) is read once: its entries would otherwise count twice.
func Expand(args []string) ([]Input, []error) {
	var ins []Input
	var errs []error
	seen := map[string]bool{}
	ids := fileIDs{}
	add := func(p string, found bool) {
		if seen[p] {
			return
		}
		seen[p] = true
		if p != "-" && ids.dup(p) {
			return
		}
		ins = append(ins, Input{Name: p, Found: found})
	}
	addDir := func(dir string, explicit bool) {
		files, werr := walkDir(dir)
		errs = append(errs, werr...)
		if explicit && len(files) == 0 && len(werr) == 0 {
			errs = append(errs, fmt.Errorf("read directory %s: %w (it holds no regular file)", dir, ErrNoInput))
		}
		for _, f := range files {
			add(f, true)
		}
	}
	for _, a := range args {
		if a == "-" {
			add(a, false)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			if matches, gerr := filepath.Glob(a); gerr == nil && len(matches) > 0 && hasMeta(a) {
				slices.Sort(matches)
				for _, m := range matches {
					if fi, err := os.Stat(m); err == nil && fi.IsDir() {
						addDir(m, false)
					} else {
						add(m, true)
					}
				}
				continue
			}
			errs = append(errs, fmt.Errorf("open %s: %w", a, errNotFound(err)))
			continue
		}
		if st.IsDir() {
			addDir(a, true)
			continue
		}
		add(a, false)
	}
	return ins, errs
}

func errNotFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNoInput
	}
	return err
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// walkDir lists the files under root. filepath.WalkDir never follows links below the root; the
// root itself is followed when it is a link to a directory (a trailing separator makes Lstat
// resolve it), so `scan /var/log/vault` works when that path is a link.
func walkDir(root string) ([]string, []error) {
	var files []string
	var errs []error
	start := root
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		start = root + string(filepath.Separator)
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("read directory %s: %w", p, err))
			if d != nil && d.IsDir() && p != start {
				return fs.SkipDir
			}
			return nil
		}
		switch t := d.Type(); {
		case t.IsRegular():
			files = append(files, p)
		case t.IsDir():
		case t&fs.ModeSymlink != 0:
			fi, serr := os.Stat(p)
			switch {
			case serr != nil:
				errs = append(errs, fmt.Errorf("skip %s: broken symbolic link: %w", p, serr))
			case fi.Mode().IsRegular():
				files = append(files, p)
			case fi.IsDir():
				errs = append(errs, fmt.Errorf("skip %s: symbolic link to a directory is not followed (name it on the command line to read it)", p))
			default:
				errs = append(errs, fmt.Errorf("skip %s: not a regular file (%s)", p, fi.Mode().Type()))
			}
		default:
			errs = append(errs, fmt.Errorf("skip %s: not a regular file (%s)", p, t))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	slices.Sort(files)
	return files, errs
}

// fileIDs recognises a file reached under a second name. Candidates are grouped by fileKey
// (device and inode on Unix), so the os.SameFile comparisons stay few.
type fileIDs map[string][]os.FileInfo

func (ids fileIDs) dup(p string) bool {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return false // open reports the problem
	}
	k := fileKey(fi)
	for _, o := range ids[k] {
		if os.SameFile(o, fi) {
			return true
		}
	}
	ids[k] = append(ids[k], fi)
	return false
}

// openLimits bound the work one input may cause.
type openLimits struct {
	maxDecompressed int64 // <= 0: DefaultMaxDecompressedBytes
	maxRatio        int   // 0: DefaultMaxGzipRatio; < 0: no ratio check
	ratioFloor      int64 // 0: gzipRatioFloor (tests lower it)
	lineFloor       int64 // 0: lineFloor (tests lower it)
	// done, when closed, makes every later read of the file fail (the run was cancelled):
	// every reader stops at its next read, whatever loop it is in.
	done <-chan struct{}
}

// openedInput is an input ready to read, decompressed when it was gzip.
type openedInput struct {
	r          *bufio.Reader
	compressed bool
	close      func() error
	// note, after reading, says what the reader should know about how the file was read
	// (it grew while read); empty when there is nothing to say.
	note func() string
	raw  *countingReader // bytes read from the file as stored, for progress
	size int64           // the file's size; 0 when unknown
}

// open opens in and decompresses it, layer by layer, while its first bytes are the magic
// number of a compression it reads (gzip, zstd, bzip2, xz; a gzip of a gzip is two layers);
// text in UTF-16 or UTF-32 with a byte order mark is transcoded to UTF-8, and lone CR line
// endings become LF. Everything is sniffed, never taken from the file name: rotated logs are
// not always named .gz. A compression or archive it does not read is an error that names it
// (ErrUnsupportedInput), so it is not read as lines of invalid JSON.
//
// A regular file is read up to the size it had when opened, plus the rest of the line being
// written at that point: an active audit.log keeps growing while it is analysed, and reading
// "to EOF" would chase the writer. What was appended later is left for the next run and the
// statistics say so.
func open(in Input, stdin io.Reader, lim openLimits) (*openedInput, error) {
	var (
		raw   io.Reader
		close = func() error { return nil }
		snap  *snapshotReader
	)
	switch {
	case in.Open != nil:
		rc, err := in.Open()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", in.Name, err)
		}
		close = rc.Close
		raw = rc
	case in.Name == "-":
		raw = stdin
	default:
		f, err := os.Open(in.Name)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", in.Name, errNotFound(err))
		}
		close = f.Close
		raw = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			snap = &snapshotReader{f: f, name: in.Name, remain: fi.Size(), size: fi.Size(), extend: true}
			raw = snap
		}
	}
	counted := &countingReader{r: raw, done: lim.done}
	br := getReader(&rawReaders, counted, 256<<10)
	// Layers are released innermost first, the file last.
	var releases []func()
	fileClose := close
	close = func() error {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
		putReader(&rawReaders, br)
		return fileClose()
	}
	oi := &openedInput{r: br, close: close, note: func() string { return "" }, raw: counted}
	var notes []string
	if snap != nil {
		oi.size = snap.size
	} else if in.Open != nil {
		oi.size = in.Size
	}
	// peek looks at the start of what is read. Of a plain regular file it takes only what the
	// first read brought: reading on at open could reach the end of a growing file before the
	// line being written there is complete.
	peek := func(n int) []byte {
		if snap != nil && snap.extend {
			oi.r.Peek(1)
			n = min(n, oi.r.Buffered())
		}
		b, _ := oi.r.Peek(n)
		return b
	}
	var layers []string
	for {
		magic := peek(sniffMagicBytes)
		c, ok := sniffCompression(magic)
		if !ok {
			break
		}
		if c.open == nil {
			close()
			return nil, fmt.Errorf("open %s: %w", in.Name, c.unsupported(len(layers)))
		}
		if len(layers) == maxLayers {
			close()
			return nil, fmt.Errorf("open %s: compressed more than %d times (%s, then %s): %w", in.Name, maxLayers,
				strings.Join(layers, ", "), c.name, ErrUnsupportedInput)
		}
		if snap != nil {
			snap.extend = false // a compressed stream has no lines to complete
		}
		zr, release, err := c.open(oi.r)
		if err != nil {
			close()
			return nil, fmt.Errorf("open %s %s: %w", c.name, in.Name, err)
		}
		releases = append(releases, release)
		zbr := getReader(&gzipReaders, newGuard(zr, c.name, counted, lim), 1<<20)
		releases = append(releases, func() { putReader(&gzipReaders, zbr) })
		oi.r, oi.compressed = zbr, true
		layers = append(layers, c.name)
	}
	if len(layers) > 1 || len(layers) == 1 && layers[0] != "gzip" {
		inner := slices.Clone(layers)
		slices.Reverse(inner)
		notes = append(notes, "decompressed "+strings.Join(inner, " inside "))
	}
	if tr, name := transcode(oi.r, peek(4)); name != "" {
		if snap != nil {
			snap.extend = false // completing a line looks for an LF byte, which UTF-16 splits
		}
		oi.r = bufio.NewReaderSize(tr, 1<<20)
		notes = append(notes, name+" text (byte order mark) read as UTF-8")
	}
	if crOnly(peek(HeadBytes)) {
		if snap != nil {
			snap.extend = false // no LF would end the line being completed
		}
		oi.r = bufio.NewReaderSize(&crReader{r: oi.r}, 1<<20)
		notes = append(notes, "lines end with CR alone")
	}
	oi.note = func() string {
		all := notes
		if snap != nil {
			if n := snap.note(); n != "" {
				all = append(slices.Clip(all), n)
			}
		}
		return strings.Join(all, "; ")
	}
	return oi, nil
}

// Readers are reused from file to file: a CloudTrail export is thousands of small gzip files,
// and fresh buffers and inflaters for each (1.3 MB) cost more than reading them. An opened
// input's close returns them; nothing may use them after.
var (
	rawReaders, gzipReaders sync.Pool // *bufio.Reader (256 KiB, 1 MiB)
	gzips                   sync.Pool // *gzip.Reader
)

func getReader(p *sync.Pool, r io.Reader, size int) *bufio.Reader {
	if br, ok := p.Get().(*bufio.Reader); ok && br.Size() == size {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, size)
}

func putReader(p *sync.Pool, br *bufio.Reader) {
	br.Reset(nil) // drop the reference to the file
	p.Put(br)
}

func getGzip(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzips.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzips.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
}

// countingReader counts the bytes read through it. The count is atomic: the reading goroutine
// writes it while progress reporting reads it from another.
type countingReader struct {
	r    io.Reader
	n    atomic.Int64
	done <-chan struct{} // nil: never cancelled
}

// errCancelled is the read error of a file whose run was cancelled.
var errCancelled = errors.New("cancelled")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.done != nil {
		select {
		case <-c.done:
			return 0, errCancelled
		default:
		}
	}
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) load() int64 { return c.n.Load() }

// guardReader stops a decompressed stream that comes to more than max bytes, or to more than
// ratio times the compressed size (of the file as stored) once floor bytes came out, and says
// where a damaged stream broke. It also counts line ends (LF and CR): each line costs a reader
// work and memory whatever its length, so a stream of empty lines (a megabyte of gzip makes a
// billion) is measured at lineCost bytes a line against the same ratio, from lineFloor lines
// on. (In the output of an outer layer, which is compressed data, line-end bytes are rare.)
type guardReader struct {
	zr         io.Reader
	what       string // the compression, for messages
	compressed *countingReader
	out        int64
	max        int64
	ratio      int
	floor      int64
	lines      int64
	lineFloor  int64
	err        error
}

// Line accounting of the guard. Real audit lines are hundreds of bytes and compress to tens:
// far below one line per compressed byte. At the default ratio a stream is stopped past
// about three lines per compressed byte.
const (
	lineCost  = 64
	lineFloor = 1 << 20
	// guardReadMax bounds one read, so the guard trips within this many lines of its limit.
	guardReadMax = 256 << 10
)

func newGuard(zr io.Reader, what string, compressed *countingReader, lim openLimits) *guardReader {
	g := &guardReader{zr: zr, what: what, compressed: compressed, max: lim.maxDecompressed, ratio: lim.maxRatio,
		floor: lim.ratioFloor, lineFloor: lim.lineFloor}
	if g.max <= 0 {
		g.max = DefaultMaxDecompressedBytes
	}
	if g.ratio == 0 {
		g.ratio = DefaultMaxGzipRatio
	}
	if g.floor <= 0 {
		g.floor = gzipRatioFloor
	}
	if g.lineFloor <= 0 {
		g.lineFloor = lineFloor
	}
	return g
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if room := g.max - g.out; int64(len(p)) > room {
		p = p[:room]
	}
	if len(p) == 0 {
		g.err = fmt.Errorf("%w: more than %d decompressed bytes (raise --max-decompressed-bytes to read on)", ErrDecompressionLimit, g.max)
		return 0, g.err
	}
	if len(p) > guardReadMax {
		p = p[:guardReadMax]
	}
	n, err := g.zr.Read(p)
	g.out += int64(n)
	g.lines += int64(bytes.Count(p[:n], []byte{'\n'}) + bytes.Count(p[:n], []byte{'\r'}))
	if g.ratio > 0 {
		in := max(g.compressed.load(), 1)
		if g.out > g.floor && g.out > int64(g.ratio)*in {
			g.err = fmt.Errorf("%w: %d bytes decompressed (%s) from %d, more than %d times (a decompression bomb? --max-gzip-ratio raises the limit)",
				ErrDecompressionLimit, g.out, g.what, in, g.ratio)
			return n, g.err
		}
		if g.lines > g.lineFloor && g.lines*lineCost > int64(g.ratio)*in {
			g.err = fmt.Errorf("%w: %d lines decompressed (%s) from %d bytes, each line counted as %d bytes: more than %d times (a decompression bomb of empty lines? --max-gzip-ratio raises the limit)",
				ErrDecompressionLimit, g.lines, g.what, in, lineCost, g.ratio)
			return n, g.err
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("decompress %s at compressed byte %d: %w", g.what, g.compressed.load(), err)
		g.err = err
	}
	return n, err
}

// snapshotReader reads a regular file up to the size it had when opened; with extend, it then
// reads on to the end of the line that was being written at that size, so the last line read
// is whole.
type snapshotReader struct {
	f      *os.File
	name   string
	size   int64 // at open
	remain int64
	read   int64
	extend bool
	last   byte
	done   bool
}

func (s *snapshotReader) Read(p []byte) (int, error) {
	if s.done || len(p) == 0 {
		if s.done {
			return 0, io.EOF
		}
		return 0, nil
	}
	if s.remain > 0 {
		n, err := s.f.Read(p[:min(int64(len(p)), s.remain)])
		s.remain -= int64(n)
		s.read += int64(n)
		if n > 0 {
			s.last = p[n-1]
		}
		if errors.Is(err, io.EOF) {
			s.done = true // the file shrank (truncated by rotation): what there was is read
		}
		return n, err
	}
	if !s.extend || s.read == 0 || s.last == '\n' {
		s.done = true
		return 0, io.EOF
	}
	// Complete the line cut by the snapshot, up to what exists now.
	n, err := s.f.Read(p)
	if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
		n = i + 1
		s.done = true
	}
	s.read += int64(n)
	if n > 0 {
		s.last = p[n-1]
	}
	if errors.Is(err, io.EOF) {
		s.done = true
	}
	return n, err
}

// note says when the file changed size while it was read.
func (s *snapshotReader) note() string {
	fi, err := s.f.Stat()
	if err != nil {
		return ""
	}
	switch now := fi.Size(); {
	case now > s.read && s.read >= s.size:
		return fmt.Sprintf("file grew while read (%d bytes at open, %d now): read to the end of the line at byte %d; run again for the rest", s.size, now, s.read)
	case now < s.size:
		return fmt.Sprintf("file shrank while read (%d bytes at open, %d now): truncated or rotated", s.size, now)
	}
	return ""
}

// OpenFile opens a file for reading as open does (decompressed, transcoded, with the default limits),
// for inputs that are not audit logs (a Kubernetes events file).
func OpenFile(name string) (r *bufio.Reader, closeFile func() error, err error) {
	f, err := open(Input{Name: name}, nil, openLimits{})
	if err != nil {
		return nil, nil, err
	}
	return f.r, f.close, nil
}
