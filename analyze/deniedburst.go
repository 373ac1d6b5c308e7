package analyze

import (
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// DeniedBurst reports one identity collecting many permission-denied errors on many distinct
// paths within minutes: someone probing what a credential can reach.
//
// Why: a workload asks for the few secrets its policy grants, and when one is revoked it
// retries that one path. A stolen token or key that is tried against paths it was never meant
// for leaves a trail of denials across the namespace; breadth of the denials is the signal.
//
// Thresholds: at least 10 denials over at least 5 distinct paths (the normalised secret, else
// the request path) inside a sliding 5-minute window (thresholds.denied-burst: count,
// distinct, window; per-identity overrides apply). Keyed by identity, not credential, so a
// probe that switches tokens stays one burst. Overlapping windows make one finding per burst, and
// each burst stays its own finding (GroupNone: Run does not merge two probes an hour apart);
// the burst ends when a whole window passes without the threshold being met again. Each
// event enters and leaves the window once; an identity idle for two to three windows is
// settled (its burst closed, its window's memory released) as its next event would have found
// it.
//
// Quiet as well: a burst that only repeats denials the identity already had before (a job
// whose policy lacks the same paths every night), like a retry of one path.
//
// Not counted: requests without an identity (failed logins, invalid tokens: a password spray
// from one address is a different rule) and AWS services acting on a caller's behalf.
//
// Known false positives: a deployment whose policy was removed while many of its workloads
// keep asking for their secrets (each is one identity, so this only fires when one identity
// reads many paths); a developer exploring with the CLI after a policy change.
type DeniedBurst struct {
	env   Env
	rule  Rule
	state map[string]*deniedState
	found []Finding
	now   time.Time                // the newest time of an event counted
	idle  window.Deadlines[string] // identities to settle once their window has passed
}

type deniedState struct {
	win   window.Distinct[string, deniedHit] // denials by path
	due   time.Time                          // when it is settled if idle until then
	cfg   BurstConfig
	burst *deniedRun
	// seen are the paths this identity was denied on before.
	seen map[string]struct{}
}

// deniedHit is what the window keeps of a denial besides its time and path.
type deniedHit struct {
	pos   event.Pos
	fresh bool // a path the identity had never been denied on before
}

type deniedEntry = window.Entry[string, deniedHit]

type deniedRun struct {
	f        Finding
	paths    set
	newPaths int // denials on paths the identity had never been denied on before
	lastTrig time.Time
}

// maxDeniedMemory bounds the denied paths remembered per identity.
const maxDeniedMemory = 4096

// NewDeniedBurst builds the denied-burst detector.
func NewDeniedBurst(env Env) Detector {
	return &DeniedBurst{env: env, state: map[string]*deniedState{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupNone, ID: "denied-burst", Name: "Burst of permission-denied requests", Severity: Medium,
		Summary: "one identity is denied on many distinct paths within minutes",
		Help: "A credential tried against paths its policy does not grant is being used by someone exploring what it can reach. " +
			"Fires when one identity collects at least 10 permission-denied errors on at least 5 distinct paths within 5 minutes " +
			"(thresholds.denied-burst: count, distinct, window). One identity retrying the same denied path, or a periodic reader " +
			"with one denied read per cycle, stays quiet. Known false positives: a policy change that removed access a tool still " +
			"expects; a person exploring with the CLI.",
		Guide: "Compare the denied paths with the identity's policy and its usual paths (vaultsentry trace --identity ...). " +
			"Paths outside its team or application point to a stolen credential: revoke it and check what the same credential " +
			"read successfully around the burst.",
		MITRE: []string{"T1555.006", "T1083"},
	}}
}

// Rule describes denied-burst.
func (d *DeniedBurst) Rule() Rule { return d.rule }

// Observe adds a denied request to its identity's window.
func (d *DeniedBurst) Observe(ev *event.Event) {
	if ev.Outcome != event.OutcomeDenied || ev.Has(event.FlagUnauthenticated) || isServicePrincipal(ev) {
		return
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
	path := ev.Resource
	if path == "" {
		path = ev.Path
	}
	if path == "" {
		path = ev.Action
	}
	st := d.state[id]
	if st == nil {
		st = &deniedState{cfg: burstFor(d.env.Config, d.rule.ID, ev, d.env.Config.DeniedBurst), seen: map[string]struct{}{}}
		d.state[id] = st
	}
	cfg := st.cfg
	if st.burst != nil && ev.Time.Sub(st.burst.lastTrig) > cfg.Window {
		d.close(st)
	}
	_, known := st.seen[path]
	if !known && len(st.seen) < maxDeniedMemory {
		st.seen[path] = struct{}{}
	}
	k := deniedEntry{Time: ev.Time, Item: path, Value: deniedHit{pos: ev.Pos, fresh: !known}}
	st.win.Add(k.Time, k.Item, k.Value)
	st.win.Expire(ev.Time.Add(-cfg.Window))
	if due := window.SettleAfter(ev.Time, cfg.Window); due.After(st.due) {
		st.due = due.Add(cfg.Window) // a window to spare: one Set per window, not one per event
		d.idle.Set(id, st.due)
	}
	if st.win.Len() >= cfg.MinCount && st.win.Distinct() >= cfg.MinDistinct {
		if st.burst == nil {
			b := &deniedRun{f: newFinding(d.rule, ev)}
			b.f.Count = 0
			b.f.FirstSeen = st.win.Entries()[0].Time
			b.f.TriggerTime = ev.Time
			for _, e := range st.win.Entries() {
				b.add(e)
			}
			st.burst = b
		} else {
			st.burst.add(k)
		}
		st.burst.lastTrig = ev.Time
		st.burst.f.SourceIPs = appendAddr(st.burst.f.SourceIPs, ev.RemoteAddr)
		return
	}
	if st.burst != nil {
		st.burst.add(k)
		st.burst.f.SourceIPs = appendAddr(st.burst.f.SourceIPs, ev.RemoteAddr)
	}
}

func (b *deniedRun) add(k deniedEntry) {
	b.f.Count++
	if k.Value.fresh {
		b.newPaths++
	}
	b.paths.add(k.Item)
	b.f.addEvidence(Evidence{File: k.Value.pos.File, Line: k.Value.pos.Line, Time: k.Time})
	if k.Time.After(b.f.LastSeen) {
		b.f.LastSeen = k.Time
	}
}

// settle closes an idle identity's burst and releases its window; what it was denied on
// before (seen) and its thresholds stay.
func (d *DeniedBurst) settle(id string) {
	st := d.state[id]
	if st.burst != nil {
		d.close(st)
	}
	st.win.Release()
	st.due = time.Time{}
}

func (d *DeniedBurst) close(st *deniedState) {
	b := st.burst
	st.burst = nil
	if b.newPaths == 0 {
		return // the same denials as before: a known misconfiguration, not a probe
	}
	f := b.f
	f.Resources = b.paths.sorted(MaxResources)
	more := ""
	if n := b.paths.len(); n > len(f.Resources) {
		more = fmt.Sprintf(" (first %d listed)", len(f.Resources))
	}
	f.Message = fmt.Sprintf("%s on %s%s between %s and %s (%s)",
		Count(f.Count, "permission-denied request", "permission-denied requests"), Count(b.paths.len(), "distinct path", "distinct paths"),
		more, f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339), Span(f.LastSeen.Sub(f.FirstSeen)))
	f.Remediation = "compare the denied paths with the identity's policy and its usual paths; the denied secrets were not read. " +
		"If the credential is not being used by its owner, revoke it (" + credentialHint(f) + ") and check what it read successfully"
	d.found = append(d.found, f)
}

// Finish closes the open bursts.
func (d *DeniedBurst) Finish() []Finding {
	for _, st := range d.state {
		if st.burst != nil {
			d.close(st)
		}
	}
	SortFindings(d.found)
	return d.found
}
