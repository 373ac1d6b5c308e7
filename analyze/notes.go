package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// Notes are run-level observations that change how findings should be read: a single address
// behind most identities means Vault sees a load balancer, not the clients.
func Notes(evs []event.Event, c *Config) []string {
	n := NewNoteCounter(c)
	for i := range evs {
		n.Add(&evs[i])
	}
	return n.Notes()
}

// NoteCounter gathers what Notes needs one event at a time: a count and the identities per
// remote address of Vault requests. It grows with addresses and identities, not with events.
type NoteCounter struct {
	by    map[netip.Addr]*noteAgg
	total int
	// ids: the addresses each identity came from.
	ids map[string]*noteID
	// The previous event's address and identity: a run of requests of one client costs no
	// lookup.
	lastAddr netip.Addr
	lastID   string
	lastAgg  *noteAgg
}

type noteAgg struct {
	n   int // requests
	ids int // distinct identities
}

// noteID is the addresses of one identity: most have one or two, listed; past noteListed, a
// set (an identity spread over many addresses must not cost a scan of them per event).
type noteID struct {
	list []netip.Addr
	set  map[netip.Addr]struct{}
}

const noteListed = 8

// add reports whether a is new for the identity.
func (d *noteID) add(a netip.Addr) bool {
	if d.set != nil {
		if _, ok := d.set[a]; ok {
			return false
		}
		d.set[a] = struct{}{}
		return true
	}
	if slices.Contains(d.list, a) {
		return false
	}
	if len(d.list) < noteListed {
		d.list = append(d.list, a)
		return true
	}
	d.set = make(map[netip.Addr]struct{}, 2*noteListed)
	for _, b := range d.list {
		d.set[b] = struct{}{}
	}
	d.set[a], d.list = struct{}{}, nil
	return true
}

// NewNoteCounter starts counting for Notes. c is the run's configuration (no note reads it yet).
func NewNoteCounter(c *Config) *NoteCounter {
	_ = c
	return &NoteCounter{by: map[netip.Addr]*noteAgg{}, ids: map[string]*noteID{}}
}

// Add counts one event. It does not keep ev.
func (n *NoteCounter) Add(ev *event.Event) {
	if ev.Kind != event.KindVault || !ev.RemoteAddr.IsValid() {
		return
	}
	n.total++
	id := ev.Actor()
	if n.lastAgg != nil && ev.RemoteAddr == n.lastAddr && id == n.lastID {
		n.lastAgg.n++
		return
	}
	a := n.by[ev.RemoteAddr]
	if a == nil {
		a = &noteAgg{}
		n.by[ev.RemoteAddr] = a
	}
	a.n++
	n.lastAddr, n.lastID, n.lastAgg = ev.RemoteAddr, id, a
	if id == "" {
		return
	}
	d := n.ids[id]
	if d == nil {
		id = strings.Clone(id) // a key outlives the event
		n.lastID = id
		d = &noteID{}
		n.ids[id] = d
	}
	if d.add(ev.RemoteAddr) {
		a.ids++
	}
}

// Notes are the notes for the events added so far.
func (n *NoteCounter) Notes() []string {
	var notes []string
	for addr, a := range n.by {
		if n.total >= 100 && len(n.ids) >= 5 && a.n*10 >= n.total*9 && a.ids*2 >= len(n.ids) {
			notes = append(notes, fmt.Sprintf("%s is the remote address of %d%% of Vault requests from %d identities: "+
				"Vault probably sees a load balancer or proxy, not the clients (configure x_forwarded_for_authorized_addrs); "+
				"address-based rules (dual-source-ip, many-source-ips, new-source-ip) cannot see real clients",
				addr, a.n*100/n.total, a.ids))
		}
	}
	return notes
}
