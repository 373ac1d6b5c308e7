package cloudtrail

import (
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// DuplicateWindow is how long, in log time (whole seconds), the stream stage remembers a
// record's eventID: a copy of the record up to this long after the first is dropped
// (CloudTrail delivers at least once; every copy has the record's own eventTime, so in a
// time-ordered stream the copies come together). A copy with the same eventID further apart
// (a record rewritten with another time) is analysed again and counted in its file's note as
// a late duplicate. Load, which holds every event, remembers every eventID.
const DuplicateWindow = 15 * time.Minute

// batchEchoWindow: a GetSecretValue record this close to a read expanded from a
// BatchGetSecretValue of the same principal and secret is the same read (CloudTrail writes one
// per secret a batch returns, in the same second or the next).
const batchEchoWindow = time.Second

// 1<<forgetBits is the size of the table of forgotten eventIDs (their 64-bit hashes, 8 bytes a
// slot: 512 KiB, allocated when the first id is forgotten), to count late duplicates: an id
// stays in it until another lands in its slot (about 65,000 ids later), so on a long stream the
// count is a lower bound. A larger table, out of the processor's cache, halved the stage's speed.
const forgetBits = 16

// recRef names one record of one input: the input's number and the record's (event.Record).
type recRef struct{ file, rec uint32 }

// firstCopy is the first copy of a record seen, and when (log time, Unix seconds).
type firstCopy struct {
	ref recRef
	at  int64
}

type idAt struct {
	at int64
	id string
}

// fileCounts is what the dedup and the echoes took from one input.
type fileCounts struct {
	dupEvents, dupRecords, echoes, late int
}

// dedup recognises the copies of a record (the same eventID from another record of an input).
// The first copy seen is kept; the events of a later one are dropped, counted once per record.
// Its order is the caller's: input order for Load, time order for the stream stage.
type dedup struct {
	seen map[string]firstCopy
	// window, in seconds, is how long an id is remembered; 0: for ever. expiry holds the ids
	// of seen in the order they were added (log time order, in a stream).
	window int64
	expiry ring[idAt]
	// forgot holds the hashes of ids expiry forgot, each in the slot its hash names.
	forgot   []uint64
	dropping bool
	last     recRef // the record whose events are being dropped, when dropping
	counts   []fileCounts
}

func newDedup(window time.Duration, sizeHint int) *dedup {
	return &dedup{seen: make(map[string]firstCopy, sizeHint), window: int64(window / time.Second)}
}

func (d *dedup) count(file uint32) *fileCounts {
	for int(file) >= len(d.counts) {
		d.counts = append(d.counts, fileCounts{})
	}
	return &d.counts[file]
}

// drop reports whether an event of record r, whose eventID is id, logged at Unix second at, is
// of a copy of a record seen before: the caller drops it.
func (d *dedup) drop(id string, r recRef, at int64) bool {
	if d.window > 0 {
		d.expire(at)
	}
	if first, ok := d.seen[id]; ok {
		if first.ref == r {
			return false // another event of the first copy (a batch read's secrets)
		}
		c := d.count(r.file)
		c.dupEvents++
		if !d.dropping || d.last != r {
			d.dropping, d.last = true, r
			c.dupRecords++
		}
		return true
	}
	d.seen[id] = firstCopy{ref: r, at: at}
	if d.window > 0 {
		if d.forgotten(id) {
			d.count(r.file).late++
		}
		*d.expiry.add() = idAt{at: at, id: id}
	}
	return false
}

// expire forgets the ids first seen more than the window before now.
func (d *dedup) expire(now int64) {
	for d.expiry.n > 0 {
		e := d.expiry.front()
		if now-e.at <= d.window {
			return
		}
		delete(d.seen, e.id)
		d.forget(e.id)
		*e = idAt{}
		d.expiry.pop()
	}
}

func (d *dedup) forget(id string) {
	if d.forgot == nil {
		d.forgot = make([]uint64, 1<<forgetBits)
	}
	h := idHash(id)
	d.forgot[h>>(64-forgetBits)] = h
}

func (d *dedup) forgotten(id string) bool {
	if d.forgot == nil {
		return false
	}
	h := idHash(id)
	return d.forgot[h>>(64-forgetBits)] == h
}

// idHash is FNV-1a with murmur3's finaliser, never 0 (an empty slot): the same on every run,
// so that a run's count of late duplicates is the same for the same input.
func idHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h | 1
}

