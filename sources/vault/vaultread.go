package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Reading one Vault audit file is a pipeline, so parsing runs on every core while the file is
// read (and decompressed):
//
//	reader ──chunks of whole lines──▶ N decode workers ──▶ pairing, in file order
//
// The reader cuts the input into chunks that end at a line boundary. A worker decodes every
// line of a chunk into a record: its base event, or why the line was skipped or malformed.
// The pairing stage takes the chunks back in file order (however the workers finished), so it
// numbers lines, keeps the statistics and joins each response to its request (request.id)
// exactly as a serial reader would. A fixed set of chunks circulates, which bounds the memory
// in flight to a few chunk buffers per file.

// vaultChunkSize is how much of a file a worker takes at a time (a variable for tests, which
// cut small chunks to put line ends everywhere).
var vaultChunkSize = 2 << 20

// vaultChunkKeep: a chunk buffer grown past this many chunk sizes for a long line is not reused.
const vaultChunkKeep = 4

// vaultChunkLines bounds the lines of one chunk. A worker makes a record of some 600 bytes
// for every line, blank or not: without the bound a chunk of 2 MiB of empty lines would be
// 2 million records (over a gigabyte) per chunk in flight. Real entries are hundreds of bytes
// or more, so a chunk of them stays under the bound; a chunk of short lines is cut here, and
// its records cost at most this many times a record, about the size of a chunk's buffer.
const vaultChunkLines = 4096

// shortRead is the least the reader takes at a time while lines are short.
const shortRead = 4 << 10

type recKind uint8

const (
	recEntry recKind = iota
	recBlank
	recUnknownType
	recTooLong
	recBad
	recSkip // a shipped record that is not a Vault entry: skipped for reason
	// recPartial: part of an entry (a CRI "P" line, a Docker record without its newline), in
	// line; reason is its stream and store time. The pairer joins the parts (join.go).
	recPartial
)

// vaultRec is what a worker makes of one line.
type vaultRec struct {
	kind    recKind
	isResp  bool
	badAddr bool   // its event's remote_address was logged but is not an IP address
	reason  string // recBad, recSkip
	// cont: one more record of the line before it (a shipped response holding many).
	cont      bool
	shape     uint8 // how the record was shipped (shipped.go); shapeRaw for an audit file's line
	storeTime bool  // its time is the log store's: the record had none
	id        reqID
	ev        event.Event // the base event of a request; of a response, only its time
	resp      respInfo
	line      []byte // a response's line, to build its base event if its request is missing
}

// reqID is a request.id as a pairing key: a canonical UUID packed into 16 bytes (no string is
// kept per pending request), anything else as a copied string.
type reqID struct {
	kind uint8 // 0: no id, 1: u, 2: s
	u    [16]byte
	s    string
}

func makeReqID(id string) reqID {
	if id == "" {
		return reqID{}
	}
	if u, ok := parseUUID(id); ok {
		return reqID{kind: 1, u: u}
	}
	return reqID{kind: 2, s: id} // a view; the pairing stage copies it if it keeps it
}

// parseUUID packs a lower-case canonical UUID; only that form, so that two different strings
// never give the same key: 36 bytes, dashes exactly at 8, 13, 18 and 23, a lower-case hex
// digit everywhere else.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	// The hex groups by their bounds; each has an even length, so the digits pair up within it
	// (a dash anywhere else is not a hex digit and fails the check).
	for _, g := range [...][2]int{{0, 8}, {9, 13}, {14, 18}, {19, 23}, {24, 36}} {
		for i := g[0]; i < g[1]; i += 2 {
			hi, lo := unhex(s[i]), unhex(s[i+1])
			if hi > 15 || lo > 15 {
				return u, false
			}
			u[j] = hi<<4 | lo
			j++
		}
	}
	return u, true
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 255
}

// chunkPool keeps chunks (their buffers and record arrays) from one file to the next.
var chunkPool = sync.Pool{New: func() any { return &vaultChunk{done: make(chan struct{}, 1)} }}

