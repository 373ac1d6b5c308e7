package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// Stream is Load without holding the input: every input is read (in parallel, each in the
// format its content shows), and its events reach sink in one time-ordered stream, in batches
// (the slice is the sink's only during the call). Memory is bounded by what is in flight: a
// reorder buffer per input being read and the chunks between the readers and the merge, never
// by the size of the input.
//
// Order: each input's events are put in time order by a buffer of ReorderEvents events (an
// event up to ReorderWindow older than the newest of its input, and at most ReorderEvents
// events behind it, finds its place); the inputs are merged exactly, each opened when the merge
// reaches the time its first event can have (its start: startTimes), so rotated files named in
// any order and CloudTrail delivery files that overlap are merged as Load merges them. An event
// later than that bound is still analysed, out of order, and counted in its file's Late. Ties
// keep input order (input, then position), as in Load.
//
// An event earlier than its input's start (a CloudTrail record delivered more than StartSlack
// after it happened) is merged as if it were at the start: the order never depends on how soon
// a reader happened to give its events, so the same inputs give the same stream on every run.
//
// Formats that work across their files (Stager: CloudTrail's duplicate deliveries and batch
// echoes) do so on the merged stream, in a window of log time. The returned Loaded has no
// Events; its Files, Errors and Panics are complete when Stream returns.
func Stream(ctx context.Context, inputs []Input, opts LoadOptions, sink func([]event.Event) error) (*Loaded, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if len(opts.Formats) == 0 {
		return nil, errors.New("sources.Stream: no file format given (see sources/formats)")
	}
	m := &merger{
		ctx: ctx, inputs: inputs, opts: opts, sink: sink,
		res:    &Loaded{Files: make([]FileStats, len(inputs))},
		shared: NewInterner(),
		locals: make(chan *LocalInterner, runtime.GOMAXPROCS(0)),
		errs:   make([]error, len(inputs)),
		panics: make([]*PanicError, len(inputs)),
		used:   make([]int, len(inputs)),
	}
	m.reading = make(chan struct{}, max(maxReading, 4*runtime.GOMAXPROCS(0)))
	m.cond = sync.NewCond(&m.mu)
	for _, ff := range opts.Formats {
		if s, ok := ff.(Stager); ok {
			m.stages = append(m.stages, s.NewStage())
		}
	}
	m.chain()
	err := m.run()
	if err != nil && !errors.Is(err, ErrNothingRead) {
		return nil, err
	}
	return m.res, err
}

// ReorderWindow and ReorderEvents bound how far an event may be behind the newest of its input
// and still be analysed in time order (Stream). Vault writes a request entry when the request
// arrives, and the reader gives a request's event once its response is paired: a file's events
// are in order to within milliseconds. A CloudTrail delivery file is read whole and sorted; the
// overlap between delivery files is the merge's (StartSlack). What the buffer holds the analysis
// waits for: a small bound keeps the detectors busy while the file is still being decoded.
const (
	ReorderWindow = time.Minute
	ReorderEvents = 1 << 13
)

// StartSlack is how much earlier than the time in its name a CloudTrail delivery file's events
// may be (CloudTrail delivers about every five minutes; the issue allows fifteen of overlap).
const StartSlack = 30 * time.Minute

// maxReading is how many inputs a stream reads at once, at least.
const maxReading = 64

// streamChunk is how many events move between the stages of a stream at once.
const streamChunk = 1 << 12

type merger struct {
	ctx     context.Context
	cancel  context.CancelFunc
	inputs  []Input
	opts    LoadOptions
	sink    func([]event.Event) error
	res     *Loaded
	shared  *Interner
	locals  chan *LocalInterner
	errs    []error
	panics  []*PanicError
	used    []int
	starts  []time.Time // each input's start (startTimes)
	stages  []Stage
	next    []func(*event.Event) // where each stage's events go (chain)
	reading chan struct{}        // a slot per input being read (maxReading)
	wg      sync.WaitGroup

	// mu guards every inputStream's queue; cond is signalled when one changes.
	mu   sync.Mutex
	cond *sync.Cond
	// starving: the merge waits for an input that has not given its first events yet (its
	// file may wait for a fetch slot another input holds): the inputs ahead may then fill their
	// queues past the limit, so that a reader blocked on its queue never holds up the one the
	// merge needs.
	starving bool
	stopped  bool

	out    []event.Event
	newest time.Time // the newest event taken: one before it is late
}

// inputStream is one input between its reader and the merge.
type inputStream struct {
	m   *merger
	idx int
	// queue holds sorted chunks for the merge (guarded by m.mu); done: the reader returned.
	queue [][]event.Event
	done  bool
	// cur is the chunk the merge takes events from (the merge's own).
	cur   []event.Event
	given bool // gave its first chunk, or finished

	// The reorder buffer, the reader's own.
	buf    []event.Event
	sorter Sorter
	newest time.Time

	late int // events taken before one newer already taken (the merge's)
}