// dropDuplicateRecords drops records delivered more than once (at-least-once delivery: the same
// eventID in a later file, or twice in one), in input order: the first delivery in input order
// is kept; each later one is counted in its file as skipped "duplicate" and in Duplicates.
// Events carry their record's identity (event.Event ID and Record).
func dropDuplicateRecords(perFile [][]event.Event, files []*sources.FileStats) {
	n := 0
	for _, evs := range perFile {
		n += len(evs)
	}
	d := newDedup(0, n)
	for i := range perFile {
		kept := perFile[i][:0]
		for j := range perFile[i] {
			ev := &perFile[i][j]
			if ev.ID != "" && d.drop(ev.ID, recRef{uint32(i), ev.Record}, 0) {
				continue
			}
			kept = append(kept, *ev)
		}
		clear(perFile[i][len(kept):])
		perFile[i] = kept
	}
	for i, c := range d.counts {
		c.applyTo(files[i], 0)
	}
}

// applyTo adds the counts to st; window is the dedup's, for the note on late duplicates.
func (c fileCounts) applyTo(st *sources.FileStats, window time.Duration) {
	st.Events -= c.dupEvents + c.echoes
	st.BatchEchoes += c.echoes
	if c.dupRecords > 0 {
		st.Duplicates += c.dupRecords
		st.Parsed -= c.dupRecords
		if st.Skipped == nil {
			st.Skipped = map[string]int{}
		}
		st.Skipped["duplicate"] += c.dupRecords
	}
	if c.late > 0 {
		what := "records repeat the eventID"
		if c.late == 1 {
			what = "record repeats the eventID"
		}
		n := fmt.Sprintf("%d %s of a record logged more than %s earlier: analysed again, not dropped as duplicates", c.late, what, window)
		if st.Note != "" {
			n = st.Note + "; " + n
		}
		st.Note = n
	}
}

type echoKey struct{ principal, credential, resource string }

func echoKeyOf(ev *event.Event) echoKey { return echoKey{ev.Principal, ev.Credential, ev.Resource} }

// isGet and isBatch tell the GetSecretValue reads and the reads expanded from a
// BatchGetSecretValue id list.
func isGet(ev *event.Event) bool {
	return ev.Kind == event.KindCloudTrail && ev.Op == event.OpRead && ev.Action == "GetSecretValue"
}

func isBatch(ev *event.Event) bool {
	return ev.Kind == event.KindCloudTrail && ev.Op == event.OpRead && ev.Action == "BatchGetSecretValue"
}

// maxIdleHeld is the most events the buffer of held events keeps room for while none waits,
// and the most keys the map of gets by key does.
const maxIdleHeld = 4096

type keyAt struct {
	at time.Time
	k  echoKey
}

// echoes drops the reads expanded from a BatchGetSecretValue id list that a GetSecretValue
// record of the same principal, credential and secret repeats within batchEchoWindow (before
// or after it), and expanded reads that repeat one another within it (the same secret twice in
// one batch); the GetSecretValue record stays, with its own outcome. Events come in time
// order. An expanded read is held until the stream has passed batchEchoWindow beyond it, and
// every event after it with it, so that they leave in order; without batch reads, events pass
// straight through.
type echoes struct {
	// gets are the GetSecretValue reads of the last batchEchoWindow, and while a read waits,
	// those since batchEchoWindow before it, in time order.
	gets ring[keyAt]
	// getN counts gets by key while events are held (empty otherwise); getNPeak is the most
	// keys it has held.
	getN     map[echoKey]int
	getNPeak int
	// held are the events behind the first undecided expanded read, which is held[0].
	held ring[event.Event]
	// last is the time of the last expanded read kept for each key, of the last
	// batchEchoWindow; lastQ the reads kept, in order, to forget them.
	last  map[echoKey]time.Time
	lastQ ring[keyAt]
	// echo counts an expanded read dropped.
	echo func(ev *event.Event)
}

