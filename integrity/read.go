package integrity

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// maxDigestBytes bounds a decompressed digest file. A digest lists one hour of log files of one
// region (a few hundred entries of about 400 bytes); 64 MiB is far beyond any real one.
const maxDigestBytes = 64 << 20

// fileKind is what a file under AWSLogs/ is, from the folder CloudTrail delivers it to.
type fileKind int

const (
	kindOther   fileKind = iota
	kindDigest           // .../CloudTrail-Digest/...
	kindLog              // .../CloudTrail/...: every one must be listed by a digest
	kindInsight          // .../CloudTrail-Insight/...: checked when a digest lists it
)

// localFile is one file of the tree and what reading it found.
type localFile struct {
	path string // as found by the walk (under the root as given)
	key  string // the S3 key from its AWSLogs/ segment on
	kind fileKind

	hash    [sha256.Size]byte // SHA-256 of the decompressed bytes
	rawHash [sha256.Size]byte // SHA-256 of the bytes as stored (log files): to explain a mismatch
	damaged error             // does not decompress (its content changed)
	ioErr   error             // could not be read

	digest *digestFile // for kindDigest, when it parsed

	open func() (io.ReadCloser, error) // a Tree's file; nil: path is a local file
}

// classify returns the file's S3 key and kind; ok is false outside AWSLogs/.
func classify(abs string) (key string, kind fileKind, ok bool) {
	abs = filepath.ToSlash(abs)
	i := strings.LastIndex(abs, "/AWSLogs/")
	if i < 0 {
		return "", kindOther, false
	}
	key = abs[i+1:]
	switch {
	case strings.Contains(key, "/CloudTrail-Digest/"):
		kind = kindDigest
	case strings.Contains(key, "/CloudTrail/"):
		kind = kindLog
	case strings.Contains(key, "/CloudTrail-Insight/"):
		kind = kindInsight
	}
	return key, kind, true
}

// walk lists the files of the tree under root that sit below an AWSLogs/ folder.
func walk(ctx context.Context, root string) ([]*localFile, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	// WalkDir does not follow a symbolic link given as the root; a link to the export is common.
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if root, err = filepath.EvalSymlinks(root); err != nil {
			return nil, err
		}
	}
	var files []*localFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			files = append(files, &localFile{path: p, ioErr: err, kind: kindOther})
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key, kind, ok := classify(filepath.Join(abs, rel))
		if !ok || kind == kindOther {
			return nil
		}
		files = append(files, &localFile{path: p, key: key, kind: kind})
		return nil
	})
	return files, err
}

// readAll reads every file with a bounded number of workers: digests are decompressed, hashed
// and parsed; log files are hashed while they are decompressed, never held in memory.
func readAll(ctx context.Context, files []*localFile, workers int) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan *localFile)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &reader{buf: make([]byte, 64<<10), br: bufio.NewReaderSize(nil, 64<<10)}
			for f := range jobs {
				r.read(f)
			}
		}()
	}
	for _, f := range files {
		if f.ioErr != nil || f.key == "" {
			continue
		}
		select {
		case jobs <- f:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
}

// reader is one worker's reusable buffers and gzip state.
type reader struct {
	buf []byte
	br  *bufio.Reader
	gz  *gzip.Reader
}

// ioReader records the errors of the file itself, so they are told apart from the
// decompressor's (a changed file, not an unreadable one).
type ioReader struct {
	r   io.Reader
	err error
}

func (r *ioReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

func (r *reader) read(f *localFile) {
	var fh io.ReadCloser
	var err error
	if f.open != nil {
		fh, err = f.open()
	} else {
		fh, err = os.Open(f.path)
	}
	if err != nil {
		f.ioErr = err
		return
	}
	defer fh.Close()
	src := &ioReader{r: fh}
	raw := sha256.New()
	if f.kind != kindDigest {
		// Hashing the stored bytes too costs little (they are compressed) and tells a digest
		// written over the .gz bytes, not CloudTrail's, from a changed file.
		src.r = io.TeeReader(fh, raw)
	}
	r.br.Reset(src)
	var body io.Reader = r.br
	// gzip by its magic bytes, not the name: a copy may have been decompressed on the way.
	if head, _ := r.br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		if r.gz == nil {
			r.gz, err = gzip.NewReader(r.br)
		} else {
			err = r.gz.Reset(r.br)
		}
		if err != nil {
			f.setErr(src, err)
			return
		}
		body = r.gz
	}
	h := sha256.New()
	if f.kind == kindDigest {
		data, err := io.ReadAll(io.LimitReader(body, maxDigestBytes+1))
		if err != nil {
			f.setErr(src, err)
			return
		}
		if len(data) > maxDigestBytes {
			f.damaged = fmt.Errorf("larger than %d MiB decompressed", maxDigestBytes>>20)
			return
		}
		h.Write(data)
		copy(f.hash[:], h.Sum(nil))
		d, err := parseDigest(data)
		if err != nil {
			f.damaged = err
			return
		}
		f.digest = d
		return
	}
	if _, err := io.CopyBuffer(h, body, r.buf); err != nil {
		f.setErr(src, err)
		return
	}
	copy(f.hash[:], h.Sum(nil))
	io.CopyBuffer(raw, src, r.buf) // whatever the decompressor left unread (nothing, normally)
	copy(f.rawHash[:], raw.Sum(nil))
}

func (f *localFile) setErr(src *ioReader, err error) {
	if src.err != nil {
		f.ioErr = src.err
		return
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	f.damaged = fmt.Errorf("does not decompress: %w", err)
}
