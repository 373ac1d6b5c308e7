package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// readMetrics parses a --metrics file back as node_exporter's textfile collector does.
func readMetrics(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no metrics file: %v", err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return fams
}

func gaugeSum(fams map[string]*dto.MetricFamily, name string) (sum, maxV float64) {
	for _, m := range fams[name].GetMetric() {
		v := m.GetGauge().GetValue()
		sum += v
		maxV = max(maxV, v)
	}
	return sum, maxV
}

// TestScanMetrics: --metrics beside a JSON report says what the report says.
func TestScanMetrics(t *testing.T) {
	dir := t.TempDir()
	report, prom := filepath.Join(dir, "f.json"), filepath.Join(dir, "m.prom")
	io, _, errb := testIO()
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Quiet: true, Outputs: []Output{{Path: report, Format: "json"}},
		Metrics: prom, MetricsTopIdentities: 3}, Paths: []string{incident}})
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errb)
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
	fams := readMetrics(t, prom)
	if n, _ := gaugeSum(fams, "vaultsentry_findings"); n != float64(len(doc.Findings)) {
		t.Errorf("findings sum to %v, the report has %d", n, len(doc.Findings))
	}
	if n, _ := gaugeSum(fams, "vaultsentry_events"); n != float64(doc.Stats.Events) {
		t.Errorf("events sum to %v, the report has %d", n, doc.Stats.Events)
	}
	if n, _ := gaugeSum(fams, "vaultsentry_malformed_lines"); n != float64(doc.Stats.Malformed) {
		t.Errorf("malformed lines sum to %v, the report has %d", n, doc.Stats.Malformed)
	}
	last, _ := time.Parse(time.RFC3339Nano, doc.Stats.Last)
	if _, newest := gaugeSum(fams, "vaultsentry_last_event_timestamp_seconds"); time.Unix(0, int64(newest*1e9)).Sub(last).Abs() > time.Millisecond {
		t.Errorf("newest stream event %v, the report's last event %v", newest, doc.Stats.Last)
	}
	if n := len(fams["vaultsentry_identity_reads"].GetMetric()); n != 3 {
		t.Errorf("%d identities listed, want 3", n)
	}
	if ok, _ := gaugeSum(fams, "vaultsentry_run_success"); ok != 1 {
		t.Errorf("run_success %v", ok)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("left behind in the directory: %v", entries)
	}
}

// TestScanMetricsFailedRun: a report that cannot be written still leaves a metrics file that
// says the run failed; a metrics file that cannot be written fails a run that had not (exit 3),
// with a hint about --metrics, after the report.
func TestScanMetricsFailedRun(t *testing.T) {
	dir := t.TempDir()
	prom := filepath.Join(dir, "m.prom")
	io, _, _ := testIO()
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Quiet: true,
		Outputs: []Output{{Path: filepath.Join(dir, "missing", "f.json"), Format: "json"}}, Metrics: prom}, Paths: []string{incident}})
	var re *RuntimeError
	if !errors.As(err, &re) {
		t.Fatalf("err %v, want the report's runtime error", err)
	}
	fams := readMetrics(t, prom)
	if ok, _ := gaugeSum(fams, "vaultsentry_run_success"); ok != 0 || fams["vaultsentry_run_success"] == nil {
		t.Errorf("run_success %v after a failed report", ok)
	}
	if n, _ := gaugeSum(fams, "vaultsentry_events"); n == 0 {
		t.Error("a failed run's metrics lost its events")
	}

	io, out, _ := testIO()
	_, err = Scan(context.Background(), ScanRequest{Options: Options{IO: io, Quiet: true, Format: "json",
		Metrics: filepath.Join(dir, "missing", "m.prom")}, Paths: []string{incident}})
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "write metrics") || !strings.Contains(re.Hint, "--metrics") || strings.Contains(re.Hint, "--output") {
		t.Fatalf("err %v (hint %q), want a runtime error about the metrics file", err, re.Hint)
	}
	if !strings.Contains(out.String(), `"findings"`) {
		t.Error("the report was not written before the metrics failed")
	}
}

// TestScanMetricsNoEvent: a run that fails before its pipeline (no input gave an event) writes
// the run metrics alone, with vaultsentry_run_success 0, in place of the previous run's file.
func TestScanMetricsNoEvent(t *testing.T) {
	dir := t.TempDir()
	notes, prom := filepath.Join(dir, "notes.txt"), filepath.Join(dir, "m.prom")
	if err := os.WriteFile(notes, []byte("shopping list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prom, []byte("vaultsentry_run_success 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	io, _, _ := testIO()
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Quiet: true, Format: "json", Metrics: prom}, Paths: []string{notes}})
	if err == nil || !strings.Contains(err.Error(), "no input produced an event") {
		t.Fatalf("err %v, want the no-event error", err)
	}
	fams := readMetrics(t, prom)
	if fams["vaultsentry_run_success"] == nil || fams["vaultsentry_run_success"].GetMetric()[0].GetGauge().GetValue() != 0 || fams["vaultsentry_run_timestamp_seconds"] == nil {
		t.Errorf("metrics after a run without events: %v", fams)
	}
	if fams["vaultsentry_events"] != nil {
		t.Error("events reported for a run that read none")
	}

	// CloudTrail files too.
	io, _, _ = testIO()
	if _, err := CloudTrail(context.Background(), CloudTrailRequest{Options: Options{IO: io, Quiet: true, Format: "json", Metrics: prom},
		From: []string{filepath.Join(dir, "missing.json")}}); err == nil {
		t.Fatal("no error for a missing file")
	}
	if fams := readMetrics(t, prom); fams["vaultsentry_run_success"].GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Error("cloudtrail: run_success is not 0")
	}
}
