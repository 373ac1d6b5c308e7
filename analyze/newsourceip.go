package analyze

import (
	"fmt"
	"net/netip"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// NewSourceIP reports an identity using an external address, and a network, never seen for it
// before.
//
// Why: people and services come from a handful of places (an office, a VPN, a NAT gateway);
// a stolen credential is used from the attacker's.
//
// Thresholds: the identity's history must be established (thresholds.new-source-ip: min_days 1
// or min_events 20); an address whose /24 (IPv4) or /64 (IPv6) network is known is not new; an
// identity whose history already holds max_known (3) or more external networks roams (CI runners
// on public clouds) and stays quiet. Internal addresses (pods are readdressed on every restart)
// are not considered. Severity low: one new address alone is weak evidence.
//
// Known false positives: travel, a new office or ISP, a cloud NAT gateway that changed.
type NewSourceIP struct {
	env   Env
	rule  Rule
	found []Finding
	seen  map[string]map[string]struct{} // identity -> new networks already reported
}

// NewNewSourceIP builds the new-source-ip detector.
func NewNewSourceIP(env Env) Detector {
	return &NewSourceIP{env: env, seen: map[string]map[string]struct{}{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "new-source-ip", Name: "New source address", Severity: Low,
		Summary: "an identity uses an external address (and network) never seen for it",
		Help: "Compares each external address with the identity's learned addresses and their /24 or /64 networks. " +
			"Identities that already roam over max_known networks stay quiet. Known false positives: travel, new ISP or office.",
		Guide: "Check who owns the address (whois, your VPN logs); if nobody does, trace the identity and revoke its credential.",
		MITRE: []string{"T1078"},
	}}
}

// Rule describes new-source-ip.
func (d *NewSourceIP) Rule() Rule { return d.rule }

// Observe checks the address against the identity's history.
func (d *NewSourceIP) Observe(ev *event.Event) {
	a := ev.RemoteAddr
	if !a.IsValid() || ev.Has(event.FlagAWSInternal) || ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) {
		return
	}
	if d.env.Config.IsInternal(a) {
		return
	}
	id := ev.Actor()
	h := d.env.Baseline.Get(id)
	if h == nil || !established(h, d.env.Config.NewSourceIP.HistoryConfig, ev.Time) {
		return
	}
	addr, network := a.String(), baseline.NetOf(a)
	if _, ok := h.Addrs[addr]; ok {
		return
	}
	if _, ok := h.Nets[network]; ok {
		return
	}
	if d.externalNets(h) >= d.env.Config.NewSourceIP.MaxKnown {
		return
	}
	rep := d.seen[id]
	if rep == nil {
		rep = map[string]struct{}{}
		d.seen[id] = rep
	}
	if _, ok := rep[network]; ok {
		return
	}
	rep[network] = struct{}{}
	f := newFinding(d.rule, ev)
	f.Count = 1
	f.SourceIPs = []string{addr}
	if ev.Resource != "" {
		f.Resources = []string{ev.Resource}
	}
	f.addEvidence(evidenceOf(ev))
	f.Message = fmt.Sprintf("new address %s (network %s) for an identity seen from %s since %s", addr, network,
		Count(len(h.Addrs), "address", "addresses"), h.First.UTC().Format("2006-01-02"))
	f.Remediation = "confirm the address with the identity's owner; if unknown, " + revokeHint(f)
	d.found = append(d.found, f)
}

// externalNets counts the identity's known external networks.
func (d *NewSourceIP) externalNets(h *baseline.History) int {
	n := 0
	for network := range h.Nets {
		if p, err := netip.ParsePrefix(network); err == nil && !d.env.Config.IsInternal(p.Addr()) {
			if n++; n >= d.env.Config.NewSourceIP.MaxKnown {
				break
			}
		}
	}
	return n
}

// Finish returns the findings.
func (d *NewSourceIP) Finish() []Finding { return d.found }
