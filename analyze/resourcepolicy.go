package analyze

import (
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// ResourcePolicyChange reports a Secrets Manager resource policy that lets in everyone ("*") or
// another AWS account (PutResourcePolicy).
//
// Why: a resource policy is a door that no identity policy in the account controls. "Principal:
// *" with blockPublicPolicy=false makes the secret readable by any AWS account; a foreign
// account id hands it to whoever holds that account. Attackers add one as persistence that
// survives key rotation and role clean-up.
//
// Thresholds: one successful call is enough. Critical for "*" without a Condition, high for "*"
// restricted by another Condition (aws:SourceVpce, aws:SourceIp, ...) or for another account,
// low for "*" narrowed to the organisation or an account (aws:PrincipalOrgID, aws:PrincipalOrgPaths,
// aws:PrincipalAccount in every statement that grants "*": it grants the organisation, not
// everyone), with the conditions quoted.
// The source reads the policy into Event.Grant; the policy text itself is never kept.
//
// Known false positives: deliberate cross-account sharing (a central account reading a
// spoke's secret). Policies that grant only principals of the secret's own account, or AWS
// services, are quiet; so are denied attempts.
type ResourcePolicyChange struct {
	rule  Rule
	found premerged // one finding per event, merged as Run merges them
}

// NewResourcePolicyChange builds the resource-policy-change detector.
func NewResourcePolicyChange(env Env) Detector {
	return &ResourcePolicyChange{found: premerged{cfg: env.Config}, rule: Rule{
		Kinds: event.KindsOf(event.KindCloudTrail), Group: GroupIdentity, ID: "resource-policy-change", Name: "Secret shared through its resource policy", Severity: High,
		Summary: "a Secrets Manager resource policy grants access to everyone or to another AWS account",
		Help: "PutResourcePolicy with Principal \"*\" (critical unless a Condition narrows it; low when aws:PrincipalOrgID, " +
			"aws:PrincipalOrgPaths or aws:PrincipalAccount narrows it to the organisation or an account) or a principal of another " +
			"account (high). blockPublicPolicy=false is shown when the caller switched off Secrets Manager's public-policy check. " +
			"Known false positives: intended cross-account sharing.",
		Guide: "Read the policy (aws secretsmanager get-resource-policy --secret-id ...), remove it if it was not intended " +
			"(delete-resource-policy), rotate the secret, and review what the principal that wrote it did around that time.",
		MITRE: []string{"T1098", "T1537"},
	}}
}

// Rule describes resource-policy-change.
func (d *ResourcePolicyChange) Rule() Rule { return d.rule }

// Observe looks at successful PutResourcePolicy calls.
func (d *ResourcePolicyChange) Observe(ev *event.Event) {
	if ev.Grant == nil || ev.Outcome != event.OutcomeOK || ev.Has(event.FlagServiceActor) {
		return
	}
	pol := ev.Grant
	var public, foreign []string
	for _, p := range pol.Principals {
		switch {
		case p == "*":
			public = append(public, p)
		case strings.HasPrefix(p, "arn:") || isAccountID(p):
			if acct := arnAccount(p); acct != "" && acct != ev.Namespace {
				foreign = append(foreign, p)
			}
		}
	}
	if len(public) == 0 && len(foreign) == 0 {
		return
	}
	f := newFinding(d.rule, ev)
	f.Count = 1
	f.Resources = []string{ev.Resource}
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	f.addEvidence(evidenceOf(ev))
	var who []string
	if len(public) > 0 {
		who = append(who, "everyone (Principal \"*\")")
		f.Severity = Critical
		switch {
		case pol.OrgScoped:
			f.Severity = Low
		case pol.Condition:
			f.Severity = High
		}
	}
	if len(foreign) > 0 {
		who = append(who, "another account ("+strings.Join(foreign, ", ")+")")
	}
	msg := fmt.Sprintf("resource policy of %s now grants %s", ev.Resource, strings.Join(who, " and "))
	switch {
	case pol.OrgScoped:
		msg = fmt.Sprintf("resource policy of %s now grants %s, narrowed to an organisation or account (%s)", ev.Resource,
			strings.Join(who, " and "), strings.Join(pol.Conditions, ", "))
	case pol.Condition:
		msg += ", narrowed by a Condition"
		if len(pol.Conditions) > 0 {
			msg += " (" + strings.Join(pol.Conditions, ", ") + ")"
		}
	}
	if pol.BlockPublic == "false" {
		msg += "; blockPublicPolicy=false switched off the public-policy check"
	}
	f.Message = msg
	f.Remediation = fmt.Sprintf("aws secretsmanager delete-resource-policy --secret-id %s --region %s, then rotate the secret", ev.Resource, ev.Region)
	d.found.add(f)
}

// Finish returns the findings: one per policy change, those of one identity within the merge
// window joined.
func (d *ResourcePolicyChange) Finish() []Finding { return d.found.found }

// trainingFindings counts the findings of the learning period, which Finish leaves out.
func (d *ResourcePolicyChange) trainingFindings() int { return d.found.training }

// arnAccount is the account id of an ARN ("arn:aws:iam::123456789012:root") or a bare id.
func arnAccount(s string) string {
	if isAccountID(s) {
		return s
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) == 6 && isAccountID(parts[4]) {
		return parts[4]
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
