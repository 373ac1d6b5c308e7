package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// vaultLine writes one request/response pair of the file audit device.
func vaultLine(t time.Time, id, display, entity, accessor, op, path, addr, errMsg string) string {
	auth := map[string]any{"accessor": accessor, "display_name": display, "entity_id": entity,
		"policies": []string{"default", display}, "token_type": "service"}
	req := map[string]any{"id": id, "operation": op, "path": path, "remote_address": addr,
		"namespace": map[string]any{"id": "root"}}
	mount := strings.SplitN(path, "/", 2)[0] + "/"
	req["mount_point"], req["mount_type"] = mount, "kv"
	e1 := map[string]any{"time": t.UTC().Format(time.RFC3339Nano), "type": "request", "auth": auth, "request": req}
	e2 := map[string]any{"time": t.Add(time.Millisecond).UTC().Format(time.RFC3339Nano), "type": "response", "auth": auth,
		"request": req, "response": map[string]any{"data": map[string]any{"value": "hmac-sha256:00"}}}
	if errMsg != "" {
		e1["error"], e2["error"] = errMsg, errMsg
	}
	a, _ := json.Marshal(e1)
	b, _ := json.Marshal(e2)
	return string(a) + "\n" + string(b) + "\n"
}

// genHistory writes 14 days of normal traffic, with the incidents of the baseline rules on day 14:
// the payment service reads an admin secret, a contractor idle for 40 days logs in from abroad,
// an operator works from a new address, and ESO reads one secret outside its hourly set.
func genHistory(t *testing.T, dir string) (path string, day14 time.Time) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	day14 = start.Add(13 * 24 * time.Hour)
	var b strings.Builder
	n := 0
	line := func(at time.Time, display, op, p, addr string) {
		n++
		b.WriteString(vaultLine(at, fmt.Sprintf("req-%d", n), display, "ent-"+display, "hmac-sha256:acc-"+display, op, p, addr, ""))
	}
	// The contractor's last work was 40 days before day 14.
	for d := range 3 {
		line(day14.Add(-time.Duration(42-d)*24*time.Hour+10*time.Hour), "userpass-contractor", "read", "kv/data/projects/migration", "198.51.100.20")
	}
	for d := range 14 {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		for m := 0; m < 24*60; m += 20 {
			line(day.Add(time.Duration(m)*time.Minute), "k8s-payments", "read", "kv/data/prod/payments/db", "10.20.1.5")
		}
		// ESO syncs 12 secrets every hour.
		for h := range 24 {
			for s := range 12 {
				line(day.Add(time.Duration(h)*time.Hour+time.Duration(s)*100*time.Millisecond), "k8s-eso", "read",
					fmt.Sprintf("kv/data/prod/shared/s%02d", s), "10.20.9.9")
			}
		}
		if d%7 < 5 {
			line(day.Add(9*time.Hour), "oidc-ops", "read", "kv/data/prod/payments/db", "192.0.2.10")
		}
	}
	line(day14.Add(14*time.Hour), "k8s-payments", "read", "kv/data/admin/certificates/signing-key", "10.20.1.5")
	line(day14.Add(15*time.Hour), "userpass-contractor", "read", "kv/data/projects/migration", "203.0.113.66")
	line(day14.Add(16*time.Hour), "oidc-ops", "read", "kv/data/prod/payments/db", "2001:db8:77::1")
	// ESO's hourly sync picks up one secret outside its set.
	line(day14.Add(17*time.Hour+time.Second), "k8s-eso", "read", "kv/data/prod/treasury/swift", "10.20.9.9")
	path = filepath.Join(dir, "audit.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, day14
}

type jsonReport struct {
	Findings []struct {
		Rule        string   `json:"rule"`
		DisplayName string   `json:"display_name"`
		Resources   []string `json:"resources"`
	} `json:"findings"`
}

func runBinary(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func findingKeys(t *testing.T, js string) []string {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, js)
	}
	var keys []string
	for _, f := range r.Findings {
		keys = append(keys, f.Rule+" "+f.DisplayName)
	}
	slices.Sort(keys)
	return keys
}

var baselineRules = map[string]bool{"new-resource": true, "dormant-identity": true, "new-source-ip": true, "bulk-read": true}

func onlyBaselineRules(keys []string) []string {
	var out []string
	for _, k := range keys {
		if baselineRules[strings.Fields(k)[0]] {
			out = append(out, k)
		}
	}
	return out
}

