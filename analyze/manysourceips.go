package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// ManySourceIPs reports one identity used from many distinct external addresses within an hour:
// a shared or stolen credential used from several places, or an attacker rotating through
// proxies.
//
// Why: a person works from one or two places at a time (office, VPN, home) and a workload from
// its own network. Several public addresses inside one hour are more clients than one owner has.
//
// Thresholds: fires when the distinct external addresses of one identity inside a sliding
// 1-hour window reach 4, i.e. more than 3 (thresholds.many-source-ips: count, window;
// per-identity overrides apply). External means outside internal_cidrs. An IPv6 address counts
// by its /64, because one host rotates privacy addresses inside its /64; a dual-stack client
// (one IPv4 and one IPv6 address) counts twice, which the threshold allows for. One finding per
// burst; it lists every address seen while the burst lasts.
//
// Not counted: internal addresses (pods, VPN, VPC endpoints), AWS-internal or service host
// sources, AWS services acting on a caller's behalf, and requests without an identity.
//
// Known false positives: a CI identity whose jobs run in parallel on cloud runners with a new
// address each (runs hours apart stay quiet: each hour sees one address); a mobile user
// roaming between networks; an egress NAT pool that is not listed in internal_cidrs.
type ManySourceIPs struct {
	env   Env
	rule  Rule
	state map[string]*manyIPState
	found []Finding
}

type manyIPState struct {
	win  slidingKeys
	cfg  CountConfig
	open *manyIPRun
	// addr is the last address seen for each client key in the window (an IPv6 /64 is shown
	// by one of its addresses).
	addr map[string]string
}

type manyIPRun struct {
	f        Finding
	clients  set
	lastTrig time.Time
}

// NewManySourceIPs builds the many-source-ips detector.
func NewManySourceIPs(env Env) Detector {
	return &ManySourceIPs{env: env, state: map[string]*manyIPState{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "many-source-ips", Name: "Identity used from many external addresses", Severity: High,
		Summary: "one identity is seen from more than 3 distinct external addresses within an hour",
		Help: "A credential used from several public addresses at once is shared or stolen. Fires at 4 or more distinct external " +
			"addresses (an IPv6 /64 counts once) within 1 hour (thresholds.many-source-ips: count, window). Internal networks " +
			"(internal_cidrs), AWS-internal sources and AWS services are not counted. Known false positives: parallel CI jobs on " +
			"cloud runners, an egress NAT pool missing from internal_cidrs.",
		Guide: "Look up the addresses (provider, country); several consumer ISPs or hosting providers within minutes point to a " +
			"leaked password or token. Revoke the identity's tokens or keys and reset its credentials.",
		MITRE: []string{"T1078"},
	}}
}

// Rule describes many-source-ips.
func (d *ManySourceIPs) Rule() Rule { return d.rule }

// Observe adds an external address to its identity's window.
func (d *ManySourceIPs) Observe(ev *event.Event) {
	if !ev.RemoteAddr.IsValid() || ev.Has(event.FlagAWSInternal) || ev.Has(event.FlagUnauthenticated) || isServicePrincipal(ev) {
		return
	}
	c := d.env.Config
	if c.IsInternal(ev.RemoteAddr) {
		return
	}
	a := ev.RemoteAddr.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
		return // never a client on the internet, whatever internal_cidrs says
	}
	id := ev.Actor()
	if id == "" {
		return
	}
	st := d.state[id]
	if st == nil {
		st = &manyIPState{cfg: countFor(c, d.rule.ID, ev, c.ManySourceIPs), addr: map[string]string{}}
		d.state[id] = st
	}
	cfg := st.cfg
	if st.open != nil && ev.Time.Sub(st.open.lastTrig) > cfg.Window {
		d.close(st)
	}
	k := newTimedKey(ev, clientKey(a))
	st.win.add(k)
	st.win.expire(ev.Time.Add(-cfg.Window))
	st.addr[k.key] = a.String()
	if len(st.addr) > 2*st.win.distinct()+64 { // forget keys that left the window
		for key := range st.addr {
			if _, ok := st.win.counts[key]; !ok {
				delete(st.addr, key)
			}
		}
	}
	if st.win.distinct() >= cfg.Min {
		if st.open == nil {
			r := &manyIPRun{f: newFinding(d.rule, ev)}
			r.f.FirstSeen = st.win.events()[0].t
			r.f.TriggerTime = ev.Time
			st.open = r
			for _, e := range st.win.events()[:st.win.len()-1] {
				r.add(e, st.addr[e.key])
			}
		}
		st.open.lastTrig = ev.Time
	}
	if st.open != nil {
		st.open.add(k, st.addr[k.key])
	}
}

func (r *manyIPRun) add(k timedKey, addr string) {
	r.f.Count++
	if addr == "" {
		addr = k.key
	}
	if r.clients.add(k.key) && len(r.f.SourceIPs) < MaxResources {
		r.f.SourceIPs = append(r.f.SourceIPs, addr)
	}
	r.f.addEvidence(k.evidence())
	if k.t.After(r.f.LastSeen) {
		r.f.LastSeen = k.t
	}
}

func (d *ManySourceIPs) close(st *manyIPState) {
	r := st.open
	st.open = nil
	f := r.f
	f.Message = fmt.Sprintf("used from %d distinct external addresses between %s and %s (%s): %s",
		r.clients.len(), f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339),
		f.LastSeen.Sub(f.FirstSeen).Round(time.Second), strings.Join(f.SourceIPs, ", "))
	f.Remediation = revokeHint(f)
	d.found = append(d.found, f)
}

// Finish closes the open runs.
func (d *ManySourceIPs) Finish() []Finding {
	for _, st := range d.state {
		if st.open != nil {
			d.close(st)
		}
	}
	SortFindings(d.found)
	return d.found
}