type vaultChunk struct {
	buf  []byte // backing buffer, reused
	data []byte // whole lines; only the input's last line may lack its '\n'
	long bool   // stands for one line longer than the limit (no data)
	recs []vaultRec
	done chan struct{}
	// panic is what the worker that decoded the chunk recovered from, if it panicked.
	panic *sources.PanicError
}

// readVault reads one Vault audit input through the pipeline and returns its events in file
// order. A read error part-way is recorded in st.ReadError; what came before is kept.
//
// A panic on any of the pipeline's goroutines (a decoder bug on one line) stops the reading
// of this file cleanly, every goroutine and chunk accounted for, and is raised again here as
// a *sources.PanicError carrying the stack where it happened, so that sources.Load makes it
// this file's error instead of losing the run.
func readVault(ctx context.Context, name string, r io.Reader, size int64, maxLine int, st *sources.FileStats, shared *sources.Interner, progress func(lines int), emit func([]event.Event)) sources.EventStore {
	workers := runtime.GOMAXPROCS(0)
	inflight := 2*workers + 2
	free := make(chan *vaultChunk, inflight)
	for range inflight {
		free <- chunkPool.Get().(*vaultChunk)
	}
	defer func() {
		// Every chunk is back in free once the pairing stage is done, except one the reading
		// goroutine held when it panicked (left to the garbage collector).
		for range inflight {
			var c *vaultChunk
			select {
			case c = <-free:
			default:
				return
			}
			if cap(c.buf) > vaultChunkKeep*vaultChunkSize {
				c.buf = nil
			}
			c.data, c.recs, c.panic = nil, c.recs[:0], nil
			chunkPool.Put(c)
		}
	}()
	work := make(chan *vaultChunk, inflight)
	ordered := make(chan *vaultChunk, inflight)
	file := shared.Str(name)
	cutCtx, stop := context.WithCancel(ctx)
	defer stop()
	var stopped atomic.Bool // after a panic: the chunks still in flight are not decoded

	var (
		total    int64
		readErr  error
		cutPanic *sources.PanicError
	)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				cutPanic = sources.Recovered(v)
			}
			close(work)
			close(ordered)
		}()
		total, readErr = cutChunks(cutCtx, r, maxLine, free, work, ordered)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &vaultBuilder{file: file, in: shared.Local()}
			for c := range work {
				if !stopped.Load() {
					c.panic = b.safeChunk(c, maxLine)
				}
				c.done <- struct{}{}
			}
		}()
	}
	pin := shared.Local()
	p := &vaultPairer{b: &vaultBuilder{file: file, in: pin}, file: file, st: st, in: pin, maxLine: maxLine, size: size, give: emit}
	p.init()
	var failed *sources.PanicError
	for c := range ordered {
		<-c.done
		if failed == nil {
			failed = c.panic
			if failed == nil {
				failed = p.safeChunk(c)
			}
			if failed != nil {
				stopped.Store(true)
				stop() // the reader stops at its next chunk; what is in flight is passed over
			}
		}
		if progress != nil && failed == nil {
			progress(st.Lines)
		}
		c.data, c.panic = nil, nil
		if cap(c.buf) > vaultChunkKeep*vaultChunkSize {
			c.buf = nil // a long line's buffer is not kept
		}
		free <- c
	}
	wg.Wait()
	if failed == nil {
		failed = cutPanic // written before ordered was closed
	}
	if failed != nil {
		panic(failed)
	}
	st.Bytes = total
	if readErr != nil {
		st.ReadError = fmt.Sprintf("read %s after line %d (byte %d): %v (everything before it is kept)", name, st.Lines, total, readErr)
	}
	return p.finish()
}

// testChunkHook, when set by a test, is called by the decode workers before each chunk (to
// make one panic).
var testChunkHook func(c *vaultChunk)

// safeChunk is chunk, with a panic returned instead of raised.
func (b *vaultBuilder) safeChunk(c *vaultChunk, maxLine int) (failed *sources.PanicError) {
	defer func() {
		if v := recover(); v != nil {
			failed = sources.Recovered(v)
		}
	}()
	if testChunkHook != nil {
		testChunkHook(c)
	}
	b.chunk(c, maxLine)
	return nil
}

