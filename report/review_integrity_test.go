package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

func reviewSchema(t *testing.T) *gojsonschema.Schema {
	t.Helper()
	abs, err := filepath.Abs("../docs")
	if err != nil {
		t.Fatal(err)
	}
	sl := gojsonschema.NewSchemaLoader()
	if err := sl.AddSchemas(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(filepath.Join(abs, "report.schema.json")))); err != nil {
		t.Fatal(err)
	}
	schema, err := sl.Compile(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(filepath.Join(abs, "review.schema.json"))))
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	return schema
}

// integrityResult is a review over two CloudTrail trees (one valid, one invalid) and a Vault
// file with a hole, a disabled audit device and one malformed line.
func integrityResult() *ReviewResult {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 200 {
		at := t0.Add(time.Duration(i) * time.Minute)
		if i >= 100 {
			at = at.Add(6 * time.Hour) // the hole
		}
		evs = append(evs, event.Event{Time: at, Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Principal: "app",
			Resource: "kv/prod/db", Pos: event.Pos{File: "/logs/audit.log", Line: i + 1}})
	}
	evs = append(evs, event.Event{Time: t0.Add(30 * time.Minute), Kind: event.KindVault, Op: event.OpDelete, Action: "delete", Flags: event.FlagControl,
		Principal: "ops", DisplayName: "oidc-ops", Path: "sys/audit/file", Pos: event.Pos{File: "/logs/audit.log", Line: 31}})
	evs = append(evs, event.Event{Time: t0.Add(40 * time.Minute), Kind: event.KindCloudTrail, Op: event.OpAudit, Action: "StopLogging",
		Principal: "arn:aws:iam::111122223333:user/mallory", Resource: "main", Detail: "logging stopped", Namespace: "111122223333", Region: "eu-west-1",
		Pos: event.Pos{File: "/t2/AWSLogs/x.json.gz", Line: 1}})
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	start, end := t0, t0.Add(199*time.Minute+6*time.Hour+time.Nanosecond) // the period ends with the last event
	rv := review.Build(evs, start, end, review.DefaultConfig(), nil, nil)
	rv.Completeness = review.BuildCompleteness(evs, start, end, analyze.AuditGapConfig{})
	return &ReviewResult{Review: rv, Version: "dev", Command: []string{"vaultsentry", "review"},
		Files: []sources.FileStats{{File: "/logs/audit.log", Format: "vault", Lines: 402, Parsed: 401, Malformed: 1, Events: 201,
			Problems: []sources.Problem{{Line: 7, Reason: "invalid JSON"}}, Skipped: map[string]int{}}},
		Integrity: []TreeIntegrity{
			{Tree: "/t1", CloudTrail: &integrity.Result{Status: integrity.Valid, LogFiles: 3, Digests: 2, Problems: []integrity.Problem{}}, Events: 10, ReadEvents: 0},
			{Tree: "/t2", CloudTrail: &integrity.Result{Status: integrity.Invalid, Reason: "1 log file changed", LogFiles: 4, Digests: 1,
				Problems: []integrity.Problem{{File: "/t2/AWSLogs/x.json.gz", Kind: integrity.HashMismatch, Detail: "sha-256 differs"}}}, Events: 5, ReadEvents: 2},
		}}
}

