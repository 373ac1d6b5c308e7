package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/review"
)

// TestReviewSchema: the review's JSON matches docs/review.schema.json, and the schema rejects
// what it should.
func TestReviewSchema(t *testing.T) {
	abs, err := filepath.Abs("../docs")
	if err != nil {
		t.Fatal(err)
	}
	// The review's findings are the scan report's: its schema refers to report.schema.json by
	// the $id both share, so the loader is given that one first.
	sl := gojsonschema.NewSchemaLoader()
	if err := sl.AddSchemas(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(filepath.Join(abs, "report.schema.json")))); err != nil {
		t.Fatal(err)
	}
	schema, err := sl.Compile(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(filepath.Join(abs, "review.schema.json"))))
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	evs := []event.Event{
		{Time: t0, Kind: event.KindVault, Op: event.OpWrite, Outcome: event.OutcomeOK, Principal: "ops", Resource: "kv/prod/db"},
		{Time: t0.Add(time.Hour), Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Outcome: event.OutcomeOK,
			Principal: "alice", DisplayName: "oidc-alice", Class: event.ClassPerson, Resource: "kv/prod/db", RemoteAddr: netip.MustParseAddr("203.0.113.9")},
		{Time: t0.Add(2 * time.Hour), Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Outcome: event.OutcomeDenied,
			Principal: "bob", Resource: "kv/prod/other"},
	}
	rv := review.Build(evs, t0, t0.Add(48*time.Hour), review.DefaultConfig(), nil, nil)
	r, _ := incidentResult(t)
	var buf bytes.Buffer
	fws, _ := review.SelectFrameworks(review.FrameworkIDs(nil), nil)
	controls := review.Controls(rv, review.Facts{Findings: r.Findings}, fws)
	if err := RenderReview(&buf, "json", &ReviewResult{Review: rv, Findings: r.Findings, Version: "dev", Command: []string{"vaultsentry", "review"},
		Controls: controls}); err != nil {
		t.Fatal(err)
	}
	v, err := schema.Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid() {
		t.Fatalf("review JSON does not match docs/review.schema.json: %v\n%s", v.Errors(), buf.String())
	}
	for name, mutate := range map[string]func(map[string]any){
		"unknown flag": func(d map[string]any) {
			d["access"].([]any)[0].(map[string]any)["flags"] = []any{map[string]any{"flag": "x", "reason": "y"}}
		},
		"bad class":        func(d map[string]any) { d["access"].([]any)[0].(map[string]any)["class"] = "robot" },
		"missing verdicts": func(d map[string]any) { delete(d["secrets"].([]any)[0].(map[string]any), "verdicts") },
		"unknown key":      func(d map[string]any) { d["extra"] = 1 },
		"bad status":       func(d map[string]any) { d["controls"].([]any)[0].(map[string]any)["status"] = "pass" },
		"missing controls": func(d map[string]any) { delete(d, "controls") },
	} {
		var doc map[string]any
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		mutate(doc)
		v, err := schema.Validate(gojsonschema.NewGoLoader(doc))
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid() {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}
