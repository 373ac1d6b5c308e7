package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vaultsentry/vaultsentry/sources"
)

// DefaultInFlight is how many objects are fetched at once: enough to hide S3's first-byte
// latency (tens of milliseconds) behind the readers, few enough to stay polite and small.
const DefaultInFlight = 16

// smallObject is the size up to which a fetched object is read into memory ahead of its reader
// (most CloudTrail log files are a few KiB to a few hundred KiB compressed); a larger one is
// streamed to its reader. Memory is bounded by InFlight * smallObject plus the streams' buffers.
const smallObject = 1 << 20

// Stats is the S3 statistics of a run, safe for concurrent use.
type Stats struct {
	mu sync.Mutex
	s  sources.S3Stats
}

func (s *Stats) add(f func(*sources.S3Stats)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	f(&s.s)
	s.mu.Unlock()
}

// Snapshot is a copy of the statistics so far.
func (s *Stats) Snapshot() sources.S3Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.s
	c.Failures = append([]sources.S3Failure(nil), s.s.Failures...)
	return c
}

func (s *Stats) fail(name string, off int64, err error) {
	s.add(func(st *sources.S3Stats) {
		st.Failed++
		if len(st.Failures) < sources.MaxProblemsListed {
			st.Failures = append(st.Failures, sources.S3Failure{Object: name, Offset: off, Error: err.Error()})
		}
	})
}

// Fetcher turns listed objects into inputs. Objects are fetched ahead of their readers, in
// input order (the order sources.Load opens them), at most InFlight at once: a slot is taken
// when a GetObject starts and given back when the reader closes the object. An object its
// reader opens before the prefetcher got to it is fetched then, without a slot (at most one per
// reader, and the prefetcher skips it).
type Fetcher struct {
	ctx      context.Context
	api      API
	stats    *Stats
	objs     []Object
	slots    []slot
	sem      chan struct{}
	started  sync.Once
	inFlight int
	// Progress, when set, is told each object's bytes as they arrive.
	Progress func(n int64)
}

type slot struct {
	state  atomic.Int32 // 0 waiting, 1 taken by the prefetcher, 2 opened directly
	opened atomic.Bool  // Open was called once: a second Open (Load's rescue of a named input) fetches again
	done   chan struct{}
	body   io.ReadCloser
	err    error
}

// NewFetcher prepares the fetching of objs; nothing is requested before the first Open.
// inFlight <= 0 takes DefaultInFlight. ctx ends the prefetching.
func NewFetcher(ctx context.Context, api API, objs []Object, inFlight int, stats *Stats) *Fetcher {
	if inFlight <= 0 {
		inFlight = DefaultInFlight
	}
	f := &Fetcher{ctx: ctx, api: api, stats: stats, objs: objs, slots: make([]slot, len(objs)),
		sem: make(chan struct{}, inFlight), inFlight: inFlight}
	for i := range f.slots {
		f.slots[i].done = make(chan struct{})
	}
	return f
}

// Inputs are the objects as sources.Inputs, named s3://bucket/key.
func (f *Fetcher) Inputs() []sources.Input {
	ins := make([]sources.Input, len(f.objs))
	for i, o := range f.objs {
		ins[i] = sources.Input{Name: o.Name(), Size: o.Size, Found: o.found, Open: func() (io.ReadCloser, error) { return f.open(i) }}
	}
	return ins
}

// prefetch starts the GetObjects in order, each when a slot is free.
func (f *Fetcher) prefetch() {
	for i := range f.objs {
		select {
		case f.sem <- struct{}{}:
		case <-f.ctx.Done():
			return
		}
		s := &f.slots[i]
		if !s.state.CompareAndSwap(0, 1) {
			<-f.sem // its reader opened it itself
			continue
		}
		go func() {
			s.body, s.err = f.get(f.ctx, f.objs[i], true)
			if s.err != nil {
				<-f.sem
			}
			close(s.done)
		}()
	}
}

func (f *Fetcher) open(i int) (io.ReadCloser, error) {
	s := &f.slots[i]
	if s.opened.Swap(true) {
		return f.get(f.ctx, f.objs[i], false)
	}
	if s.state.CompareAndSwap(0, 2) {
		f.started.Do(func() { go f.prefetch() }) // the first Open: the prefetcher starts after this object
		// Opened before the prefetcher reached it: fetched now, outside the slots. The slots
		// bound what is fetched ahead of the readers; a reader that waited for one could wait
		// for ever, the prefetcher taking each slot given back for an object after this one,
		// whose reader is not started before this one gives its events (sources.Stream).
		return f.get(f.ctx, f.objs[i], false)
	}
	select {
	case <-s.done:
	case <-f.ctx.Done():
		return nil, f.ctx.Err()
	}
	return s.body, s.err
}

// get fetches one object: a small one is read whole (a failure while reading it is returned by
// the reader after the bytes that arrived, so the file's statistics locate it), a larger one is
// streamed. pooled: the object holds a slot, given back on Close.
func (f *Fetcher) get(ctx context.Context, o Object, pooled bool) (io.ReadCloser, error) {
	release := func() {}
	if pooled {
		var once sync.Once
		release = func() { once.Do(func() { <-f.sem }) }
	}
	out, err := f.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		err = explain(err)
		f.stats.fail(o.Name(), 0, err)
		return nil, err
	}
	f.stats.add(func(s *sources.S3Stats) {
		s.Fetched++
		if out.ServerSideEncryption == types.ServerSideEncryptionAwsKms || out.ServerSideEncryption == types.ServerSideEncryptionAwsKmsDsse {
			s.KMSObjects++
		}
	})
	r := &objectReader{f: f, name: o.Name(), body: out.Body, release: release}
	if out.ContentLength != nil && *out.ContentLength >= 0 && *out.ContentLength <= smallObject {
		size := *out.ContentLength
		var buf bytes.Buffer
		buf.Grow(int(size))
		_, rerr := io.Copy(&buf, r)
		out.Body.Close()
		r.body = io.NopCloser(&buf)
		r.pending = rerr
		r.counted = true
	}
	return r, nil
}

// objectReader counts an object's bytes and records a failure mid-stream, with its offset.
type objectReader struct {
	f       *Fetcher
	name    string
	body    io.ReadCloser
	release func()
	n       int64
	counted bool  // bytes already counted (read ahead)
	pending error // the error that ended the read-ahead, returned after its bytes
	failed  bool
}

func (r *objectReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if !r.counted {
		r.n += int64(n)
		r.f.stats.add(func(s *sources.S3Stats) { s.Bytes += int64(n) })
		if r.f.Progress != nil && n > 0 {
			r.f.Progress(int64(n))
		}
	}
	if err == io.EOF && r.pending != nil {
		err = r.pending
		r.pending = nil
		return n, err // already recorded by the read-ahead
	}
	if err != nil && err != io.EOF && !r.failed {
		r.failed = true
		r.f.stats.fail(r.name, r.n, err)
		// Not %w: an unexpected EOF from the connection must not read as a truncated file.
		err = fmt.Errorf("s3 object failed after %d bytes: %v", r.n, err)
	}
	return n, err
}

func (r *objectReader) Close() error {
	err := r.body.Close()
	r.release()
	if errors.Is(err, io.ErrClosedPipe) {
		err = nil
	}
	return err
}
