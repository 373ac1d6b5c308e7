package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// unusualClientMinHistory is how many earlier events a principal needs before its client habit
// counts: one or two calls say nothing about what is usual.
const unusualClientMinHistory = 2

// UnusualClient reports a secret read from a person's client (curl, python-requests, kubectl,
// a browser console session, AWS CloudShell: event.FlagInteractive, which the source sets) by
// a principal whose history shows only programs (its own client, SDKs, Terraform, operators).
//
// Why: a workload's credential is used by code. The same credential used from a shell tool or
// a console means a person holds it: a Kubernetes service-account token taken from a pod and
// used with curl or kubectl, an IAM user's key tried in CloudShell (which needs no local
// tooling and hides the attacker's address behind AWS's).
//
// Thresholds: a read of a secret (GetSecretValue, a KV read, a get of a Kubernetes Secret)
// whose client is interactive, by a principal with at least 2 earlier events, all from
// non-interactive clients (baseline.History.UsedInteractive). Client versions do not matter:
// kubectl v1.30 to v1.31 is the same client, and a person who used kubectl before stays quiet.
// High.
//
// Known false positives: an engineer who debugs with a service's own credential (that is worth
// knowing too); the first console use of an identity that was recently given console access.
type UnusualClient struct {
	env   Env
	rule  Rule
	found []Finding
}

// NewUnusualClient builds the unusual-client detector.
func NewUnusualClient(env Env) Detector {
	return &UnusualClient{env: env, rule: Rule{
		Kinds: event.KindsOf(event.KindCloudTrail, event.KindKubernetes, event.KindVault), Group: GroupIdentity, ID: "unusual-client", Name: "Secret read from an unusual client", Severity: High,
		Summary: "a principal that only ever used programs reads a secret from a person's client (curl, python-requests, kubectl, CloudShell, a console)",
		Help: "A secret read whose client is a person's tool (curl, wget, python-requests, kubectl, a browser; on AWS, CloudShell " +
			"(exec-env/CloudShell in the user agent) or a console session), by a principal whose earlier activity (at least 2 events) " +
			"used programs only: its own client, SDKs, Terraform, operators. Versions do not count: a kubectl upgrade is the same client. " +
			"Kubernetes: a service-account token used with kubectl or curl outside its pod's own client. Vault: needs user-agent among " +
			"the audited headers. Known false positives: an engineer debugging with a service's own credentials.",
		Guide: "Ask the owner of the principal whether a person used it; if not, revoke the credential (deactivate the access key, " +
			"revoke the role's sessions, delete the service-account token's pod or the token), rotate the secret, and trace the " +
			"address and the credential (vaultsentry trace --credential ...).",
		MITRE: []string{"T1078.004", "T1555.006"},
	}}
}

// Rule describes unusual-client.
func (d *UnusualClient) Rule() Rule { return d.rule }

// Observe checks secret reads from interactive clients against the principal's history.
func (d *UnusualClient) Observe(ev *event.Event) {
	if ev.Op != event.OpRead || !ev.Has(event.FlagInteractive) || ev.Has(event.FlagServiceActor) ||
		ev.Has(event.FlagMaintenance) || ev.Has(event.FlagControl) || ev.Resource == "" {
		return
	}
	h := d.env.Baseline.Get(ev.Actor())
	if h == nil || h.Events < unusualClientMinHistory || len(h.Clients) == 0 || h.UsedInteractive() {
		return
	}
	usual := make([]string, 0, len(h.Clients))
	for fam := range h.Clients {
		usual = append(usual, fam)
	}
	slices.Sort(usual)
	kind := interactiveClient(ev)
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

// interactiveClient describes the interactive client behind ev for the message.
func interactiveClient(ev *event.Event) string {
	fam := baseline.ClientFamily(ev.UserAgent)
	switch {
	case fam == "cloudshell":
		return "AWS CloudShell"
	case ev.Has(event.FlagConsole):
		return "a console session"
	case strings.EqualFold(fam, "mozilla"):
		return "a browser"
	case fam == "":
		return "an interactive client"
	}
	return fam
}
