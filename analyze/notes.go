package analyze

import (
	"fmt"
	"net/netip"

	"github.com/vaultsentry/vaultsentry/event"
)

// Notes are run-level observations that change how findings should be read: a single address
// behind most identities means Vault sees a load balancer, not the clients.
func Notes(evs []event.Event, c *Config) []string {
	type agg struct {
		n   int
		ids map[string]struct{}
	}
	by := map[netip.Addr]*agg{}
	total := 0
	ids := map[string]struct{}{}
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != event.KindVault || !ev.RemoteAddr.IsValid() {
			continue
		}
		total++
		a := by[ev.RemoteAddr]
		if a == nil {
			a = &agg{ids: map[string]struct{}{}}
			by[ev.RemoteAddr] = a
		}
		a.n++
		if id := ev.Actor(); id != "" {
			a.ids[id] = struct{}{}
			ids[id] = struct{}{}
		}
	}
	var notes []string
	for addr, a := range by {
		if total >= 100 && len(ids) >= 5 && a.n*10 >= total*9 && len(a.ids)*2 >= len(ids) {
			notes = append(notes, fmt.Sprintf("%s is the remote address of %d%% of Vault requests from %d identities: "+
				"Vault probably sees a load balancer or proxy, not the clients (configure x_forwarded_for_authorized_addrs); "+
				"address-based rules (dual-source-ip, many-source-ips, new-source-ip) cannot see real clients",
				addr, a.n*100/total, len(a.ids)))
		}
	}
	return notes
}