// key is where the input's next event goes in the merge: its time, or the input's start if
// that is later (Stream).
func (s *inputStream) key() time.Time {
	if t, st := s.cur[0].Time, s.m.starts[s.idx]; t.Before(st) {
		return st
	}
	return s.cur[0].Time
}

func (m *merger) run() error {
	ctx, cancel := context.WithCancel(m.ctx)
	m.cancel = cancel
	defer cancel()
	n := len(m.inputs)
	starts := startTimes(ctx, m.inputs, m.opts)
	m.starts = starts
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return starts[a].Compare(starts[b]) })
	streams := make([]*inputStream, n)
	var active []*inputStream
	next := 0
	readahead := runtime.GOMAXPROCS(0)
	running := func() int { // done is written by the readers
		m.mu.Lock()
		defer m.mu.Unlock()
		k := 0
		for _, s := range active {
			if !s.done {
				k++
			}
		}
		return k
	}
	start := func() {
		i := order[next]
		next++
		s := &inputStream{m: m, idx: i}
		streams[i] = s
		active = append(active, s)
		m.wg.Add(1)
		go m.read(ctx, s)
	}
	m.out = make([]event.Event, 0, streamChunk)
	var runErr error
	for runErr == nil {
		if err := m.ctx.Err(); err != nil {
			runErr = err
			break
		}
		// The earliest event can be chosen once every open input has shown its next one, except
		// an input that has shown nothing yet and whose events start after the earliest.
		m.mu.Lock()
		var first, second *inputStream
		var bound time.Time // events at or after it wait: an input may still give earlier ones
		hasBound := false
		for {
			first, second, hasBound = nil, nil, false
			for _, s := range active {
				if len(s.cur) == 0 && len(s.queue) > 0 {
					s.cur = s.queue[0]
					s.queue[0] = nil
					s.queue = s.queue[1:]
					m.cond.Broadcast()
				}
			}
			active = slices.DeleteFunc(active, func(s *inputStream) bool { return s.done && len(s.queue) == 0 && len(s.cur) == 0 })
			for _, s := range active {
				if len(s.cur) == 0 {
					continue
				}
				switch {
				case first == nil || before(s, first):
					first, second = s, first
				case second == nil || before(s, second):
					second = s
				}
			}
			var wait *inputStream
			for _, s := range active {
				if len(s.cur) > 0 {
					continue
				}
				if s.given || first == nil || !starts[s.idx].After(first.key()) {
					wait = s
					break
				}
				if !hasBound || starts[s.idx].Before(bound) {
					bound, hasBound = starts[s.idx], true
				}
			}
			if wait == nil || m.ctx.Err() != nil {
				break
			}
			m.starving = !wait.given
			m.cond.Broadcast()
			m.cond.Wait()
		}
		m.starving = false
		m.cond.Broadcast()
		m.mu.Unlock()
		if m.ctx.Err() != nil {
			continue
		}
		// An input not opened yet whose events can come before the earliest: open it first.
		if next < n && (first == nil || !starts[order[next]].After(first.key())) {
			start()
			continue
		}
		if next < n && running() < readahead {
			start() // read ahead, so every core has a file to decode
			continue
		}
		if first == nil {
			if next == n && len(active) == 0 {
				break
			}
			continue
		}
		if next < n && (!hasBound || starts[order[next]].Before(bound)) {
			bound, hasBound = starts[order[next]], true
		}
		runErr = m.take(first, second, hasBound, bound)
	}
	if runErr != nil {
		cancel()
		m.mu.Lock()
		m.stopped = true
		m.cond.Broadcast()
		m.mu.Unlock()
		m.wg.Wait()
		return runErr
	}
	m.wg.Wait()
	for k, st := range m.stages {
		st.Flush(m.next[k]) // what a stage held goes through the stages after it
	}
	if err := m.flush(); err != nil {
		return err
	}
	for _, st := range m.stages {
		st.Apply(m.res.Files)
	}
	readAny := false
	for i := range m.inputs {
		if m.errs[i] != nil {
			m.res.Errors = append(m.res.Errors, m.errs[i])
		}
		if m.panics[i] != nil {
			m.res.Panics = append(m.res.Panics, m.panics[i])
		}
		if m.res.Files[i].Lines > 0 || m.errs[i] == nil {
			readAny = true
		}
		if s := streams[i]; s != nil {
			m.res.Files[i].Late = s.late
		}
	}
	if !readAny && n > 0 {
		return ErrNothingRead
	}
	return nil
}

