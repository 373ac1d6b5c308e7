// Package spill keeps a run's events in a compact temporary file, so that what needs a second
// look at them once the findings are known (values read, the HTML report's charts, trace) can
// pass over them again in bounded memory.
//
// The file is a sequence of records, one per event, each holding only the fields that differ
// from the previous event's: a varint mask of the fields present, then those fields in a
// fixed order. Strings, addresses, policy lists, grants and identities (the seven fields that
// change together when the next event is another client's: credential, principal, display
// name, workload, user agent, address, policies) are written once, where they first appear
// (a definition), and then by a varint id; the dictionaries live in memory too, so they grow
// with distinct values, never with events (identities are bounded: past maxIdents a new one
// is written in full). Times are varint deltas from the previous event's, in the coarsest
// unit (nanosecond, microsecond or second) that holds the delta exactly. An event of a
// generated Vault log whose clients interleave (so that nearly every field changes from one
// event to the next) takes about 17 bytes once its values are known.
//
// Memory: the dictionaries (one copy of each distinct string, address, list, grant and
// identity, with a map entry each) and fixed caches and buffers of about 3 MiB; nothing per
// event.
//
// It imports only the standard library and event.
package spill

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/event"
)

// magic starts every spill file; the last byte is the format's version.
const magic = "VSSPILL\x02"

// Buffer sizes: the file is written and read in large blocks.
const (
	writeBuffer = 1 << 20
	readBuffer  = 256 << 10
)

// Field bits of a record's mask. The fields that change from one event to the next most often
// (on a generated Vault log of many interleaved identities) have the low bits, so the mask
// usually takes two bytes. The payloads follow the mask in the order Add writes them
// (next reads them in that order too), whatever their bits.
const (
	bTime = 1 << iota
	bLine
	bIdent // Credential, Principal, DisplayName, Workload, UserAgent, RemoteAddr, Policies
	bPath
	bResource
	bFlags
	bNameAt
	bMount
	bMountType
	bOp
	bAction
	bNewPolicies
	bClass
	bOutcome
	bFile
	bKind
	bNamespace
	bRegion
	bDetail
	bGrant
	bRecord
	bID   // written inline, never in the dictionary: a record id (CloudTrail's eventID) is unique
	nBits = iota
)

// maskRoom is the most bytes a mask's varint takes.
const maskRoom = (nBits + 6) / 7

// The string fields' slots in the writer's previous state.
const (
	sFile = iota
	sAction
	sNamespace
	sRegion
	sPath
	sResource
	sMount
	sMountType
	sDetail
	nStrings
)

// Time modes, the low two bits of a time's tag.
const (
	tNano = iota
	tMicro
	tSec
	tAbs // absolute: seconds, nanoseconds and zone follow
)

// Zones of an absolute time.
const (
	zUTC = iota
	zLocal
	zFixed // offset and name follow
)

// List references: 0 is nil, 1 an empty list that is not nil, else the list's id plus 2.
const (
	listNil = iota
	listEmpty
	listBase
)

// deltaMax bounds the Unix seconds of a time written as a delta: its nanoseconds fit in 62 bits,
// so the difference of two such times fits in an int64 (1824 to 2116; other times are absolute).
const deltaMax = (1 << 62) / int64(time.Second)

