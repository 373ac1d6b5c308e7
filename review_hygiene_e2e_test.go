package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// hygieneLog writes two weeks of a Vault audit log with the hygiene facts of a periodic review
// planted among quiet traffic, and the inventory of the store. Planted:
//   - kv/prod/billing/api-key: read daily by its workload, rotated on day 9, never read again
//     (rotated-never-read: the propagation failure);
//   - kv/prod/legacy/ldap: read daily, last written 200 days ago per the inventory
//     (rotation-overdue from the inventory's write time);
//   - kv/prod/old/unused: in the inventory, never read (never-read);
//   - oidc-alice, a person, reads kv/prod/payments/db on day 10 (person-reads-production);
//   - gitlab-ci-staging, limited to kv/staging/* by ci_scopes, reads kv/prod/payments/db on
//     day 11 (ci-outside-scope).
//
// Quiet: kv/prod/payments/db, rotated on day 3 and read after by its consumer; kv/staging/app/
// config, read daily by CI in scope and rotated on day 5; both written recently per the
// inventory.
func hygieneLog(t *testing.T, dir string) (logPath, invPath, cfgPath string) {
	t.Helper()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	n := 0
	entry := func(at time.Time, display, entity, op, path string) {
		n++
		mount := path[:strings.Index(path, "/")+1]
		logical := strings.TrimPrefix(path, mount)
		kvPath := mount + "data/" + logical
		auth := fmt.Sprintf(`{"accessor":"hmac-sha256:acc-%s","display_name":%q,"entity_id":%q,"policies":["default"],"token_type":"service"}`, entity, display, entity)
		req := fmt.Sprintf(`{"id":"req-%06d","operation":%q,"path":%q,"mount_point":%q,"mount_type":"kv","remote_address":"10.1.2.%d","namespace":{"id":"root"}}`,
			n, op, kvPath, mount, n%200+1)
		fmt.Fprintf(&b, `{"time":%q,"type":"request","auth":%s,"request":%s}`+"\n", at.Format(time.RFC3339Nano), auth, req)
		fmt.Fprintf(&b, `{"time":%q,"type":"response","auth":%s,"request":%s,"response":{"mount_point":%q,"mount_type":"kv"}}`+"\n",
			at.Add(3*time.Millisecond).Format(time.RFC3339Nano), auth, req, mount)
	}
	for day := range 14 {
		d := start.Add(time.Duration(day) * 24 * time.Hour)
		for h := 8; h < 18; h += 3 { // the payments service reads its database secret all day
			entry(d.Add(time.Duration(h)*time.Hour), "kubernetes-payments-api", "e-payments", "read", "kv/prod/payments/db")
		}
		entry(d.Add(9*time.Hour), "kubernetes-legacy-auth", "e-legacy", "read", "kv/prod/legacy/ldap")
		entry(d.Add(10*time.Hour), "approle-gitlab-ci-staging", "e-ci", "read", "kv/staging/app/config")
		if day < 9 {
			entry(d.Add(11*time.Hour), "kubernetes-billing", "e-billing", "read", "kv/prod/billing/api-key")
		}
		switch day {
		case 3:
			entry(d.Add(7*time.Hour), "approle-rotator", "e-rotator", "update", "kv/prod/payments/db")
		case 5:
			entry(d.Add(7*time.Hour), "approle-rotator", "e-rotator", "update", "kv/staging/app/config")
		case 9:
			entry(d.Add(12*time.Hour), "approle-rotator", "e-rotator", "update", "kv/prod/billing/api-key")
		case 10:
			entry(d.Add(14*time.Hour), "oidc-alice", "e-alice", "read", "kv/prod/payments/db")
		case 11:
			entry(d.Add(15*time.Hour), "approle-gitlab-ci-staging", "e-ci", "read", "kv/prod/payments/db")
		}
	}
	logPath = filepath.Join(dir, "audit.log")
	if err := os.WriteFile(logPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	end := start.Add(14 * 24 * time.Hour)
	var inv strings.Builder
	for _, s := range []struct {
		path    string
		written time.Time
	}{
		{"prod/payments/db", start.Add(3*24*time.Hour + 7*time.Hour)},
		{"prod/billing/api-key", start.Add(9*24*time.Hour + 12*time.Hour)},
		{"prod/legacy/ldap", end.Add(-200 * 24 * time.Hour)},
		{"prod/old/unused", end.Add(-30 * 24 * time.Hour)},
		{"staging/app/config", start.Add(5*24*time.Hour + 7*time.Hour)},
	} {
		fmt.Fprintf(&inv, `{"store":"vault","mount":"kv/","path":%q,"created_time":%q,"updated_time":%q,"current_version":2,"custom_metadata":null}`+"\n",
			s.path, s.written.Add(-400*24*time.Hour).Format(time.RFC3339), s.written.Format(time.RFC3339))
	}
	invPath = filepath.Join(dir, "inventory.jsonl")
	if err := os.WriteFile(invPath, []byte(inv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "review.yaml")
	cfg := "ci_scopes:\n  - identity: \"*gitlab-ci-staging*\"\n    secrets: [\"kv/staging/*\"]\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return logPath, invPath, cfgPath
}

// TestReviewHygieneScenario: every planted verdict and flag of a generated two-week scenario is
// found on its secret or identity, with nothing on the quiet ones.
func TestReviewHygieneScenario(t *testing.T) {
	dir := t.TempDir()
	logPath, invPath, cfgPath := hygieneLog(t, dir)
	out, stderr := runExportVS(t, dir, "review", "--config", cfgPath, "--inventory", invPath, "--format", "json", logPath)
	var rep struct {
		Secrets []struct {
			Secret   string `json:"secret"`
			Verdicts []struct {
				Verdict string `json:"verdict"`
				Reason  string `json:"reason"`
			} `json:"verdicts"`
		} `json:"secrets"`
		Access []struct {
			Identity    string `json:"identity"`
			DisplayName string `json:"display_name"`
			Secret      string `json:"secret"`
			Flags       []struct {
				Flag string `json:"flag"`
			} `json:"flags"`
		} `json:"access"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	verdicts := map[string][]string{}
	for _, s := range rep.Secrets {
		for _, v := range s.Verdicts {
			verdicts[s.Secret] = append(verdicts[s.Secret], v.Verdict)
			if v.Verdict == "rotation-overdue" && !strings.Contains(v.Reason, "inventory") {
				t.Errorf("%s: rotation-overdue must say it rests on the inventory (the logs cover two weeks): %q", s.Secret, v.Reason)
			}
		}
	}
	flags := map[string][]string{} // display name + secret -> flags
	for _, a := range rep.Access {
		for _, f := range a.Flags {
			k := a.DisplayName + " " + a.Secret
			flags[k] = append(flags[k], f.Flag)
		}
	}
	wantVerdict := map[string]string{
		"kv/prod/billing/api-key": "rotated-never-read",
		"kv/prod/legacy/ldap":     "rotation-overdue",
		"kv/prod/old/unused":      "never-read",
	}
	for secret, v := range wantVerdict {
		if !slices.Contains(verdicts[secret], v) {
			t.Errorf("%s: verdicts %v, want %s", secret, verdicts[secret], v)
		}
	}
	for _, quiet := range []string{"kv/prod/payments/db", "kv/staging/app/config"} {
		if len(verdicts[quiet]) > 0 {
			t.Errorf("quiet secret %s has verdicts %v", quiet, verdicts[quiet])
		}
	}
	for secret, vs := range verdicts {
		if _, planted := wantVerdict[secret]; !planted && len(vs) > 0 {
			t.Errorf("unplanted secret %s has verdicts %v", secret, vs)
		}
	}
	wantFlag := map[string]string{
		"oidc-alice kv/prod/payments/db":                "person-reads-production",
		"approle-gitlab-ci-staging kv/prod/payments/db": "ci-outside-scope",
	}
	for k, f := range wantFlag {
		if !slices.Contains(flags[k], f) {
			t.Errorf("%s: flags %v, want %s", k, flags[k], f)
		}
	}
	for k, fs := range flags {
		if _, planted := wantFlag[k]; !planted {
			t.Errorf("unplanted access %s flagged %v", k, fs)
		}
	}
}
