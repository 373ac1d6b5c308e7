package review

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// minutely is one event a minute in file from..to (offsets from t0).
func minutely(file string, from, to time.Duration) []event.Event {
	var out []event.Event
	for at := from; at < to; at += time.Minute {
		ev := read(at, "app", event.ClassWorkload, "kv/prod/app/db")
		ev.Pos = event.Pos{File: file, Line: len(out) + 1}
		out = append(out, ev)
	}
	return out
}

func byTime(evs []event.Event) []event.Event {
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

func reasons(gs []analyze.StreamGap) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Reason)
	}
	return out
}

// TestCompletenessGapBetweenFiles: two rotated files of one Vault device with a day without a
// file between them: one gap, between the files, from the first's last event to the second's
// first; the coverage is one stream of two files.
func TestCompletenessGapBetweenFiles(t *testing.T) {
	evs := byTime(append(minutely("/logs/audit-2026-01-05.log", 0, day), minutely("/logs/audit-2026-01-07.log", 2*day, 3*day)...))
	start, end := t0, evs[len(evs)-1].Time.Add(time.Nanosecond)
	c := BuildCompleteness(evs, start, end, analyze.AuditGapConfig{})
	if len(c.Streams) != 1 || c.Streams[0].Files != 2 || c.Streams[0].Events != len(evs) || !c.Streams[0].First.Equal(t0) {
		t.Fatalf("streams = %+v", c.Streams)
	}
	if len(c.Gaps) != 1 {
		t.Fatalf("gaps = %+v", c.Gaps)
	}
	g := c.Gaps[0]
	if g.Reason != analyze.GapBetweenFiles || g.PrevFile != "/logs/audit-2026-01-05.log" || g.File != "/logs/audit-2026-01-07.log" ||
		!g.Start.Equal(t0.Add(day-time.Minute)) || !g.End.Equal(t0.Add(2*day)) || !strings.Contains(g.Detail, "rotated files of one device") {
		t.Errorf("gap = %+v", g)
	}
	if !c.ReadEvents["vault"] || len(c.AuditChanges) != 0 {
		t.Errorf("reads %v, changes %v", c.ReadEvents, c.AuditChanges)
	}
}

// TestCompletenessSilenceAndEdges: a six-hour hole inside one file is a silence; a period that
// starts two hours before the first event and ends three after the last has both edges as gaps.
func TestCompletenessSilenceAndEdges(t *testing.T) {
	evs := append(minutely("/logs/audit.log", 0, 6*time.Hour), minutely("/logs/audit.log", 12*time.Hour, 20*time.Hour)...)
	c := BuildCompleteness(evs, t0.Add(-2*time.Hour), t0.Add(23*time.Hour), analyze.AuditGapConfig{})
	if got := reasons(c.Gaps); !slices.Equal(got, []string{analyze.GapPeriodStart, analyze.GapSilence, analyze.GapPeriodEnd}) {
		t.Fatalf("gaps = %v (%+v)", got, c.Gaps)
	}
	if g := c.Gaps[0]; !g.Start.Equal(t0.Add(-2*time.Hour)) || !g.End.Equal(t0) {
		t.Errorf("period-start gap %v .. %v", g.Start, g.End)
	}
	if g := c.Gaps[1]; g.End.Sub(g.Start) != 6*time.Hour+time.Minute || g.File != "/logs/audit.log" {
		t.Errorf("silence %+v", g)
	}
	if g := c.Gaps[2]; !g.Start.Equal(t0.Add(20*time.Hour-time.Minute)) || !g.End.Equal(t0.Add(23*time.Hour)) {
		t.Errorf("period-end gap %v .. %v", g.Start, g.End)
	}
}

// TestCompletenessNoGap: continuous logs, and a period that is exactly theirs, have no gap;
// nor does an edge within the stream's cadence (30 s before a minutely stream).
func TestCompletenessNoGap(t *testing.T) {
	evs := minutely("/logs/audit.log", 0, 2*day)
	for _, p := range []struct{ start, end time.Time }{
		{t0, evs[len(evs)-1].Time.Add(time.Nanosecond)},
		{t0.Add(-30 * time.Second), evs[len(evs)-1].Time.Add(50 * time.Second)},
	} {
		if c := BuildCompleteness(evs, p.start, p.end, analyze.AuditGapConfig{}); len(c.Gaps) != 0 {
			t.Errorf("%v .. %v: gaps %+v", p.start, p.end, c.Gaps)
		}
	}
	// The same six-hour hole as a silence, with a factor that makes it the stream's cadence.
	evs = append(minutely("/logs/audit.log", 0, 6*time.Hour), minutely("/logs/audit.log", 12*time.Hour, 20*time.Hour)...)
	if c := BuildCompleteness(evs, t0, t0.Add(20*time.Hour), analyze.AuditGapConfig{Floor: 7 * time.Hour}); len(c.Gaps) != 0 {
		t.Errorf("floor 7h: gaps %+v", c.Gaps)
	}
}

