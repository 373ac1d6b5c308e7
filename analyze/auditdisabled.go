package analyze

import (
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// AuditDisabled reports changes to the audit trail itself: a Vault / OpenBao audit device
// disabled, enabled or changed over the API, probes of sys/audit-hash, and on AWS the
// CloudTrail calls that stop or narrow a trail.
//
// Why: an attacker who can, turns the audit log off before the interesting part (ATT&CK
// T1562.008). Disabling a Vault device also discards its HMAC salt: if it is enabled again, the
// HMAC of the same token or value differs before and after, so old and new entries can no
// longer be joined. Enabling a file device over the API is how CVE-2025-6000 wrote arbitrary
// files on the Vault server (OpenBao now refuses API-created file devices).
//
// Severity: disabling a device (DELETE sys/audit/<name>) or an AWS StopLogging, DeleteTrail,
// UpdateTrail, PutEventSelectors (any call the CloudTrail reader classes as OpAudit) is critical;
// enabling or changing a device over the API is high; a denied attempt is high; a
// sys/audit-hash probe (hashing a value with the device's salt, to find what an HMAC hides)
// is low, reported as context. Reading the device list is not reported.
//
// Thresholds: one request is enough. Unauthenticated requests are skipped: the sys/audit/test
// probe every new device writes carries no token.
//
// Known false positives: planned audit reconfiguration (a new SIEM socket, a file path
// change); it is still worth the record.
type AuditDisabled struct {
	env   Env
	rule  Rule
	found premerged // one finding per event, merged as Run merges them
}

// NewAuditDisabled builds the audit-disabled detector.
func NewAuditDisabled(env Env) Detector {
	return &AuditDisabled{env: env, found: premerged{cfg: env.Config}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail), Group: GroupIdentity, ID: "audit-disabled", Name: "Audit logging disabled or changed", Severity: Critical,
		Summary: "an audit device is disabled, enabled or changed over the API, or a trail is stopped, deleted or narrowed",
		Help: "DELETE sys/audit/<name> disables a Vault audit device (critical): its requests are no longer logged, and its HMAC salt is " +
			"discarded, so HMAC'd values logged before and after a re-enable no longer match. Enabling or changing a device over the API is " +
			"high (CVE-2025-6000 used API-created file devices to write arbitrary files). sys/audit-hash probes are context (low). On AWS, " +
			"StopLogging, DeleteTrail, UpdateTrail and PutEventSelectors are critical. Known false positives: planned audit reconfiguration.",
		Guide: "Confirm with the platform team whether the change was planned. If not: re-enable the device or trail, revoke the " +
			"credential that made the call, and treat the silence that followed as unaudited: look in the remaining devices, in the " +
			"server's operational log and in the SIEM for what happened meanwhile.",
		MITRE: []string{"T1562.008"},
	}}
}

// Rule describes audit-disabled.
func (d *AuditDisabled) Rule() Rule { return d.rule }

// Observe reports each change to the audit configuration.
func (d *AuditDisabled) Observe(ev *event.Event) {
	if ev.Has(event.FlagUnauthenticated) || ev.Has(event.FlagServiceActor) {
		return
	}
	switch ev.Kind {
	case event.KindVault:
		d.vault(ev)
	default:
		if ev.Op == event.OpAudit {
			d.trail(ev)
		}
	}
}

