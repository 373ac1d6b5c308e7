package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTraceLongTimeline: a token that made 2,500 requests (more than the 2,000 events a trace
// keeps in its timeline) is traced with every total exact; the table, the JSON and the CSV
// say that the timeline was cut, where, and how to see the rest; the list to rotate is whole.
// Another identity's short trace of the same log says nothing of a cut.
func TestTraceLongTimeline(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 9, 23, 23, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i := range 2500 {
		b.WriteString(vaultLine(t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("req-%d", i), "k8s-harvester", "ent-harvester",
			"hmac-sha256:acc-harvester", "read", fmt.Sprintf("kv/data/prod/s%03d", i%300), "203.0.113.9", ""))
	}
	for i := range 3 {
		b.WriteString(vaultLine(t0.Add(time.Duration(i)*time.Minute+500*time.Millisecond), fmt.Sprintf("other-%d", i), "k8s-billing", "ent-billing",
			"hmac-sha256:acc-billing", "read", "kv/data/prod/billing", "10.0.0.7", ""))
	}
	log := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(log, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := runBinary(t, "trace", "--identity", "k8s-harvester", log)
	if code != 0 {
		t.Fatalf("trace exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"2500 events from 2026-09-23T23:00:00Z to 2026-09-23T23:41:39Z",
		"Secrets read successfully: rotate these (300 secrets in 1 groups)",
		"\nTimeline\nshowing the first 1,000 and the last 1,000 of 2,500 events: 500 events from 2026-09-23T23:16:40Z to 2026-09-23T23:24:59Z left out",
		"\n... 500 events from 2026-09-23T23:16:40Z to 2026-09-23T23:24:59Z left out ...\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}

	out, stderr, code = runBinary(t, "trace", "-q", "--format", "json", "--identity", "k8s-harvester", log)
	if code != 0 {
		t.Fatalf("trace --format json exit %d: %s", code, stderr)
	}
	var doc struct {
		Summary struct {
			Events   int `json:"events"`
			Timeline int `json:"timeline_events"`
			Secrets  int `json:"secrets_read"`
		} `json:"summary"`
		Timeline []struct {
			Line int `json:"line"`
		} `json:"timeline"`
		Cut *struct {
			Note     string `json:"note"`
			Timeline struct {
				Left int `json:"events_left_out"`
				Next int `json:"next_index"`
			} `json:"timeline"`
		} `json:"cut"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.Events != 2500 || doc.Summary.Timeline != 2000 || len(doc.Timeline) != 2000 || doc.Summary.Secrets != 300 ||
		doc.Cut == nil || doc.Cut.Timeline.Left != 500 || doc.Cut.Timeline.Next != 1000 || !strings.Contains(doc.Cut.Note, "left out") {
		t.Fatalf("summary %+v, %d in the timeline, cut %+v", doc.Summary, len(doc.Timeline), doc.Cut)
	}

	csvFile := filepath.Join(dir, "timeline.csv")
	if _, stderr, code := runBinary(t, "trace", "-q", "--format", "csv", "-o", csvFile, "--identity", "k8s-harvester", log); code != 0 {
		t.Fatalf("trace --format csv exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(csvFile)
	rows := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	// The CSV holds every matched event: trace reads them again from its copy of the input.
	if len(rows) != 1+2500 || strings.Contains(string(data), "# showing") {
		t.Errorf("csv: %d rows, row 1001 %q", len(rows), rows[min(1001, len(rows)-1)])
	}

	// A short trace keeps everything and says nothing of a cut.
	out, _, code = runBinary(t, "trace", "--identity", "k8s-billing", log)
	if code != 0 || !strings.Contains(out, "3 events from") || strings.Contains(out, "left out") {
		t.Errorf("short trace (exit %d):\n%s", code, out)
	}
	out, _, _ = runBinary(t, "trace", "-q", "--format", "json", "--identity", "k8s-billing", log)
	if strings.Contains(out, `"cut"`) || !strings.Contains(out, `"timeline_events": 3`) {
		t.Errorf("short trace's JSON:\n%s", out)
	}
}