// Log is a write-once, read-many-times copy of events on disk. It is not safe for concurrent
// use: one goroutine adds events and passes over them (an Add inside a pass is allowed and is
// seen by the next pass).
type Log struct {
	name string
	f    *os.File
	w    io.Writer // what bw writes to: f (a test's failing writer)
	bw   *bufio.Writer
	err  error
	n    int
	size int64
	rec  []byte

	d dicts

	strIDs   map[string]uint32
	addrIDs  map[netip.Addr]uint32
	listIDs  map[string]uint32 // key: the list's string ids as varints
	listKey  []byte
	grantIDs map[grantKey]uint32
	identIDs map[identKey]uint32 // id+1

	prev struct {
		t       time.Time
		ns      int64 // t's Unix nanoseconds when delta is true
		delta   bool  // the next time may be written as a delta from ns
		line    int
		kind    event.Kind
		op      event.Op
		outcome event.Outcome
		class   event.Class
		flags   event.Flags
		nameAt  uint16
		record  uint32
		id      string
		str     [nStrings]string // the caller's strings
		strID   [nStrings]uint32 // and their ids
		newPol  uint32           // a list reference
		// The identity: the caller's memory (see putIdent) and its reference (0: none yet,
		// or one written in full).
		identP    [5]unsafe.Pointer
		identN    [5]uint32
		identPol  unsafe.Pointer
		identNPol int
		identAddr netip.Addr
		identRef  uint32
		grant     uint32 // grant reference: 0 nil, else id+1
	}

	// Direct-mapped caches in front of strIDs and listIDs, keyed by where the caller's string
	// or list lives: sources intern their strings and lists, so a repeated value is usually
	// the same memory, found without hashing it. An entry keeps the caller's string or slice
	// alive (a bounded number of them); a list is checked against the kept copy (a caller's
	// slice may change).
	strCache   []strEntry
	listCache  []listEntry
	addrCache  []addrEntry // by the address's bytes: a generic map hash costs more
	identCache []identEntry

	dec *decoder // kept for the next pass when no pass is running
}

// strEntry is 16 bytes, so the cache holds more in less: the caller's string as its data
// pointer (which keeps it alive) and length.
type strEntry struct {
	p     unsafe.Pointer
	n, id uint32
}

type addrEntry struct {
	a  netip.Addr
	id uint32
}

type listEntry struct {
	v   []string
	ref uint32
}

// The caches' sizes: 64 Ki strings (1 MiB, enough for a large log's working set of
// identities and paths), 4 Ki lists and addresses.
const (
	strCacheBits  = 16
	listCacheBits = 12
	addrCacheBits = 12
)

// slot is the cache index of a pointer in a cache of 1<<bits entries.
func slot(p unsafe.Pointer, bits uint) uint64 {
	return uint64(uintptr(p)) * 0x9E3779B97F4A7C15 >> (64 - bits)
}

// strID is s's id, when known.
func (l *Log) strID(s string) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	p := unsafe.Pointer(unsafe.StringData(s))
	e := &l.strCache[slot(p, strCacheBits)]
	if e.p == p && int(e.n) == len(s) {
		return e.id, true
	}
	id, ok := l.strIDs[s]
	if ok && len(s) <= math.MaxUint32 {
		*e = strEntry{p, uint32(len(s)), id}
	}
	return id, ok
}

// dicts are the distinct values a file defines, in the order of their ids. A reader shares
// them with the writer: decoding a definition it has seen only skips its bytes.
type dicts struct {
	strs   []string
	addrs  []netip.Addr
	lists  [][]string
	grants []*event.Grant
	idents []ident
}

// grantKey identifies a distinct grant by its parts' ids.
type grantKey struct {
	principals, conditions uint32 // list references
	blockPublic            uint32 // string id
	flags                  uint8
}

// Grant flag bits.
const (
	gCondition = 1 << iota
	gOrgScoped
)