// before orders two inputs by their next event: its key, then input order.
func before(a, b *inputStream) bool {
	if c := a.key().Compare(b.key()); c != 0 {
		return c < 0
	}
	return a.idx < b.idx
}

// take moves events of first to the output while they come before second's next event and
// before the start of the next input not opened yet.
func (m *merger) take(first, second *inputStream, more bool, nextStart time.Time) error {
	chunk := first.cur
	start := m.starts[first.idx]
	var limit time.Time
	if second != nil {
		limit = second.key()
	}
	i := 0
	for i < len(chunk) {
		ev := &chunk[i]
		key := ev.Time
		if key.Before(start) {
			key = start
		}
		if second != nil {
			if c := key.Compare(limit); c > 0 || (c == 0 && second.idx < first.idx) {
				break
			}
		}
		if more && !key.Before(nextStart) {
			break
		}
		if ev.Time.Before(m.newest) {
			first.late++
		} else {
			m.newest = ev.Time
		}
		m.emitStaged(ev)
		i++
		if len(m.out) == cap(m.out) {
			if err := m.flush(); err != nil {
				return err
			}
		}
	}
	if i == len(chunk) {
		clear(chunk)
		first.cur = nil
	} else {
		first.cur = chunk[i:]
	}
	return nil
}

func (m *merger) emitStaged(ev *event.Event) {
	if len(m.stages) == 0 {
		m.emit(ev)
		return
	}
	m.stages[0].Push(ev, m.next[0])
}

// chain makes next[k], where stage k's events go: the next stage, or the output.
func (m *merger) chain() {
	m.next = make([]func(*event.Event), len(m.stages))
	for k := range m.stages {
		if k == len(m.stages)-1 {
			m.next[k] = m.emit
			continue
		}
		st, next := m.stages[k+1], k+1
		m.next[k] = func(ev *event.Event) { st.Push(ev, m.next[next]) }
	}
}

func (m *merger) emit(ev *event.Event) {
	m.out = append(m.out, *ev)
}

func (m *merger) flush() error {
	if len(m.out) == 0 {
		return nil
	}
	err := m.sink(m.out)
	clear(m.out)
	m.out = m.out[:0]
	return err
}

// read is an input's reader goroutine: the format's reader, its events through the reorder
// buffer into the queue.
func (m *merger) read(ctx context.Context, s *inputStream) {
	defer m.wg.Done()
	defer func() {
		s.flush(true)
		m.mu.Lock()
		s.done, s.given = true, true
		m.cond.Broadcast()
		m.mu.Unlock()
	}()
	in := m.inputs[s.idx]
	st := &m.res.Files[s.idx]
	st.File, st.Found = in.Name, in.Found
	// At most maxReading inputs are open at once (file descriptors; a CloudTrail tree opens the
	// files of half an hour of every region and account); a reader that waits for a slot has
	// given nothing yet, so the merge lets the others run past their queues' limit meanwhile.
	select {
	case m.reading <- struct{}{}:
	case <-ctx.Done():
		return
	}
	var b Batch
	b, m.used[s.idx], m.panics[s.idx], m.errs[s.idx] = readFileSafe(ctx, in, m.opts, st, m.shared, m.locals, s.add)
	<-m.reading
	// A format that reads whole files gives its events at the end, once the file is closed
	// (an S3 object's fetch slot is free again).
	if b.Events.Len() > 0 {
		batch := make([]event.Event, 0, min(b.Events.Len(), streamChunk))
		b.Events.Each(func(_ int, ev *event.Event) {
			batch = append(batch, *ev)
			if len(batch) == cap(batch) {
				s.add(batch)
				batch = batch[:0]
			}
		})
		s.add(batch)
	}
}

// add takes events of the input in the order its reader made them.
func (s *inputStream) add(evs []event.Event) {
	for i := range evs {
		if evs[i].Time.After(s.newest) {
			s.newest = evs[i].Time
		}
	}
	s.buf = append(s.buf, evs...)
	if len(s.buf) >= 2*ReorderEvents {
		s.flush(false)
	}
}

// flush sorts the reorder buffer and queues what can no longer be overtaken: the events more
// than ReorderWindow older than the newest, and the oldest beyond ReorderEvents; all of them
// at the end of the input.
func (s *inputStream) flush(all bool) {
	if len(s.buf) == 0 {
		return
	}
	s.sorter.Sort(s.buf)
	cut := len(s.buf)
	if !all {
		limit := s.newest.Add(-ReorderWindow)
		cut, _ = slices.BinarySearchFunc(s.buf, limit, func(e event.Event, t time.Time) int {
			if e.Time.After(t) {
				return 1
			}
			return -1
		})
		cut = max(cut, len(s.buf)-ReorderEvents)
	}
	if cut == 0 {
		return
	}
	for lo := 0; lo < cut; lo += streamChunk {
		hi := min(lo+streamChunk, cut)
		s.enqueue(slices.Clone(s.buf[lo:hi]))
	}
	rest := copy(s.buf, s.buf[cut:])
	clear(s.buf[rest:])
	s.buf = s.buf[:rest]
}

