package analyze

import (
	"slices"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
)

func withAction(a string) func(*event.Event) { return func(e *event.Event) { e.Action = a } }

func inNamespace(ns string) func(*event.Event) {
	return func(e *event.Event) { e.Namespace = ns }
}

func trailCall(action string, opts ...func(*event.Event)) event.Event {
	ev := vev(0, "x", event.OpAudit, "", append([]func(*event.Event){
		asCloudTrail("arn:aws:iam::111122223333:role/AWSReservedSSO_PlatformAdmin_0123", "ciaran.walsh"),
		withAction(action),
		func(e *event.Event) {
			e.Resource, e.Detail = "kp-prod-sm-data-events", "trail kp-prod-sm-data-events"
		},
	}, opts...)...)
	return ev
}

func TestAuditDisabled(t *testing.T) {
	ops := withPolicies("default", "vault-operators")
	tests := []struct {
		name   string
		events []event.Event
		want   []Severity
		say    string // the message must contain it
	}{
		{"device disabled", seqOf(vev(0, "liam", event.OpAdmin, "sys/audit/siem-socket", ops, withAction("delete"))),
			[]Severity{Critical}, "HMAC salt"},
		{"device disabled inside a namespace", seqOf(vev(0, "ops", event.OpAdmin, "ns1/sys/audit/file", ops, withAction("delete"), inNamespace("ns1/"))),
			[]Severity{Critical}, `"file" in namespace ns1/`},
		{"disable attempt denied", seqOf(vev(0, "app", event.OpAdmin, "sys/audit/file", withAction("delete"), denied)),
			[]Severity{High}, "tried"},
		{"device enabled over the API", seqOf(vev(0, "ops", event.OpAdmin, "sys/audit/file2", ops, withAction("update"))),
			[]Severity{High}, "CVE-2025-6000"},
		{"the probe of a new device carries no token", seqOf(vev(0, "", event.OpOther, "sys/audit/test", noToken, withAction("update"))),
			nil, ""},
		{"listing the devices is not a change", seqOf(vev(0, "ops", event.OpAdmin, "sys/audit", ops, withAction("read"))), nil, ""},
		{"request headers config is not a device", seqOf(vev(0, "ops", event.OpAdmin, "sys/config/auditing/request-headers/x-forwarded-for", ops)), nil, ""},
		{"audit-hash probe is context", seqOf(vev(0, "ops", event.OpAdmin, "sys/audit-hash/file", ops, withAction("update"))),
			[]Severity{Low}, "salt"},
		{"CloudTrail DeleteTrail", seqOf(trailCall("DeleteTrail")), []Severity{Critical}, "kp-prod-sm-data-events"},
		{"CloudTrail StopLogging", seqOf(trailCall("StopLogging")), []Severity{Critical}, "StopLogging"},
		{"CloudTrail PutEventSelectors denied", seqOf(trailCall("PutEventSelectors", denied)), []Severity{Medium}, "denied"},
		{"CloudTrail UpdateTrail that failed (TrailNotFoundException)", seqOf(trailCall("UpdateTrail", func(e *event.Event) {
			e.Outcome, e.Detail = event.OutcomeError, "enableLogFileValidation=false; failed: TrailNotFoundException"
		})), []Severity{Low}, "TrailNotFoundException"},
		{"CloudTrail StartLogging is context", seqOf(trailCall("StartLogging")), []Severity{Low}, "started"},
		{"a CloudTrail control-plane call that is not about the trail", seqOf(vev(0, "x", event.OpAdmin, "prod/db",
			asCloudTrail("arn:aws:iam::111122223333:role/Admin", "a"), withAction("PutResourcePolicy"))), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewAuditDisabled, DefaultConfig(), slices.Clone(tt.events))
			var sev []Severity
			for _, f := range got {
				sev = append(sev, f.Severity)
				if f.Rule != "audit-disabled" || !strings.Contains(f.Message, tt.say) || len(f.Resources) == 0 {
					t.Errorf("finding %+v: want rule audit-disabled, a resource, a message containing %q", f, tt.say)
				}
			}
			if !slices.Equal(sev, tt.want) {
				t.Fatalf("severities %v, want %v", sev, tt.want)
			}
		})
	}
}

func TestAuditDisabledNamesTheActor(t *testing.T) {
	got := runDetector(t, NewAuditDisabled, DefaultConfig(), seqOf(vev(0, "liam", event.OpAdmin, "sys/audit/siem-socket",
		withPolicies("vault-operators"), withAction("delete"), from("193.233.48.71"))))
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	f := got[0]
	if f.DisplayName != "liam" || f.Identity != "entity-liam" || !slices.Equal(f.SourceIPs, []string{"193.233.48.71"}) ||
		!slices.Equal(f.Resources, []string{"sys/audit/siem-socket"}) {
		t.Errorf("finding %+v: want liam's identity, address and the device path", f)
	}
}
