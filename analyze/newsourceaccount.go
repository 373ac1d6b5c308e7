package analyze

import (
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// NewSourceAccount reports the first read of a secret by a principal of another AWS account that
// was never seen before.
//
// Why: a resource policy or a KMS grant that lets another account in is a door; the first time
// somebody walks through it from an account nobody has seen is either a new integration or an
// attacker using access granted by a policy they planted (resource-policy-change) or one that
// was left behind.
//
// Thresholds: a secret read (a value read or a listing that returns values) whose caller belongs
// to another account than the secret's (event.FlagCrossAccount), where no principal of the
// caller's account appears in the baseline or earlier in the input. Successful and denied reads
// both count (a denied one is the account probing). High.
//
// Known false positives: a new account of the organisation starting to read a shared secret;
// name it in an ignore entry once it is expected.
type NewSourceAccount struct {
	env   Env
	rule  Rule
	seen  map[string]bool // caller accounts seen
	ready bool
	found []Finding
}

// NewNewSourceAccount builds the new-source-account detector.
func NewNewSourceAccount(env Env) Detector {
	return &NewSourceAccount{env: env, seen: map[string]bool{}, rule: Rule{
		Kinds: event.KindsOf(event.KindCloudTrail), Group: GroupIdentity, ID: "new-source-account", Name: "Secret read from a new AWS account", Severity: High,
		Summary: "a principal of another AWS account, from an account never seen before, reads a secret",
		Help: "Cross-account reads (the caller's account differs from the secret's) from an account that no principal in the " +
			"baseline or earlier in the input belongs to. Denied attempts count too. Known false positives: a new account of " +
			"the organisation starting to read a shared secret.",
		Guide: "Find which resource policy or KMS grant lets the account in (aws secretsmanager get-resource-policy), whether the " +
			"account is yours (aws organizations describe-account), and what else it touched; remove the grant and rotate the " +
			"secret if it was not intended.",
		MITRE: []string{"T1078.004", "T1537"},
	}}
}

// Rule describes new-source-account.
func (d *NewSourceAccount) Rule() Rule { return d.rule }

// Observe checks cross-account reads against the accounts seen.
func (d *NewSourceAccount) Observe(ev *event.Event) {
	if ev.Has(event.FlagServiceActor) {
		return
	}
	acct := callerAccount(ev.Principal)
	if acct == "" {
		return
	}
	if !d.ready {
		// The baseline's accounts, once: every principal it knows names its account.
		for p := range d.env.Baseline.Principals {
			if a := callerAccount(p); a != "" {
				d.seen[a] = true
			}
		}
		d.ready = true
	}
	known := d.seen[acct]
	d.seen[acct] = true
	if known || !ev.Has(event.FlagCrossAccount) || ev.Resource == "" || !ev.Has(event.FlagValueRead) ||
		(ev.Op != event.OpRead && ev.Op != event.OpList) {
		return
	}
	f := newFinding(d.rule, ev)
	f.Count = 1
	f.Resources = []string{ev.Resource}
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	f.addEvidence(evidenceOf(ev))
	what := "read"
	if ev.Outcome != event.OutcomeOK {
		what = "tried to read (" + ev.Outcome.String() + ")"
	}
	f.Message = fmt.Sprintf("%s of account %s, never seen before, %s %s of account %s", displayOf(ev), acct, what, ev.Resource, ev.Namespace)
	f.Remediation = "check the resource policy of " + ev.Resource + " (aws secretsmanager get-resource-policy) and remove the grant to account " +
		acct + " unless it is intended; rotate the secret if the read succeeded"
	d.found = append(d.found, f)
}

// Finish returns the findings.
func (d *NewSourceAccount) Finish() []Finding { return d.found }

// callerAccount is the AWS account of a principal: an IAM ARN's account, or another account's
// principal as the CloudTrail reader names it (aws-account:ACCOUNT:ID); "" for anything else.
func callerAccount(principal string) string {
	if rest, ok := strings.CutPrefix(principal, "aws-account:"); ok {
		a, _, _ := strings.Cut(rest, ":")
		return a
	}
	if !strings.HasPrefix(principal, "arn:") {
		return ""
	}
	return arnAccount(principal)
}