// safeChunk is chunk, with a panic returned instead of raised.
func (p *vaultPairer) safeChunk(c *vaultChunk) (failed *sources.PanicError) {
	defer func() {
		if v := recover(); v != nil {
			failed = sources.Recovered(v)
		}
	}()
	p.chunk(c)
	return nil
}

// cutChunks reads r into chunks of whole lines and hands each to the workers and, in order,
// to the pairing stage. A line longer than maxLine is never held whole: it becomes a chunk
// that only says so. It returns the bytes read and the first read error other than io.EOF.
func cutChunks(ctx context.Context, r io.Reader, maxLine int, free chan *vaultChunk, work, ordered chan<- *vaultChunk) (int64, error) {
	var (
		carry []byte // the start of a line whose end is not read yet, or whole lines left by a cut
		total int64
		// want, when lines are short, is how much the next chunk reads: about twice what the
		// last chunk took, so what is left over for the next (copied) stays small.
		want int
	)
	send := func(c *vaultChunk) {
		work <- c
		ordered <- c
	}
	for {
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		c := <-free
		buf := c.buf
		longStart := 2*len(carry) > cap(buf) && bytes.IndexByte(carry, '\n') < 0
		if cap(buf) < vaultChunkSize || cap(buf) > vaultChunkKeep*vaultChunkSize || cap(buf) < len(carry) || longStart {
			if 2*len(carry) > vaultChunkKeep*vaultChunkSize {
				drain(free, cap(free)-1) // the start of a long line: as below
			}
			buf = make([]byte, 0, max(vaultChunkSize, 2*len(carry)))
		}
		buf = append(buf[:0], carry...)
		carry = carry[:0]
		for {
			end := cap(buf)
			if want > 0 {
				end = min(end, max(want, len(buf)))
			}
			n, err := fill(r, buf[len(buf):end])
			buf = buf[:len(buf)+n]
			total += int64(n)
			if err != nil {
				// The end (or a read error): what is left is the last line, complete or not,
				// or lines enough for several chunks when they are short.
				for {
					cut := linesCut(buf)
					if cut == 0 {
						break
					}
					next := <-free
					next.buf = append(next.buf[:0], buf[cut:]...)
					c.buf, c.data, c.long = buf, buf[:cut], false
					send(c)
					c, buf = next, next.buf
				}
				c.buf, c.data, c.long = buf, buf, false
				if len(buf) > 0 {
					send(c)
				} else {
					free <- c
				}
				if errors.Is(err, io.EOF) {
					return total, nil
				}
				return total, err
			}
			if cut := bytes.LastIndexByte(buf, '\n') + 1; cut > 0 {
				want = 0
				if k := linesCut(buf[:cut]); k > 0 {
					cut, want = k, max(shortRead, 2*k)
				}
				carry = append(carry, buf[cut:]...)
				c.buf, c.data, c.long = buf, buf[:cut], false
				send(c)
				break
			}
			if len(buf) < cap(buf) {
				want = 0 // no line end in a short read: read on to the buffer's end
				continue
			}
			// A full buffer without a line end: one line longer than the buffer.
			if len(buf) > maxLine+1 { // too long whatever follows (a '\r' of "\r\n" included)
				rest, more, err := discardLine(r, buf[:cap(buf)])
				total += more
				carry = append(carry, rest...)
				c.buf, c.data, c.long = buf, nil, true
				send(c)
				if err != nil {
					if errors.Is(err, io.EOF) {
						return total, nil
					}
					return total, err
				}
				break
			}
			if 2*cap(buf) > vaultChunkKeep*vaultChunkSize && cap(buf) <= vaultChunkKeep*vaultChunkSize {
				// A long line: wait until every other chunk is back, so that at most one large
				// buffer is in flight however many long lines follow (memory stays about one
				// line plus the usual chunks, as with a line-by-line reader).
				drain(free, cap(free)-1)
			}
			grown := make([]byte, len(buf), min(2*cap(buf), maxLine+2))
			copy(grown, buf)
			buf = grown
		}
	}
}

