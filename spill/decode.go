package spill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// errCorrupt is a record the writer cannot have written.
var errCorrupt = errors.New("corrupt spill file")

// decoder reads records back into cur. With known dictionaries (the log's own), a
// definition only has its bytes checked and skipped, so a pass allocates nothing per event;
// without (a file on its own, as the fuzz target reads it), it builds them.
type decoder struct {
	br    *bufio.Reader
	size  int64  // the file's size: no definition is longer
	known *dicts // nil: build d
	d     dicts
	// The number of definitions seen this pass, of each kind: a reference must be below.
	nstr, naddr, nlist, ngrant, nident int
	zones                              map[zone]*time.Location

	abuf     [16 + 256]byte // an address's definition
	cur, out event.Event
	ns       int64 // the previous time's Unix nanoseconds, when delta is true
	delta    bool
	err      error
}

type zone struct {
	name string
	off  int
}

func (d *decoder) reset(r io.Reader, size int64, known *dicts) {
	d.br.Reset(r)
	d.size, d.known, d.err = size, known, nil
	d.cur, d.out = event.Event{}, event.Event{}
	d.ns, d.delta = 0, false
	d.nstr, d.naddr, d.nlist, d.ngrant, d.nident = 1, 1, 0, 0, 0 // the empty string and the invalid address
	if known != nil {
		d.d = *known // a snapshot: Adds during the pass append past what this pass reads
	} else {
		d.d = dicts{strs: []string{""}, addrs: []netip.Addr{{}}}
	}
	var m [len(magic)]byte
	if _, err := io.ReadFull(d.br, m[:]); err != nil {
		d.err = fmt.Errorf("header: %w", err)
	} else if string(m[:]) != magic {
		d.err = fmt.Errorf("header: %w", errCorrupt)
	}
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
	}
}

func (d *decoder) byte() byte {
	c, err := d.br.ReadByte()
	if err != nil {
		d.fail(err)
	}
	return c
}

