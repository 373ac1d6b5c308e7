package analyze

import (
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestStreamGapsKinds: a Kubernetes audit file is a stream like a Vault device (its hole is a
// silence); CloudTrail is measured per account and region at the edges only, so its hole
// inside the period is not a gap, while the period's end after its last event is.
func TestStreamGapsKinds(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	add := func(kind event.Kind, file, region string, from, to time.Duration) {
		for at := from; at < to; at += time.Minute {
			evs = append(evs, event.Event{Time: t0.Add(at), Kind: kind, Pos: event.Pos{File: file}, Namespace: "111122223333", Region: region})
		}
	}
	add(event.KindKubernetes, "kube-apiserver-audit.log", "", 0, 4*time.Hour)
	add(event.KindKubernetes, "kube-apiserver-audit.log", "", 8*time.Hour, 12*time.Hour)
	add(event.KindCloudTrail, "ct1.json", "eu-west-1", 0, 3*time.Hour)
	add(event.KindCloudTrail, "ct2.json", "eu-west-1", 6*time.Hour, 10*time.Hour)
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	cov, gaps := StreamGaps(evs, t0, t0.Add(12*time.Hour), AuditGapConfig{})
	if len(cov) != 2 || cov[0].Store != "kubernetes" || cov[1].Stream != "cloudtrail 111122223333 eu-west-1" || cov[1].Files != 2 {
		t.Fatalf("coverage = %+v", cov)
	}
	if len(gaps) != 2 {
		t.Fatalf("gaps = %+v", gaps)
	}
	if g := gaps[0]; g.Reason != GapSilence || g.Stream != "kube-apiserver-audit.log" || g.End.Sub(g.Start) != 4*time.Hour+time.Minute {
		t.Errorf("kubernetes gap = %+v", g)
	}
	if g := gaps[1]; g.Reason != GapPeriodEnd || g.Stream != "cloudtrail 111122223333 eu-west-1" || !g.End.Equal(t0.Add(12*time.Hour)) {
		t.Errorf("cloudtrail gap = %+v", g)
	}
}

// TestAuditChangeOf: what counts as a change to the audit configuration, and what does not.
func TestAuditChangeOf(t *testing.T) {
	for _, c := range []struct {
		name string
		ev   event.Event
		want string // action and target, "" for none
	}{
		{"device disabled in a namespace", event.Event{Kind: event.KindVault, Action: "delete", Namespace: "team-a/", Path: "team-a/sys/audit/file/", Principal: "p"}, "disable-audit-device team-a/file"},
		{"device enabled", event.Event{Kind: event.KindVault, Action: "update", Path: "sys/audit/socket", Principal: "p"}, "enable-audit-device socket"},
		{"denied disable", event.Event{Kind: event.KindVault, Action: "delete", Path: "sys/audit/file", Principal: "p", Outcome: event.OutcomeDenied}, "disable-audit-device file"},
		{"header", event.Event{Kind: event.KindVault, Action: "update", Path: "sys/config/auditing/request-headers/x-forwarded-for", Principal: "p"}, "set-audited-header x-forwarded-for"},
		{"device list", event.Event{Kind: event.KindVault, Action: "read", Path: "sys/audit", Principal: "p"}, ""},
		{"audit-hash probe", event.Event{Kind: event.KindVault, Action: "update", Path: "sys/audit-hash/file", Principal: "p"}, ""},
		{"test probe", event.Event{Kind: event.KindVault, Action: "update", Path: "sys/audit/test", Flags: event.FlagUnauthenticated}, ""},
		{"stop logging", event.Event{Kind: event.KindCloudTrail, Op: event.OpAudit, Action: "StopLogging", Resource: "main", Principal: "p"}, "StopLogging main"},
		{"insight selectors", event.Event{Kind: event.KindCloudTrail, Action: "PutInsightSelectors", Path: "main", Principal: "p"}, "PutInsightSelectors main"},
		{"describe trails", event.Event{Kind: event.KindCloudTrail, Action: "DescribeTrails", Principal: "p", Flags: event.FlagReadOnly}, ""},
		{"service", event.Event{Kind: event.KindCloudTrail, Op: event.OpAudit, Action: "StopLogging", Flags: event.FlagServiceActor}, ""},
	} {
		ch, ok := AuditChangeOf(&c.ev)
		got := ""
		if ok {
			got = ch.Action + " " + ch.Target
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAuditChangeOfMatchesAuditDisabled: every change audit-disabled reports (but its
// sys/audit-hash probes, which change nothing) is an AuditChangeOf, and the reverse for the
// calls that stop or narrow logging: the review's audit changes are the rule's notion.
func TestAuditChangeOfMatchesAuditDisabled(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	evs := []event.Event{
		{Kind: event.KindVault, Action: "delete", Path: "sys/audit/file", Principal: "p", Op: event.OpAdmin},
		{Kind: event.KindVault, Action: "update", Path: "sys/audit/socket", Principal: "p", Op: event.OpAdmin},
		{Kind: event.KindVault, Action: "delete", Path: "sys/audit/file", Principal: "p", Op: event.OpAdmin, Outcome: event.OutcomeDenied},
		{Kind: event.KindVault, Action: "read", Path: "sys/audit", Principal: "p", Op: event.OpRead},
		{Kind: event.KindVault, Action: "update", Path: "sys/audit-hash/file", Principal: "p", Op: event.OpAdmin},
		{Kind: event.KindCloudTrail, Op: event.OpAudit, Action: "StopLogging", Resource: "main", Principal: "p"},
		{Kind: event.KindCloudTrail, Op: event.OpAudit, Action: "DeleteTrail", Resource: "main", Principal: "p", Outcome: event.OutcomeDenied},
		{Kind: event.KindCloudTrail, Action: "StartLogging", Path: "main", Principal: "p"},
		{Kind: event.KindCloudTrail, Action: "DescribeTrails", Principal: "p"},
	}
	for i := range evs {
		evs[i].Time = t0.Add(time.Duration(i) * time.Hour)
		evs[i].Pos = event.Pos{File: "f", Line: i + 1}
	}
	reported := map[int]bool{}
	for _, f := range runDetector(t, NewAuditDisabled, DefaultConfig(), evs) {
		for _, e := range f.Evidence {
			reported[e.Line-1] = true
		}
	}
	for i := range evs {
		_, change := AuditChangeOf(&evs[i])
		probe := evs[i].Path == "sys/audit-hash/file"
		if reported[i] && !probe && !change {
			t.Errorf("%s %s: audit-disabled reports it, AuditChangeOf does not", evs[i].Action, evs[i].Path)
		}
		// The calls that start or widen a trail are OpOther: audit-disabled does not report them,
		// the review lists them.
		if change && !reported[i] && (evs[i].Kind == event.KindVault || evs[i].Op == event.OpAudit) {
			t.Errorf("%s %s: AuditChangeOf says change, audit-disabled does not report it", evs[i].Action, evs[i].Path)
		}
		if probe && change {
			t.Errorf("the audit-hash probe is not a change")
		}
	}
}
