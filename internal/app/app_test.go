package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

const incident = "../../testdata/vault/incident.jsonl"

// TestScanJSON drives a whole scan without cobra: the incident fixture into a JSON report in a
// buffer, the run summary on the error stream, and the outcome cmd turns into an exit code.
func TestScanJSON(t *testing.T) {
	io, out, errb := testIO()
	res, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json"}, Paths: []string{incident}})
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errb)
	}
	var doc struct {
		Tool     string `json:"tool"`
		Command  string `json:"command"`
		Findings []struct {
			Rule string `json:"rule"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	var rules []string
	for _, f := range doc.Findings {
		rules = append(rules, f.Rule)
	}
	for _, want := range []string{"bulk-read", "dual-source-ip", "new-resource"} {
		if !slices.Contains(rules, want) {
			t.Errorf("findings %v lack %s", rules, want)
		}
	}
	if doc.Tool != "vaultsentry" || doc.Command != "scan" {
		t.Errorf("tool %q command %q", doc.Tool, doc.Command)
	}
	if res.Findings != len(doc.Findings) || res.Result == nil || !res.Reaches(analyze.Info) || res.Reaches(res.Worst+1) {
		t.Errorf("outcome %d findings, worst %s; the report has %d", res.Findings, res.Worst, len(doc.Findings))
	}
	if !strings.Contains(errb.String(), "── vaultsentry run summary ──") {
		t.Errorf("no run summary on the error stream: %q", errb)
	}

	// --min-severity hides findings from the report, not from the outcome (--fail-on sees them).
	io, out, _ = testIO()
	hidden, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true, MinSeverity: analyze.Critical + 1}, Paths: []string{incident}})
	if err != nil || hidden.Findings != res.Findings || hidden.Result.Hidden != res.Findings || strings.Contains(out.String(), `"rule"`) {
		t.Errorf("min-severity above critical: %+v, %v", hidden, err)
	}
}

// TestScanNoEvent: an input that yields no event is a RuntimeError (exit 3), never "no findings",
// after each file is described on the error stream.
func TestScanNoEvent(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("shopping list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	io, out, errb := testIO()
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true}, Paths: []string{notes}})
	var re *RuntimeError
	if !errors.As(err, &re) || err.Error() != "scan: no input produced an event (1 file)" || !strings.Contains(re.Hint, "give Vault / OpenBao audit logs") {
		t.Fatalf("err = %v (%T), want the no-event runtime error with a hint", err, err)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "notes.txt: ") {
		t.Errorf("stdout %q, stderr %q: no report, and the file described", out, errb)
	}

	_, err = Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true}, Paths: []string{filepath.Join(dir, "missing.log")}})
	if !errors.As(err, &re) || !errors.Is(err, sources.ErrNothingRead) {
		t.Errorf("a path that matches nothing: %v, want a RuntimeError wrapping ErrNothingRead", err)
	}
}

// TestScanLearnOnly: baseline learn writes the baseline and prints one line instead of a report;
// the next run finds it and ignores what it learned.
func TestScanLearnOnly(t *testing.T) {
	bl := filepath.Join(t.TempDir(), "state.vsb")
	io, out, errb := testIO()
	res, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true,
		BaselinePath: bl, UpdateBaseline: true, LearnOnly: true}, Paths: []string{incident}})
	if err != nil || res.Result != nil || out.Len() != 0 || !strings.HasPrefix(errb.String(), "learned ") {
		t.Fatalf("learn: %+v, %v, stdout %q, stderr %q", res, err, out, errb)
	}
	if _, err := os.Stat(bl); err != nil {
		t.Fatalf("baseline not written: %v", err)
	}
	_, out, _ = testIO()
	if err := ShowBaseline(out, bl, ""); err != nil || !strings.Contains(out.String(), "Identities: ") {
		t.Errorf("show baseline: %v\n%s", err, out)
	}
}
