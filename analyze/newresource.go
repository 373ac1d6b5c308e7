package analyze

import (
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// NewResource reports an identity with an established history touching a secret it has never
// touched before: lateral movement with a stolen credential, or a compromised workload reaching
// beyond its own secrets.
//
// Why: workloads know their paths; the set a service reads is stable for months. The seed's
// payment-service reading secret/admin/certificates/signing-key after 18 months on its own
// database path is the textbook case.
//
// Thresholds: the identity's history must be established (thresholds.new-resource: min_days 1 or
// min_events 50, learned from --learn-until, a --baseline file, or earlier events of the run).
// Severity follows how far the new secret is from what the identity knows: a sibling of a secret
// it already uses is low, a new secret elsewhere under a prefix it uses is medium, another subtree
// is high. The nearest known prefix is reported.
//
// Known false positives: a deployment that adds a secret to its configuration (low, as a
// sibling); pipelines that write a different secret each run; a brand-new identity is quiet
// until its history is established.
type NewResource struct {
	env   Env
	rule  Rule
	known map[string]map[string]struct{} // identity -> every ancestor prefix of a known resource
	found []Finding
	byID  map[string]int // identity -> index of its open finding in found
}

// NewNewResource builds the new-resource detector.
func NewNewResource(env Env) Detector {
	return &NewResource{env: env, known: map[string]map[string]struct{}{}, byID: map[string]int{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "new-resource", Name: "First access to a secret", Severity: High,
		Summary: "an identity with an established history touches a secret it never touched before",
		Help: "Workloads read the same secrets for months; the first read of a secret outside an identity's habit is how lateral " +
			"movement with a stolen token looks. Needs history: --learn-until, --baseline, or enough earlier events " +
			"(thresholds.new-resource: min_days, min_events). Severity: high for another subtree, medium under a prefix the " +
			"identity already uses, low for a sibling of a known secret. Known false positives: new configuration rolled out; " +
			"pipelines that write a different secret each run.",
		Guide: "Check whether a deployment or policy change explains the new secret; if not, treat the credential as stolen: " +
			"trace it (vaultsentry trace --identity ...), revoke it and rotate the secret.",
		MITRE: []string{"T1555.006", "T1078"},
	}}
}

// Rule describes new-resource.
func (d *NewResource) Rule() Rule { return d.rule }

// Observe checks the event's secret against the identity's history.
func (d *NewResource) Observe(ev *event.Event) {
	if !isSecretAccess(ev) || ev.Outcome != event.OutcomeOK || readsForOthers(d.env.Config, ev) {
		return
	}
	id := ev.Actor()
	h := d.env.Baseline.Get(id)
	if h == nil {
		return
	}
	if _, ok := h.Resources[ev.Resource]; ok {
		return
	}
	if !established(h, d.env.Config.NewResource, ev.Time) {
		return
	}
	known := d.prefixes(id, h)
	var sev Severity
	nearest := ""
	if _, ok := known[parentOf(ev.Resource)]; ok && parentOf(ev.Resource) != mountOf(ev) {
		sev, nearest = Low, parentOf(ev.Resource)
	} else {
		sev = High
		for _, p := range prefixesOf(ev.Resource) {
			if _, ok := known[p]; ok {
				nearest = p
				if p != mountOf(ev) && strings.Count(strings.TrimPrefix(p, mountOf(ev)), "/") >= 1 {
					sev = Medium
				}
				break
			}
		}
	}
	// Remember it so the same new secret is reported once.
	for _, p := range prefixesOf(ev.Resource) {
		known[p] = struct{}{}
	}
	if i, ok := d.byID[id]; ok && ev.Time.Sub(d.found[i].LastSeen) <= mergeWindow {
		f := &d.found[i]
		f.Count++
		f.LastSeen = ev.Time
		f.addEvidence(evidenceOf(ev))
		if len(f.Resources) < MaxResources {
			f.Resources = append(f.Resources, ev.Resource)
		}
		f.SourceIPs = appendAddr(f.SourceIPs, ev.RemoteAddr)
		if sev > f.Severity {
			f.Severity = sev
		}
		return
	}
	f := newFinding(d.rule, ev)
	f.Severity = sev
	f.Count = 1
	f.Resources = []string{ev.Resource}
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	f.addEvidence(evidenceOf(ev))
	near := "no prefix it has used before"
	if nearest != "" {
		near = "nearest known prefix " + nearest
	}
	f.Message = fmt.Sprintf("first %s of %s after %d earlier events since %s (%s)", ev.Op, ev.Resource, h.Events,
		h.First.UTC().Format("2006-01-02"), near)
	d.found = append(d.found, f)
	d.byID[id] = len(d.found) - 1
}

// mountOf is the event's mount, or its first path segment.
func mountOf(ev *event.Event) string {
	if ev.Mount != "" {
		return ev.Mount
	}
	p := strings.TrimPrefix(ev.Resource, ev.Namespace)
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return ev.Namespace + p[:i+1]
	}
	return ""
}

// prefixes returns the identity's known prefixes, built once from its history and kept current
// with what this detector sees (the baseline learns the same events).
func (d *NewResource) prefixes(id string, h *baseline.History) map[string]struct{} {
	m := d.known[id]
	if m == nil {
		m = map[string]struct{}{}
		for r := range h.Resources {
			for _, p := range prefixesOf(r) {
				m[p] = struct{}{}
			}
		}
		d.known[id] = m
	}
	return m
}

// Finish returns the findings.
func (d *NewResource) Finish() []Finding {
	for i := range d.found {
		f := &d.found[i]
		if len(f.Resources) > 1 {
			f.Message = fmt.Sprintf("first access to %d secrets it never touched before; %s", len(f.Resources), f.Message)
		}
		f.Remediation = "confirm with the owner of " + f.DisplayName + " whether the access is expected; otherwise " + revokeHint(*f)
	}
	return d.found
}
