package analyze

import (
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// DormantIdentity reports an identity that acts again after at least Days days of silence: a
// former employee's or contractor's credential, or a forgotten service account, coming back.
//
// Why: credentials of people who left and of decommissioned services are the ones nobody
// watches; their return after weeks is rarely legitimate.
//
// Thresholds: thresholds.dormant-identity.days, default 30. Needs history (a --baseline file or
// --learn-until with older logs); the first event after the silence is the evidence.
//
// Known false positives: seasonal jobs (quarterly reports, yearly certificate renewals); people
// back from long leave.
type DormantIdentity struct {
	env   Env
	rule  Rule
	found []Finding
}

// NewDormantIdentity builds the dormant-identity detector.
func NewDormantIdentity(env Env) Detector {
	return &DormantIdentity{env: env, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail), Group: GroupIdentity, ID: "dormant-identity", Name: "Dormant identity active again", Severity: High,
		Summary: "an identity not seen for 30 days or more acts again",
		Help: "Fires on the first event of an identity whose previous activity is at least thresholds.dormant-identity.days " +
			"(default 30) older, according to the baseline. Known false positives: seasonal jobs, long leave.",
		Guide: "Ask the owner whether the identity should still exist; check its source address and what it did " +
			"(vaultsentry trace --identity ...); disable it if it belongs to someone who left.",
		MITRE: []string{"T1078"},
	}}
}

// Rule describes dormant-identity.
func (d *DormantIdentity) Rule() Rule { return d.rule }

// Observe compares the event with the identity's last activity.
func (d *DormantIdentity) Observe(ev *event.Event) {
	if ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) {
		return
	}
	h := d.env.Baseline.Get(ev.Actor())
	if h == nil || h.Last.IsZero() {
		return
	}
	gap := ev.Time.Sub(h.Last)
	if gap < time.Duration(d.env.Config.Dormant.Days)*24*time.Hour {
		return
	}
	f := newFinding(d.rule, ev)
	f.Count = 1
	f.addEvidence(evidenceOf(ev))
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	if ev.Resource != "" {
		f.Resources = []string{ev.Resource}
	}
	days := int(gap.Hours() / 24)
	f.Message = fmt.Sprintf("active again after %d days: last seen %s, now %s %s", days,
		h.Last.UTC().Format(time.RFC3339), ev.Op, ev.Path)
	f.Remediation = "confirm the identity is still meant to exist; if not, disable it and " + revokeHint(f)
	d.found = append(d.found, f)
}

// Finish returns the findings.
func (d *DormantIdentity) Finish() []Finding { return d.found }