// TestBaselineLearnThenDetect: one run learning from the first 13 days reports only day 14's incidents.
func TestBaselineLearnThenDetect(t *testing.T) {
	dir := t.TempDir()
	log, day14 := genHistory(t, dir)
	out, stderr, code := runBinary(t, "scan", "--format", "json", "--learn-until", day14.Format(time.RFC3339), log)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{"dormant-identity userpass-contractor", "new-resource k8s-eso", "new-resource k8s-payments", "new-source-ip oidc-ops", "new-source-ip userpass-contractor"}
	if got := onlyBaselineRules(findingKeys(t, out)); !slices.Equal(got, want) {
		t.Errorf("findings:\n got %q\nwant %q", got, want)
	}
}

// TestBaselineCronCarriesState: run 1 learns into a baseline file, run 2 reports only what is new.
func TestBaselineCronCarriesState(t *testing.T) {
	dir := t.TempDir()
	log, day14 := genHistory(t, dir)
	state := filepath.Join(dir, "state.vsb")
	_, stderr, code := runBinary(t, "scan", "--format", "json", "--baseline", state, "--update-baseline",
		"--until", day14.Format(time.RFC3339), log)
	if code != 0 {
		t.Fatalf("run 1 exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("run 1 wrote no baseline: %v", err)
	}
	out, stderr, code := runBinary(t, "scan", "--format", "json", "--baseline", state, "--since", day14.Format(time.RFC3339), log)
	if code != 0 {
		t.Fatalf("run 2 exit %d: %s", code, stderr)
	}
	want := []string{"dormant-identity userpass-contractor", "new-resource k8s-eso", "new-resource k8s-payments", "new-source-ip oidc-ops", "new-source-ip userpass-contractor"}
	if got := onlyBaselineRules(findingKeys(t, out)); !slices.Equal(got, want) {
		t.Errorf("run 2 findings:\n got %q\nwant %q", got, want)
	}
	// Without the baseline, run 2 has no history and reports none of them.
	out, _, _ = runBinary(t, "scan", "--format", "json", "--since", day14.Format(time.RFC3339), log)
	if got := onlyBaselineRules(findingKeys(t, out)); slices.Contains(got, "dormant-identity userpass-contractor") {
		t.Errorf("without a baseline there is no history, got %q", got)
	}
	show, stderr, code := runBinary(t, "baseline", "show", state, "--identity", "k8s-eso")
	if code != 0 {
		t.Fatalf("baseline show exit %d: %s", code, stderr)
	}
	for _, w := range []string{"k8s-eso", "secrets: 12", "kv/prod/shared/s07", "sha256:", "Identities: 1 shown of 4"} {
		if !strings.Contains(show, w) {
			t.Errorf("baseline show lacks %q:\n%s", w, show)
		}
	}
}

// TestBaselineFileErrors: corrupt and future-version files are exit 3 and left untouched.
func TestBaselineFileErrors(t *testing.T) {
	dir := t.TempDir()
	log, _ := genHistory(t, dir)
	bad := filepath.Join(dir, "bad.vsb")
	os.WriteFile(bad, []byte("not a baseline"), 0o600)
	_, stderr, code := runBinary(t, "scan", "--baseline", bad, "--update-baseline", log)
	if code != 3 || !strings.Contains(stderr, "corrupt") {
		t.Errorf("corrupt baseline: exit %d, stderr %s", code, stderr)
	}
	if b, _ := os.ReadFile(bad); string(b) != "not a baseline" {
		t.Error("corrupt baseline was overwritten")
	}
	_, stderr, code = runBinary(t, "scan", "--update-baseline", log)
	if code != 2 || !strings.Contains(stderr, "--baseline") {
		t.Errorf("--update-baseline without --baseline: exit %d, stderr %s", code, stderr)
	}
}

// baselineEvents is what `baseline show` says of one identity's event count.
func baselineEvents(t *testing.T, state, identity string) string {
	t.Helper()
	show, stderr, code := runBinary(t, "baseline", "show", state, "--identity", identity)
	if code != 0 {
		t.Fatalf("baseline show exit %d: %s", code, stderr)
	}
	for l := range strings.SplitSeq(show, "\n") {
		if strings.Contains(l, "first seen") {
			f := strings.Fields(l)
			return f[len(f)-2]
		}
	}
	t.Fatalf("baseline show has no events line for %s:\n%s", identity, show)
	return ""
}

// reportNotes returns the notes of a JSON report.
func reportNotes(t *testing.T, js string) string {
	t.Helper()
	var r struct {
		Stats struct {
			Notes []string `json:"notes"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	return strings.Join(r.Stats.Notes, "\n")
}

// TestBaselineDailyHistory is the daily cron job over a log directory: day 13's run starts with
// no baseline and learns the whole file it finds (history before --since included, not only the
// last 24 hours); day 14's run over the grown file reports day 14's incidents, which need the
// full history (the contractor's last work was 40 days earlier), and learns nothing twice; the
// same run again, and a run after logrotate renamed and compressed the file, add nothing twice.
func TestBaselineDailyHistory(t *testing.T) {
	dir := t.TempDir()
	full, day14 := genHistory(t, dir)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	var before, day14Lines []string // the file as it was on day 13, and what day 14 adds
	payments14 := 0
	for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		var e struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		if e.Time.Before(day14) {
			before = append(before, l)
			continue
		}
		day14Lines = append(day14Lines, l)
		if strings.Contains(l, `"k8s-payments"`) && strings.Contains(l, `"type":"request"`) {
			payments14++
		}
	}
	logDir := filepath.Join(dir, "logs")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(logDir, "audit.log")
	write := func(lines []string) {
		t.Helper()
		if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(dir, "state.vsb")
	cron := func(name string) (string, string) {
		t.Helper()
		out, stderr, code := runBinary(t, "scan", "--format", "json", "--baseline", state, "--update-baseline", "--since", "24h", logDir)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		return out, stderr
	}

	write(before)
	out, stderr := cron("day 13")
	for _, w := range []string{"had no history yet", "learned as history, not reported"} {
		if !strings.Contains(stderr, w) || !strings.Contains(reportNotes(t, out), w) {
			t.Errorf("day 13: stderr and the report's notes should say %q:\nstderr: %s\nnotes: %s", w, stderr, reportNotes(t, out))
		}
	}
	if got := onlyBaselineRules(findingKeys(t, out)); slices.Contains(got, "dormant-identity userpass-contractor") {
		t.Errorf("day 13 has no incident of day 14: %q", got)
	}
	payments13, err := strconv.Atoi(baselineEvents(t, state, "k8s-payments"))
	if err != nil {
		t.Fatal(err)
	}

	write(append(slices.Clone(before), day14Lines...)) // the device appended day 14
	out, stderr = cron("day 14")
	want := []string{"dormant-identity userpass-contractor", "new-resource k8s-eso", "new-resource k8s-payments", "new-source-ip oidc-ops", "new-source-ip userpass-contractor"}
	if got := onlyBaselineRules(findingKeys(t, out)); !slices.Equal(got, want) {
		t.Errorf("day 14 findings:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(stderr, "not learned twice") {
		t.Errorf("day 14's window overlaps what day 13 learned; stderr should say so:\n%s", stderr)
	}
	wantEvents := strconv.Itoa(payments13 + payments14)
	if got := baselineEvents(t, state, "k8s-payments"); got != wantEvents {
		t.Errorf("after day 14 the baseline counts %s events of k8s-payments, want %s (each event learned once)", got, wantEvents)
	}

	cron("day 14 again")
	if got := baselineEvents(t, state, "k8s-payments"); got != wantEvents {
		t.Errorf("rerunning day 14 learned again: %s events of k8s-payments, want %s", got, wantEvents)
	}

	// logrotate: audit.log becomes audit.log-1.gz, and a new audit.log starts.
	if err := os.WriteFile(log+"-1.gz", testutil.Gzip(t, []byte(strings.Join(append(slices.Clone(before), day14Lines...), "\n")+"\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	day15 := day14.Add(24 * time.Hour)
	write([]string{strings.TrimSuffix(vaultLine(day15, "req-d15", "k8s-payments", "ent-k8s-payments", "hmac-sha256:acc-k8s-payments",
		"read", "kv/data/prod/payments/db", "10.20.1.5", ""), "\n")})
	cron("day 15")
	wantEvents = strconv.Itoa(payments13 + payments14 + 1)
	if got := baselineEvents(t, state, "k8s-payments"); got != wantEvents {
		t.Errorf("after the rotation the baseline counts %s events of k8s-payments, want %s (the rotated file was learned already)", got, wantEvents)
	}
}