// New creates the log's temporary file in dir ("" for os.TempDir()), named
// vaultsentry-spill-*. Close removes it.
func New(dir string) (*Log, error) {
	f, err := os.CreateTemp(dir, "vaultsentry-spill-*")
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	l := &Log{
		name:       f.Name(),
		f:          f,
		w:          f,
		strIDs:     map[string]uint32{"": 0},
		addrIDs:    map[netip.Addr]uint32{{}: 0},
		listIDs:    map[string]uint32{},
		grantIDs:   map[grantKey]uint32{},
		identIDs:   map[identKey]uint32{},
		rec:        make([]byte, maskRoom, 256),
		strCache:   make([]strEntry, 1<<strCacheBits),
		listCache:  make([]listEntry, 1<<listCacheBits),
		addrCache:  make([]addrEntry, 1<<addrCacheBits),
		identCache: make([]identEntry, 1<<identCacheBits),
	}
	// Id 0 is the empty string and the invalid address: both are known before any definition.
	l.d.strs = []string{""}
	l.d.addrs = []netip.Addr{{}}
	l.bw = bufio.NewWriterSize(writerFunc(func(p []byte) (int, error) { return l.w.Write(p) }), writeBuffer)
	l.write([]byte(magic))
	return l, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Name is the file's path.
func (l *Log) Name() string { return l.name }

// Len is the number of events added (before an error, after which Add drops them).
func (l *Log) Len() int { return l.n }

// Bytes is the size of the file so far, the events still buffered for it included.
func (l *Log) Bytes() int64 { return l.size }

// Err is the first write or read error; once there is one, Add drops events and passes
// yield none.
func (l *Log) Err() error { return l.err }

func (l *Log) fail(op string, err error) {
	if l.err == nil {
		l.err = fmt.Errorf("spill: %s %s: %w", op, l.name, err)
	}
}

func (l *Log) write(p []byte) {
	if _, err := l.bw.Write(p); err != nil {
		l.fail("write", err)
		return
	}
	l.size += int64(len(p))
}

// Close removes the file. It is safe to call twice.
func (l *Log) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	if rerr := os.Remove(l.name); rerr != nil && err == nil {
		err = rerr
	}
	l.f, l.bw, l.dec = nil, nil, nil
	l.d = dicts{}
	l.strIDs, l.addrIDs, l.listIDs, l.grantIDs, l.identIDs = nil, nil, nil, nil, nil
	l.strCache, l.listCache, l.addrCache, l.identCache = nil, nil, nil, nil
	if err != nil {
		return fmt.Errorf("spill: %w", err)
	}
	return nil
}

// Add appends a copy of every field of ev; ev is not kept. After an error (or Close) it does
// nothing.
func (l *Log) Add(ev *event.Event) {
	if l.err != nil || l.f == nil {
		return
	}
	p := &l.prev
	var mask uint64
	l.rec = l.rec[:maskRoom]

	if ev.Time != p.t {
		mask |= bTime
		l.putTime(ev.Time)
	}
	if ev.Pos.Line != p.line {
		mask |= bLine
		l.rec = binary.AppendUvarint(l.rec, zigzag(int64(ev.Pos.Line-p.line)))
		p.line = ev.Pos.Line
	}
	if l.putIdent(ev) {
		mask |= bIdent
	}
	mask |= l.str(bPath, sPath, ev.Path)
	mask |= l.str(bResource, sResource, ev.Resource)
	if o := ev.NameOffset(); o != p.nameAt {
		mask |= bNameAt
		l.rec = binary.AppendUvarint(l.rec, uint64(o))
		p.nameAt = o
	}
	mask |= l.str(bAction, sAction, ev.Action)
	if ev.Op != p.op {
		mask |= bOp
		l.rec = append(l.rec, byte(ev.Op))
		p.op = ev.Op
	}
	if ev.Outcome != p.outcome {
		mask |= bOutcome
		l.rec = append(l.rec, byte(ev.Outcome))
		p.outcome = ev.Outcome
	}
	if ev.Flags != p.flags {
		mask |= bFlags
		l.rec = binary.AppendUvarint(l.rec, uint64(ev.Flags))
		p.flags = ev.Flags
	}
	mask |= l.str(bFile, sFile, ev.Pos.File)
	if ev.Kind != p.kind {
		mask |= bKind
		l.rec = append(l.rec, byte(ev.Kind))
		p.kind = ev.Kind
	}
	if ev.Class != p.class {
		mask |= bClass
		l.rec = append(l.rec, byte(ev.Class))
		p.class = ev.Class
	}
	mask |= l.str(bNamespace, sNamespace, ev.Namespace)
	mask |= l.str(bRegion, sRegion, ev.Region)
	mask |= l.str(bMount, sMount, ev.Mount)
	mask |= l.str(bMountType, sMountType, ev.MountType)
	if !l.sameList(p.newPol, ev.NewPolicies) {
		mask |= bNewPolicies
		p.newPol = l.putList(ev.NewPolicies)
	}
	mask |= l.str(bDetail, sDetail, ev.Detail)
	if ev.Grant != nil || p.grant != 0 {
		if ref, ok := l.grantRef(ev.Grant); !ok || ref != p.grant {
			mask |= bGrant
			p.grant = l.putGrant(ev.Grant, ref, ok)
		}
	}

	if ev.Record != p.record {
		mask |= bRecord
		l.rec = binary.AppendUvarint(l.rec, zigzag(int64(ev.Record)-int64(p.record)))
		p.record = ev.Record
	}
	if ev.ID != p.id {
		mask |= bID
		l.rec = binary.AppendUvarint(l.rec, uint64(len(ev.ID)))
		l.rec = append(l.rec, ev.ID...)
		p.id = ev.ID
	}

	// The mask goes right before the payload, in the room left for it.
	var m [maskRoom]byte
	k := len(binary.AppendUvarint(m[:0], mask))
	start := maskRoom - k
	copy(l.rec[start:], m[:k])
	l.write(l.rec[start:])
	if l.err == nil {
		l.n++
	}
}