// linesCut is the offset just past the vaultChunkLines-th line end of b, or 0 when b holds no
// more than vaultChunkLines line ends.
func linesCut(b []byte) int {
	if bytes.Count(b, []byte{'\n'}) <= vaultChunkLines {
		return 0
	}
	off := 0
	for range vaultChunkLines {
		off += bytes.IndexByte(b[off:], '\n') + 1
	}
	return off
}

// drain waits until n chunks are in free, and leaves them there.
func drain(free chan *vaultChunk, n int) {
	held := make([]*vaultChunk, 0, n)
	for range n {
		held = append(held, <-free)
	}
	for _, c := range held {
		free <- c
	}
}

// fill reads into p until it is full or the input ends; the error is io.EOF at a clean end.
// (io.ReadFull is not used: it turns a short read into io.ErrUnexpectedEOF, which a truncated
// gzip stream also returns.)
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// discardLine reads up to the end of the current line, using scratch as a buffer. It returns
// what followed the line end in the last read, and the bytes read.
func discardLine(r io.Reader, scratch []byte) (rest []byte, total int64, err error) {
	for {
		n, err := r.Read(scratch)
		total += int64(n)
		if i := bytes.IndexByte(scratch[:n], '\n'); i >= 0 {
			return scratch[i+1 : n], total, nil
		}
		if err != nil {
			return nil, total, err
		}
	}
}

// chunk decodes every line of c into c.recs.
func (b *vaultBuilder) chunk(c *vaultChunk, maxLine int) {
	c.recs = c.recs[:0]
	if c.long {
		c.recs = append(c.recs, vaultRec{kind: recTooLong})
		return
	}
	data := c.data
	for len(data) > 0 {
		var line []byte
		ending := 0
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data, ending = data[:i], data[i+1:], 1
		} else {
			line, data = data, nil
		}
		content := len(line)
		if content > 0 && line[content-1] == '\r' {
			line = line[:content-1] // trimmed as forEachLine does, also without a '\n' after it
			content, ending = content-1, ending+1
		}
		c.recs = append(c.recs, vaultRec{})
		rec := &c.recs[len(c.recs)-1]
		if lineTooLong(content, ending, maxLine) {
			rec.kind = recTooLong
			continue
		}
		b.decodeLine(line, rec, false)
		if rec.kind == recBad && rec.line == nil || rec.kind != recPartial && (rec.shape == shapeCRI || rec.shape == shapeDocker) {
			rec.line = line // a line the pairer may join to others (join.go)
		}
		if len(b.extra) > 0 {
			c.recs = append(c.recs, b.extra...)
			clear(b.extra)
			b.extra = b.extra[:0]
		}
	}
}

// lineTooLong is forEachLine's limit for a line of content bytes; the line ending ("\n",
// "\r\n", or a final "\r") does not count. The two readers must count lines the same way.
func lineTooLong(content, ending, maxLine int) bool { return content > maxLine }

// minEventBytes bounds the estimate of a file's events: no audit entry is shorter.
const minEventBytes = 64

// vaultPairer is the in-order stage: statistics, line numbers, request/response pairing.
//
// Pairing is by request.id, in either order: a response joins the oldest request of its id
// still waiting for one; a response that comes first (Vault writes both lines concurrently,
// and a merged or re-sorted file can put the response ahead) is kept as a response-only event
// and waits for its request, which then takes that event's place. Two requests sharing an id
// are answered in order, never crosswise. Everything waiting (requests and early responses)
// counts against maxPending; past it the waiting is forgotten and those entries stay alone.
type vaultPairer struct {
	b     *vaultBuilder // decodes the lines of responses without a request
	file  string
	st    *sources.FileStats
	in    *sources.LocalInterner
	out   sources.EventStore
	marks []uint8 // parallel to out: markWaiting, markBadAddr

	// Requests waiting for their response: the oldest of each id, and (rare) the younger ones
	// that share it, oldest first.
	pendU map[[16]byte]int
	pendS map[string]int
	moreU map[[16]byte][]int
	moreS map[string][]int
	// Responses waiting for their request (rare), oldest first.
	earlyU  map[[16]byte][]earlyResp
	earlyS  map[string][]earlyResp
	waiting int // entries in all the maps above
	early   int // of which early responses

	// shapes counts the records of each shape (shipped.go), storeTime those timed by the store.
	shapes        [shapeCount]int
	storeTime     int
	shippedParsed int
	joinState     // entries over many lines being joined (join.go)

	lineBase int
	maxLine  int
	size     int64 // the input's size when known (uncompressed file), else 0
	read     int64 // bytes of the chunks seen so far

	// give, when set (a streamed run), takes the events as soon as nothing can change them:
	// they are then kept in win, win[0] being event number base, win[:head] given already.
	give   func([]event.Event)
	win    []event.Event
	base   int
	head   int
	newest time.Time
	bad    int // events given with markBadAddr
}

