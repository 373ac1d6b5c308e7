package analyze

import (
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// AuditChange is a change to the audit configuration itself that one event records: what
// audit-disabled judges, and the calls that start or widen logging, which it only notes.
type AuditChange struct {
	Action string // enable-audit-device, disable-audit-device, set-audited-header, remove-audited-header; on AWS the API call
	Target string // the device, the header, the trail or event data store
	Detail string // what the source says changed ("logging stopped", the selectors), when it says
}

// The Vault actions of an AuditChange (a public contract: the review's audit_changes[].action).
const (
	ActionEnableAuditDevice   = "enable-audit-device"
	ActionDisableAuditDevice  = "disable-audit-device"
	ActionSetAuditedHeader    = "set-audited-header"
	ActionRemoveAuditedHeader = "remove-audited-header"
)

// trailConfigCalls are CloudTrail's calls on a trail's or event data store's configuration
// that the CloudTrail source does not class as OpAudit (they start, create or widen logging).
var trailConfigCalls = map[string]bool{
	"StartLogging": true, "CreateTrail": true, "UpdateTrail": true, "PutEventSelectors": true, "PutInsightSelectors": true,
	"CreateEventDataStore": true, "UpdateEventDataStore": true, "StartEventDataStoreIngestion": true,
}

// AuditChangeOf says whether ev changes the audit configuration, as audit-disabled recognises it
// (a Vault sys/audit/<device> request, anything the source classes as OpAudit), plus the calls
// that start or widen a trail and Vault's audited request headers. Reads of the configuration
// (listing devices, DescribeTrails) and unauthenticated requests (the sys/audit/test probe a new
// device writes) are not changes; a failed or denied attempt is one, with its outcome on the
// event.
func AuditChangeOf(ev *event.Event) (AuditChange, bool) {
	if ev.Has(event.FlagUnauthenticated) || ev.Has(event.FlagServiceActor) {
		return AuditChange{}, false
	}
	if ev.Kind == event.KindVault {
		p := pathInNamespace(ev)
		var name string
		header := false
		switch {
		case strings.HasPrefix(p, "sys/audit/"):
			name = strings.TrimSuffix(strings.TrimPrefix(p, "sys/audit/"), "/")
		case strings.HasPrefix(p, "sys/config/auditing/request-headers/"):
			name, header = strings.TrimSuffix(strings.TrimPrefix(p, "sys/config/auditing/request-headers/"), "/"), true
		}
		if name == "" {
			return AuditChange{}, false
		}
		if ev.Namespace != "" {
			name = ev.Namespace + name
		}
		switch ev.Action {
		case "delete":
			if header {
				return AuditChange{Action: ActionRemoveAuditedHeader, Target: name}, true
			}
			return AuditChange{Action: ActionDisableAuditDevice, Target: name}, true
		case "create", "update":
			if header {
				return AuditChange{Action: ActionSetAuditedHeader, Target: name}, true
			}
			return AuditChange{Action: ActionEnableAuditDevice, Target: name}, true
		}
		return AuditChange{}, false
	}
	if ev.Op != event.OpAudit && !(ev.Kind == event.KindCloudTrail && trailConfigCalls[ev.Action]) {
		return AuditChange{}, false
	}
	target := ev.Resource
	if target == "" {
		target = ev.Path
	}
	return AuditChange{Action: ev.Action, Target: target, Detail: ev.Detail}, true
}
