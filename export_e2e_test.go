package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runVS runs the built binary in dir and returns its standard output; exit 1 (findings) is a
// success here.
func runExportVS(t *testing.T, dir string, args ...string) ([]byte, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("vaultsentry %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes(), stderr.String()
}

// reportFindings is the findings of a JSON report, each as the whole JSON object: a round
// trip must keep every field (evidence with its file and line, counts, addresses, values read).
func reportFindings(t *testing.T, out []byte) []string {
	t.Helper()
	var rep struct {
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	keys := make([]string, len(rep.Findings))
	for i, f := range rep.Findings {
		var m map[string]any
		if err := json.Unmarshal(f, &m); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(m)
		keys[i] = string(b)
	}
	return keys
}

// exportRoundTrip exports inputs in every format scan reads back and compares the findings of
// the export with those of the logs, field for field.
func exportRoundTrip(t *testing.T, dir string, inputs, scanArgs []string) {
	t.Helper()
	raw, _ := runExportVS(t, dir, append(append([]string{"scan", "--format", "json"}, scanArgs...), inputs...)...)
	want := reportFindings(t, raw)
	if len(want) == 0 {
		t.Fatal("the logs give no finding: nothing is compared")
	}
	for _, format := range []string{"parquet", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "lake")
			_, summary := runExportVS(t, dir, append([]string{"export", "--format", format, "-o", out}, inputs...)...)
			if !strings.Contains(summary, "Events exported:") {
				t.Errorf("export summary:\n%s", summary)
			}
			days, err := filepath.Glob(filepath.Join(out, "dt=*"))
			if err != nil || len(days) == 0 {
				t.Fatalf("no dt= partition under %s", out)
			}
			got, _ := runExportVS(t, dir, append(append([]string{"scan", "--format", "json"}, scanArgs...), out)...)
			g := reportFindings(t, got)
			if strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings of the %s export differ from the logs':\nlogs:\n%s\nexport:\n%s", format,
					strings.Join(want, "\n"), strings.Join(g, "\n"))
			}
		})
	}
}

// TestExportRoundTripFixtures: the repository's own captures of each store, so the round trip
// is tested on a clean clone.
func TestExportRoundTripFixtures(t *testing.T) {
	wd, _ := os.Getwd()
	for name, in := range map[string][]string{
		"vault":      {"testdata/vault/openbao-capture2-audit.log", "testdata/vault/openbao-capture1-audit.log"},
		"cloudtrail": {"testdata/cloudtrail"},
		"kubernetes": {"testdata/k8saudit"},
	} {
		t.Run(name, func(t *testing.T) {
			abs := make([]string, len(in))
			for i, p := range in {
				abs[i] = filepath.Join(wd, p)
			}
			exportRoundTrip(t, wd, abs, nil)
		})
	}
}

// TestExportRoundTripScenarios: the practice scenarios, with their configurations and learning
// periods, when they sit beside the checkout.
func TestExportRoundTripScenarios(t *testing.T) {
	base, _ := filepath.Abs("../shared/scenarios")
	if _, err := os.Stat(filepath.Join(base, "README.md")); err != nil {
		t.Skipf("practice scenarios not found (%v): TestExportRoundTripFixtures still runs", err)
	}
	for _, sc := range []string{"vault", "cloudtrail", "kubernetes"} {
		t.Run(sc, func(t *testing.T) {
			dir := filepath.Join(base, sc)
			b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
			if err != nil {
				t.Fatal(err)
			}
			var tr struct {
				Files      []string `json:"files"`
				LearnUntil string   `json:"learn_until"`
			}
			if err := json.Unmarshal(b, &tr); err != nil {
				t.Fatal(err)
			}
			if len(tr.Files) == 0 {
				tr.Files = []string{"AWSLogs"}
			}
			exportRoundTrip(t, dir, tr.Files, []string{"--config", "vaultsentry.yaml", "--learn-until", tr.LearnUntil})
		})
	}
}
