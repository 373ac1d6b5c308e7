package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/review"
)

// A review with an inventory: never-read and the inventory object match the schema, and the
// markdown and CSV carry the verdict and the notes.
func TestReviewInventoryRendered(t *testing.T) {
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
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	evs := []event.Event{{Time: t0, Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Outcome: event.OutcomeOK,
		Principal: "app", Resource: "secret/prod/db"}}
	cfg := review.DefaultConfig()
	cfg.Inventory = &review.Inventory{Files: []string{"inv.jsonl"}, Secrets: []review.InventorySecret{
		{Store: "vault", Secret: "secret/prod/db", Written: t0.Add(-10 * 24 * time.Hour)},
		{Store: "vault", Secret: "secret/dev/<script>", Created: t0.Add(-100 * 24 * time.Hour)},
	}}
	rv := review.Build(evs, t0, t0.Add(48*time.Hour), cfg, nil, nil)
	rr := &ReviewResult{Review: rv, Version: "dev"}
	var buf bytes.Buffer
	if err := RenderReview(&buf, "json", rr); err != nil {
		t.Fatal(err)
	}
	v, err := schema.Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid() {
		t.Fatalf("review JSON with an inventory does not match the schema: %v\n%s", v.Errors(), buf.String())
	}
	for _, want := range []string{`"never-read": 1`, `"listed": 2`, `"not_in_logs": 1`, `"files": [`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	buf.Reset()
	if err := RenderReview(&buf, "markdown", rr); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if !strings.Contains(md, "`never-read`: in the inventory") || !strings.Contains(md, `inventory \(inv.jsonl\)\: 2 secrets listed`) || strings.Contains(md, "<script>") {
		t.Errorf("markdown:\n%s", md)
	}
	buf.Reset()
	if err := ReviewCSV(&buf, "secrets", rr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "never-read: in the inventory") {
		t.Errorf("csv:\n%s", buf.String())
	}
}
