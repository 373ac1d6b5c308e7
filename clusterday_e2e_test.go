package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// clusterDay writes two days of one platform's logs into dir: a Kubernetes API server's audit
// log, a Vault audit log and a CloudTrail file. The first day is the learning period; the
// second holds the same quiet background and, at 02:10-02:30Z, one intruder at 203.0.113.66
// who uses a stolen service-account token (Kubernetes), a Vault token and an IAM user's key
// (Secrets Manager) within 20 minutes.
func clusterDay(t *testing.T, dir string) {
	t.Helper()
	day0 := time.Date(2026, 10, 13, 0, 0, 0, 0, time.UTC)
	const attacker = "203.0.113.66"
	var k8s, vault, ct []string
	n := 0
	k := func(at time.Time, verb, ns, name, user string, groups []string, ip, ua string, code int, cred string) {
		n++
		uri := "/api/v1/namespaces/" + ns + "/secrets"
		if name != "" {
			uri += "/" + name
		}
		ref := map[string]any{"resource": "secrets", "namespace": ns, "apiVersion": "v1"}
		if name != "" {
			ref["name"] = name
		}
		u := map[string]any{"username": user, "groups": groups}
		if cred != "" {
			u["extra"] = map[string][]string{"authentication.kubernetes.io/credential-id": {cred}}
		}
		ts := at.Format("2006-01-02T15:04:05.000000Z")
		b, _ := json.Marshal(map[string]any{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
			"auditID": fmt.Sprintf("a-%06d", n), "stage": "ResponseComplete", "requestURI": uri, "verb": verb, "user": u,
			"sourceIPs": []string{ip}, "userAgent": ua, "objectRef": ref, "responseStatus": map[string]any{"metadata": map[string]any{}, "code": code},
			"requestReceivedTimestamp": ts, "stageTimestamp": ts,
			"annotations": map[string]string{"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}})
		k8s = append(k8s, string(b))
	}
	v := func(at time.Time, accessor, display, entity string, policies []string, meta map[string]string, op, path, ip string) {
		n++
		auth := map[string]any{"client_token": "hmac-sha256:t" + accessor, "accessor": "hmac-sha256:" + accessor, "display_name": display,
			"policies": policies, "token_policies": policies, "entity_id": entity, "token_type": "service", "metadata": meta}
		req := map[string]any{"id": fmt.Sprintf("r-%06d", n), "operation": op, "mount_point": "kv/", "mount_type": "kv", "path": path,
			"remote_address": ip}
		ts := at.Format(time.RFC3339Nano)
		for _, typ := range []string{"request", "response"} {
			e := map[string]any{"time": ts, "type": typ, "auth": auth, "request": req}
			if typ == "response" {
				e["response"] = map[string]any{"mount_point": "kv/", "mount_type": "kv"}
			}
			b, _ := json.Marshal(e)
			vault = append(vault, string(b))
		}
	}
	c := func(at time.Time, user, secret, ip, ua, errCode string) {
		n++
		r := testutil.CTRecord(fmt.Sprintf("e-%06d", n), at, "GetSecretValue", `{"secretId":"`+secret+`"}`, "")
		r["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "AIDAEXAMPLE" + user, "arn": "arn:aws:iam::111122223333:user/" + user,
			"accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE" + strings.ToUpper(user[:4]), "userName": user}
		r["sourceIPAddress"], r["userAgent"] = ip, ua
		if errCode != "" {
			r["errorCode"], r["errorMessage"] = errCode, "not authorized"
		}
		b, _ := json.Marshal(r)
		ct = append(ct, string(b))
	}
	sa := func(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }
	saGroups := []string{"system:serviceaccounts", "system:serviceaccounts:disputes", "system:authenticated"}
	const clientGo = "evidence-ingest/v1.4.2 (linux/amd64) kubernetes/$Format"
	for d := range 2 {
		day := day0.Add(time.Duration(d) * 24 * time.Hour)
		for m := 0; m < 24*60; m += 10 {
			at := day.Add(time.Duration(m) * time.Minute)
			// Background: the evidence-ingest pod re-reads its secret, the ledger reads Vault
			// through kubernetes auth, the archive job reads Secrets Manager at night.
			k(at, "get", "disputes", "evidence-store-creds", sa("disputes", "evidence-ingest"), saGroups, "100.96.14.77", clientGo, 200, "JTI=pod-token")
			v(at.Add(3*time.Second), "ledger", "k8s-ledger-ledger-api", "ent-ledger", []string{"default", "ledger"},
				map[string]string{"role": "ledger-api", "service_account_name": "ledger-api", "service_account_namespace": "ledger"},
				"read", "kv/data/ledger/db", "100.96.3.7")
			if m%60 == 0 {
				c(at.Add(7*time.Second), "svc-archive", "prod/archive/gpg", "198.51.100.40", "Boto3/1.35.10 md/Botocore#1.35.10", "")
			}
		}
		for p := range 8 { // kubelets start pods at 06:00: each reads its pod's two secrets
			at := day.Add(6*time.Hour + time.Duration(p)*time.Second)
			for _, s := range []string{"app-db", "app-tls"} {
				k(at, "get", "payments", fmt.Sprintf("%s-%d", s, p%3), "system:node:kw-0"+fmt.Sprint(p%4+1), []string{"system:nodes", "system:authenticated"},
					"10.60.9.2"+fmt.Sprint(p%4+1), "kubelet/v1.31.4 (linux/amd64) kubernetes/a1b2c3d", 200, "X509SHA256=node")
			}
		}
	}
	// The intrusion, day 2 at 02:10Z: the pod's token from outside, over 16 namespaces' secrets.
	at := day0.Add(24*time.Hour + 2*time.Hour + 10*time.Minute)
	for i := range 32 {
		k(at.Add(time.Duration(i)*5*time.Second), "get", fmt.Sprintf("team-%d", i%16), fmt.Sprintf("db-%d", i%16), sa("disputes", "evidence-ingest"), saGroups,
			attacker, "kubectl/v1.30.2 (linux/amd64) kubernetes/7f2b9c1", 200, "JTI=pod-token")
	}
	// The batch job's Vault token, used by its runner at 01:55Z, then by the intruder who found
	// it in one of the Secrets.
	v(at.Add(-15*time.Minute), "batch", "approle-batch", "ent-batch", []string{"default", "batch"}, nil, "read", "kv/data/batch/key-0", "10.20.0.9")
	for i := range 3 {
		v(at.Add(8*time.Minute+time.Duration(i)*20*time.Second), "batch", "approle-batch", "ent-batch", []string{"default", "batch"}, nil,
			"read", fmt.Sprintf("kv/data/batch/key-%d", i), attacker)
	}
	for i := range 3 { // and the archive user's key
		c(at.Add(15*time.Minute+time.Duration(i)*30*time.Second), "svc-archive", fmt.Sprintf("prod/archive/key-%d", i), attacker, "aws-cli/2.18.4", "")
	}
	// The batch AppRole's normal day: two reads at noon from its runner.
	for d := range 2 {
		noon := day0.Add(time.Duration(d)*24*time.Hour + 12*time.Hour)
		v(noon, "batch", "approle-batch", "ent-batch", []string{"default", "batch"}, nil, "read", "kv/data/batch/key-0", "10.20.0.9")
	}
	write := func(name string, lines []string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(vault) // entries in time order (the time is their first field)
	write("kcp-1/audit.log", k8s)
	write("vault/audit.log", vault)
	write("cloudtrail/records.ndjson", ct)
	write("vaultsentry.yaml", []string{
		"internal_cidrs: [10.0.0.0/8, 100.64.0.0/10, 198.51.100.40/32]",
		"kubernetes:",
		"  clusters: [{name: dub1, pod_cidrs: [100.96.0.0/16], node_cidrs: [10.60.8.0/22]}]",
	})
}

// TestClusterDayAcrossStores: a directory with every store's logs is one scan. The quiet
// background (a pod re-reading its secret, Vault reads through kubernetes auth, a nightly AWS
// job, kubelets starting pods) makes no finding; the intruder who reads Kubernetes, Vault and
// Secrets Manager secrets from one address within 20 minutes is one cross-store-access finding
// plus each store's own.
func TestClusterDayAcrossStores(t *testing.T) {
	dir := t.TempDir()
	clusterDay(t, dir)
	out := filepath.Join(dir, "findings.json")
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), "scan", "--config", filepath.Join(dir, "vaultsentry.yaml"),
		"--learn-until", "2026-10-14T00:00:00Z", "--format", "json", "-o", out,
		filepath.Join(dir, "kcp-1"), filepath.Join(dir, "vault"), filepath.Join(dir, "cloudtrail"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scan: %v\n%s", err, b)
	}
	r := readReport(t, out)
	var got []string
	cross := 0
	for _, f := range r.Findings {
		got = append(got, f.Rule+" "+f.Identity)
		if f.Rule == "cross-store-access" {
			cross++
			if f.Identity != "203.0.113.66" {
				t.Errorf("cross-store-access about %s, want the intruder's address", f.Identity)
			}
		}
	}
	for _, f := range r.Findings {
		if f.Rule == "cross-store-access" && len(f.Resources) < 9 {
			t.Errorf("cross-store-access lists %d secrets, want those of all three stores: %q", len(f.Resources), f.Resources)
		}
	}
	if cross != 1 {
		t.Errorf("%d cross-store-access findings, want 1: %q", cross, got)
	}
	// Each store's own findings of the intrusion; nothing about the background.
	for _, want := range []string{
		"bulk-read system:serviceaccount:disputes:evidence-ingest",
		"dual-source-ip system:serviceaccount:disputes:evidence-ingest",
		"unusual-client system:serviceaccount:disputes:evidence-ingest",
		"dual-source-ip ent-batch",
		"new-source-ip arn:aws:iam::111122223333:user/svc-archive",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
	for _, f := range r.Findings {
		for _, quiet := range []string{"system:node:", "ent-ledger", "ledger-api"} {
			if strings.Contains(f.Identity, quiet) {
				t.Errorf("the background made a finding: %s %s", f.Rule, f.Identity)
			}
		}
	}
	if r.Stats.Malformed != 0 || r.Stats.Events == 0 {
		t.Errorf("stats %+v", r.Stats)
	}
}
