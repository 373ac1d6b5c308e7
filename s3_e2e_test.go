package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
)

// s3Env is the environment of a binary that reads the fake S3: AWS_ENDPOINT_URL_S3 (the
// SDK's per-service endpoint; 127.0.0.1 selects path-style addressing), static credentials,
// no shared files, no instance metadata.
func s3Env(url string) []string {
	env := stubEnv("http://127.0.0.1:1") // nothing else answers: only the S3 endpoint is set
	return append(env, "AWS_ENDPOINT_URL_S3="+url, "AWS_ENDPOINT_URL_CLOUDTRAIL="+url, "AWS_REGION=eu-west-1")
}

// TestS3CloudTrailE2E runs the binary on the practice CloudTrail tree served by the in-process
// S3 and scores it as the local tree is scored; then verify s3:// on a signed trail.
func TestS3CloudTrailE2E(t *testing.T) {
	root := os.Getenv("VAULTSENTRY_SCENARIOS")
	if root == "" {
		root = "../shared/scenarios"
	}
	c := filepath.Join(root, "cloudtrail")
	if _, err := os.Stat(filepath.Join(c, "AWSLogs")); err != nil {
		t.Skip("the practice scenarios are not beside this checkout")
	}
	srv := s3fake.New()
	defer srv.Close()
	if _, err := srv.PutTree("kp-trail", "exports/", c); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ct-s3.json")
	_, stderr, code := runVS(t, s3Env(srv.URL), "cloudtrail", "--config", filepath.Join(c, "vaultsentry.yaml"),
		"--from", "s3://kp-trail/exports/AWSLogs", "--learn-until", "2026-09-11T12:00:00Z", "--format", "json", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"S3:                ", "306 fetched", "folders pruned"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	score := exec.Command("python3", filepath.Join(root, "score.py"), filepath.Join(c, "truth.json"), out)
	res, err := score.CombinedOutput()
	t.Logf("score:\n%s", res)
	if err != nil {
		t.Errorf("score.py: %v", err)
	}

	// scan takes s3:// too (an exact key here), and --region filters a tree with --from.
	key := "exports/" + firstKey(t, c, "/CloudTrail/eu-central-1/")
	stdout, stderr, code := runVS(t, s3Env(srv.URL), "scan", "--format", "json", "s3://kp-trail/"+key)
	if code > 1 || !strings.Contains(stdout, `"file": "s3://kp-trail/`+key) {
		t.Errorf("scan of one object: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runVS(t, s3Env(srv.URL), "cloudtrail", "--from", "s3://kp-trail/exports/AWSLogs/", "--region", "eu-central-1",
		"--account", "428190375562", "--format", "json", "-o", filepath.Join(t.TempDir(), "r.json"))
	if code > 1 || strings.Contains(stderr, "eu-west-1") {
		t.Errorf("--region eu-central-1: exit %d\n%s", code, stderr)
	}
	// Access denied: a warning naming the permissions, then nothing read (exit 3).
	srv.Put("locked", "AWSLogs/x.json", &s3fake.Object{Body: []byte("{}")})
	srv.With(func() { srv.Deny["locked"] = true })
	_, stderr, code = runVS(t, s3Env(srv.URL), "cloudtrail", "--from", "s3://locked/AWSLogs/")
	if code != 3 || !strings.Contains(stderr, "AccessDenied") || !strings.Contains(stderr, "s3:ListBucket") {
		t.Errorf("access denied: exit %d\n%s", code, stderr)
	}

	// verify s3://: a signed trail, keys from ListPublicKeys.
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := srv.SignedTrail("trail-logs", pk, time.Date(2026, 9, 11, 0, 0, 12, 0, time.UTC), 4, 2); err != nil {
		t.Fatal(err)
	}
	srv.SetPublicKeys(&pk.PublicKey)
	stdout, stderr, code = runVS(t, s3Env(srv.URL), "verify", "--format", "json", "s3://trail-logs/AWSLogs/")
	var doc struct {
		Integrity struct {
			CloudTrail struct {
				Status  string `json:"status"`
				Digests int    `json:"digests"`
			} `json:"cloudtrail"`
		} `json:"integrity"`
	}
	json.Unmarshal([]byte(stdout), &doc)
	if code != 0 || doc.Integrity.CloudTrail.Status != "valid" || doc.Integrity.CloudTrail.Digests != 4 {
		t.Errorf("verify s3://: exit %d %+v\n%s%s", code, doc, stdout, stderr)
	}
}

func firstKey(t *testing.T, dir, part string) string {
	t.Helper()
	var found string
	filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d os.DirEntry, err error) error {
		if found == "" && err == nil && d.Type().IsRegular() && strings.Contains(filepath.ToSlash(p), part) {
			rel, _ := filepath.Rel(dir, p)
			found = filepath.ToSlash(rel)
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file under %s", part)
	}
	return found
}