// TestReviewIntegritySchema: the integrity object (trees, coverage, gaps, audit changes, reads)
// and the inputs' accounting match docs/review.schema.json; the schema rejects the old array
// and an unknown gap reason.
func TestReviewIntegritySchema(t *testing.T) {
	schema := reviewSchema(t)
	var buf bytes.Buffer
	if err := RenderReview(&buf, "json", integrityResult()); err != nil {
		t.Fatal(err)
	}
	v, err := schema.Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid() {
		t.Fatalf("review JSON does not match docs/review.schema.json: %v\n%s", v.Errors(), buf.String())
	}
	var doc struct {
		Inputs    []map[string]any `json:"inputs"`
		Integrity struct {
			CloudTrail integrity.Result `json:"cloudtrail"`
			Trees      []struct {
				Tree              string `json:"tree"`
				ReadEventsPresent bool   `json:"read_events_present"`
			} `json:"trees"`
			Gaps         []map[string]any `json:"gaps"`
			AuditChanges []map[string]any `json:"audit_changes"`
			ReadEvents   map[string]bool  `json:"read_events_present"`
			Notes        []string         `json:"notes"`
		} `json:"integrity"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	in := doc.Integrity
	if c := in.CloudTrail; c.Status != integrity.Invalid || c.LogFiles != 7 || c.Digests != 3 || len(c.Problems) != 1 ||
		c.Problems[0].File != "/t2/AWSLogs/x.json.gz" || !strings.Contains(c.Reason, "/t2: 1 log file changed") {
		t.Errorf("combined cloudtrail = %+v", c)
	}
	if len(in.Trees) != 2 || in.Trees[0].ReadEventsPresent || !in.Trees[1].ReadEventsPresent {
		t.Errorf("trees = %+v", in.Trees)
	}
	if !strings.Contains(strings.Join(in.Notes, "\n"), "/t1: no read-only event among its 10 events: "+review.NoReadsNote) {
		t.Errorf("no write-only note for /t1: %q", in.Notes)
	}
	if len(in.Gaps) != 1 || in.Gaps[0]["reason"] != analyze.GapSilence || in.Gaps[0]["duration_seconds"] != float64(6*3600+60) {
		t.Errorf("gaps = %v", in.Gaps)
	}
	if len(in.AuditChanges) != 2 || in.AuditChanges[0]["action"] != analyze.ActionDisableAuditDevice || in.AuditChanges[1]["action"] != "StopLogging" ||
		in.AuditChanges[1]["identity"] != "arn:aws:iam::111122223333:user/mallory" || in.AuditChanges[1]["target"] != "main" {
		t.Errorf("audit_changes = %v", in.AuditChanges)
	}
	if !in.ReadEvents["vault"] || in.ReadEvents["cloudtrail"] {
		t.Errorf("read_events_present = %v", in.ReadEvents)
	}
	if in := doc.Inputs[0]; in["lines"] != float64(402) || in["malformed"] != float64(1) || len(in["problems"].([]any)) != 1 {
		t.Errorf("inputs = %v", doc.Inputs)
	}
	for name, mutate := range map[string]func(map[string]any){
		"integrity as an array": func(d map[string]any) { d["integrity"] = []any{} },
		"unknown gap reason": func(d map[string]any) {
			d["integrity"].(map[string]any)["gaps"].([]any)[0].(map[string]any)["reason"] = "hole"
		},
		"no status": func(d map[string]any) {
			delete(d["integrity"].(map[string]any)["cloudtrail"].(map[string]any), "status")
		},
		"read_events_present not a bool": func(d map[string]any) {
			d["integrity"].(map[string]any)["read_events_present"] = map[string]any{"vault": "yes"}
		},
	} {
		var d map[string]any
		if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		mutate(d)
		v, err := schema.Validate(gojsonschema.NewGoLoader(d))
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid() {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// TestReviewIntegrityNoTree: without a CloudTrail tree the object is there, unverifiable, with
// the reason; no gap and no change means empty lists, not nulls.
func TestReviewIntegrityNoTree(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 100 {
		evs = append(evs, event.Event{Time: t0.Add(time.Duration(i) * time.Minute), Kind: event.KindVault, Op: event.OpRead, Principal: "app",
			Resource: "kv/a", Pos: event.Pos{File: "a.log"}})
	}
	end := evs[len(evs)-1].Time.Add(time.Nanosecond)
	rv := review.Build(evs, t0, end, review.DefaultConfig(), nil, nil)
	rv.Completeness = review.BuildCompleteness(evs, t0, end, analyze.AuditGapConfig{})
	var buf bytes.Buffer
	if err := RenderReview(&buf, "json", &ReviewResult{Review: rv, Version: "dev"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"status": "unverifiable"`, `"reason": "no CloudTrail tree among the inputs`, `"gaps": []`, `"audit_changes": []`, `"trees": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	v, err := reviewSchema(t).Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil || !v.Valid() {
		t.Fatalf("schema: %v %v", err, v.Errors())
	}
}

// TestReviewIntegrityMarkdownCSV: the sections in Markdown, gaps.csv and audit_changes.csv, and
// logged strings made inert.
func TestReviewIntegrityMarkdownCSV(t *testing.T) {
	r := integrityResult()
	r.Review.Completeness.AuditChanges[0].Target = "evil\x1b[31m|`x`"
	var md bytes.Buffer
	if err := RenderReview(&md, "markdown", r); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{"## Log file integrity (CloudTrail)", "**invalid**: 7 log files, 3 digests, 1 problems", "## Log completeness",
		"### Gaps (1)", "`silence`", "### Audit configuration changes (2)", "| disable-audit-device |", "StopLogging",
		MarkdownEscape(review.NoReadsNote), "402 lines: 401 parsed, 1 malformed, 0 skipped (line 7\\: invalid JSON)"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "evil|") {
		t.Errorf("a logged string is not escaped:\n%s", out)
	}
	for table, header := range map[string]string{
		"gaps":          "start,end,duration,duration_seconds,stream,file,prev_file,reason,detail\n",
		"audit_changes": "time,store,identity,display_name,action,target,outcome,detail,file,line\n",
	} {
		var b bytes.Buffer
		if err := ReviewCSV(&b, table, r); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.String(), header) || strings.Count(b.String(), "\n") < 2 {
			t.Errorf("%s.csv:\n%s", table, b.String())
		}
		if strings.Contains(b.String(), "\x1b") {
			t.Errorf("%s.csv holds an escape", table)
		}
	}
}
