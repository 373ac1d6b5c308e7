package analyze

import (
	"encoding/binary"
	"os"
)

// audit-gap measures every silence against the cadence of the day around it, so it needs each
// stream's event times again at the end of the run. They are kept compact: the differences
// between consecutive times (never negative: observe clamps them) as unsigned varints, about
// four bytes an event of a busy log instead of eight, in blocks. The blocks stay in memory up
// to gapMemory bytes over the whole run; past that they go to one temporary file (TMPDIR),
// deleted when the run ends, so that a terabyte of audit log costs the detector a few MiB of
// memory and a few GiB of disk. Reading the times back is sequential: forward cursors.
const (
	gapBlockSize = 4 << 10
	gapMemory    = 16 << 20
)

// gapStore holds the sealed blocks of every stream of one AuditGap past the memory budget.
type gapStore struct {
	f       *os.File // nil until the budget is spent
	size    int64    // bytes written to f
	inMem   int      // bytes of blocks held in memory
	failed  bool     // the temporary file could not be made or written: blocks stay in memory
	removed bool     // f's name is already unlinked
	budget  int
}

// gapBlock is a sealed run of varint deltas; base is the time before its first.
type gapBlock struct {
	mem  []byte // in memory, or nil: at off in the store's file
	off  int64
	size int
	n    int
	base int64
}

// gapTimes is one file's event times in order.
type gapTimes struct {
	store       *gapStore
	n           int
	first, last int64
	blocks      []gapBlock
	cur         []byte // the open block
	curN        int
	curBase     int64
}

func (s *gapStore) seal(b []byte) gapBlock {
	if s.inMem+len(b) > s.budget && !s.failed {
		if s.f == nil {
			f, err := os.CreateTemp("", "vaultsentry-gaps-*")
			if err != nil {
				s.failed = true
			} else {
				s.f = f
				// Unlinked at once where the system allows it (the data lives while the file is
				// open), so that nothing is left behind even if the run never reaches Finish.
				s.removed = os.Remove(f.Name()) == nil
			}
		}
		if s.f != nil {
			if _, err := s.f.WriteAt(b, s.size); err == nil {
				blk := gapBlock{off: s.size, size: len(b)}
				s.size += int64(len(b))
				return blk
			}
			s.failed = true // a full disk: keep the rest in memory rather than lose it
		}
	}
	s.inMem += len(b)
	return gapBlock{mem: b, size: len(b)}
}

// close releases the temporary file.
func (s *gapStore) close() {
	if s == nil || s.f == nil {
		return
	}
	name := s.f.Name()
	_ = s.f.Close()
	if !s.removed {
		_ = os.Remove(name)
	}
	s.f = nil
}

func (g *gapTimes) add(t int64) {
	prev := g.last
	if g.n == 0 {
		g.first, g.curBase, prev = t, t, t
	}
	if len(g.cur)+binary.MaxVarintLen64 > gapBlockSize {
		blk := g.store.seal(g.cur)
		blk.n, blk.base = g.curN, g.curBase
		g.blocks = append(g.blocks, blk)
		if blk.mem == nil {
			g.cur = g.cur[:0] // on disk: the buffer is free again
		} else {
			g.cur = nil
		}
		g.curN, g.curBase = 0, g.last
	}
	if g.cur == nil {
		g.cur = make([]byte, 0, gapBlockSize)
	}
	g.cur = binary.AppendUvarint(g.cur, uint64(t-prev))
	g.curN++
	g.n++
	g.last = t
}

// all is every time in a slice (for the review, whose events are in memory anyway).
func (g *gapTimes) all() []int64 {
	out := make([]int64, 0, g.n)
	c := newGapCursor([]*gapTimes{g})
	for {
		t, ok := c.next()
		if !ok {
			return out
		}
		out = append(out, t)
	}
}

// gapCursor reads the times of one or more files (a chained stream) forward, with one block
// buffered.
type gapCursor struct {
	files []*gapTimes
	fi    int // file
	bi    int // block of the file; len(blocks): the open block
	data  []byte
	left  int // times left in data
	t     int64
	buf   []byte
	// peeked: t is the next time, not yet taken.
	peeked, done bool
}

func newGapCursor(files []*gapTimes) *gapCursor {
	c := &gapCursor{files: files}
	c.load()
	return c
}

// load positions data at the next non-empty block.
func (c *gapCursor) load() {
	for c.fi < len(c.files) {
		f := c.files[c.fi]
		if c.bi < len(f.blocks) {
			b := f.blocks[c.bi]
			c.bi++
			c.t, c.left = b.base, b.n
			if b.mem != nil {
				c.data = b.mem
			} else {
				if cap(c.buf) < b.size {
					c.buf = make([]byte, b.size)
				}
				c.buf = c.buf[:b.size]
				if _, err := f.store.f.ReadAt(c.buf, b.off); err != nil {
					// The file was written by this run a moment ago: failing to read it back is the
					// machine's failure, and a run that went on would report gaps wrongly.
					panic("audit-gap: reading back its temporary file " + f.store.f.Name() + ": " + err.Error())
				}
				c.data = c.buf
			}
			return
		}
		if c.bi == len(f.blocks) && f.curN > 0 {
			c.bi++
			c.t, c.left, c.data = f.curBase, f.curN, f.cur
			return
		}
		c.fi++
		c.bi = 0
	}
	c.done = true
}

// peek is the next time without taking it.
func (c *gapCursor) peek() (int64, bool) {
	if c.peeked {
		return c.t, true
	}
	for c.left == 0 {
		if c.done {
			return 0, false
		}
		c.load()
		if c.done && c.left == 0 {
			return 0, false
		}
	}
	d, k := binary.Uvarint(c.data)
	c.data = c.data[k:]
	c.left--
	c.t += int64(d)
	c.peeked = true
	return c.t, true
}

// next takes the next time.
func (c *gapCursor) next() (int64, bool) {
	t, ok := c.peek()
	c.peeked = false
	return t, ok
}
