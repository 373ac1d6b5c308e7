package sources

import (
	"context"
	"errors"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vaultsentry/vaultsentry/event"

	"golang.org/x/sync/errgroup"
)

// Format names an input format.
type Format string

// Input formats.
const (
	FormatVault      Format = "vault"
	FormatCloudTrail Format = "cloudtrail"
)

// LoadOptions configure Load.
type LoadOptions struct {
	Format       Format
	MaxLineBytes int       // default DefaultMaxLineBytes
	Stdin        io.Reader // for the input "-"
	// MaxDecompressedBytes stops a gzip input after this many decompressed bytes (default
	// DefaultMaxDecompressedBytes); MaxGzipRatio after it expanded this many times (default
	// DefaultMaxGzipRatio, negative: no ratio check). What was read before is kept.
	MaxDecompressedBytes int64
	MaxGzipRatio         int
	// Progress, when set, is called from reader goroutines as each file is read (every few
	// thousand lines, and once with Done when the file ends). It must be safe for concurrent use.
	Progress func(Progress)
}

// Progress is how far the reading of one input has got.
type Progress struct {
	File  string
	Read  int64 // bytes read from the file as stored (compressed bytes for gzip)
	Size  int64 // the file's size as stored; 0 when unknown (standard input)
	Lines int
	Done  bool
}

// Loaded is every event of a run, in time order, with the statistics of each input.
type Loaded struct {
	Events []event.Event
	Files  []FileStats
	// Errors are inputs that could not be read at all (missing, permission denied).
	Errors []error
}

// ErrNothingRead means no input could be read at all.
var ErrNothingRead = errors.New("no input could be read")

