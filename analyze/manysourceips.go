package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
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
// burst; it lists every address seen while the burst lasts. An identity idle for two to three
// windows is settled (its run closed, its window's memory released) as its next event would
// have found it.
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
	now   time.Time                // the newest time of an event counted
	idle  window.Deadlines[string] // identities to settle once their window has passed
}

type manyIPState struct {
	win  window.Distinct[string, event.Pos] // requests by client key
	due  time.Time                          // when it is settled if idle until then
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
	// Settle who has been idle long enough: before this identity's event, so it finds its
	// state as it would have without settling. Only counted events move the clock, which
	// keeps the events this detector skips as cheap as before.
	if ev.Time.After(d.now) {
		d.now = ev.Time
		d.idle.Due(d.now, d.settle)
	}
	st := d.state[id]
	if st == nil {
		st = &manyIPState{cfg: countFor(c, d.rule.ID, ev, c.ManySourceIPs)}
		d.state[id] = st
	}
	if st.addr == nil {
		st.addr = map[string]string{}
	}
	cfg := st.cfg
	if st.open != nil && ev.Time.Sub(st.open.lastTrig) > cfg.Window {
		d.close(st)
	}
	k := manyIPEntry{Time: ev.Time, Item: clientKey(a), Value: ev.Pos}
	st.win.Add(k.Time, k.Item, k.Value)
	st.win.Expire(ev.Time.Add(-cfg.Window))
	if due := window.SettleAfter(ev.Time, cfg.Window); due.After(st.due) {
		st.due = due.Add(cfg.Window) // a window to spare: one Set per window, not one per event
		d.idle.Set(id, st.due)
	}
	st.addr[k.Item] = a.String()
	if len(st.addr) > 2*st.win.Distinct()+64 { // forget keys that left the window
		for key := range st.addr {
			if !st.win.Has(key) {
				delete(st.addr, key)
			}
		}
	}
	if st.win.Distinct() >= cfg.Min {
		if st.open == nil {
			r := &manyIPRun{f: newFinding(d.rule, ev)}
			r.f.FirstSeen = st.win.Entries()[0].Time
			r.f.TriggerTime = ev.Time
			st.open = r
			for _, e := range st.win.Entries()[:st.win.Len()-1] {
				r.add(e, st.addr[e.Item])
			}
		}
		st.open.lastTrig = ev.Time
	}
	if st.open != nil {
		st.open.add(k, st.addr[k.Item])
	}
}

type manyIPEntry = window.Entry[string, event.Pos]

func (r *manyIPRun) add(k manyIPEntry, addr string) {
	r.f.Count++
	if addr == "" {
		addr = k.Item
	}
	if r.clients.add(k.Item) && len(r.f.SourceIPs) < MaxResources {
		r.f.SourceIPs = append(r.f.SourceIPs, addr)
	}
	r.f.addEvidence(Evidence{File: k.Value.File, Line: k.Value.Line, Time: k.Time})
	if k.Time.After(r.f.LastSeen) {
		r.f.LastSeen = k.Time
	}
}

// settle closes an idle identity's run and releases its window and addresses; its thresholds
// stay.
func (d *ManySourceIPs) settle(id string) {
	st := d.state[id]
	if st.open != nil {
		d.close(st)
	}
	st.win.Release()
	st.addr, st.due = nil, time.Time{}
}

func (d *ManySourceIPs) close(st *manyIPState) {
	r := st.open
	st.open = nil
	f := r.f
	f.Message = fmt.Sprintf("used from %s between %s and %s (%s): %s",
		Count(r.clients.len(), "distinct external address", "distinct external addresses"), f.FirstSeen.UTC().Format(time.RFC3339),
		f.LastSeen.UTC().Format(time.RFC3339), Span(f.LastSeen.Sub(f.FirstSeen)), strings.Join(f.SourceIPs, ", "))
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