// A streamed file's event that waits for its other half is given alone once it is
// pairHorizon older than the newest entry, or pairHold events behind it: a request without a
// response must not hold the stream. Vault answers within its max_request_duration (90 s by
// default).
const (
	pairHorizon = 2 * time.Minute
	pairHold    = 1 << 16
)

// at is event number i.
func (p *vaultPairer) at(i int) *event.Event {
	if p.give == nil {
		return p.out.At(i)
	}
	return &p.win[i-p.base]
}

// live reports whether event number i was not given on yet (always, unless streamed).
func (p *vaultPairer) live(i int) bool { return i >= p.base+p.head }

// release gives on the events before the first that waits for its other half (and any that
// waited too long); all: every event (the end of the file).
func (p *vaultPairer) release(all bool) {
	n := len(p.win)
	cut := p.head
	for cut < n {
		m := p.marks[cut]
		if m&(markWaiting|markEarly) != 0 && !all && n-cut <= pairHold && p.win[cut].Time.After(p.newest.Add(-pairHorizon)) {
			break
		}
		if m&markWaiting != 0 {
			p.win[cut].Flags |= event.FlagRequestOnly
		}
		if m&markBadAddr != 0 {
			p.bad++
		}
		cut++
	}
	if cut > p.head {
		p.give(p.win[p.head:cut])
		p.st.Events += cut - p.head
		p.head = cut
	}
	if p.head >= 4096 && p.head*2 >= n {
		rest := copy(p.win, p.win[p.head:])
		clear(p.win[rest:])
		p.win = p.win[:rest]
		copy(p.marks, p.marks[p.head:])
		p.marks = p.marks[:rest]
		p.base += p.head
		p.head = 0
	}
}

// Marks of an event in vaultPairer.marks.
const (
	markWaiting uint8 = 1 << iota // a request still waiting for its response
	markBadAddr                   // remote_address was logged but is not an IP address
	markEarly                     // a response still waiting for its request
)

// earlyResp is a response seen before its request: its response-only event and what it adds.
type earlyResp struct {
	i       int
	badAddr bool
	resp    respInfo
}

func (p *vaultPairer) init() {
	p.pendU, p.pendS = map[[16]byte]int{}, map[string]int{}
	p.moreU, p.moreS = map[[16]byte][]int{}, map[string][]int{}
	p.earlyU, p.earlyS = map[[16]byte][]earlyResp{}, map[string][]earlyResp{}
}

func (p *vaultPairer) chunk(c *vaultChunk) {
	n := p.lineBase
	for i := range c.recs {
		r := &c.recs[i]
		if !r.cont {
			n++ // the records of one shipped line share its number; each counts as a line
		}
		if (p.joining || r.kind == recBad || r.kind == recPartial) && p.join(r, n) {
			continue // a line of an entry over many lines (join.go)
		}
		p.record(r, n)
	}
	p.lineBase = n
	p.read += int64(len(c.data))
	if p.give != nil {
		p.release(false)
		return
	}
	if p.size > 0 && p.out.Flat() == nil && p.read >= sizingChunks*int64(vaultChunkSize) && p.out.Len() > 0 {
		// Events per byte so far, times the size, plus a margin: one allocation for the file.
		est := int64(float64(p.out.Len())*float64(p.size)/float64(p.read)*1.05) + 1024
		p.out.Reserve(int(min(est, p.size/minEventBytes+1024)))
	}
}

