package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/sources"
)

// TestJSONSchema validates real JSON output against docs/report.schema.json, the documented
// contract, and checks that the schema rejects what it should (so the test cannot pass vacuously).
func TestJSONSchema(t *testing.T) {
	abs, err := filepath.Abs("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gojsonschema.NewSchema(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(abs)))
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	r, _ := incidentResult(t)
	empty := &Result{Tool: "vaultsentry", Version: "dev", Command: "scan"}
	s3run := &Result{Tool: "vaultsentry", Version: "dev", Command: "cloudtrail", S3: &sources.S3Stats{ListRequests: 3, Listed: 9, PrunedPrefixes: 2,
		Fetched: 8, Bytes: 4096, Failed: 1, Failures: []sources.S3Failure{{Object: "s3://b/k", Offset: 10, Error: "unexpected EOF"}}, KMSObjects: 8, NewestDelivery: "2026-09-12T23:55:00Z"}}
	for name, res := range map[string]*Result{"incident": r, "empty run": empty, "s3 run": s3run} {
		var buf bytes.Buffer
		if err := (JSON{}).Render(&buf, res); err != nil {
			t.Fatal(err)
		}
		v, err := schema.Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if !v.Valid() {
			t.Errorf("%s: JSON report does not match docs/report.schema.json: %v", name, v.Errors())
		}
	}

	var buf bytes.Buffer
	if err := (JSON{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	mutations := map[string]func(doc map[string]any){
		"unknown finding field": func(d map[string]any) { d["findings"].([]any)[0].(map[string]any)["secret"] = "x" },
		"bad severity":          func(d map[string]any) { d["findings"].([]any)[0].(map[string]any)["severity"] = "urgent" },
		"missing fingerprint":   func(d map[string]any) { delete(d["findings"].([]any)[0].(map[string]any), "fingerprint") },
		"time not RFC 3339":     func(d map[string]any) { d["findings"].([]any)[0].(map[string]any)["first_seen"] = "yesterday" },
		"suppressed w/o reason": func(d map[string]any) { delete(d["suppressed"].([]any)[0].(map[string]any), "suppressed_reason") },
		"unknown top-level key": func(d map[string]any) { d["extra"] = 1 },
	}
	for name, mutate := range mutations {
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
			t.Errorf("%s: the schema accepted a broken report", name)
		}
	}
}

// TestSchemaDocumentsEveryField keeps the schema in step with the encoder: every key the JSON
// report writes (top level, stats, finding) is described in the schema.
func TestSchemaDocumentsEveryField(t *testing.T) {
	raw, err := os.ReadFile("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	r, _ := incidentResult(t)
	var buf bytes.Buffer
	if err := (JSON{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				keys[k] = true
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	for k := range keys {
		if strings.HasPrefix(k, "critical") || k == "high" || k == "medium" || k == "low" || k == "info" {
			continue
		}
		if !bytes.Contains(raw, []byte(`"`+k+`"`)) {
			t.Errorf("JSON key %q is not described in docs/report.schema.json", k)
		}
	}
}
