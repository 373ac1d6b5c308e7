package spill

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/event"
)

// ident is the identity behind a request: the fields that change together when the next
// event is another identity's (nearly every event, in a log of many interleaved clients).
// A record holds one reference to the identity instead of seven fields.
type ident struct {
	cred, prin, disp, work, ua string
	addr                       netip.Addr
	pol                        []string
}

// identKey identifies a distinct identity by its parts' ids: five strings, the address, the
// policy list's reference.
type identKey [7]uint32

// maxIdents bounds the identity dictionary (about 200 bytes an entry): past it, an identity
// not seen before is written in full where it occurs (reference 0), so a log whose every
// event is a new combination of known strings keeps a bounded dictionary.
var maxIdents = 1 << 16 // a variable for the tests

// identEntry caches an identity by where the caller's strings and list live.
type identEntry struct {
	p    [5]unsafe.Pointer
	n    [5]uint32
	pol  unsafe.Pointer
	npol int
	addr netip.Addr
	ref  uint32 // 0: empty
}

const identCacheBits = 12

// identPtrs are the data pointers and lengths of ev's identity strings.
func identPtrs(ev *event.Event) (p [5]unsafe.Pointer, n [5]uint32, ok bool) {
	for i, s := range [5]string{ev.Credential, ev.Principal, ev.DisplayName, ev.Workload, ev.UserAgent} {
		if uint64(len(s)) > 1<<32-1 {
			return p, n, false
		}
		p[i], n[i] = unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
	}
	return p, n, true
}

func identSlot(p *[5]unsafe.Pointer) uint64 {
	h := uint64(uintptr(p[0]))*0x9E3779B97F4A7C15 ^ uint64(uintptr(p[1]))*0xC2B2AE3D27D4EB4F ^ uint64(uintptr(p[2]))
	return h * 0x165667B19E3779F9 >> (64 - identCacheBits)
}

// putIdent writes ev's identity when it differs from the previous event's and reports whether
// it did.
func (l *Log) putIdent(ev *event.Event) bool {
	p := &l.prev
	ptrs, lens, cacheable := identPtrs(ev)
	pol := unsafe.Pointer(unsafe.SliceData(ev.Policies))
	// The same memory as the previous event's (its list checked against the kept copy: a
	// caller's slice may change).
	if cacheable && ptrs == p.identP && lens == p.identN && ev.RemoteAddr == p.identAddr &&
		pol == p.identPol && len(ev.Policies) == p.identNPol && slices.Equal(l.keptPolicies(p.identRef), ev.Policies) {
		return false
	}
	p.identP, p.identN, p.identAddr, p.identPol, p.identNPol = ptrs, lens, ev.RemoteAddr, pol, len(ev.Policies)
	var e *identEntry
	if cacheable {
		e = &l.identCache[identSlot(&ptrs)]
		if e.ref != 0 && e.p == ptrs && e.n == lens && e.addr == ev.RemoteAddr && e.pol == pol && e.npol == len(ev.Policies) &&
			slices.Equal(l.d.idents[e.ref-1].pol, ev.Policies) {
			return l.identRef(e.ref)
		}
	}
	if ref, ok := l.knownIdent(ev); ok {
		if e != nil {
			*e = identEntry{ptrs, lens, pol, len(ev.Policies), ev.RemoteAddr, ref}
		}
		return l.identRef(ref)
	}
	if len(l.d.idents) >= maxIdents {
		// Written in full, kept nowhere.
		l.rec = append(l.rec, 0)
		l.identMembers(ev)
		p.identRef = 0
		return true
	}
	ref := uint32(len(l.d.idents)) + 1
	l.rec = binary.AppendUvarint(l.rec, uint64(ref))
	kept := l.identMembers(ev)
	l.d.idents = append(l.d.idents, kept)
	k, _ := l.identKeyOf(&kept)
	l.identIDs[k] = ref
	if e != nil {
		*e = identEntry{ptrs, lens, pol, len(ev.Policies), ev.RemoteAddr, ref}
	}
	p.identRef = ref
	return true
}

// identRef writes a known identity's reference unless it is the previous event's (the same
// identity in other memory).
func (l *Log) identRef(ref uint32) bool {
	if ref == l.prev.identRef {
		return false
	}
	l.prev.identRef = ref
	l.rec = binary.AppendUvarint(l.rec, uint64(ref))
	return true
}

// keptPolicies is the policy list of identity ref (nil for none or one written in full).
func (l *Log) keptPolicies(ref uint32) []string {
	if ref == 0 {
		return nil
	}
	return l.d.idents[ref-1].pol
}

// knownIdent is the reference of ev's identity when it and all its parts are known.
func (l *Log) knownIdent(ev *event.Event) (uint32, bool) {
	id := ident{ev.Credential, ev.Principal, ev.DisplayName, ev.Workload, ev.UserAgent, ev.RemoteAddr, ev.Policies}
	k, ok := l.identKeyOf(&id)
	if !ok {
		return 0, false
	}
	ref, ok := l.identIDs[k]
	return ref, ok
}

func (l *Log) identKeyOf(id *ident) (identKey, bool) {
	var k identKey
	var ok bool
	for i, s := range [5]string{id.cred, id.prin, id.disp, id.work, id.ua} {
		if k[i], ok = l.strID(s); !ok {
			return k, false
		}
	}
	if k[5], ok = l.addrIDs[id.addr]; !ok {
		return k, false
	}
	k[6], ok = l.listRef(id.pol)
	return k, ok
}

// identMembers writes ev's identity in full and returns the kept copy.
func (l *Log) identMembers(ev *event.Event) ident {
	var id ident
	id.cred = l.putStr(ev.Credential)
	id.prin = l.putStr(ev.Principal)
	id.disp = l.putStr(ev.DisplayName)
	id.work = l.putStr(ev.Workload)
	id.ua = l.putStr(ev.UserAgent)
	l.putAddr(ev.RemoteAddr)
	id.addr = ev.RemoteAddr
	id.pol = l.listOf(l.putList(ev.Policies))
	return id
}

// ident reads an identity into cur.
func (d *decoder) ident() {
	ref := d.uvarint()
	if d.err != nil {
		return
	}
	if ref > uint64(d.nident)+1 {
		d.fail(fmt.Errorf("identity %d before its definition: %w", ref, errCorrupt))
		return
	}
	if ref != 0 && ref <= uint64(d.nident) {
		d.setIdent(&d.d.idents[ref-1])
		return
	}
	var id ident
	id.cred = d.str()
	id.prin = d.str()
	id.disp = d.str()
	id.work = d.str()
	id.ua = d.str()
	id.addr = d.addr()
	id.pol = d.list()
	if d.err != nil {
		return
	}
	d.setIdent(&id)
	if ref == 0 {
		return // written in full, kept nowhere
	}
	d.nident++
	if d.known != nil {
		if ref > uint64(len(d.d.idents)) {
			d.fail(fmt.Errorf("identity %d: %w", ref, errCorrupt))
		}
		return
	}
	d.d.idents = append(d.d.idents, id)
}

func (d *decoder) setIdent(id *ident) {
	e := &d.cur
	e.Credential, e.Principal, e.DisplayName, e.Workload, e.UserAgent = id.cred, id.prin, id.disp, id.work, id.ua
	e.RemoteAddr, e.Policies = id.addr, id.pol
}