// enqueue hands a sorted chunk to the merge, waiting while the queue is full (unless the merge
// waits for an input that has not started giving events).
func (s *inputStream) enqueue(c []event.Event) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(s.queue) >= 4 && !m.starving && !m.stopped {
		m.cond.Wait()
	}
	if m.stopped {
		return
	}
	s.queue = append(s.queue, c)
	s.given = true
	m.cond.Broadcast()
}

// cloudTrailKeyTime finds the delivery time in a CloudTrail log file's name
// (ACCOUNT_CloudTrail_REGION_20240101T0005Z_UNIQUE.json.gz).
var cloudTrailKeyTime = regexp.MustCompile(`_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_`)

// NameStart is the earliest time the events of a CloudTrail delivery file can have, from the
// time in its name (minus StartSlack); the zero time for another name. Stream opens inputs in
// the order of their start (the zero time first, ties in input order): a fetcher of objects
// ahead of their readers (sources/s3store) sorts them so first.
func NameStart(name string) time.Time {
	if m := cloudTrailKeyTime.FindStringSubmatch(name); m != nil {
		if t, err := time.Parse("20060102T1504Z", m[1]); err == nil {
			return t.Add(-StartSlack)
		}
	}
	return time.Time{}
}

// localFile reports whether in is a local regular file, which can be read more than once (not
// standard input, a FIFO or a device).
func localFile(in Input) bool {
	if in.Open != nil || in.Name == "-" {
		return false
	}
	fi, err := os.Stat(in.Name)
	return err == nil && fi.Mode().IsRegular()
}

// startTimes is the earliest time each input's events can have, so that the merge opens it in
// time: from a CloudTrail delivery file's name (minus StartSlack), otherwise from the events of
// a local file's first 64 KiB; the zero time (before everything) when neither tells.
func startTimes(ctx context.Context, inputs []Input, opts LoadOptions) []time.Time {
	out := make([]time.Time, len(inputs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, in := range inputs {
		if t := NameStart(in.Name); !t.IsZero() {
			out[i] = t
			continue
		}
		if !localFile(in) || len(inputs) == 1 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done(); _ = recover() }()
			out[i], _ = headFirst(ctx, in, opts)
		}()
	}
	wg.Wait()
	return out
}

// headFirst reads the events of an input's head with its format's reader and returns the
// earliest and the format; the zero time when there are none.
func headFirst(ctx context.Context, in Input, opts LoadOptions) (time.Time, string) {
	f, err := open(in, nil, openLimits{maxDecompressed: opts.MaxDecompressedBytes, maxRatio: opts.MaxGzipRatio, done: ctx.Done()})
	if err != nil {
		return time.Time{}, ""
	}
	defer f.close()
	head, herr := f.r.Peek(HeadBytes)
	format := pickFormat(opts, in.Name, ScanHead(head, herr != nil))
	if format < 0 || bytes.HasPrefix(head, parquetMagic) {
		return time.Time{}, ""
	}
	if herr == nil { // whole lines only
		if nl := bytes.LastIndexByte(head, '\n'); nl >= 0 {
			head = head[:nl+1]
		}
	}
	var st FileStats
	shared := NewInterner()
	file := &File{Name: in.Name, R: bufio.NewReader(bytes.NewReader(head)), MaxLineBytes: opts.MaxLineBytes, Strings: shared, Local: shared.Local()}
	b := opts.Formats[format].Read(ctx, file, &st)
	var first time.Time
	b.Events.Each(func(_ int, ev *event.Event) {
		if first.IsZero() || ev.Time.Before(first) {
			first = ev.Time
		}
	})
	return first, opts.Formats[format].Name()
}

// FirstEvent is an input's earliest event as its head shows it, and its format.
type FirstEvent struct {
	File, Format string
	FirstEvent   time.Time
}

// FirstEvents reads the head of every input (not standard input) with its format's reader:
// the first event and format of each, before a streamed run reads them (a baseline's record of
// the files it learned is keyed by them). For a log in time order the head's earliest event is
// the file's.
func FirstEvents(ctx context.Context, inputs []Input, opts LoadOptions) []FirstEvent {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	out := make([]FirstEvent, len(inputs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, in := range inputs {
		out[i].File = in.Name
		if in.Open == nil && !localFile(in) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done(); _ = recover() }()
			out[i].FirstEvent, out[i].Format = headFirst(ctx, in, opts)
		}()
	}
	wg.Wait()
	return out
}
