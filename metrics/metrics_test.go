package metrics

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

var t0 = time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)

// read is a successful read of resource by id, in file at minute m.
func read(kind event.Kind, file, id, resource string, m int) event.Event {
	return event.Event{Time: t0.Add(time.Duration(m) * time.Minute), Pos: event.Pos{File: file, Line: m + 1}, Kind: kind,
		Op: event.OpRead, Principal: id, Resource: resource}
}

// parse reads the text format back, as Prometheus and node_exporter do, and fails on anything
// they would refuse.
func parse(t *testing.T, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parse the metrics back: %v\n%s", err, text)
	}
	for name, mf := range fams {
		if mf.GetType() != dto.MetricType_GAUGE || mf.GetHelp() == "" {
			t.Errorf("%s: type %v, help %q: want a gauge with help", name, mf.GetType(), mf.GetHelp())
		}
		seen := map[string]bool{}
		for _, m := range mf.Metric {
			if k := labelsOf(m); seen[k] {
				t.Errorf("%s: series {%s} twice", name, k)
			} else {
				seen[k] = true
			}
			if m.TimestampMs != nil {
				t.Errorf("%s: a sample with a timestamp (the textfile collector refuses them)", name)
			}
		}
	}
	return fams
}

func labelsOf(m *dto.Metric) string {
	var parts []string
	for _, l := range m.Label {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

// values maps each series of a family ("store=vault,identity=x") to its value.
func values(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	if mf := fams[name]; mf != nil {
		for _, m := range mf.Metric {
			out[labelsOf(m)] = m.GetGauge().GetValue()
		}
	}
	return out
}

func render(t *testing.T, c *Collector, r Run) map[string]*dto.MetricFamily {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, Families(c, r)); err != nil {
		t.Fatal(err)
	}
	return parse(t, buf.Bytes())
}

func TestMetrics(t *testing.T) {
	bl := baseline.New()
	bl.Learn(&event.Event{Time: t0.Add(-48 * time.Hour), Kind: event.KindVault, Op: event.OpRead, Principal: "app", Resource: "kv/db"})
	learnUntil := t0.Add(10 * time.Minute)

	control := read(event.KindVault, "logs/audit.log", "app", "sys/mounts", 20)
	control.Flags |= event.FlagControl
	denied := read(event.KindVault, "logs/audit.log", "app", "kv/denied", 21)
	denied.Outcome = event.OutcomeDenied
	written := read(event.KindVault, "logs/audit.log", "ops", "kv/rotated", 22)
	written.Op = event.OpWrite
	relearned := read(event.KindVault, "logs/audit.log", "ops", "kv/gone", 24) // learned by an earlier run, since pruned
	relearned.Flags |= event.FlagLearned
	ct := read(event.KindCloudTrail, "ct/a.json", "arn:aws:iam::111122223333:role/sync", "prod/db", 30)
	ct.Namespace, ct.Region = "111122223333", "eu-west-1"
	ct2 := read(event.KindCloudTrail, "ct/b.json", "arn:aws:iam::111122223333:role/sync", "prod/db", 31)
	ct2.Namespace, ct2.Region = "111122223333", "us-east-1"
	service := read(event.KindCloudTrail, "ct/b.json", "cloudformation.amazonaws.com", "prod/other", 32)
	service.Flags |= event.FlagServiceActor
	service.Namespace, service.Region = "111122223333", "us-east-1"

	evs := []event.Event{
		read(event.KindVault, "logs/audit.log.1.gz", "app", "kv/training", 0), // learning period: taught, not counted
		read(event.KindVault, "logs/audit.log.1.gz", "app", "kv/db", 11),      // known from the baseline
		read(event.KindVault, "logs/audit.log", "app", "kv/training", 12),     // known from the learning period
		read(event.KindVault, "logs/audit.log", "app", "kv/new", 13),          // new
		read(event.KindVault, "logs/audit.log", "app", "kv/new", 14),          // the same pair again: counted once
		read(event.KindVault, "logs/audit.log", "ops", "kv/db", 15),           // new for ops, known for app
		control, denied, written,
		read(event.KindVault, "logs/audit.log", "ops", "kv/rotated", 23), // ops wrote it first: not new
		relearned, // an earlier run learned it: not new, though the baseline has pruned it; not learned again...
		read(event.KindVault, "logs/audit.log", "ops", "kv/gone", 25), // ...so this read is new
		ct, ct2, service,
		read(event.KindKubernetes, "k8s/kube-apiserver-audit.log", "system:serviceaccount:ns:sa", "ns/tls", 40),
	}
	c := Collect(evs, bl, learnUntil)

	start := t0.Add(2 * time.Hour)
	r := Run{
		Findings: []analyze.Finding{
			{Rule: "new-resource", Severity: analyze.High, Source: "vault"},
			{Rule: "new-resource", Severity: analyze.High, Source: "vault"},
			{Rule: "new-resource", Severity: analyze.Low, Source: "vault"},
			{Rule: "bulk-read", Severity: analyze.Medium, Source: "cloudtrail"},
		},
		Files: []sources.FileStats{
			{File: "logs/audit.log.1.gz", Format: "vault", Lines: 4, Events: 2, Malformed: 0},
			{File: "logs/audit.log", Format: "vault", Lines: 30, Events: 9, Malformed: 3},
			{File: "ct/a.json", Format: "cloudtrail", Lines: 1, Events: 1},
			{File: "ct/b.json", Format: "cloudtrail", Lines: 2, Events: 2, Malformed: 1},
			{File: "k8s/kube-apiserver-audit.log", Format: "k8saudit", Lines: 1, Events: 1},
			{File: "notes.yaml", NotRead: "not an audit log (YAML)", Lines: 7},
		},
		Start: start, End: start.Add(1500 * time.Millisecond), Success: true, TopIdentities: 2, Version: "1.2.3",
	}
	fams := render(t, c, r)

	unix := func(m int) float64 { return float64(t0.Add(time.Duration(m)*time.Minute).UnixNano()) / 1e9 }
	want := map[string]map[string]float64{
		"vaultsentry_findings": {
			"rule=new-resource,severity=high,store=vault": 2, "rule=new-resource,severity=low,store=vault": 1,
			"rule=bulk-read,severity=medium,store=cloudtrail": 1,
		},
		"vaultsentry_events":          {"store=vault": 12, "store=cloudtrail": 3, "store=kubernetes": 1},
		"vaultsentry_malformed_lines": {"store=vault": 3, "store=cloudtrail": 1, "store=kubernetes": 0},
		"vaultsentry_inputs":          {"store=vault": 2, "store=cloudtrail": 2, "store=kubernetes": 1},
		"vaultsentry_input_events": {
			"store=vault,input=logs/audit.log": 9, "store=vault,input=logs/audit.log.1.gz": 2,
			"store=cloudtrail,input=ct/a.json": 1, "store=cloudtrail,input=ct/b.json": 2,
			"store=kubernetes,input=k8s/kube-apiserver-audit.log": 1,
		},
		"vaultsentry_input_malformed_lines": {
			"store=vault,input=logs/audit.log": 3, "store=vault,input=logs/audit.log.1.gz": 0,
			"store=cloudtrail,input=ct/a.json": 0, "store=cloudtrail,input=ct/b.json": 1,
			"store=kubernetes,input=k8s/kube-apiserver-audit.log": 0,
		},
		// The rotated copy and the live file are one stream; the service's record counts for its account and region.
		"vaultsentry_last_event_timestamp_seconds": {
			"store=vault,stream=logs/audit.log": unix(25), "store=cloudtrail,stream=111122223333/eu-west-1": unix(30),
			"store=cloudtrail,stream=111122223333/us-east-1": unix(32), "store=kubernetes,stream=k8s/kube-apiserver-audit.log": unix(40),
		},
		"vaultsentry_audit_streams": {"store=vault": 1, "store=cloudtrail": 2, "store=kubernetes": 1},
		// vault: db (known), training, new twice, ops db, ops rotated; the control-plane read is not a secret read.
		"vaultsentry_secret_reads":        {"store=vault": 8, "store=cloudtrail": 2, "store=kubernetes": 1},
		"vaultsentry_new_secret_accesses": {"store=vault": 3, "store=cloudtrail": 1, "store=kubernetes": 1},
		"vaultsentry_reading_identities":  {"store=vault": 2, "store=cloudtrail": 1, "store=kubernetes": 1},
		"vaultsentry_identity_reads": {
			// The top 2 of 4: app's 4 reads tie with ops's, ahead of sync's 2; ties go by store, then identity.
			"store=vault,identity=app": 4, "store=vault,identity=ops": 4,
		},
		"vaultsentry_run_duration_seconds":  {"": 1.5},
		"vaultsentry_run_success":           {"": 1},
		"vaultsentry_run_timestamp_seconds": {"": float64(start.Add(1500*time.Millisecond).UnixNano()) / 1e9},
		"vaultsentry_build_info":            {"version=1.2.3": 1},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, values(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	for name := range fams {
		if want[name] == nil {
			t.Errorf("unexpected family %s", name)
		}
	}
	// The findings sum to the report's count.
	total := 0.0
	for _, v := range values(fams, "vaultsentry_findings") {
		total += v
	}
	if total != float64(len(r.Findings)) {
		t.Errorf("findings sum to %v, want %d", total, len(r.Findings))
	}
	// The baseline as loaded is left as it was: Collect only reads it.
	if h := bl.Get("app"); len(h.Resources) != 1 || bl.Get("ops") != nil {
		t.Errorf("Collect changed the baseline: %+v", bl.Principals)
	}
}

// TestMetricsFailedRun: a run that failed before its events were collected still writes what
// it knows, with vaultsentry_run_success 0, and no identity is listed with a cap of 0.
func TestMetricsFailedRun(t *testing.T) {
	fams := render(t, nil, Run{Files: []sources.FileStats{{File: "a.log", Format: "vault", Lines: 2, Malformed: 2}}, Start: t0, End: t0})
	if got := values(fams, "vaultsentry_run_success"); got[""] != 0 || len(got) != 1 {
		t.Errorf("run_success %v, want 0", got)
	}
	if got := values(fams, "vaultsentry_malformed_lines"); got["store=vault"] != 2 {
		t.Errorf("malformed %v", got)
	}
	for _, name := range []string{"vaultsentry_findings", "vaultsentry_events", "vaultsentry_identity_reads"} {
		if fams[name] != nil {
			t.Errorf("%s written for a run without events or findings", name)
		}
	}

	c := Collect([]event.Event{read(event.KindVault, "a.log", "app", "kv/x", 0)}, nil, time.Time{})
	fams = render(t, c, Run{Start: t0, End: t0, Success: true})
	if fams["vaultsentry_identity_reads"] != nil {
		t.Error("identities listed with --metrics-top-identities 0")
	}
	if got := values(fams, "vaultsentry_new_secret_accesses"); got["store=vault"] != 1 {
		t.Errorf("without a baseline every pair is new: %v", got)
	}
}

// TestMetricsHostileLabels: identities and paths are attacker-written; whatever they hold, the
// file parses, each label is the sanitized text (valid UTF-8 without a control character), and
// two identities that look alike once sanitized stay two series.
func TestMetricsHostileLabels(t *testing.T) {
	hostile := []string{
		"evil\"} 1\n# TYPE vaultsentry_run_success gauge\nvaultsentry_run_success 1",
		"bell\a\x1b[31mred\r\tcr",
		"bad utf-8 \xff\xfe",
		"back\\slash\\",
		"bidi \u202eevil",
		"a\x01", `a\u0001`, // Sanitize escapes the backslash: two labels
	}
	var evs []event.Event
	for i, id := range hostile {
		evs = append(evs, read(event.KindVault, "dir/\n"+id+".log", id, fmt.Sprintf("kv/s%d", i), i))
	}
	files := []sources.FileStats{{File: "dir/\n\"evil.log", Format: "vault", Lines: 1, Events: 1}}
	fams := render(t, Collect(evs, baseline.New(), time.Time{}), Run{Files: files, TopIdentities: 100, Start: t0, End: t0})

	got := values(fams, "vaultsentry_identity_reads")
	want := map[string]float64{}
	for _, id := range hostile {
		want["store=vault,identity="+report.Sanitize(id)]++
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity_reads (-want +got):\n%s", diff)
	}
	if got := values(fams, "vaultsentry_run_success"); len(got) != 1 || got[""] != 0 {
		t.Errorf("an identity injected a series: run_success %v", got)
	}
	if got := values(fams, "vaultsentry_input_events"); got["store=vault,input="+report.Sanitize(files[0].File)] != 1 {
		t.Errorf("input_events %v", got)
	}
	for _, mf := range fams {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if v := l.GetValue(); !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
					t.Errorf("%s: label %s=%q is not sanitized", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}

// TestMetricsBounded: thousands of identities, streams and files stay a few series each.
func TestMetricsBounded(t *testing.T) {
	var evs []event.Event
	var files []sources.FileStats
	for i := range 2000 {
		ev := read(event.KindCloudTrail, fmt.Sprintf("ct/%04d.json", i), fmt.Sprintf("id-%04d", i), fmt.Sprintf("s%d", i), i)
		ev.Namespace, ev.Region = fmt.Sprintf("%012d", i), "eu-west-1"
		for range i % 7 {
			evs = append(evs, ev) // id-0006 reads 6 times, ...
		}
		evs = append(evs, ev)
		files = append(files, sources.FileStats{File: ev.Pos.File, Format: "cloudtrail", Lines: i, Events: i%7 + 1})
	}
	fams := render(t, Collect(evs, nil, time.Time{}), Run{Files: files, TopIdentities: DefaultTopIdentities, Start: t0, End: t0})
	for name, limit := range map[string]int{
		"vaultsentry_identity_reads": DefaultTopIdentities, "vaultsentry_last_event_timestamp_seconds": MaxStreams,
		"vaultsentry_input_events": MaxInputs, "vaultsentry_input_malformed_lines": MaxInputs,
	} {
		if n := len(fams[name].GetMetric()); n != limit {
			t.Errorf("%s: %d series, want %d", name, n, limit)
		}
	}
	for k, v := range values(fams, "vaultsentry_identity_reads") {
		if v != 7 {
			t.Errorf("%s: %v reads, want only the identities with 7", k, v)
		}
	}
	// The newest streams are kept (the quiet ones are what a gap panel looks for, but the
	// newest per store is what it needs first); the count says how many there were.
	if got := values(fams, "vaultsentry_audit_streams"); got["store=cloudtrail"] != 2000 {
		t.Errorf("audit_streams %v", got)
	}
	if _, ok := values(fams, "vaultsentry_last_event_timestamp_seconds")["store=cloudtrail,stream=000000001999/eu-west-1"]; !ok {
		t.Error("the newest stream is not listed")
	}
	if _, ok := values(fams, "vaultsentry_input_events")["store=cloudtrail,input=ct/1999.json"]; !ok {
		t.Error("the largest input is not listed")
	}
}

func TestFileStream(t *testing.T) {
	for in, want := range map[string]string{
		"/var/log/vault/audit.log":              "/var/log/vault/audit.log",
		"/var/log/vault/audit.log.1":            "/var/log/vault/audit.log",
		"/var/log/vault/audit.log.2.gz":         "/var/log/vault/audit.log",
		"/var/log/vault/audit.log-20260901":     "/var/log/vault/audit.log",
		"/var/log/vault/audit.log-20260901.zst": "/var/log/vault/audit.log",
		"audit.jsonl.gz":                        "audit.jsonl",
		"node-2.log":                            "node-2.log", // a name, not a rotation suffix
		"vault-1":                               "vault-1",
		"-":                                     "-",
		"":                                      "",
	} {
		if got := FileStream(in); got != want {
			t.Errorf("FileStream(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCollect(b *testing.B) {
	bl := baseline.New()
	evs := make([]event.Event, 100_000)
	for i := range evs {
		evs[i] = read(event.KindVault, "audit.log", fmt.Sprintf("id-%d", i%500), fmt.Sprintf("kv/s%d", i%5000), i/100)
	}
	b.ReportAllocs()
	for b.Loop() {
		Collect(evs, bl, time.Time{})
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