func (e *echoes) push(ev *event.Event, emit func(*event.Event)) {
	if e.held.n > 0 {
		e.release(ev.Time, emit)
	}
	if isGet(ev) {
		if e.held.n == 0 {
			e.pruneGets(ev.Time.Add(-batchEchoWindow)) // else the first held read's decision prunes
		}
		k := echoKeyOf(ev)
		*e.gets.add() = keyAt{at: ev.Time, k: k}
		if e.held.n > 0 {
			e.getN[k]++
			e.getNPeak = max(e.getNPeak, len(e.getN))
		}
	}
	switch {
	case e.held.n > 0:
		*e.held.add() = *ev
	case isBatch(ev):
		if e.getN == nil {
			e.getN = make(map[echoKey]int)
		}
		for i := range e.gets.n {
			e.getN[e.gets.at(i).k]++
		}
		e.getNPeak = max(e.getNPeak, len(e.getN))
		*e.held.add() = *ev
	default:
		emit(ev)
	}
}

// pruneGets forgets the gets logged before t.
func (e *echoes) pruneGets(t time.Time) {
	for e.gets.n > 0 {
		g := e.gets.front()
		if !g.at.Before(t) {
			return
		}
		if len(e.getN) > 0 {
			if n := e.getN[g.k] - 1; n > 0 {
				e.getN[g.k] = n
			} else {
				delete(e.getN, g.k)
			}
		}
		*g = keyAt{}
		e.gets.pop()
	}
}

// release decides the expanded reads that the stream has passed batchEchoWindow beyond (all of
// them when flush), in order, and hands on the events behind them up to the next undecided one.
func (e *echoes) release(now time.Time, emit func(*event.Event)) {
	e.releaseUntil(now, false, emit)
}

func (e *echoes) releaseUntil(now time.Time, flush bool, emit func(*event.Event)) {
	for e.held.n > 0 {
		ev := e.held.front()
		if isBatch(ev) {
			if !flush && !now.After(ev.Time.Add(batchEchoWindow)) {
				return
			}
			if e.echoed(ev) {
				e.echo(ev)
			} else {
				emit(ev)
			}
		} else {
			emit(ev)
		}
		*ev = event.Event{}
		e.held.pop()
	}
	// Nothing held: the counts by key are not needed until the next batch read, nor a buffer
	// a burst grew.
	if len(e.held.buf) > maxIdleHeld {
		e.held = ring[event.Event]{}
	}
	if e.getNPeak > maxIdleHeld {
		e.getN, e.getNPeak = nil, 0 // a map a burst grew would cost its size to clear, every time
	} else {
		clear(e.getN)
	}
}

// echoed decides an expanded read b: every GetSecretValue up to batchEchoWindow after it has
// been seen, none after that.
func (e *echoes) echoed(b *event.Event) bool {
	e.pruneGets(b.Time.Add(-batchEchoWindow))
	for e.lastQ.n > 0 && e.lastQ.front().at.Before(b.Time.Add(-batchEchoWindow)) {
		q := e.lastQ.front()
		if e.last[q.k].Equal(q.at) {
			delete(e.last, q.k)
		}
		*q = keyAt{}
		e.lastQ.pop()
	}
	k := echoKeyOf(b)
	last, seen := e.last[k]
	if e.getN[k] > 0 || (seen && b.Time.Sub(last) <= batchEchoWindow) {
		return true
	}
	if e.last == nil {
		e.last = make(map[echoKey]time.Time)
	}
	e.last[k] = b.Time
	*e.lastQ.add() = keyAt{at: b.Time, k: k}
	return false
}

