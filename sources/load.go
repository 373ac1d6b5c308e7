package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"

	"golang.org/x/sync/errgroup"
)

// LoadOptions configure Load.
type LoadOptions struct {
	// Formats are the file formats detected, asked in order (sources/formats lists them).
	Formats []FileFormat
	// Only, when set, is the name of the only format read: a file of another format is
	// described and not read.
	Only         string
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
	// Panics are the readers that panicked, one per file, with their stacks (for --verbose
	// or a bug report; not shown by default). Each file's FileStats.ReadError says so too.
	Panics []*PanicError
	// S3 is what reading s3:// inputs listed, pruned, fetched and failed on; nil without them
	// (set by the caller that expanded them, internal/app).
	S3 *S3Stats
}

// A PanicError is a panic in a format's reader, caught so that it fails only the file being
// read: the file's events are left out, the other files are analysed.
type PanicError struct {
	File  string
	Value any
	Stack []byte // the stack of the goroutine that panicked
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error reading %s: %s", e.File, e.message())
}

// message is the panic's own text: a runtime error's or a string's (both written by
// vaultsentry's code, not taken from the input), otherwise only its type.
func (e *PanicError) message() string {
	var msg string
	switch v := e.Value.(type) {
	case runtime.Error:
		msg = v.Error()
	case string:
		msg = v
	default:
		msg = fmt.Sprintf("panic with a %T", v)
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

// Recovered wraps what recover returned with the stack of the goroutine that panicked; call it
// in the deferred function that recovered. A *PanicError (raised again by a reader that caught
// it on one of its own goroutines) is returned as it is, its stack the original one.
func Recovered(v any) *PanicError {
	if pe, ok := v.(*PanicError); ok {
		return pe
	}
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// ErrNothingRead means no input could be read at all.
var ErrNothingRead = errors.New("no input could be read")

// Load reads every input concurrently (one goroutine per file, at most GOMAXPROCS at once;
// a Vault file is itself parsed on every core, see readVault), each in the format its content
// shows, then orders all events by log time: rotated files are usually older than the live
// one, but file order is never taken for time order.
func Load(ctx context.Context, inputs []Input, opts LoadOptions) (*Loaded, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if len(opts.Formats) == 0 {
		return nil, errors.New("sources.Load: no file format given (see sources/formats)")
	}
	res := &Loaded{Files: make([]FileStats, len(inputs))}
	batches := make([]Batch, len(inputs))
	used := make([]int, len(inputs)) // index in opts.Formats of each file's format, -1: none
	errs := make([]error, len(inputs))
	panics := make([]*PanicError, len(inputs))
	shared := NewInterner()
	// CloudTrail files are many and small: each reader goroutine keeps its interner cache from
	// file to file. A channel, not a sync.Pool: a pool keeps what it holds (and through it the
	// whole interner) for two collections after Load returns.
	locals := make(chan *LocalInterner, runtime.GOMAXPROCS(0))
	parent := ctx
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, in := range inputs {
		g.Go(func() error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st := &res.Files[i]
			st.File, st.Found = in.Name, in.Found
			batches[i], used[i], panics[i], errs[i] = readFileSafe(ctx, in, opts, st, shared, locals, nil)
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
		if panics[i] != nil {
			res.Panics = append(res.Panics, panics[i])
		}
		if res.Files[i].Lines > 0 || errs[i] == nil {
			readAny = true
		}
	}
	// Formats that work across their files (CloudTrail drops records delivered twice) do so
	// before the merge.
	for fi, ff := range opts.Formats {
		c, ok := ff.(Combiner)
		if !ok {
			continue
		}
		var bs []*Batch
		var sts []*FileStats
		for i := range inputs {
			if used[i] == fi {
				bs, sts = append(bs, &batches[i]), append(sts, &res.Files[i])
			}
		}
		if len(bs) > 0 {
			c.Combine(bs, sts)
		}
	}
	perFile := make([]EventStore, len(inputs))
	for i := range batches {
		perFile[i] = batches[i].Events
	}
	clear(batches)
	res.Events = mergeByTime(perFile)
	for fi, ff := range opts.Formats {
		if f, ok := ff.(StreamFinisher); ok && slices.Contains(used, fi) {
			res.Events = f.Finish(res.Events, res.Files)
		}
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
func mergeByTime(perFile []EventStore) []event.Event {
	total, nonEmpty := 0, 0
	for _, es := range perFile {
		total += es.n
		if es.n > 0 {
			nonEmpty++
		}
	}
	keys := make([]sortKey, 0, total)
	for f := range perFile {
		perFile[f].Each(func(i int, ev *event.Event) { keys = append(keys, keyOf(ev.Time, f, i)) })
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
		out[i] = *perFile[k.file].At(k.idx)
		if i&(1<<12-1) == 0 {
			// Copying events is mostly the runtime's write barrier, where the goroutine cannot
			// be preempted: let a garbage collection that waits to scan its stack do so.
			runtime.Gosched()
		}
	}
	clear(perFile)
	return out
}

// Sorter orders the events of one file by time in place, ties in their order, moving each
// event once. Its scratch space is kept from call to call.
type Sorter struct{ keys []sortKey }

// Sort orders evs.
func (s *Sorter) Sort(evs []event.Event) {
	keys := s.keys[:0]
	for i := range evs {
		keys = append(keys, keyOf(evs[i].Time, 0, i))
	}
	if !slices.IsSortedFunc(keys, cmpSortKey) {
		slices.SortFunc(keys, cmpSortKey)
		permute(evs, keys)
	}
	s.keys = keys
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

// readFileSafe is readFile, with a panic in a format's code (Sniff, Read) turned into the
// file's read error: one file's bug must not lose the run. The file is closed and its
// progress finished by readFile's deferred calls on the way out; its events are left out (a
// reader that panicked may have left them half made), and its format is -1 so that no
// Combiner or StreamFinisher sees it.
func readFileSafe(ctx context.Context, in Input, opts LoadOptions, st *FileStats, shared *Interner, locals chan *LocalInterner, emit func([]event.Event)) (b Batch, format int, pe *PanicError, err error) {
	defer func() {
		if v := recover(); v != nil {
			pe = Recovered(v)
			pe.File = in.Name
			st.ReadError = fmt.Sprintf("read %s: internal error after line %d: %s (a bug in vaultsentry, please report it; "+
				"this file's events are left out, the other files are analysed)", in.Name, st.Lines, pe.message())
			b, format, err = Batch{}, -1, nil
		}
	}()
	b, format, err = readFile(ctx, in, opts, st, shared, locals, emit)
	return b, format, nil, err
}

// readFile reads one input in the format its head shows. It returns an error only when the
// input could not be opened; a read error part-way (a truncated gzip) is recorded in
// st.ReadError and what came before is kept. A file no format recognises is described in
// st.NotRead and not read; format is then -1.
func readFile(ctx context.Context, in Input, opts LoadOptions, st *FileStats, shared *Interner, locals chan *LocalInterner, emit func([]event.Event)) (b Batch, format int, err error) {
	f, err := open(in, opts.Stdin, openLimits{maxDecompressed: opts.MaxDecompressedBytes, maxRatio: opts.MaxGzipRatio, done: ctx.Done()})
	if err != nil {
		st.ReadError = err.Error()
		return Batch{}, -1, err
	}
	defer func() { f.close() }() // f, whichever it is by then: the rescue below opens the file again
	if opts.Progress != nil {
		defer func() {
			opts.Progress(Progress{File: in.Name, Read: f.raw.load(), Size: f.size, Lines: st.Lines, Done: true})
		}()
	}
	st.Compressed = f.compressed
	head, herr := f.r.Peek(HeadBytes)
	h := ScanHead(head, herr != nil)
	if in.Open == nil && in.Name != "-" && !f.compressed && bytes.HasPrefix(head, parquetMagic) {
		if lf, err := os.Open(in.Name); err == nil {
			if fi, err := lf.Stat(); err == nil && fi.Mode().IsRegular() {
				h.At, h.Size = lf, fi.Size()
			}
			defer lf.Close()
		}
	}
	format = pickFormat(opts, in.Name, h)
	if format < 0 {
		later := describeUnread(in, f, opts, st, h)
		if later < 0 {
			return Batch{}, -1, nil
		}
		// A line past the head is a log's: read the file again, in that format.
		f.close()
		reopened, err := open(in, opts.Stdin, openLimits{maxDecompressed: opts.MaxDecompressedBytes, maxRatio: opts.MaxGzipRatio, done: ctx.Done()})
		if err != nil {
			f = &openedInput{close: func() error { return nil }, raw: f.raw}
			st.ReadError = err.Error()
			return Batch{}, -1, err
		}
		f = reopened
		st.NotRead, format = "", later
	}
	ff := opts.Formats[format]
	st.Format = ff.Name()
	var li *LocalInterner
	select {
	case li = <-locals:
	default:
		li = shared.Local()
	}
	defer func() {
		select {
		case locals <- li:
		default:
		}
	}()
	file := &File{Name: in.Name, R: f.r, Size: f.size, Compressed: f.compressed, MaxLineBytes: opts.MaxLineBytes,
		Strings: shared, Local: li, Emit: emit}
	if opts.Progress != nil {
		file.Progress = func(lines int) {
			opts.Progress(Progress{File: in.Name, Read: f.raw.load(), Size: f.size, Lines: lines})
		}
	}
	b = ff.Read(ctx, file, st)
	if n := f.note(); n != "" {
		st.Note = strings.TrimPrefix(st.Note+"; "+n, "; ")
	}
	return b, format, nil
}

// pickFormat is the index of the format that claims the file: with LoadOptions.Format set,
// that format if it does, or if no other format does (its reader then counts and lists the
// lines it cannot use); otherwise the first that does. -1: none.
func pickFormat(opts LoadOptions, name string, h *Head) int {
	first, forced := -1, -1
	for i, ff := range opts.Formats {
		claims := ff.Sniff(name, h)
		if ff.Name() == opts.Only {
			forced = i
			if claims {
				return i
			}
		}
		if claims && first < 0 {
			first = i
		}
	}
	if opts.Only != "" {
		if first >= 0 {
			return -1 // another format's file: describeUnread names it
		}
		return forced
	}
	return first
}

// Detect is the index in formats of the first that claims a file called name whose head is h,
// or -1: what Load does for each file.
func Detect(formats []FileFormat, name string, h *Head) int {
	return pickFormat(LoadOptions{Formats: formats}, name, h)
}

// describeUnread says in st.NotRead what a file no format claimed holds. A file named on the
// command line is read to the end, to count its lines and to look for a log line past the
// head (a log whose first 64 KiB are damaged); the format of such a line is returned, and the
// caller reads the file again in it. A file found in a directory is described from its head.
func describeUnread(in Input, f *openedInput, opts LoadOptions, st *FileStats, h *Head) int {
	if len(bytes.TrimSpace(h.Bytes)) == 0 && h.Complete {
		st.NotRead = "empty file"
		return -1
	}
	if opts.Only != "" {
		for _, ff := range opts.Formats {
			if ff.Sniff(in.Name, h) {
				st.NotRead = "this is " + ff.Title() + ", not " + formatTitle(opts)
				return -1
			}
		}
	}
	what := "not an audit log"
	if !in.Found && !h.Complete {
		lines, later := 0, -1
		_, err := ForEachLine(f.r, opts.MaxLineBytes, func(line []byte, _ int, tooLong bool) {
			lines++
			if later >= 0 || tooLong || bytes.IndexByte(line, '{') < 0 {
				return
			}
			lh := ScanHead(line, true)
			if len(lh.Values) > 0 {
				later = pickFormat(LoadOptions{Formats: opts.Formats}, in.Name, lh)
			}
		})
		if later >= 0 && in.Name != "-" {
			return later
		}
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: %v", in.Name, err)
		}
		what = fmt.Sprintf("not an audit log: %s, none recognised", countOf(lines, "line"))
	} else if !in.Found {
		n := bytes.Count(h.Bytes, []byte("\n"))
		if len(h.Bytes) > 0 && h.Bytes[len(h.Bytes)-1] != '\n' {
			n++
		}
		what = fmt.Sprintf("not an audit log: %s, none recognised", countOf(n, "line"))
	}
	st.NotRead = what + " (" + h.Describe() + ")"
	return -1
}

// formatTitle is what LoadOptions.Format reads, for messages.
func formatTitle(opts LoadOptions) string {
	for _, ff := range opts.Formats {
		if ff.Name() == opts.Only {
			return "a " + ff.Title()
		}
	}
	return opts.Only
}

// countOf writes n with thousands separators and the noun, plural when n is not 1.
func countOf(n int, noun string) string {
	digits := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if n != 1 {
		noun += "s"
	}
	return b.String() + " " + noun
}

// Span is the time covered by events.
func Span(evs []event.Event) (first, last time.Time) {
	if len(evs) == 0 {
		return
	}
	return evs[0].Time, evs[len(evs)-1].Time
}
