package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsFile runs the built binary with --format json -o f.json --metrics m.prom over a
// sample with the incident, the attacker-strings capture and a line whose identity holds
// quotes, newlines and escape sequences: the metrics parse back as node_exporter reads them,
// and agree with the JSON report.
func TestMetricsFile(t *testing.T) {
	wd, _ := os.Getwd()
	dir := t.TempDir()
	at := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	hostile := "evil\"} 1\n# TYPE vaultsentry_run_success gauge\nvaultsentry_run_success 1\x1b[31m\r\x00\xff"
	planted := filepath.Join(dir, "planted.log")
	if err := os.WriteFile(planted, []byte(vaultLine(at, "req-1", "evil", hostile, "hmac-sha256:acc", "read", "kv/data/prod/db", "203.0.113.9", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		filepath.Join(wd, "testdata", "vault", "incident.jsonl"),
		filepath.Join(wd, "testdata", "vault", "openbao-capture4-attacker-strings-audit.log"),
		planted,
	}
	report, prom := filepath.Join(dir, "f.json"), filepath.Join(dir, "m.prom")
	_, stderr, code := run(t, dir, append([]string{"scan", "-q", "--format", "json", "-o", report, "--metrics", prom}, inputs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Stats struct {
			Events    int    `json:"events"`
			Malformed int    `json:"malformed"`
			Last      string `json:"last_event"`
		} `json:"stats"`
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || len(doc.Findings) == 0 {
		t.Fatalf("report: %v, %d findings", err, len(doc.Findings))
	}

	fams := parseMetricsFile(t, prom)
	sum := func(name string) (total, newest float64) {
		for _, m := range fams[name].GetMetric() {
			total += m.GetGauge().GetValue()
			newest = max(newest, m.GetGauge().GetValue())
		}
		return total, newest
	}
	if n, _ := sum("vaultsentry_findings"); n != float64(len(doc.Findings)) {
		t.Errorf("vaultsentry_findings sum to %v; the report has %d findings", n, len(doc.Findings))
	}
	if n, _ := sum("vaultsentry_events"); n != float64(doc.Stats.Events) {
		t.Errorf("vaultsentry_events sum to %v; the report has %d events", n, doc.Stats.Events)
	}
	if n, _ := sum("vaultsentry_malformed_lines"); n != float64(doc.Stats.Malformed) {
		t.Errorf("vaultsentry_malformed_lines sum to %v; the report has %d", n, doc.Stats.Malformed)
	}
	last, err := time.Parse(time.RFC3339Nano, doc.Stats.Last)
	if err != nil {
		t.Fatalf("the report's last_event %q: %v", doc.Stats.Last, err)
	}
	if _, newest := sum("vaultsentry_last_event_timestamp_seconds"); time.Unix(0, int64(newest*1e9)).Sub(last).Abs() > time.Millisecond {
		t.Errorf("newest vaultsentry_last_event_timestamp_seconds %v; the report's last event is %s", newest, doc.Stats.Last)
	}
	if ok, _ := sum("vaultsentry_run_success"); ok != 1 || len(fams["vaultsentry_run_success"].GetMetric()) != 1 {
		t.Errorf("vaultsentry_run_success: %v", fams["vaultsentry_run_success"].GetMetric())
	}
	found := false
	for _, m := range fams["vaultsentry_identity_reads"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "identity" && strings.HasPrefix(l.GetValue(), `evil"} 1\u000a# TYPE`) {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the hostile identity is not listed, sanitized: %v", fams["vaultsentry_identity_reads"].GetMetric())
	}

	// A metrics file that cannot be written is exit 3 after a complete report.
	os.Remove(report)
	_, stderr, code = run(t, dir, append([]string{"scan", "-q", "--format", "json", "-o", report, "--metrics", filepath.Join(dir, "missing", "m.prom")}, inputs...)...)
	if code != 3 || !strings.Contains(string(stderr), "write metrics") || !strings.Contains(string(stderr), "hint:") {
		t.Errorf("exit %d, stderr %q: want 3 and the metrics error with a hint", code, stderr)
	}
	completeReport(t, report)

	// A report that cannot be written leaves metrics that say so.
	_, _, code = run(t, dir, append([]string{"scan", "-q", "--format", "json", "-o", filepath.Join(dir, "missing", "f.json"), "--metrics", prom}, inputs...)...)
	if code != 3 {
		t.Errorf("exit %d for an unwritable report, want 3", code)
	}
	if fams := parseMetricsFile(t, prom); fams["vaultsentry_run_success"].GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Error("vaultsentry_run_success is not 0 after a failed report")
	}

	// A negative identity cap is a usage error.
	if _, stderr, code = run(t, dir, "scan", "--metrics", prom, "--metrics-top-identities", "-1", inputs[0]); code != 2 || !strings.Contains(string(stderr), "hint:") {
		t.Errorf("exit %d, stderr %q: want 2 with a hint", code, stderr)
	}
}

// parseMetricsFile parses a metrics file with the text parser node_exporter's textfile
// collector uses, and checks every label value is printable UTF-8.
func parseMetricsFile(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no metrics file: %v", err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", path, err, data)
	}
	for name, mf := range fams {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if v := l.GetValue(); !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
					t.Errorf("%s: label %s=%q holds a control character", name, l.GetName(), v)
				}
			}
		}
	}
	return fams
}
