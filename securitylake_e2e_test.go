package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/athenastub"
	"github.com/vaultsentry/vaultsentry/internal/ocsfgen"
)

// TestSecurityLakeParity: the practice CloudTrail tree's records as Amazon Security Lake
// OCSF events, in a Parquet file and as JSON lines, give exactly the findings of the tree
// through the real binary; the report's file statistics count the shape.
func TestSecurityLakeParity(t *testing.T) {
	c := scenarioDir(t, "cloudtrail")
	recs, err := athenastub.ReadTree(filepath.Join(c, "AWSLogs")) // every record of every log file, duplicates too
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var rows []ocsfgen.Row
	var lines bytes.Buffer
	for _, r := range recs {
		ev, err := ocsfgen.Event(r.Fields)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(ev)
		lines.Write(b)
		lines.WriteByte('\n')
		row, err := ocsfgen.RowOf(ev)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	pq := filepath.Join(dir, "security-lake", "region=eu-west-1", "part-0000.gz.parquet")
	os.MkdirAll(filepath.Dir(pq), 0o755)
	f, err := os.Create(pq)
	if err != nil {
		t.Fatal(err)
	}
	if err := ocsfgen.WriteParquet(f, rows, 500); err != nil {
		t.Fatal(err)
	}
	f.Close()
	nd := filepath.Join(dir, "ocsf.ndjson")
	if err := os.WriteFile(nd, lines.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--config", filepath.Join(c, "vaultsentry.yaml"), "--learn-until", "2026-09-11T12:00:00Z", "--format", "json"}
	env := stubEnv("http://127.0.0.1:1")
	tree := filepath.Join(dir, "tree.json")
	if _, stderr, code := runVS(t, env, append([]string{"cloudtrail", "--from", filepath.Join(c, "AWSLogs"), "-o", tree}, common...)...); code != 0 {
		t.Fatalf("tree: exit %d\n%s", code, stderr)
	}
	want := findingSet(t, tree)
	if len(want) == 0 {
		t.Fatal("no findings to compare")
	}
	for _, in := range []string{filepath.Join(dir, "security-lake"), nd} {
		out := filepath.Join(dir, filepath.Base(in)+".json")
		_, stderr, code := runVS(t, env, append([]string{"cloudtrail", "--from", in, "-o", out, "--verbose"}, common...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", in, code, stderr)
		}
		if got := findingSet(t, out); !slices.Equal(want, got) {
			t.Errorf("%s: findings differ from the tree's\ntree:\n%s\nocsf:\n%s", in, strings.Join(want, "\n"), strings.Join(got, "\n"))
		}
		if data, _ := os.ReadFile(out); !bytes.Contains(data, []byte(`"ocsf-6003": 1580`)) {
			t.Errorf("%s: the report's file statistics do not count the OCSF shape", in)
		}
	}
}

// TestSecurityLakeOtherClass: an OCSF event of another class (Security Lake's ConsoleLogin,
// Authentication 3002) is counted as skipped with its class, next to an API Activity event
// that is read.
func TestSecurityLakeOtherClass(t *testing.T) {
	_, stderr, code := runVS(t, stubEnv("http://127.0.0.1:1"), "cloudtrail", "--from", "testdata/cloudtrail/elastic-securitylake-test-api-activity.log",
		"--from", "testdata/cloudtrail/elastic-securitylake-test-authentication.log", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "ocsf-class-3002 1") || !strings.Contains(stderr, "1 parsed") {
		t.Errorf("summary:\n%s", stderr)
	}
}
