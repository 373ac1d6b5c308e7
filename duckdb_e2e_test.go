//go:build duckdb

// The export read by a real query engine: DuckDB (embedded through duckdb-go, a cgo build, so
// behind the duckdb build tag; scripts/test.sh runs it) reads the Parquet lake with its
// dt= partitions, and its counts per identity and per day are the run's own.
package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestExportDuckDB(t *testing.T) {
	wd, _ := os.Getwd()
	inputs := []string{filepath.Join(wd, "testdata/vault/incident.jsonl"), filepath.Join(wd, "testdata/cloudtrail"),
		filepath.Join(wd, "testdata/k8saudit")}
	lake := filepath.Join(t.TempDir(), "lake")
	runExportVS(t, wd, append([]string{"export", "-q", "--format", "parquet", "-o", lake}, inputs...)...)

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	from := "read_parquet('" + filepath.ToSlash(lake) + "/*/*.parquet', hive_partitioning = true)"

	// Every event, against the scan's count.
	out, _ := runExportVS(t, wd, append([]string{"scan", "--format", "json"}, inputs...)...)
	var rep struct {
		Stats struct {
			Events int `json:"events"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := db.QueryRow("SELECT count(*) FROM " + from).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != rep.Stats.Events || total == 0 {
		t.Errorf("DuckDB counts %d rows, the scan %d events", total, rep.Stats.Events)
	}

	// Per identity, against trace's answer (identity: the principal, else the credential,
	// else the display name, as trace names it).
	out, _ = runExportVS(t, wd, append([]string{"trace", "--identity", "*", "--format", "json"}, inputs...)...)
	var tr struct {
		Identities []struct {
			Identity string `json:"identity"`
			Events   int    `json:"events"`
		} `json:"identities"`
	}
	if err := json.Unmarshal(out, &tr); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT coalesce(nullif(principal, ''), nullif(credential, ''), display_name) AS id, count(*) FROM ` + from + ` GROUP BY id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	rows.Close()
	if len(tr.Identities) == 0 {
		t.Fatal("trace found no identity")
	}
	for _, id := range tr.Identities {
		if got[id.Identity] != id.Events {
			t.Errorf("identity %q: DuckDB %d events, trace %d", id.Identity, got[id.Identity], id.Events)
		}
	}

	// The partition column is the event's UTC day.
	var bad int
	if err := db.QueryRow(`SELECT count(*) FROM ` + from + ` WHERE CAST(dt AS VARCHAR) <> strftime(time, '%Y-%m-%d')`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d rows in another day's partition", bad)
	}
	var vault int
	if err := db.QueryRow(`SELECT count(*) FROM ` + from + ` WHERE store = 'vault' AND value_read AND list_contains(flags, 'value-read')`).Scan(&vault); err != nil {
		t.Fatal(err)
	}
	if vault == 0 {
		t.Error("no Vault value read in the lake")
	}
}