// record counts one record of line n and, for an entry, pairs its event.
func (p *vaultPairer) record(r *vaultRec, n int) {
	st := p.st
	st.Lines++
	switch r.kind {
	case recTooLong:
		st.Skip("too-long")
		if len(st.Problems) < sources.MaxProblemsListed {
			st.Problems = append(st.Problems, sources.Problem{Line: n, Reason: fmt.Sprintf("line longer than %d bytes, skipped", p.maxLine)})
		}
	case recBlank:
		st.Skip("blank")
	case recUnknownType:
		st.Skip("unknown-type")
	case recBad:
		st.Bad(n, r.reason)
		if r.shape != shapeRaw {
			p.shapes[r.shape]++
		}
	case recSkip:
		st.Skip(r.reason)
	default:
		p.shapes[r.shape]++
		if r.shape != shapeRaw {
			p.shippedParsed++
		}
		if r.storeTime {
			p.storeTime++
		}
		p.entry(r, n)
	}
}

// sizingChunks is how much of a file is read before its events are counted to size the store.
const sizingChunks = 4

func (p *vaultPairer) entry(r *vaultRec, n int) {
	p.st.Parsed++
	p.st.Seen(r.ev.Time)
	r.ev.Pos.Line = n
	if r.isResp {
		if i, ok := p.takeRequest(r.id); ok && p.live(i) {
			p.marks[i-p.base] &^= markWaiting
			applyResponse(p.at(i), &r.resp, p.in)
			return
		}
		// A response alone: build its event from the line (still in the chunk's buffer).
		var full vaultRec
		p.b.decodeLine(r.line, &full, true)
		full.ev.Pos.Line = n
		r.ev = full.ev
		r.ev.Flags |= event.FlagResponseOnly
		applyResponse(&r.ev, &r.resp, p.in)
		var mark uint8
		if r.id.kind != 0 {
			mark = markEarly
		}
		i := p.add(&r.ev, mark, full.badAddr)
		if r.id.kind != 0 {
			p.makeRoom()
			e := earlyResp{i: i, badAddr: full.badAddr, resp: r.resp}
			if r.id.kind == 1 {
				p.earlyU[r.id.u] = append(p.earlyU[r.id.u], e)
			} else {
				p.earlyS[strings.Clone(r.id.s)] = append(p.earlyS[r.id.s], e)
			}
			p.waiting++
			p.early++
		}
		return
	}
	if p.early > 0 && r.id.kind != 0 {
		if e, ok := p.takeEarly(r.id); ok && p.live(e.i) {
			// The response came first: the request's event, with what the response adds,
			// takes the place of the response-only event.
			ev := p.at(e.i)
			*ev = r.ev
			applyResponse(ev, &e.resp, p.in)
			p.marks[e.i-p.base] = 0
			if r.badAddr {
				p.marks[e.i-p.base] = markBadAddr
			}
			return
		}
	}
	i := p.add(&r.ev, markWaiting, r.badAddr)
	if r.id.kind != 0 {
		p.makeRoom()
		if r.id.kind == 1 {
			queue(p.pendU, p.moreU, r.id.u, i)
		} else {
			queue(p.pendS, p.moreS, strings.Clone(r.id.s), i)
		}
		p.waiting++
	}
}

// add appends ev to the file's events with its marks.
func (p *vaultPairer) add(ev *event.Event, mark uint8, badAddr bool) int {
	if badAddr {
		mark |= markBadAddr
	}
	p.marks = append(p.marks, mark)
	if p.give != nil {
		if ev.Time.After(p.newest) {
			p.newest = ev.Time
		}
		p.win = append(p.win, *ev)
		return p.base + len(p.win) - 1
	}
	return p.out.Add(ev)
}

// makeRoom forgets everything waiting when one more would pass maxPending: a log of requests
// without responses (or the reverse) cannot grow memory without bound. What was waiting stays
// as it is: requests without a response, responses without a request.
func (p *vaultPairer) makeRoom() {
	if p.waiting < maxPending {
		return
	}
	clear(p.pendU)
	clear(p.pendS)
	clear(p.moreU)
	clear(p.moreS)
	clear(p.earlyU)
	clear(p.earlyS)
	p.waiting, p.early = 0, 0
}

