package sources

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TailBytes is how much of the end of a local file Newest reads for its newest event.
const TailBytes = 1 << 20

// NewestSpan: Newest looks only at the inputs whose first event is at most this much older
// than the latest first event of the inputs (a rotated file of last week cannot hold the
// newest event; a day's CloudTrail files are read, not the archive's).
const NewestSpan = 24 * time.Hour

// Newest is the time of the newest event of the inputs that is not after limit, found without
// reading everything, for durations such as --since 24h in a streamed run (Stream): the last
// TailBytes of a local uncompressed file (its whole when no event there is before limit), the
// whole of a compressed one. ok is false when an input is not a local regular file (standard
// input, a FIFO cannot be read twice; an S3 object would be fetched twice): the caller then
// holds the events. The zero time: no event.
func Newest(ctx context.Context, inputs []Input, opts LoadOptions, limit time.Time) (newest time.Time, ok bool, err error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	for _, in := range inputs {
		if !localFile(in) {
			// Standard input or a FIFO cannot be read twice; an S3 object would be fetched twice
			// (its listing already keeps only the days --since asks for).
			return time.Time{}, false, nil
		}
	}
	starts := startTimes(ctx, inputs, opts)
	var latest time.Time
	for _, s := range starts {
		if s.After(latest) {
			latest = s
		}
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, runtime.GOMAXPROCS(0))
	)
	see := func(t time.Time) {
		if t.After(limit) {
			return
		}
		mu.Lock()
		if t.After(newest) {
			newest = t
		}
		mu.Unlock()
	}
	for i, in := range inputs {
		if !starts[i].IsZero() && starts[i].Before(latest.Add(-NewestSpan)) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if t, found := tailNewest(ctx, in, opts, limit); found {
				see(t)
				return
			}
			_, _ = Stream(ctx, []Input{in}, opts, func(evs []event.Event) error {
				for i := range evs {
					see(evs[i].Time)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return time.Time{}, true, err
	}
	return newest, true, nil
}

// tailNewest reads the events of a local uncompressed file's last TailBytes with its format's
// reader; found is false when it cannot (not such a file, no event before limit there).
func tailNewest(ctx context.Context, in Input, opts LoadOptions, limit time.Time) (newest time.Time, found bool) {
	if in.Open != nil || in.Name == "-" {
		return time.Time{}, false
	}
	f, err := os.Open(in.Name)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() <= 2*TailBytes {
		return time.Time{}, false
	}
	head := make([]byte, HeadBytes)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if _, compressed := sniffCompression(head); compressed || bytes.HasPrefix(head, parquetMagic) {
		return time.Time{}, false
	}
	format := pickFormat(opts, in.Name, ScanHead(head, n < HeadBytes))
	if format < 0 {
		return time.Time{}, false
	}
	tail := make([]byte, TailBytes)
	n, err = f.ReadAt(tail, fi.Size()-TailBytes)
	if err != nil && err != io.EOF {
		return time.Time{}, false
	}
	tail = tail[:n]
	nl := bytes.IndexByte(tail, '\n')
	if nl < 0 {
		return time.Time{}, false
	}
	tail = tail[nl+1:]
	var st FileStats
	shared := NewInterner()
	file := &File{Name: in.Name, R: bufio.NewReader(bytes.NewReader(tail)), MaxLineBytes: opts.MaxLineBytes, Strings: shared, Local: shared.Local()}
	b := opts.Formats[format].Read(ctx, file, &st)
	b.Events.Each(func(_ int, ev *event.Event) {
		if !ev.Time.After(limit) && ev.Time.After(newest) {
			newest, found = ev.Time, true
		}
	})
	return newest, found
}
