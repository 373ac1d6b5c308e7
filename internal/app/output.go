package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
)

// interrupted is the error of a run ctx ended while it was doing what: nothing was written (the
// callers check ctx before each file they replace), so the previous report and baseline stand.
// It wraps the context's cause, which is context.Canceled for a signal: cmd turns it into exit
// 130 or 143.
func interrupted(ctx context.Context, what string) error {
	return runtimef("nothing was written: a previous report and the baseline are as they were",
		fmt.Errorf("interrupted while %s: %w", what, context.Cause(ctx)))
}

// loadGrace is how long load waits for sources.Load to return once ctx has ended.
const loadGrace = 250 * time.Millisecond

// load is sources.Load, returning at most loadGrace after ctx ends. Load itself stops its
// readers at their next look at ctx; a loop that does not look (or blocks in a read of a pipe
// that sends nothing) would hold the run for as long as its input lasts, which for /dev/zero is
// forever. Such a read is left behind: the run is over, and the process exits with it.
func load(ctx context.Context, ins []sources.Input, lo sources.LoadOptions) (*sources.Loaded, error) {
	type result struct {
		loaded *sources.Loaded
		err    error
	}
	done := make(chan result, 1)
	go func() {
		l, err := sources.Load(ctx, ins, lo)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.loaded, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		if r.err == nil {
			r.err = context.Cause(ctx) // what it read is incomplete
		}
		return r.loaded, r.err
	case <-time.After(loadGrace):
		return nil, context.Cause(ctx)
	}
}

// ctxWriter fails every write once ctx has ended, so a renderer stops at its next write.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.w.Write(p)
}

// writeOutput writes what render produces to the file path, or to stdout when path is "" or
// "-"; what names it in errors ("report", "trace").
//
// A file is written to a temporary file beside it and renamed over it once complete and
// synced, as the baseline is: a full disk, a failed render or an interrupt leaves the previous
// file as it was, never a truncated one. A path that exists and is not a regular file (a FIFO,
// /dev/stdout, /dev/null) is written in place: it cannot be replaced, and renaming over a
// device node would destroy it. Standard output gets the whole output in one write once it is
// complete, so an interrupt during rendering writes nothing there either; a failed write (a
// closed standard output) is an error.
func writeOutput(ctx context.Context, stdout io.Writer, path, what string, render func(io.Writer) error) error {
	if path == "" || path == "-" {
		var buf bytes.Buffer
		if err := render(ctxWriter{ctx, &buf}); err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx, "writing the "+what)
			}
			return runtimef("", fmt.Errorf("write %s: %w", what, err))
		}
		if ctx.Err() != nil {
			return interrupted(ctx, "writing the "+what)
		}
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return runtimef("redirect standard output to a file, or pass -o FILE", fmt.Errorf("write %s to standard output: %w", what, err))
		}
		return nil
	}
	target := path
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			target = resolved // replace the file the link points to, and keep the link
		}
	}
	dir := filepath.Dir(target)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return runtimef("check that the directory of --output exists", fmt.Errorf("write %s %s: directory %s does not exist", what, path, dir))
	}
	prev, err := os.Stat(target)
	if err == nil && !prev.Mode().IsRegular() {
		return writeInPlace(ctx, target, what, render)
	}
	tmpName, f, err := createBeside(target)
	if err != nil {
		return runtimef("check the path and permissions of --output", fmt.Errorf("write %s: %w", what, err))
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmpName)
		if ctx.Err() != nil {
			return interrupted(ctx, "writing the "+what)
		}
		return runtimef("check free space and permissions in the directory of --output; the previous file is intact",
			fmt.Errorf("write %s %s: %w", what, path, err))
	}
	if err := render(ctxWriter{ctx, f}); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if prev != nil {
		f.Chmod(prev.Mode().Perm()) // keep the mode the report had (best effort: not our file, maybe)
	}
	if err := f.Close(); err != nil {
		return fail(err) // closes again, harmlessly, and removes the temporary file
	}
	if ctx.Err() != nil {
		os.Remove(tmpName)
		return interrupted(ctx, "writing the "+what)
	}
	if err := os.Rename(tmpName, target); err != nil {
		os.Remove(tmpName)
		return runtimef("check the permissions of --output", fmt.Errorf("write %s %s: %w", what, path, err))
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: the rename itself survives a crash
		d.Close()
	}
	return nil
}

// createBeside creates a new temporary file in the directory of path. os.CreateTemp would make
// it 0600; created 0666 it gets the mode the umask gives a new file, as os.Create would.
func createBeside(path string) (string, *os.File, error) {
	for range 10 {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, fmt.Errorf("create a temporary file beside %s: too many collisions", path)
}

// writeInPlace writes to an existing path that is not a regular file (a FIFO, a device).
func writeInPlace(ctx context.Context, path, what string, render func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return runtimef("check the path and permissions of --output", fmt.Errorf("write %s: %w", what, err))
	}
	err = render(ctxWriter{ctx, f})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if ctx.Err() != nil {
		return interrupted(ctx, "writing the "+what)
	}
	if err != nil {
		return runtimef("", fmt.Errorf("write %s %s: %w", what, path, err))
	}
	return nil
}