func (e *echoes) flush(emit func(*event.Event)) {
	e.releaseUntil(time.Time{}, true, emit)
}

// dropBatchEchoes drops the batch echoes (see echoes) from evs, which are in time order, and
// counts them in files by name.
func dropBatchEchoes(evs []event.Event, files []sources.FileStats) []event.Event {
	st := newStage(false)
	kept := evs[:0]
	emit := func(ev *event.Event) { kept = append(kept, *ev) }
	for i := range evs {
		st.Push(&evs[i], emit)
	}
	st.Flush(emit)
	clear(evs[len(kept):])
	st.Apply(files)
	return kept
}

// stage is CloudTrail's sources.Stage: the duplicates of a record within DuplicateWindow and
// the batch echoes, on the merged, time-ordered stream.
type stage struct {
	dedup   *dedup // its counts are the stage's, echoes included
	dedupOn bool   // false: the duplicates were dropped before (Load)
	echo    echoes
	// files numbers the inputs by name (event.Pos.File); names is the reverse.
	files    map[string]uint32
	names    []string
	lastName string
	lastFile uint32
}

func newStage(dedupToo bool) *stage {
	s := &stage{files: map[string]uint32{}, dedup: newDedup(DuplicateWindow, 0), dedupOn: dedupToo}
	s.echo.echo = func(ev *event.Event) { s.dedup.count(s.fileOf(ev.Pos.File)).echoes++ }
	return s
}

// NewStage returns CloudTrail's stage for sources.Stream: the copies of a record delivered
// more than once within DuplicateWindow of log time are dropped (the first in stream order is
// kept, which for copies of one eventTime is the first in input order, as Load keeps), then the
// batch echoes. Memory: the eventIDs of DuplicateWindow, the events of batchEchoWindow after a
// batch read. An event the stream gives out of order (its file's Late) is handed on where it
// came; it is still compared with the eventIDs remembered.
func (Format) NewStage() sources.Stage { return newStage(true) }

func (s *stage) fileOf(name string) uint32 {
	if name == s.lastName && len(s.names) > 0 {
		return s.lastFile
	}
	f, ok := s.files[name]
	if !ok {
		f = uint32(len(s.names))
		s.files[name] = f
		s.names = append(s.names, name)
	}
	s.lastName, s.lastFile = name, f
	return f
}

// Push drops ev when it is a copy of a record seen before, and hands it to the echoes.
func (s *stage) Push(ev *event.Event, emit func(*event.Event)) {
	if s.dedupOn && ev.ID != "" && ev.Kind == event.KindCloudTrail &&
		s.dedup.drop(ev.ID, recRef{s.fileOf(ev.Pos.File), ev.Record}, ev.Time.Unix()) {
		return
	}
	s.echo.push(ev, emit)
}

// Flush hands on the events held for the echoes.
func (s *stage) Flush(emit func(*event.Event)) { s.echo.flush(emit) }

// Apply counts what the stage dropped in the statistics of the files, by name.
func (s *stage) Apply(files []sources.FileStats) {
	byName := make(map[string]int, len(files))
	for i := range files {
		byName[files[i].File] = i
	}
	for f, c := range s.dedup.counts {
		if i, ok := byName[s.names[f]]; ok && c != (fileCounts{}) {
			c.applyTo(&files[i], DuplicateWindow)
		}
	}
}

// ring is a FIFO queue on a circular buffer that grows by doubling.
type ring[T any] struct {
	buf     []T
	head, n int
}

// add appends a slot and returns it.
func (r *ring[T]) add() *T {
	if r.n == len(r.buf) {
		buf := make([]T, max(2*len(r.buf), 16))
		for i := range r.n {
			buf[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = buf, 0
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.n++
	return &r.buf[i]
}

func (r *ring[T]) front() *T { return &r.buf[r.head] }

func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+i)%len(r.buf)] }

func (r *ring[T]) pop() {
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
}