// Load reads every input concurrently (one goroutine per file, at most GOMAXPROCS at once;
// a Vault file is itself parsed on every core, see readVault), then orders all events by log
// time: rotated files are usually older than the live one, but file order is never taken for
// time order.
func Load(ctx context.Context, inputs []Input, opts LoadOptions) (*Loaded, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	res := &Loaded{Files: make([]FileStats, len(inputs))}
	perFile := make([]eventStore, len(inputs))
	ids := make([][]recKey, len(inputs)) // CloudTrail records of the events, parallel to perFile
	errs := make([]error, len(inputs))
	shared := newInterner()
	// CloudTrail files are many and small: each reader goroutine keeps its interner cache from
	// file to file.
	locals := &sync.Pool{New: func() any { return shared.local() }}
	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, in := range inputs {
		g.Go(func() error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st := &res.Files[i]
			st.File = in.Name
			evs, evIDs, err := readFile(ctx, in, opts, st, shared, locals)
			perFile[i], ids[i], errs[i] = evs, evIDs, err
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := parent.Err(); err != nil {
		return nil, err // interrupted: what was read is incomplete
	}
	readAny := false
	for i := range inputs {
		if errs[i] != nil {
			res.Errors = append(res.Errors, errs[i])
		}
		if res.Files[i].Lines > 0 || errs[i] == nil {
			readAny = true
		}
	}
	if opts.Format == FormatCloudTrail {
		// CloudTrail files are small and delivered at least once: drop records seen in an
		// earlier file, then order, then drop the GetSecretValue echoes of batch reads.
		flat := make([][]event.Event, len(perFile))
		for i := range perFile {
			flat[i] = perFile[i].flat
		}
		dropDuplicateRecords(flat, ids, res.Files)
		var keys []sortKey
		for i := range perFile {
			// A delivered file holds its records in no particular order: ordered here, where the
			// file's events are in the cache, the merge reads each file front to back.
			keys = sortFlat(flat[i], keys)
			perFile[i] = storeOf(flat[i])
		}
		res.Events = mergeByTime(perFile)
		res.Events = dropBatchEchoes(res.Events, res.Files)
	} else {
		res.Events = mergeByTime(perFile)
	}
	if !readAny && len(inputs) > 0 {
		return res, ErrNothingRead
	}
	return res, nil
}

// mergeByTime returns the events of every file in one slice ordered by time; ties keep input
// order (file, then position), as SortEvents on the concatenation would. A single file read
// into one slice is sorted in place; otherwise the events are copied once, straight to their
// place. Either way the events move O(n) times (SortEvents would move them O(n log n) times).
func mergeByTime(perFile []eventStore) []event.Event {
	total, nonEmpty := 0, 0
	for _, es := range perFile {
		total += es.n
		if es.n > 0 {
			nonEmpty++
		}
	}
	keys := make([]sortKey, 0, total)
	for f := range perFile {
		perFile[f].each(func(i int, ev *event.Event) { keys = append(keys, keyOf(ev.Time, f, i)) })
	}
	sorted := slices.IsSortedFunc(keys, cmpSortKey)
	if !sorted {
		slices.SortFunc(keys, cmpSortKey)
	}
	if nonEmpty == 1 {
		for _, es := range perFile {
			if es.n > 0 && es.flat != nil {
				if !sorted {
					permute(es.flat, keys)
				}
				return es.flat
			}
		}
	}
	out := make([]event.Event, total)
	for i, k := range keys {
		out[i] = *perFile[k.file].at(k.idx)
		if i&(1<<12-1) == 0 {
			// Copying events is mostly the runtime's write barrier, where the goroutine cannot
			// be preempted: let a garbage collection that waits to scan its stack do so.
			runtime.Gosched()
		}
	}
	clear(perFile)
	return out
}

// sortFlat orders evs by time in place, ties in their order; keys is scratch space, returned
// for the next call.
func sortFlat(evs []event.Event, keys []sortKey) []sortKey {
	keys = keys[:0]
	for i := range evs {
		keys = append(keys, keyOf(evs[i].Time, 0, i))
	}
	if !slices.IsSortedFunc(keys, cmpSortKey) {
		slices.SortFunc(keys, cmpSortKey)
		permute(evs, keys)
	}
	return keys
}

// permute puts evs in the order of keys (keys[i].idx is the event that goes to position i),
// moving each event once by following the permutation's cycles. It uses keys[i].idx = -1 as
// the mark of a position done.
func permute(evs []event.Event, keys []sortKey) {
	for i := range keys {
		if keys[i].idx < 0 {
			continue
		}
		if keys[i].idx == i {
			keys[i].idx = -1
			continue
		}
		tmp := evs[i]
		j := i
		for {
			k := keys[j].idx
			keys[j].idx = -1
			if k == i {
				evs[j] = tmp
				break
			}
			evs[j] = evs[k]
			j = k
		}
	}
}

// SortEvents orders events by time; ties keep input order (file, then line).
func SortEvents(evs []event.Event) {
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
}

// readFile reads one input. It returns an error only when the input could not be opened; a read
// error part-way (a truncated gzip) is recorded in st.ReadError and what came before is kept.
// For CloudTrail it also returns each event's eventID, for de-duplication across files.
func readFile(ctx context.Context, in Input, opts LoadOptions, st *FileStats, shared *interner, locals *sync.Pool) (eventStore, []recKey, error) {
	f, err := open(in, opts.Stdin, openLimits{maxDecompressed: opts.MaxDecompressedBytes, maxRatio: opts.MaxGzipRatio})
	if err != nil {
		st.ReadError = err.Error()
		return eventStore{}, nil, err
	}
	defer f.close()
	if opts.Progress != nil {
		defer func() {
			opts.Progress(Progress{File: in.Name, Read: f.raw.load(), Size: f.size, Lines: st.Lines, Done: true})
		}()
	}
	st.Compressed = f.compressed
	st.Format = string(opts.Format)
	switch opts.Format {
	case FormatCloudTrail:
		li := locals.Get().(*localInterner)
		defer locals.Put(li)
		evs, keys, err := readCloudTrail(in, f, opts, st, li)
		return storeOf(evs), keys, err
	default:
		st.Format = string(FormatVault)
		var sizeHint int64 // lets the reader size its event store in one go
		if !f.compressed {
			sizeHint = f.size
		}
		var progress func(lines int)
		if opts.Progress != nil {
			progress = func(lines int) {
				opts.Progress(Progress{File: in.Name, Read: f.raw.load(), Size: f.size, Lines: lines})
			}
		}
		evs := readVault(ctx, in.Name, f.r, sizeHint, opts, st, shared, progress)
		st.Note = f.note()
		return evs, nil, nil
	}
}

// Span is the time covered by events.
func Span(evs []event.Event) (first, last time.Time) {
	if len(evs) == 0 {
		return
	}
	return evs[0].Time, evs[len(evs)-1].Time
}