func (d *AuditDisabled) vault(ev *event.Event) {
	p := pathInNamespace(ev)
	switch {
	case strings.HasPrefix(p, "sys/audit/"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "sys/audit/"), "/")
		if name == "" {
			return
		}
		where := ""
		if ev.Namespace != "" {
			where = " in namespace " + ev.Namespace
		}
		switch ev.Action {
		case "delete":
			if ev.Outcome != event.OutcomeOK {
				d.report(ev, High, "Attempt to disable an audit device",
					fmt.Sprintf("attempt to disable audit device %q%s", name, where),
					fmt.Sprintf("the request failed (%s), but the caller tried to stop the audit trail", ev.Outcome))
				return
			}
			d.report(ev, Critical, "Audit device disabled",
				fmt.Sprintf("audit device %q%s disabled", name, where),
				"requests are no longer written to it. Disabling also discarded the device's HMAC salt: if it is enabled again, "+
					"the HMAC'd values it logs (tokens, accessors, secret values) will not match those it logged before")
		case "create", "update":
			what := fmt.Sprintf("audit device %q%s enabled or changed over the API", name, where)
			if ev.Outcome != event.OutcomeOK {
				what = fmt.Sprintf("attempt (%s) to enable or change audit device %q%s over the API", ev.Outcome, name, where)
			}
			d.report(ev, High, "Audit device enabled or changed over the API", what,
				"an API-created file device can write files on the server (CVE-2025-6000); check the device's type and path "+
					"with vault audit list -detailed")
		}
	case strings.HasPrefix(p, "sys/audit-hash/"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "sys/audit-hash/"), "/")
		d.report(ev, Low, "Audit device HMAC probe", "sys/audit-hash/"+name+" called",
			"the caller hashed a value with the audit device's salt, which tells whether a guessed token, accessor or secret is "+
				"the one behind an HMAC in the log (context; legitimate when an operator traces a token)")
	}
}

// trailEnabling are CloudTrail calls that start or create logging: context, not tampering.
var trailEnabling = map[string]bool{
	"StartLogging": true, "CreateTrail": true, "CreateEventDataStore": true, "StartEventDataStoreIngestion": true,
}

func (d *AuditDisabled) trail(ev *event.Event) {
	what := ev.Action
	if ev.Resource != "" {
		what += " on " + ev.Resource
	}
	if ev.Detail != "" {
		what += " (" + ev.Detail + ")"
	}
	switch {
	case trailEnabling[ev.Action]:
		if ev.Outcome == event.OutcomeOK {
			d.report(ev, Low, "Audit trail started or created", what, "logging (re)started; check what the silence before it hid")
		}
	case ev.Outcome == event.OutcomeDenied:
		d.report(ev, Medium, "Denied attempt to stop or narrow an audit trail", what,
			"the call was denied, but the caller tried to stop or narrow the audit trail: find out who and why")
	case ev.Outcome != event.OutcomeOK:
		d.report(ev, Low, "Failed attempt to stop or narrow an audit trail", what,
			"the call failed and changed nothing, but it asked to stop or narrow the audit trail")
	default:
		d.report(ev, Critical, "Audit trail stopped, deleted or narrowed", what,
			"the trail stops logging or logs less; events after it may be missing from this trail")
	}
}

// report adds a finding: what happened (by whom and from where is added) and what it means.
func (d *AuditDisabled) report(ev *event.Event, sev Severity, title, what, meaning string) {
	f := newFinding(d.rule, ev)
	f.Severity, f.Title = sev, title
	f.Count = 1
	f.Message = what + " by " + displayOf(ev)
	if ev.RemoteAddr.IsValid() {
		f.Message += " from " + ev.RemoteAddr.String()
	}
	f.Message += ": " + meaning
	res := ev.Path
	if ev.Kind != event.KindVault && ev.Resource != "" {
		res = ev.Resource
	}
	if res != "" {
		f.Resources = []string{res}
	}
	f.SourceIPs = appendAddr(nil, ev.RemoteAddr)
	f.addEvidence(evidenceOf(ev))
	if sev >= High {
		f.Remediation = "re-enable the audit device or trail, then revoke the credential if the change was not planned: " + revokeHint(f)
	}
	d.found.add(f)
}

// displayOf names an event's actor for a message.
func displayOf(ev *event.Event) string {
	if ev.DisplayName != "" {
		return ev.DisplayName
	}
	if a := ev.Actor(); a != "" {
		return a
	}
	return "an unknown caller"
}

// Finish returns the findings: one per change, those of one identity within the merge window
// joined.
func (d *AuditDisabled) Finish() []Finding { return d.found.found }

// trainingFindings counts the findings of the learning period, which Finish leaves out.
func (d *AuditDisabled) trainingFindings() int { return d.found.training }
