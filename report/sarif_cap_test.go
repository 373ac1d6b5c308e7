package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// TestSARIFCapsResults: a run never writes more results than GitHub code scanning accepts;
// the most severe findings are kept and the rest are announced, not silently dropped.
func TestSARIFCapsResults(t *testing.T) {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	r := &Result{Version: "test"}
	n := MaxSARIFResults + 7
	for i := range n {
		sev := analyze.Low
		if i%1000 == 0 {
			sev = analyze.Critical
		}
		r.Findings = append(r.Findings, analyze.Finding{Rule: "new-source-ip", Severity: sev,
			Identity: fmt.Sprintf("id-%d", i), FirstSeen: t0.Add(time.Duration(i) * time.Second),
			LastSeen: t0.Add(time.Duration(i) * time.Second), Count: 1,
			Evidence: []analyze.Evidence{{File: "audit.log", Line: i + 1, Time: t0}}})
	}
	var buf bytes.Buffer
	if err := (SARIF{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				Level string `json:"level"`
			} `json:"results"`
			Invocations []struct {
				Notes []struct {
					Message struct{ Text string } `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	run := doc.Runs[0]
	if len(run.Results) != MaxSARIFResults {
		t.Fatalf("%d results, want the cap %d", len(run.Results), MaxSARIFResults)
	}
	errors := 0
	for _, res := range run.Results {
		if res.Level == "error" {
			errors++
		}
	}
	if errors != (n+999)/1000 {
		t.Errorf("%d critical results kept, want all %d", errors, (n+999)/1000)
	}
	found := false
	for _, note := range run.Invocations[0].Notes {
		found = found || strings.Contains(note.Message.Text, "7 lower-severity findings are left out")
	}
	if !found {
		t.Error("the left-out findings are not announced in the SARIF run")
	}
}