// str writes s when it differs from the previous event's string in slot i, and returns bit
// then. The previous string is the caller's: the same memory is the same string, without
// comparing bytes; other memory is compared by id.
func (l *Log) str(bit uint64, i int, s string) uint64 {
	p := &l.prev
	if len(s) == len(p.str[i]) && unsafe.StringData(s) == unsafe.StringData(p.str[i]) {
		return 0
	}
	p.str[i] = s
	if id, ok := l.strID(s); ok {
		if id == p.strID[i] {
			return 0
		}
		p.strID[i] = id
		l.rec = binary.AppendUvarint(l.rec, uint64(id))
		return bit
	}
	l.putStr(s)
	p.strID[i] = uint32(len(l.d.strs) - 1)
	return bit
}

// putStr writes s's id, after its definition the first time; it returns the kept copy.
func (l *Log) putStr(s string) string {
	if id, ok := l.strID(s); ok {
		l.rec = binary.AppendUvarint(l.rec, uint64(id))
		return l.d.strs[id]
	}
	id := uint32(len(l.d.strs))
	kept := strings.Clone(s) // the dictionary never keeps the caller's memory (a substring of a large line)
	l.d.strs = append(l.d.strs, kept)
	l.strIDs[kept] = id
	if len(s) <= math.MaxUint32 {
		p := unsafe.Pointer(unsafe.StringData(s))
		l.strCache[slot(p, strCacheBits)] = strEntry{p, uint32(len(s)), id}
	}
	s = kept
	l.rec = binary.AppendUvarint(l.rec, uint64(id))
	l.rec = binary.AppendUvarint(l.rec, uint64(len(s)))
	l.rec = append(l.rec, s...)
	return s
}

func (l *Log) putAddr(a netip.Addr) {
	b16 := a.As16()
	h := (binary.LittleEndian.Uint64(b16[:8])*0x9E3779B97F4A7C15 ^ binary.LittleEndian.Uint64(b16[8:])) * 0xC2B2AE3D27D4EB4F >> (64 - addrCacheBits)
	e := &l.addrCache[h]
	if e.a == a {
		l.rec = binary.AppendUvarint(l.rec, uint64(e.id))
		return
	}
	if id, ok := l.addrIDs[a]; ok {
		e.a, e.id = a, id
		l.rec = binary.AppendUvarint(l.rec, uint64(id))
		return
	}
	id := uint32(len(l.d.addrs))
	e.a, e.id = a, id
	l.d.addrs = append(l.d.addrs, a)
	l.addrIDs[a] = id
	l.rec = binary.AppendUvarint(l.rec, uint64(id))
	b, _ := a.MarshalBinary() // never fails
	l.rec = binary.AppendUvarint(l.rec, uint64(len(b)))
	l.rec = append(l.rec, b...)
}

