package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/athenastub"
)

// scenarioDir is a practice scenario (VAULTSENTRY_SCENARIOS, else ../shared/scenarios beside
// the checkout); the test is skipped without it.
func scenarioDir(t *testing.T, name string) string {
	t.Helper()
	root := os.Getenv("VAULTSENTRY_SCENARIOS")
	if root == "" {
		root = filepath.Join("..", "shared", "scenarios")
	}
	d := filepath.Join(root, name)
	if _, err := os.Stat(d); err != nil {
		t.Skipf("no practice scenario at %s", d)
	}
	return d
}

// findingSet is every finding of a JSON report, less where it was read (file and line differ
// between a tree and a query by design).
func findingSet(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Findings []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range r.Findings {
		delete(f, "evidence")
		delete(f, "positions")
		delete(f, "first_seen_at")
		b, _ := json.Marshal(f)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func athenaEnv(stub *athenastub.Server) []string {
	env := stubEnv(stub.URL)
	return append(env, stub.Env()...)
}

// TestAthenaParity: the practice CloudTrail tree served as an Athena table (partition
// projection on `timestamp`) gives exactly the findings of reading the tree, through a query
// the stand-in checked and executed, paged at 1000 rows.
func TestAthenaParity(t *testing.T) {
	c := scenarioDir(t, "cloudtrail")
	recs, err := athenastub.ReadTree(filepath.Join(c, "AWSLogs"))
	if err != nil {
		t.Fatal(err)
	}
	stub := athenastub.New("security", "cloudtrail_logs_pp", recs)
	defer stub.Close()
	stub.With(func() { stub.PartitionKeys = []string{"timestamp"} })
	dir := t.TempDir()
	common := []string{"--config", filepath.Join(c, "vaultsentry.yaml"), "--learn-until", "2026-09-11T12:00:00Z", "--format", "json"}
	fromTree := filepath.Join(dir, "tree.json")
	if _, stderr, code := runVS(t, stubEnv("http://127.0.0.1:1"), append([]string{"cloudtrail", "--from", filepath.Join(c, "AWSLogs"), "-o", fromTree}, common...)...); code != 0 {
		t.Fatalf("tree: exit %d\n%s", code, stderr)
	}
	fromAthena := filepath.Join(dir, "athena.json")
	_, stderr, code := runVS(t, athenaEnv(stub), append([]string{"cloudtrail", "--athena-table", "security.cloudtrail_logs_pp",
		"--since", "2026-06-01T00:00:00Z", "--until", "2026-09-13T00:00:00Z", "--verbose", "-o", fromAthena}, common...)...)
	if code != 0 {
		t.Fatalf("athena: exit %d\n%s", code, stderr)
	}
	t.Log(stderr)
	want, got := findingSet(t, fromTree), findingSet(t, fromAthena)
	if len(want) == 0 {
		t.Fatal("the tree gave no findings: nothing to compare")
	}
	if !slices.Equal(want, got) {
		t.Errorf("findings differ\ntree:   %d\n%s\nathena: %d\n%s", len(want), strings.Join(want, "\n"), len(got), strings.Join(got, "\n"))
	}
	var sqls []string
	var calls map[string]int
	var maxPage int
	stub.With(func() { sqls, calls, maxPage = slices.Clone(stub.SQL), maps.Clone(stub.Calls), stub.MaxPage })
	if len(sqls) != 1 {
		t.Fatalf("%d queries, want 1", len(sqls))
	}
	sql := sqls[0]
	for _, w := range []string{`"timestamp" >= '2026/06/01'`, `"timestamp" <= '2026/09/14'`, "eventtime >= '2026-06-01T00:00:00Z'",
		"eventtime < '2026-09-13T00:00:00Z'", "'secretsmanager.amazonaws.com'", "'cloudtrail.amazonaws.com'"} {
		if !strings.Contains(sql, w) {
			t.Errorf("query lacks %s:\n%s", w, sql)
		}
	}
	if strings.Contains(sql, "autoscaling") || strings.Contains(sql, "SELECT *") {
		t.Errorf("query asks for more than the detectors read:\n%s", sql)
	}
	if calls["GetQueryResults"] < 2 || maxPage != 1000 {
		t.Errorf("GetQueryResults calls %d, largest page %d: want several pages of 1000", calls["GetQueryResults"], maxPage)
	}
	if calls["GetQueryExecution"] < 3 {
		t.Errorf("GetQueryExecution called %d times: the query was not waited for through QUEUED and RUNNING", calls["GetQueryExecution"])
	}
	if !strings.Contains(stderr, "scanned (what Athena bills)") || !strings.Contains(stderr, "FROM \"security\".\"cloudtrail_logs_pp\"") {
		t.Errorf("summary or --verbose lacks the bytes scanned or the statement:\n%s", stderr)
	}
}

// TestAthenaFailedQuery: a query Athena ends FAILED is a clear error with Athena's reason,
// exit 3.
func TestAthenaFailedQuery(t *testing.T) {
	stub := athenastub.New("security", "ct", nil)
	defer stub.Close()
	stub.With(func() {
		stub.Fail = "COLUMN_NOT_FOUND: line 21:3: Column 'useridentity.onbehalfof.userid' cannot be resolved"
	})
	_, stderr, code := runVS(t, athenaEnv(stub), "cloudtrail", "--athena-table", "security.ct", "--since", "30d", "--athena-partitions", "none")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	for _, w := range []string{"FAILED", "COLUMN_NOT_FOUND", "onbehalfof", "--print-sql"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("error lacks %q:\n%s", w, stderr)
		}
	}
}

// TestAthenaPrintSQL: --print-sql prints the statement (with the partition keys the catalog
// reported) and runs nothing; the usage errors of the Athena flags are exit 2.
func TestAthenaPrintSQL(t *testing.T) {
	stub := athenastub.New("security", "ct", nil)
	defer stub.Close()
	stub.With(func() { stub.PartitionKeys = []string{"timestamp"} })
	out, stderr, code := runVS(t, athenaEnv(stub), "cloudtrail", "--athena-table", "security.ct", "--since", "2026-09-01T00:00:00Z", "--print-sql")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(out, `AND "timestamp" >= '2026/09/01'`) || !strings.HasSuffix(strings.TrimSpace(out), ";") {
		t.Errorf("printed SQL:\n%s", out)
	}
	var started int
	stub.With(func() { started = stub.Calls["StartQueryExecution"] })
	if started != 0 {
		t.Error("--print-sql ran the query")
	}
	for _, args := range [][]string{
		{"--athena-table", "security.ct"}, // no --since
		{"--athena-table", "security;drop", "--since", "1d"},
		{"--athena-table", "security.ct", "--since", "1d", "--from", "x"},
		{"--print-sql", "--since", "1d"},
		{"--athena-table", "security.ct", "--since", "1d", "--athena-partitions", "weekly"},
	} {
		if _, stderr, code := runVS(t, athenaEnv(stub), append([]string{"cloudtrail"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, stderr)
		}
	}
}
