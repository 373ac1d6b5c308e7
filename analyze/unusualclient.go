package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// unusualClientMinHistory is how many earlier events a principal needs before its client habit
// counts: one or two calls say nothing about what is usual.
const unusualClientMinHistory = 2

// UnusualClient reports a secret read from an interactive client (AWS CloudShell, or a browser
// console session) by a principal whose history shows only programmatic clients (SDKs, the
// CLI, Terraform).
//
// Why: a service account's key or a workload role is used by code. The same key used from
// CloudShell or the console means a person holds it: an intrusion-set habit seen in the wild
// (stolen keys tried in CloudShell, which needs no local tooling and hides the attacker's
// address behind AWS's).
//
// Thresholds: GetSecretValue (or an expanded BatchGetSecretValue read) whose user agent carries
// exec-env/CloudShell, or that belongs to a console session (sessionCredentialFromConsole, a
// browser user agent), by a principal with at least 2 earlier events whose client families
// (baseline.ClientFamily) are all programmatic. High.
//
// Known false positives: an engineer who debugs with a service's own key in CloudShell (that is
// worth knowing too); the first console use of an identity that was recently given console
// access. Identities whose history already includes the console or CloudShell stay quiet.
type UnusualClient struct {
	env   Env
	rule  Rule
	found []Finding
}

// NewUnusualClient builds the unusual-client detector.
func NewUnusualClient(env Env) Detector {
	return &UnusualClient{env: env, rule: Rule{
		Kinds: event.KindsOf(event.KindCloudTrail), Group: GroupIdentity, ID: "unusual-client", Name: "Secret read from an unusual client", Severity: High,
		Summary: "a principal that only ever used SDKs reads a secret from CloudShell or a console session",
		Help: "GetSecretValue from AWS CloudShell (exec-env/CloudShell in the user agent) or a browser console session, by a " +
			"principal whose earlier activity (at least 2 events) used programmatic clients only. " +
			"Known false positives: an engineer debugging with a service's own credentials.",
		Guide: "Ask the owner of the principal whether a person used it; if not, deactivate the access key or revoke the " +
			"role's sessions, rotate the secret, and trace the address and the session (vaultsentry trace --credential ...).",
		MITRE: []string{"T1078.004", "T1555.006"},
	}}
}

// Rule describes unusual-client.
func (d *UnusualClient) Rule() Rule { return d.rule }

// Observe checks secret reads from interactive clients against the principal's history.
func (d *UnusualClient) Observe(ev *event.Event) {
	if ev.Kind != event.KindCloudTrail || ev.Op != event.OpRead || ev.Has(event.FlagServiceActor) {
		return
	}
	kind := interactiveClient(ev)
	if kind == "" {
		return
	}
	h := d.env.Baseline.Get(ev.Actor())
	if h == nil || h.Events < unusualClientMinHistory || len(h.Clients) == 0 {
		return
	}
	var usual []string
	for fam := range h.Clients {
		if interactiveFamily(fam) {
			return
		}
		usual = append(usual, fam)
	}
	slices.Sort(usual)
	f := newFinding(d.rule, ev)
	f.Count = 1
	f.Resources = []string{ev.Resource}
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	f.addEvidence(evidenceOf(ev))
	f.Message = fmt.Sprintf("%s read from %s; earlier clients of this principal: %s", ev.Resource, kind, strings.Join(usual, ", "))
	f.Remediation = revokeHint(f)
	d.found = append(d.found, f)
}

// Finish returns the findings; Run merges those of one principal within an hour.
func (d *UnusualClient) Finish() []Finding { return d.found }

// interactiveClient names the interactive client behind ev, or "" for a programmatic one.
func interactiveClient(ev *event.Event) string {
	ua := strings.ToLower(ev.UserAgent)
	switch {
	case strings.Contains(ua, "exec-env/cloudshell"):
		return "AWS CloudShell"
	case ev.Has(event.FlagConsole):
		return "a console session"
	case strings.HasPrefix(ua, "mozilla/"):
		return "a browser"
	}
	return ""
}

// interactiveFamily reports whether a baseline.ClientFamily value is a person's client: CloudShell, the
// console ("AWS Internal" user agents of console calls reduce to "AWS"), a browser.
func interactiveFamily(f string) bool {
	switch strings.ToLower(f) {
	case "cloudshell", "console", "aws", "mozilla", "signin.amazonaws.com":
		return true
	}
	return false
}
