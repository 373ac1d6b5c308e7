package analyze

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// RootActivity reports the AWS account's root user doing anything that changes something, at
// any hour: one finding per session (actions less than an hour apart).
//
// Why: the root user cannot be restricted by IAM policies, and AWS asks that it be used only for
// the few tasks that need it (account settings, closing the account, restoring an IAM
// administrator). Peers (CIS AWS 1.7, GuardDuty's RootCredentialUsage, Panther, Elastic) report
// every root action that is not read-only; a stolen root password or key is used at any hour.
//
// Thresholds: a successful call by the root user (event.FlagRootToken on CloudTrail) that the
// trail does not mark readOnly, a successful root sign-in included. High; critical when any
// action of the session falls outside the maintenance windows. A failed root sign-in is not
// activity (someone tried the password) and is left to the sign-in rules. Read-only calls are
// counted in the session but never start one.
//
// Known false positives: planned root tasks (billing, account settings); they are rare and
// worth the record. Accept them with an ignore entry that names the session and expires.
type RootActivity struct {
	env   Env
	rule  Rule
	open  map[string]*rootSession
	due   window.Deadlines[string] // when each open session has been quiet for rootSessionGap
	found []Finding
}

type rootSession struct {
	f       Finding
	actions set
	off     bool
}

// rootSessionGap: root actions further apart than this are separate sessions.
const rootSessionGap = time.Hour

// NewRootActivity builds the root-activity detector.
func NewRootActivity(env Env) Detector {
	return &RootActivity{env: env, open: map[string]*rootSession{}, rule: Rule{
		Kinds: event.KindsOf(event.KindCloudTrail), Group: GroupIdentity, ID: "root-activity", Name: "AWS root user activity", Severity: High,
		Summary: "the AWS account's root user makes a call that changes something, at any hour (critical outside the maintenance windows)",
		Help: "The root user cannot be limited by IAM and should do only the few tasks that need it. Every successful root call that " +
			"CloudTrail does not mark readOnly (a root sign-in included) is reported, one finding per session; outside " +
			"maintenance_windows the severity is critical. Failed root sign-ins are not activity. Known false positives: planned root " +
			"tasks (billing, account settings).",
		Guide: "Ask who holds the root credentials whether the session was theirs. If not: change the root password, remove any root " +
			"access key (aws iam delete-access-key as root, or the console), check the root MFA device, and review every change " +
			"the session made (IAM users, keys, policies, trails).",
		MITRE: []string{"T1078.004"},
	}}
}

// Rule describes root-activity.
func (d *RootActivity) Rule() Rule { return d.rule }

// Observe adds a root call to its session.
func (d *RootActivity) Observe(ev *event.Event) {
	d.due.Due(ev.Time, func(k string) { d.close(k, d.open[k]) })
	if !ev.Has(event.FlagRootToken) || ev.Has(event.FlagServiceActor) || ev.Outcome != event.OutcomeOK {
		return
	}
	key := ev.Actor()
	s := d.open[key]
	if s != nil && ev.Time.Sub(s.f.LastSeen) > rootSessionGap {
		d.close(key, s)
		s = nil
	}
	changes := !ev.Has(event.FlagReadOnly)
	if s == nil {
		if !changes {
			return
		}
		nf := newFinding(d.rule, ev)
		s = &rootSession{f: nf}
		d.open[key] = s
	}
	s.f.Count++
	s.f.LastSeen = ev.Time
	s.f.addEvidence(evidenceOf(ev))
	s.f.SourceIPs = appendAddr(s.f.SourceIPs, ev.RemoteAddr)
	if changes {
		s.actions.add(ev.Action)
		if ev.Resource != "" && len(s.f.Resources) < MaxResources && !slices.Contains(s.f.Resources, ev.Resource) {
			s.f.Resources = append(s.f.Resources, ev.Resource)
		}
		if !d.env.Config.Maintenance.Contains(ev.Time) {
			s.off = true
		}
	}
	d.due.Set(key, ev.Time.Add(rootSessionGap))
}

func (d *RootActivity) close(key string, s *rootSession) {
	delete(d.open, key)
	d.due.Remove(key)
	f := s.f
	when := "inside the maintenance windows"
	if s.off {
		f.Severity = Critical
		when = "outside the maintenance windows"
	}
	f.Message = fmt.Sprintf("the root user of account %s made %s between %s and %s, %s: %s", accountOf(f),
		Count(f.Count, "call", "calls"), f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339), when,
		strings.Join(s.actions.sorted(10), ", "))
	f.Remediation = "confirm the session with whoever holds the root credentials; if it was not theirs, change the root password, " +
		"delete root access keys and review the changes it made"
	d.found = append(d.found, f)
}

// accountOf is the account of a root finding's identity ("arn:aws:iam::ACCOUNT:root").
func accountOf(f Finding) string {
	if parts := strings.Split(f.Identity, ":"); len(parts) >= 5 && parts[4] != "" {
		return parts[4]
	}
	return f.Identity
}

// Finish closes the open sessions.
func (d *RootActivity) Finish() []Finding {
	for _, k := range slices.Sorted(maps.Keys(d.open)) {
		d.close(k, d.open[k])
	}
	return d.found
}