// TestCompletenessAuditChanges: an audit device disabled in Vault and a trail stopped in AWS
// are audit changes with who, what and when; reading the device list, the unauthenticated
// sys/audit/test probe and a trail described are not.
func TestCompletenessAuditChanges(t *testing.T) {
	evs := minutely("/logs/audit.log", 0, time.Hour)
	vault := func(at time.Duration, action, path string, flags event.Flags) event.Event {
		return event.Event{Time: t0.Add(at), Kind: event.KindVault, Op: event.OpAdmin, Action: action, Path: path, Principal: "ops",
			DisplayName: "oidc-ops", Flags: event.FlagControl | flags, Pos: event.Pos{File: "/logs/audit.log", Line: 999}}
	}
	ct := func(at time.Duration, action string, op event.Op, flags event.Flags) event.Event {
		return event.Event{Time: t0.Add(at), Kind: event.KindCloudTrail, Op: op, Action: action, Resource: "main-trail", Path: "main-trail",
			Principal: "arn:aws:iam::111122223333:user/mallory", Flags: flags, Namespace: "111122223333", Region: "eu-west-1", Pos: event.Pos{File: "ct.json"}}
	}
	evs = byTime(append(evs,
		vault(10*time.Minute, "delete", "sys/audit/file/", 0),
		vault(11*time.Minute, "read", "sys/audit", 0),
		vault(12*time.Minute, "update", "sys/audit/test", event.FlagUnauthenticated),
		ct(20*time.Minute, "StopLogging", event.OpAudit, 0),
		ct(21*time.Minute, "DescribeTrails", event.OpOther, event.FlagReadOnly),
		ct(40*time.Minute, "StartLogging", event.OpOther, 0),
	))
	c := BuildCompleteness(evs, t0, t0.Add(time.Hour), analyze.AuditGapConfig{})
	var got []string
	for _, a := range c.AuditChanges {
		got = append(got, a.Store+" "+a.Identity+" "+a.Action+" "+a.Target+" "+a.Time.Sub(t0).String())
	}
	want := []string{"vault ops disable-audit-device file 10m0s", "cloudtrail arn:aws:iam::111122223333:user/mallory StopLogging main-trail 20m0s",
		"cloudtrail arn:aws:iam::111122223333:user/mallory StartLogging main-trail 40m0s"}
	if !slices.Equal(got, want) {
		t.Errorf("audit changes\n got %q\nwant %q", got, want)
	}
	if c.AuditChanges[0].Pos.Line != 999 || c.AuditChanges[0].Outcome != "ok" {
		t.Errorf("change %+v", c.AuditChanges[0])
	}
	// DescribeTrails is read-only: the CloudTrail logs hold reads.
	if !c.ReadEvents["cloudtrail"] || len(c.Notes) != 0 {
		t.Errorf("reads %v, notes %q", c.ReadEvents, c.Notes)
	}
}

// TestCompletenessWriteOnlyTrail: CloudTrail events without a single read-only one: the store
// has no read event and the review says the trail omits every GetSecretValue. One
// GetSecretValue among them and the note is gone.
func TestCompletenessWriteOnlyTrail(t *testing.T) {
	w := func(at time.Duration, name string) event.Event {
		return event.Event{Time: t0.Add(at), Kind: event.KindCloudTrail, Op: event.OpWrite, Action: name, Resource: "prod/db",
			Principal: "arn:aws:iam::111122223333:role/rotator", Pos: event.Pos{File: "ct.json"}}
	}
	evs := []event.Event{w(0, "PutSecretValue"), w(time.Hour, "UpdateSecret")}
	c := BuildCompleteness(evs, t0, t0.Add(2*time.Hour), analyze.AuditGapConfig{})
	if c.ReadEvents["cloudtrail"] || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], NoReadsNote) {
		t.Fatalf("reads %v, notes %q", c.ReadEvents, c.Notes)
	}
	r := w(30*time.Minute, "GetSecretValue")
	r.Op, r.Flags = event.OpRead, event.FlagValueRead|event.FlagReadOnly
	c = BuildCompleteness(byTime(append(evs, r)), t0, t0.Add(2*time.Hour), analyze.AuditGapConfig{})
	if !c.ReadEvents["cloudtrail"] || len(c.Notes) != 0 {
		t.Errorf("with a read: reads %v, notes %q", c.ReadEvents, c.Notes)
	}
}