// listOf returns the list a reference stands for.
func (l *Log) listOf(ref uint32) []string {
	switch ref {
	case listNil:
		return nil
	case listEmpty:
		return []string{}
	}
	return l.d.lists[ref-listBase]
}

// sameList reports whether v equals the list ref stands for, nil and empty told apart.
func (l *Log) sameList(ref uint32, v []string) bool {
	switch {
	case v == nil:
		return ref == listNil
	case len(v) == 0:
		return ref == listEmpty
	case ref < listBase:
		return false
	}
	return slices.Equal(l.d.lists[ref-listBase], v)
}

// listRef is v's reference when v and all its strings are known.
func (l *Log) listRef(v []string) (uint32, bool) {
	switch {
	case v == nil:
		return listNil, true
	case len(v) == 0:
		return listEmpty, true
	}
	e := &l.listCache[slot(unsafe.Pointer(unsafe.SliceData(v)), listCacheBits)]
	if unsafe.SliceData(e.v) == unsafe.SliceData(v) && len(e.v) == len(v) && slices.Equal(l.d.lists[e.ref-listBase], v) {
		return e.ref, true
	}
	if !l.buildKey(v) {
		return 0, false
	}
	id, ok := l.listIDs[string(l.listKey)]
	if ok {
		e.v, e.ref = v, id+listBase
	}
	return id + listBase, ok
}

// buildKey sets listKey to the ids of v's strings; false when one is not known.
func (l *Log) buildKey(v []string) bool {
	key := l.listKey[:0]
	for _, s := range v {
		id, ok := l.strID(s)
		if !ok {
			return false
		}
		key = binary.AppendUvarint(key, uint64(id))
	}
	l.listKey = key
	return true
}

// putList writes v's reference, after its definition the first time, and returns it.
func (l *Log) putList(v []string) uint32 {
	if ref, ok := l.listRef(v); ok {
		l.rec = binary.AppendUvarint(l.rec, uint64(ref))
		return ref
	}
	id := uint32(len(l.d.lists))
	ref := id + listBase
	l.rec = binary.AppendUvarint(l.rec, uint64(ref))
	l.rec = binary.AppendUvarint(l.rec, uint64(len(v)))
	kept := make([]string, len(v))
	for i, s := range v {
		kept[i] = l.putStr(s)
	}
	l.d.lists = append(l.d.lists, kept)
	l.buildKey(kept) // every string is known now
	l.listIDs[string(l.listKey)] = id
	return ref
}

// grantRef is g's reference when g and all its parts are known.
func (l *Log) grantRef(g *event.Grant) (uint32, bool) {
	if g == nil {
		return 0, true
	}
	k, ok := l.grantKeyOf(g)
	if !ok {
		return 0, false
	}
	id, ok := l.grantIDs[k]
	return id + 1, ok
}

func (l *Log) grantKeyOf(g *event.Grant) (grantKey, bool) {
	var k grantKey
	var ok bool
	if k.principals, ok = l.listRef(g.Principals); !ok {
		return k, false
	}
	if k.conditions, ok = l.listRef(g.Conditions); !ok {
		return k, false
	}
	id, ok := l.strID(g.BlockPublic)
	k.blockPublic = id
	if g.Condition {
		k.flags |= gCondition
	}
	if g.OrgScoped {
		k.flags |= gOrgScoped
	}
	return k, ok
}