// queue records request i as waiting under id k: first in pend, or behind the one there.
func queue[K comparable](pend map[K]int, more map[K][]int, k K, i int) {
	if _, dup := pend[k]; dup {
		more[k] = append(more[k], i)
		return
	}
	pend[k] = i
}

// dequeue takes the oldest request waiting under k. own gives a key the map may keep (a
// string id points into the read buffer, and assigning to a map entry stores the key again).
func dequeue[K comparable](pend map[K]int, more map[K][]int, k K, own func(K) K) (int, bool) {
	i, ok := pend[k]
	if !ok {
		return 0, false
	}
	if q := more[k]; len(q) > 0 {
		k = own(k)
		pend[k] = q[0]
		if len(q) == 1 {
			delete(more, k)
		} else {
			more[k] = q[1:]
		}
	} else {
		delete(pend, k)
	}
	return i, true
}

func ownUUID(k [16]byte) [16]byte { return k }

// takeRequest finds and forgets the oldest request with id that waits for its response.
func (p *vaultPairer) takeRequest(id reqID) (i int, ok bool) {
	switch id.kind {
	case 1:
		i, ok = dequeue(p.pendU, p.moreU, id.u, ownUUID)
	case 2:
		i, ok = dequeue(p.pendS, p.moreS, id.s, strings.Clone)
	}
	if ok {
		p.waiting--
	}
	return i, ok
}

// takeEarly finds and forgets the oldest response with id that waits for its request.
func (p *vaultPairer) takeEarly(id reqID) (earlyResp, bool) {
	var e earlyResp
	ok := false
	switch id.kind {
	case 1:
		e, ok = popEarly(p.earlyU, id.u, ownUUID)
	case 2:
		e, ok = popEarly(p.earlyS, id.s, strings.Clone)
	}
	if ok {
		p.waiting--
		p.early--
	}
	return e, ok
}

func popEarly[K comparable](m map[K][]earlyResp, k K, own func(K) K) (earlyResp, bool) {
	q := m[k]
	if len(q) == 0 {
		return earlyResp{}, false
	}
	if len(q) == 1 {
		delete(m, k)
	} else {
		m[own(k)] = q[1:]
	}
	return q[0], true
}

// finish marks the requests that never got a response and returns the file's events.
//
// FlagRequestOnly means the file has the request and no response: whether it succeeded is
// unknown. Its Outcome stays what the request line says (OK unless the request logged an
// error), because detectors gate on OutcomeOK and some of them need exactly these events (the
// request that disables the audit device has no response in that device's log); a reader of
// outcomes that must not count an unanswered request as a success checks the flag.
func (p *vaultPairer) finish() sources.EventStore {
	if p.give != nil {
		p.joinEnd()
		p.release(true)
		if p.bad > 0 {
			p.st.Note = strings.TrimPrefix(p.st.Note+"; "+badAddrNote(p.bad), "; ")
		}
		p.noteShapes()
		p.win, p.marks = nil, nil
		p.pendU, p.pendS, p.moreU, p.moreS, p.earlyU, p.earlyS = nil, nil, nil, nil, nil, nil
		return sources.EventStore{}
	}
	bad := 0
	for i, m := range p.marks {
		if m&markWaiting != 0 {
			p.out.At(i).Flags |= event.FlagRequestOnly
		}
		if m&markBadAddr != 0 {
			bad++
		}
	}
	if bad > 0 {
		p.st.Note = strings.TrimPrefix(p.st.Note+"; "+badAddrNote(bad), "; ")
	}
	p.joinEnd()
	p.noteShapes()
	p.st.Events += p.out.Len()
	out := p.out
	p.out, p.marks = sources.EventStore{}, nil
	p.pendU, p.pendS, p.moreU, p.moreS, p.earlyU, p.earlyS = nil, nil, nil, nil, nil, nil
	return out
}

// badAddrNote is the file's note for n events whose remote_address is not an IP address (a
// host name, garbage): kept, with the address unknown.
func badAddrNote(n int) string {
	noun := "events"
	if n == 1 {
		noun = "event"
	}
	return fmt.Sprintf("remote_address not an IP: %d %s (address unknown)", n, noun)
}
