package sources

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// ErrNoInput means a path named on the command line matched nothing readable.
var ErrNoInput = errors.New("no such file")

// Input is one file to read, or standard input when Name is "-".
type Input struct {
	Name string
}

// Expand turns command-line arguments into inputs: files as given, directories walked (every
// regular file inside, sorted, symlinks not followed so a loop cannot trap the walk), glob
// patterns expanded, and "-" for standard input. Arguments that match nothing are returned as
// errors, without stopping the others.
func Expand(args []string) ([]Input, []error) {
	var ins []Input
	var errs []error
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			ins = append(ins, Input{Name: p})
		}
	}
	for _, a := range args {
		if a == "-" {
			add(a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			if matches, gerr := filepath.Glob(a); gerr == nil && len(matches) > 0 && hasMeta(a) {
				slices.Sort(matches)
				for _, m := range matches {
					if fi, err := os.Stat(m); err == nil && fi.IsDir() {
						files, werr := walkDir(m)
						errs = append(errs, werr...)
						for _, f := range files {
							add(f)
						}
					} else {
						add(m)
					}
				}
				continue
			}
			errs = append(errs, fmt.Errorf("open %s: %w", a, errNotFound(err)))
			continue
		}
		if st.IsDir() {
			files, werr := walkDir(a)
			errs = append(errs, werr...)
			if len(files) == 0 && len(werr) == 0 {
				errs = append(errs, fmt.Errorf("read directory %s: %w (it holds no regular file)", a, ErrNoInput))
			}
			for _, f := range files {
				add(f)
			}
			continue
		}
		add(a)
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

func walkDir(root string) ([]string, []error) {
	var files []string
	var errs []error
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fmt.Errorf("read directory %s: %w", p, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	slices.Sort(files)
	return files, errs
}

// openedInput is an input ready to read, decompressed when it was gzip.
type openedInput struct {
	r          *bufio.Reader
	compressed bool
	close      func() error
	raw        *countingReader // bytes read from the file as stored, for progress
	size       int64           // the file's size; 0 when unknown
}

// countingReader counts the bytes read through it. Only the reading goroutine uses it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// open opens in and, when its first bytes are the gzip magic, decompresses it. The format is
// sniffed, never taken from the file name: rotated logs are not always named .gz.
func open(in Input, stdin io.Reader) (*openedInput, error) {
	var rc io.ReadCloser
	var size int64
	if in.Name == "-" {
		rc = io.NopCloser(stdin)
	} else {
		f, err := os.Open(in.Name)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", in.Name, errNotFound(err))
		}
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		rc = f
	}
	raw := &countingReader{r: rc}
	br := bufio.NewReaderSize(raw, 256<<10)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("open gzip %s: %w", in.Name, err)
		}
		return &openedInput{
			r:          bufio.NewReaderSize(zr, 1<<20),
			compressed: true,
			close:      func() error { zr.Close(); return rc.Close() },
			raw:        raw,
			size:       size,
		}, nil
	}
	return &openedInput{r: br, close: rc.Close, raw: raw, size: size}, nil
}