func (d *decoder) uvarint() uint64 {
	var x uint64
	for s := uint(0); s < 64; s += 7 {
		c, err := d.br.ReadByte()
		if err != nil {
			d.fail(err)
			return 0
		}
		if c < 0x80 {
			if s == 63 && c > 1 {
				break
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
	}
	d.fail(fmt.Errorf("varint overflows: %w", errCorrupt))
	return 0
}

// next decodes the next record into cur; false on an error (d.err).
func (d *decoder) next() bool {
	if d.err != nil {
		return false
	}
	mask := d.uvarint()
	if mask>>nBits != 0 {
		d.fail(fmt.Errorf("field mask %#x: %w", mask, errCorrupt))
		return false
	}
	e := &d.cur
	if mask&bTime != 0 {
		d.time()
	}
	if mask&bLine != 0 {
		e.Pos.Line += int(unzigzag(d.uvarint()))
	}
	if mask&bIdent != 0 {
		d.ident()
	}
	if mask&bPath != 0 {
		e.Path = d.str()
	}
	if mask&bResource != 0 {
		e.Resource = d.str()
	}
	if mask&bNameAt != 0 {
		o := d.uvarint()
		if o > 1<<16-1 {
			d.fail(fmt.Errorf("name offset %d: %w", o, errCorrupt))
		}
		e.SetNameOffset(uint16(o))
	}
	if mask&bAction != 0 {
		e.Action = d.str()
	}
	if mask&bOp != 0 {
		e.Op = event.Op(d.byte())
	}
	if mask&bOutcome != 0 {
		e.Outcome = event.Outcome(d.byte())
	}
	if mask&bFlags != 0 {
		f := d.uvarint()
		if f>>32 != 0 {
			d.fail(fmt.Errorf("flags %#x: %w", f, errCorrupt))
		}
		e.Flags = event.Flags(f)
	}
	if mask&bFile != 0 {
		e.Pos.File = d.str()
	}
	if mask&bKind != 0 {
		e.Kind = event.Kind(d.byte())
	}
	if mask&bClass != 0 {
		e.Class = event.Class(d.byte())
	}
	if mask&bNamespace != 0 {
		e.Namespace = d.str()
	}
	if mask&bRegion != 0 {
		e.Region = d.str()
	}
	if mask&bMount != 0 {
		e.Mount = d.str()
	}
	if mask&bMountType != 0 {
		e.MountType = d.str()
	}
	if mask&bNewPolicies != 0 {
		e.NewPolicies = d.list()
	}
	if mask&bDetail != 0 {
		e.Detail = d.str()
	}
	if mask&bGrant != 0 {
		e.Grant = d.grant()
	}
	if mask&bRecord != 0 {
		e.Record = uint32(int64(e.Record) + unzigzag(d.uvarint()))
	}
	if mask&bID != 0 {
		n := d.length("record id")
		if d.err != nil {
			return false
		}
		b := make([]byte, n) // its own string: a caller may keep it
		if _, err := io.ReadFull(d.br, b); err != nil {
			d.fail(err)
			return false
		}
		e.ID = string(b)
	}
	return d.err == nil
}

// ref reads a reference below n+1; it is a definition when it equals n.
func (d *decoder) ref(n int, what string) (id int, def bool) {
	v := d.uvarint()
	if d.err != nil {
		return 0, false
	}
	if v > uint64(n) {
		d.fail(fmt.Errorf("%s %d before its definition: %w", what, v, errCorrupt))
		return 0, false
	}
	return int(v), v == uint64(n)
}

// length reads a definition's length, which the file's size bounds.
func (d *decoder) length(what string) int {
	n := d.uvarint()
	if n > uint64(d.size) {
		d.fail(fmt.Errorf("%s of %d bytes in a file of %d: %w", what, n, d.size, errCorrupt))
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	id, def := d.ref(d.nstr, "string")
	if !def {
		return d.d.strs[id]
	}
	n := d.length("string")
	if d.err != nil {
		return ""
	}
	d.nstr++
	if d.known != nil {
		if id >= len(d.d.strs) || len(d.d.strs[id]) != n {
			d.fail(fmt.Errorf("string %d: %w", id, errCorrupt))
			return ""
		}
		if _, err := d.br.Discard(n); err != nil {
			d.fail(err)
		}
		return d.d.strs[id]
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.br, b); err != nil {
		d.fail(err)
		return ""
	}
	s := string(b)
	d.d.strs = append(d.d.strs, s)
	return s
}

func (d *decoder) addr() netip.Addr {
	id, def := d.ref(d.naddr, "address")
	if !def {
		return d.d.addrs[id]
	}
	n := d.length("address")
	if d.err != nil {
		return netip.Addr{}
	}
	if n > 16+256 { // 16 bytes and a zone
		d.fail(fmt.Errorf("address of %d bytes: %w", n, errCorrupt))
		return netip.Addr{}
	}
	b := d.abuf[:n]
	if _, err := io.ReadFull(d.br, b); err != nil {
		d.fail(err)
		return netip.Addr{}
	}
	var a netip.Addr
	if err := a.UnmarshalBinary(b); err != nil {
		d.fail(fmt.Errorf("address %d: %w", id, errCorrupt))
		return netip.Addr{}
	}
	d.naddr++
	if d.known != nil {
		if id >= len(d.d.addrs) || d.d.addrs[id] != a {
			d.fail(fmt.Errorf("address %d: %w", id, errCorrupt))
			return netip.Addr{}
		}
		return a
	}
	d.d.addrs = append(d.d.addrs, a)
	return a
}

func (d *decoder) list() []string {
	ref := d.uvarint()
	switch {
	case d.err != nil:
		return nil
	case ref == listNil:
		return nil
	case ref == listEmpty:
		return []string{} // a zero-length non-nil slice does not allocate
	case ref-listBase > uint64(d.nlist):
		d.fail(fmt.Errorf("list %d before its definition: %w", ref-listBase, errCorrupt))
		return nil
	case ref-listBase < uint64(d.nlist):
		return d.d.lists[ref-listBase]
	}
	id := int(ref - listBase)
	n := d.length("list")
	if d.err != nil {
		return nil
	}
	var v []string
	if d.known == nil {
		v = make([]string, 0, min(n, 64))
	}
	for i := 0; i < n && d.err == nil; i++ {
		s := d.str()
		if d.known == nil {
			v = append(v, s)
		}
	}
	if d.err != nil {
		return nil
	}
	d.nlist++
	if d.known != nil {
		if id >= len(d.d.lists) || len(d.d.lists[id]) != n {
			d.fail(fmt.Errorf("list %d: %w", id, errCorrupt))
			return nil
		}
		return d.d.lists[id]
	}
	d.d.lists = append(d.d.lists, v)
	return v
}

func (d *decoder) grant() *event.Grant {
	id, def := d.ref(d.ngrant+1, "grant")
	switch {
	case d.err != nil || id == 0:
		return nil
	case !def:
		return d.d.grants[id-1]
	}
	g := event.Grant{Principals: d.list()}
	flags := d.byte()
	g.Condition, g.OrgScoped = flags&gCondition != 0, flags&gOrgScoped != 0
	g.BlockPublic = d.str()
	g.Conditions = d.list()
	if flags&^(gCondition|gOrgScoped) != 0 {
		d.fail(fmt.Errorf("grant flags %#x: %w", flags, errCorrupt))
	}
	if d.err != nil {
		return nil
	}
	d.ngrant++
	if d.known != nil {
		if id-1 >= len(d.d.grants) {
			d.fail(fmt.Errorf("grant %d: %w", id, errCorrupt))
			return nil
		}
		return d.d.grants[id-1]
	}
	d.d.grants = append(d.d.grants, &g)
	return &g
}

func (d *decoder) time() {
	tag := d.uvarint()
	if d.err != nil {
		return
	}
	if mode := tag & 3; mode != tAbs {
		if !d.delta {
			d.fail(fmt.Errorf("time delta without a base: %w", errCorrupt))
			return
		}
		q := unzigzag(tag >> 2)
		unit := int64(1)
		switch mode {
		case tMicro:
			unit = int64(time.Microsecond)
		case tSec:
			unit = int64(time.Second)
		}
		ns := d.ns + q*unit
		if ns/int64(time.Second) <= -deltaMax || ns/int64(time.Second) >= deltaMax {
			d.fail(fmt.Errorf("time delta out of range: %w", errCorrupt))
			return
		}
		d.ns = ns
		d.cur.Time = time.Unix(0, ns).UTC()
		return
	}
	if tag != tAbs {
		d.fail(fmt.Errorf("time tag %#x: %w", tag, errCorrupt))
		return
	}
	sec := unzigzag(d.uvarint())
	nsec := d.uvarint()
	z := d.byte()
	if d.err != nil {
		return
	}
	if nsec >= uint64(time.Second) {
		d.fail(fmt.Errorf("nanoseconds %d: %w", nsec, errCorrupt))
		return
	}
	t := time.Unix(sec, int64(nsec))
	d.delta = false
	switch z {
	case zUTC:
		t = t.UTC()
		if sec > -deltaMax && sec < deltaMax {
			d.delta, d.ns = true, t.UnixNano()
		}
	case zLocal:
		t = t.In(time.Local)
	case zFixed:
		off := unzigzag(d.uvarint())
		name := d.str()
		if d.err != nil {
			return
		}
		if off < -1<<31 || off >= 1<<31 {
			d.fail(fmt.Errorf("zone offset %d: %w", off, errCorrupt))
			return
		}
		k := zone{name, int(off)}
		loc := d.zones[k]
		if loc == nil {
			if d.zones == nil {
				d.zones = map[zone]*time.Location{}
			}
			loc = time.FixedZone(name, int(off))
			d.zones[k] = loc
		}
		t = t.In(loc)
	default:
		d.fail(fmt.Errorf("zone %d: %w", z, errCorrupt))
		return
	}
	d.cur.Time = t
}

// decodeAll reads a file's bytes on their own (no known dictionaries) and returns how many
// events it decoded before the end or the first error; for the fuzz target.
func decodeAll(data []byte, max int, each func(*event.Event)) (int, error) {
	d := &decoder{br: bufio.NewReaderSize(nil, 4096)}
	d.reset(bytes.NewReader(data), int64(len(data)), nil)
	n := 0
	for n < max && d.err == nil {
		if _, err := d.br.Peek(1); err == io.EOF {
			return n, nil
		}
		if !d.next() {
			break
		}
		n++
		if each != nil {
			d.out = d.cur
			each(&d.out)
		}
	}
	return n, d.err
}
