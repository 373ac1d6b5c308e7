package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/invstub"
)

// TestInventoryE2E runs the binary's inventory against the Vault and Secrets Manager
// stand-ins (a namespace-free Vault with nested folders, a KV v1 mount and a denied subtree;
// two regions of ListSecrets in pages), then the review of the incident log with both files:
// the secrets no log mentions are never-read, the one the inventory says was written 200 days
// before the logs end is rotation-overdue (the logs do not go back that far), the one the logs
// saw rotated in the period keeps the logs' write, and the one read in the logs and written
// recently per the inventory is quiet.
func TestInventoryE2E(t *testing.T) {
	dir := t.TempDir()
	fv := &invstub.Vault{Token: "s.e2e", Mounts: map[string]map[string]invstub.Mount{"": {
		"kv/": {Version: 2, Secrets: map[string]map[string]any{
			"prod/payments/stripe": invstub.Meta("2025-01-01T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-07T00:00:00Z", 4, nil),
			"prod/payments/db":     invstub.Meta("2025-01-01T00:00:00Z", "2026-03-07T00:00:00Z", "2026-03-07T00:00:00Z", 9, nil),
			"prod/fraud/model":     invstub.Meta("2025-01-01T00:00:00Z", "2026-09-01T00:00:00Z", "2026-09-20T00:00:00Z", 2, nil),
			"prod/forgotten/ftp":   invstub.Meta("2024-06-01T00:00:00Z", "2026-08-01T00:00:00Z", "2026-08-01T00:00:00Z", 1, map[string]string{"owner": "ops"}),
			"hr/payroll/token":     invstub.Meta("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", 1, nil),
		}},
		"old/": {Version: 1, Secrets: map[string]map[string]any{"app/key": nil}},
	}}, Denied: map[string][]string{"": {"kv/metadata/hr/"}}}
	deleted := invstub.Meta("2025-01-01T00:00:00Z", "2026-08-01T00:00:00Z", "2025-01-01T00:00:00Z", 1, nil)
	deleted["versions"].(map[string]any)["1"].(map[string]any)["deletion_time"] = "2026-08-01T00:00:00Z"
	fv.Mounts[""]["kv/"].Secrets["prod/retired"] = deleted
	scheduled := invstub.Meta("2025-01-01T00:00:00Z", "2026-08-01T00:00:00Z", "2025-01-01T00:00:00Z", 1, nil)
	scheduled["versions"].(map[string]any)["1"].(map[string]any)["deletion_time"] = "2999-01-01T00:00:00Z" // delete_version_after
	fv.Mounts[""]["kv/"].Secrets["prod/expiring"] = scheduled
	vsrv := httptest.NewServer(fv)
	defer vsrv.Close()
	env := append(os.Environ(), "VAULT_ADDR="+vsrv.URL, "VAULT_TOKEN=s.e2e", "VAULT_NAMESPACE=", "NO_COLOR=1")
	inv := filepath.Join(dir, "inventory.jsonl")
	_, stderr, code := runVS(t, env, "inventory", "vault", "-o", inv)
	if code != 0 {
		t.Fatalf("inventory vault: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "inventory_identities") || !strings.Contains(stderr, "kv/hr/: permission denied to list") || !strings.Contains(stderr, "2 KV mounts, 7 folders listed, 7 secrets; 1 denied") {
		t.Errorf("inventory vault stderr:\n%s", stderr)
	}
	for _, v := range fv.Violations() {
		t.Errorf("the inventory asked the stand-in for a value: %s", v)
	}
	data, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 7 || strings.Count(string(data), `"current_version_deleted":true`) != 1 {
		t.Fatalf("%d lines:\n%s", len(lines), data)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"store", "mount", "path", "created_time", "updated_time", "current_version", "custom_metadata"} {
		if _, ok := first[k]; !ok {
			t.Errorf("record %s lacks %q", lines[0], k)
		}
	}

	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	sm := &invstub.SecretsManager{PageSize: 1, Secrets: map[string][]invstub.Secret{
		"eu-west-1": {{Name: "prod/api", Created: day("2026-01-01"), LastChanged: day("2026-09-01")},
			{Name: "prod/unused", Created: day("2025-01-01"), LastChanged: day("2026-09-10"), Tags: map[string]string{"team": "x"}}},
		"us-east-1": {{Name: "prod/dr", Created: day("2025-01-01"), LastChanged: day("2026-09-15")}},
	}}
	asrv := httptest.NewServer(sm)
	defer asrv.Close()
	aenv := append(os.Environ(), "AWS_ENDPOINT_URL_SECRETS_MANAGER="+asrv.URL, "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=x",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	awsInv := filepath.Join(dir, "aws.jsonl")
	_, stderr, code = runVS(t, aenv, "inventory", "aws", "--region", "eu-west-1", "--region", "us-east-1", "-o", awsInv)
	if code != 0 || !strings.Contains(stderr, "2 regions, 3 pages, 3 secrets") || sm.Forbidden != 0 {
		t.Fatalf("inventory aws: exit %d, forbidden %d\n%s", code, sm.Forbidden, stderr)
	}

	out, stderr, code := runVS(t, env, "review", "--format", "json", "--inventory", inv, "--inventory", awsInv,
		filepath.Join("testdata", "vault", "incident.jsonl"))
	if code != 0 {
		t.Fatalf("review: exit %d\n%s", code, stderr)
	}
	var doc struct {
		Secrets []struct {
			Secret   string
			Verdicts []struct{ Verdict, Reason string }
		}
		Counts map[string]int
		Notes  []string
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	verdicts := map[string]string{}
	for _, s := range doc.Secrets {
		var vs []string
		for _, v := range s.Verdicts {
			vs = append(vs, v.Verdict)
		}
		verdicts[s.Secret] = strings.Join(vs, ",")
	}
	for secret, want := range map[string]string{
		"kv/prod/payments/db":     "rotation-overdue",
		"kv/prod/payments/stripe": "",
		"kv/prod/fraud/model":     "",
		"kv/prod/forgotten/ftp":   "never-read",
		"old/app/key":             "never-read",
		"prod/unused":             "never-read",
		"kv/prod/expiring":        "rotation-overdue,never-read",
	} {
		if got, ok := verdicts[secret]; !ok || got != want {
			t.Errorf("%s: verdicts %q (row %v), want %q", secret, got, ok, want)
		}
	}
	if _, ok := verdicts["kv/prod/retired"]; ok {
		t.Errorf("a secret whose current version is deleted has a row")
	}
	if doc.Counts["never-read"] != 6 { // forgotten/ftp, expiring, old/app/key and the three AWS secrets
		t.Errorf("never-read %d, want 5: %v", doc.Counts["never-read"], verdicts)
	}
	if !strings.Contains(out, `"listed": 9`) || !strings.Contains(out, "1 secrets of the inventory") || !strings.Contains(out, "the inventory's own requests") {
		t.Errorf("inventory summary or note missing:\n%s", out)
	}
}
