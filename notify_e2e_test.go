package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestNotifyE2E runs the built binary with --notify at a receiver on 127.0.0.1: exit 0 when the
// alert is delivered (and no --fail-on), 1 with --fail-on as before, and 3 when the receiver is
// down, with the report file written in full all the same; --notify-on-error sends the notice
// of a run that read no event.
func TestNotifyE2E(t *testing.T) {
	var mu sync.Mutex
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("not JSON: %s", b)
		}
		mu.Lock()
		bodies = append(bodies, doc)
		mu.Unlock()
	}))
	defer srv.Close()
	received := func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bodies)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/hooks/s3cr3t"
	down.Close() // connection refused from now on

	dir := t.TempDir()
	input := filepath.Join("testdata", "vault", "incident.jsonl")
	reportFile := filepath.Join(dir, "report.json")
	findings := func(t *testing.T) int {
		t.Helper()
		raw, err := os.ReadFile(reportFile)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Findings []json.RawMessage `json:"findings"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("report not complete: %v", err)
		}
		return len(doc.Findings)
	}

	_, stderr, code := runBinary(t, "scan", "-q", "-o", reportFile, "--notify", srv.URL+"/ingest", input)
	if got := received(); code != 0 || len(got) != 1 || got[0]["tool"] != "vaultsentry" {
		t.Fatalf("delivered: exit %d, %d deliveries; stderr %s", code, len(got), stderr)
	}
	sent, _ := received()[0]["findings"].([]any)
	if len(sent) == 0 || len(sent) > findings(t) {
		t.Errorf("sent %d findings of the report's %d", len(sent), findings(t))
	}

	if _, stderr, code = runBinary(t, "scan", "-q", "-o", reportFile, "--fail-on", "high", "--notify", srv.URL+"/ingest", input); code != 1 {
		t.Errorf("delivered with --fail-on high: exit %d, want 1; stderr %s", code, stderr)
	}

	os.Remove(reportFile)
	_, stderr, code = runBinary(t, "scan", "-q", "-o", reportFile, "--notify", downURL, "--notify-on-error", input)
	if code != 3 || !strings.Contains(stderr, "not delivered") || !strings.Contains(stderr, "hint: the report is complete") || strings.Contains(stderr, "s3cr3t") {
		t.Fatalf("receiver down: exit %d, stderr %s", code, stderr)
	}
	if findings(t) == 0 {
		t.Error("the report written despite the failed delivery has no findings")
	}

	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("shopping list\n"), 0o644)
	n := len(received())
	_, stderr, code = runBinary(t, "scan", "-q", "--notify", srv.URL+"/ingest", "--notify-on-error", notes)
	got := received()
	if code != 3 || len(got) != n+1 {
		t.Fatalf("no event: exit %d, notices %v; stderr %s", code, got[n:], stderr)
	}
	if msg, _ := got[n]["error"].(string); !strings.Contains(msg, "no input produced an event") {
		t.Errorf("notice %v", got[n])
	}

	if _, stderr, code = runBinary(t, "scan", "--notify", "ftp://x/y", input); code != 2 || !strings.Contains(stderr, "hint:") {
		t.Errorf("bad URL: exit %d, stderr %s", code, stderr)
	}
}
