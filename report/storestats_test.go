package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/sources"
)

// TestJSONStoreStats: stats.stores (scan --loki, --elasticsearch) is written and matches the
// schema, every field set; a store name outside the schema's list is refused.
func TestJSONStoreStats(t *testing.T) {
	abs, err := filepath.Abs("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := gojsonschema.NewSchema(gojsonschema.NewReferenceLoader("file://" + filepath.ToSlash(abs)))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 9, 23, 12, 0, 0, 0, time.UTC)
	st := sources.StoreStats{Store: "loki", URL: "http://loki:3100", Query: `{job="vault-audit"}`, From: at, To: at.Add(time.Hour), Reference: at,
		Requests: 9, Pages: 7, Entries: 30000, Overlap: 4, Streams: 3, Retries: 1, PageLimit: 2500, PageHalvings: 1, RangeSplits: 1, PITChanges: 2,
		ReadUntil: at.Add(30 * time.Minute), Gap: &sources.StoreGap{From: at.Add(30 * time.Minute), To: at.Add(time.Hour), Reason: "x"}, Warnings: []string{"w"}}
	for _, tc := range []struct {
		store string
		valid bool
	}{{"loki", true}, {"opensearch", true}, {"splunk", false}} {
		st.Store = tc.store
		var buf bytes.Buffer
		if err := (JSON{}).Render(&buf, &Result{Tool: "vaultsentry", Version: "dev", Command: "scan", Stores: []sources.StoreStats{st}}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{`"stores"`, `"overlap_dropped": 4`, `"page_halvings": 1`, `"pit_id_changes": 2`, `"gap"`, `"reference"`} {
			if !strings.Contains(buf.String(), k) {
				t.Errorf("no %s in %s", k, buf.String())
			}
		}
		v, err := schema.Validate(gojsonschema.NewBytesLoader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid() != tc.valid {
			t.Errorf("%s: valid %v, want %v: %v", tc.store, v.Valid(), tc.valid, v.Errors())
		}
	}
}