// putGrant writes g's reference (ref when known), after its definition the first time.
func (l *Log) putGrant(g *event.Grant, ref uint32, known bool) uint32 {
	if known {
		l.rec = binary.AppendUvarint(l.rec, uint64(ref))
		return ref
	}
	id := uint32(len(l.d.grants))
	ref = id + 1
	l.rec = binary.AppendUvarint(l.rec, uint64(ref))
	kept := &event.Grant{Condition: g.Condition, OrgScoped: g.OrgScoped}
	kept.Principals = l.listOf(l.putList(g.Principals))
	var flags byte
	if g.Condition {
		flags |= gCondition
	}
	if g.OrgScoped {
		flags |= gOrgScoped
	}
	l.rec = append(l.rec, flags)
	kept.BlockPublic = l.putStr(g.BlockPublic)
	kept.Conditions = l.listOf(l.putList(g.Conditions))
	l.d.grants = append(l.d.grants, kept)
	k, _ := l.grantKeyOf(kept)
	l.grantIDs[k] = id
	return ref
}

// putTime writes t: a delta from the previous time when both are UTC and within deltaMax
// seconds of 1970, else the absolute time with its zone.
func (l *Log) putTime(t time.Time) {
	p := &l.prev
	p.t = t
	sec := t.Unix()
	utc := t.Location() == time.UTC
	ok := utc && sec > -deltaMax && sec < deltaMax
	if ok && p.delta {
		ns := t.UnixNano()
		d := ns - p.ns
		mode, q := tNano, d
		switch {
		case d%int64(time.Second) == 0:
			mode, q = tSec, d/int64(time.Second)
		case d%int64(time.Microsecond) == 0:
			mode, q = tMicro, d/int64(time.Microsecond)
		}
		if zz := zigzag(q); zz>>61 == 0 {
			l.rec = binary.AppendUvarint(l.rec, zz<<2|uint64(mode))
			p.ns = ns
			return
		}
	}
	l.rec = append(l.rec, tAbs)
	l.rec = binary.AppendUvarint(l.rec, zigzag(sec))
	l.rec = binary.AppendUvarint(l.rec, uint64(t.Nanosecond()))
	switch {
	case utc:
		l.rec = append(l.rec, zUTC)
	case t.Location() == time.Local:
		l.rec = append(l.rec, zLocal)
	default:
		// A named zone is kept as its name and offset at t: the same instant, name and offset.
		name, off := t.Zone()
		l.rec = append(l.rec, zFixed)
		l.rec = binary.AppendUvarint(l.rec, zigzag(int64(off)))
		l.putStr(name)
	}
	p.delta = ok
	if ok {
		p.ns = t.UnixNano()
	}
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// flush writes what is buffered to the file.
func (l *Log) flush() {
	if l.err == nil {
		if err := l.bw.Flush(); err != nil {
			l.fail("write", err)
		}
	}
}

// errClosed is a pass over a closed log.
var errClosed = errors.New("pass over a closed log")

// Events returns a fresh pass over every event added, in order; it flushes pending writes
// first. The *event.Event it yields is reused: callers must not keep it or modify its slices
// and Grant (which events share). Breaking out of the loop early is fine. A pass that fails
// stops early, and Err says why; a log with an error yields nothing.
func (l *Log) Events() iter.Seq[*event.Event] {
	return func(yield func(*event.Event) bool) {
		if l.f == nil {
			if l.err == nil {
				l.err = fmt.Errorf("spill: %s: %w", l.name, errClosed)
			}
			return
		}
		l.flush()
		if l.err != nil {
			return
		}
		n, size := l.n, l.size
		d := l.dec
		l.dec = nil // a pass inside this one gets its own decoder
		if d == nil {
			d = &decoder{br: bufio.NewReaderSize(nil, readBuffer)}
		}
		defer func() {
			if l.f != nil {
				d.known = nil
				l.dec = d
			}
		}()
		d.reset(io.NewSectionReader(l.f, 0, size), size, &l.d)
		for i := range n {
			if !d.next() {
				l.fail("read", fmt.Errorf("event %d of %d: %w", i+1, n, d.err))
				return
			}
			d.out = d.cur
			if !yield(&d.out) {
				return
			}
		}
	}
}
