package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/lookupstub"
)

// ctReport is the part of the JSON report these tests read.
type ctReport struct {
	Stats struct {
		Lines      int `json:"lines"`
		Parsed     int `json:"parsed"`
		Malformed  int `json:"malformed"`
		Skipped    int `json:"skipped"`
		Events     int `json:"events"`
		Duplicates int `json:"duplicates"`
	} `json:"stats"`
	Findings []struct {
		Rule      string   `json:"rule"`
		Identity  string   `json:"identity"`
		Resources []string `json:"resources"`
		Count     int      `json:"count"`
	} `json:"findings"`
}

func readReport(t *testing.T, path string) ctReport {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r ctReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, data)
	}
	return r
}

// stubEnv points the AWS SDK of the binary at the stand-in, with dummy credentials and no
// instance metadata lookups.
func stubEnv(url string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ENDPOINT_URL="+url,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
		"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"NO_COLOR=1",
	)
}

// corpusRecords reads the CloudTrail records of corpus files (JSON arrays or single records).
func corpusRecords(t *testing.T, files ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", "cloudtrail", f))
		if err != nil {
			t.Fatal(err)
		}
		var arr []json.RawMessage
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
			if err := json.Unmarshal(data, &arr); err != nil {
				t.Fatal(err)
			}
		} else {
			arr = []json.RawMessage{data}
		}
		for _, r := range arr {
			var buf bytes.Buffer
			if err := json.Compact(&buf, r); err != nil {
				t.Fatal(err)
			}
			out = append(out, buf.Bytes())
		}
	}
	return out
}

func runVS(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestCloudTrailLookupEvents runs the binary against the LookupEvents stand-in: a real
// credential-access detonation (20 secrets pulled in 4 seconds) and trail tampering, served
// newest first in pages, with throttling; then re-runs the saved records offline.
func TestCloudTrailLookupEvents(t *testing.T) {
	recs := corpusRecords(t,
		"stratus-aws.credential-access.secretsmanager-retrieve-secrets.json",
		"stratus-aws.defense-evasion.cloudtrail-stop.json")
	stub, err := lookupstub.New(recs)
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	stub.ThrottleEvery = 3

	dir := t.TempDir()
	cfg := filepath.Join(dir, "vaultsentry.yaml")
	os.WriteFile(cfg, []byte("thresholds:\n  bulk-read:\n    count: 15\n    distinct: 10\n"), 0o644)
	out, save := filepath.Join(dir, "live.json"), filepath.Join(dir, "saved.ndjson")
	env := stubEnv(stub.URL)
	_, stderr, code := runVS(t, env, "cloudtrail", "--config", cfg,
		"--region", "cn-centraleast-1r", "--region", "apiso-centralnorth-2r",
		"--since", "2024-07-01T00:00:00Z", "--until", "2024-09-01T00:00:00Z", "--max-rps", "8",
		"--fail-on", "high", "--format", "json", "-o", out, "--save", save)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (findings at --fail-on high)\n%s", code, stderr)
	}
	if stub.Throttled == 0 || stub.Rejected != 0 {
		t.Errorf("stub: %d throttled (want some), %d rejected requests (want none)", stub.Throttled, stub.Rejected)
	}
	if r := stub.MaxRate(); r > 9 {
		t.Errorf("%d requests within one second in one region, above --max-rps 8", r)
	}
	live := readReport(t, out)
	if live.Stats.Lines != len(recs) || live.Stats.Parsed != len(recs) || live.Stats.Malformed != 0 {
		t.Errorf("stats %+v, want %d records parsed", live.Stats, len(recs))
	}
	rules := map[string]bool{}
	for _, f := range live.Findings {
		rules[f.Rule] = true
	}
	if !rules["bulk-read"] {
		t.Errorf("no bulk-read finding: %+v\n%s", live.Findings, stderr)
	}
	if strings.Contains(stderr, "fetching") {
		t.Errorf("progress printed although stderr is not a terminal:\n%s", stderr)
	}

	// The saved records, read offline, give the same findings.
	saved, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(saved, []byte("\n")); n != len(recs) {
		t.Errorf("--save wrote %d lines, want %d", n, len(recs))
	}
	out2 := filepath.Join(dir, "offline.json")
	_, stderr, code = runVS(t, env, "cloudtrail", "--config", cfg, "--from", save, "--format", "json", "-o", out2)
	if code != 0 {
		t.Fatalf("offline exit %d\n%s", code, stderr)
	}
	off := readReport(t, out2)
	if len(off.Findings) != len(live.Findings) {
		t.Errorf("offline %d findings, live %d", len(off.Findings), len(live.Findings))
	}
}

// TestCloudTrailLookupEventsNoRegion: without --region and without a configured region the
// command says what to do and exits 2.
func TestCloudTrailLookupEventsNoRegion(t *testing.T) {
	stub, err := lookupstub.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	_, stderr, code := runVS(t, stubEnv(stub.URL), "cloudtrail", "--since", "24h")
	if code != 2 || !strings.Contains(stderr, "--region") {
		t.Fatalf("exit %d, want 2 with a hint about --region:\n%s", code, stderr)
	}
}

// TestCloudTrailScenarioOnline serves the practice scenario's records.ndjson through the
// stand-in and scores the findings, when the scenario is present (VAULTSENTRY_SCENARIOS names
// the scenarios folder). It is slow on purpose: the client keeps LookupEvents' 2 requests a
// second.
func TestCloudTrailScenarioOnline(t *testing.T) {
	root := os.Getenv("VAULTSENTRY_SCENARIOS")
	if root == "" {
		t.Skip("VAULTSENTRY_SCENARIOS not set")
	}
	c := filepath.Join(root, "cloudtrail")
	recs, err := lookupstub.ReadNDJSON(filepath.Join(c, "records.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	stub, err := lookupstub.New(recs)
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	stub.ThrottleEvery = 7
	out := filepath.Join(t.TempDir(), "ct-live.json")
	_, stderr, code := runVS(t, stubEnv(stub.URL), "cloudtrail", "--config", filepath.Join(c, "vaultsentry.yaml"),
		"--region", "eu-west-1", "--region", "eu-central-1", "--since", "2026-06-01T00:00:00Z",
		"--learn-until", "2026-09-11T12:00:00Z", "--format", "json", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	t.Log(stderr)
	if r := stub.MaxRate(); r > 3 {
		t.Errorf("%d requests within one second in one region", r)
	}
	score := exec.Command("python3", filepath.Join(root, "score.py"), filepath.Join(c, "truth.json"), out, "--skip", "s3_only")
	if rules := os.Getenv("VAULTSENTRY_SCORE_RULES"); rules != "" {
		score.Args = append(score.Args, "--rules", rules)
	}
	res, err := score.CombinedOutput()
	t.Logf("score:\n%s", res)
	if err != nil {
		t.Errorf("score.py: %v", err)
	}
}
