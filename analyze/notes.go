package analyze

import (
	"fmt"
	"net/netip"

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
	ids   map[string]struct{}
}

type noteAgg struct {
	n   int
	ids map[string]struct{}
}

// NewNoteCounter starts counting for Notes. c is the run's configuration (no note reads it yet).
func NewNoteCounter(c *Config) *NoteCounter {
	_ = c
	return &NoteCounter{by: map[netip.Addr]*noteAgg{}, ids: map[string]struct{}{}}
}

// Add counts one event. It does not keep ev.
func (n *NoteCounter) Add(ev *event.Event) {
	if ev.Kind != event.KindVault || !ev.RemoteAddr.IsValid() {
		return
	}
	n.total++
	a := n.by[ev.RemoteAddr]
	if a == nil {
		a = &noteAgg{ids: map[string]struct{}{}}
		n.by[ev.RemoteAddr] = a
	}
	a.n++
	if id := ev.Actor(); id != "" {
		a.ids[id] = struct{}{}
		n.ids[id] = struct{}{}
	}
}

// Notes are the notes for the events added so far.
func (n *NoteCounter) Notes() []string {
	var notes []string
	for addr, a := range n.by {
		if n.total >= 100 && len(n.ids) >= 5 && a.n*10 >= n.total*9 && len(a.ids)*2 >= len(n.ids) {
			notes = append(notes, fmt.Sprintf("%s is the remote address of %d%% of Vault requests from %d identities: "+
				"Vault probably sees a load balancer or proxy, not the clients (configure x_forwarded_for_authorized_addrs); "+
				"address-based rules (dual-source-ip, many-source-ips, new-source-ip) cannot see real clients",
				addr, a.n*100/n.total, len(a.ids)))
		}
	}
	return notes
}
