package cmd

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
)

// TestVerifyS3: verify s3:// reads the tree in the bucket, the signatures from the digests'
// object metadata and the public key from ListPublicKeys (or --public-key); a changed log file
// is invalid (exit 1) and names the object; a digest without its metadata and nothing after it
// is unverifiable (exit 3).
func TestVerifyS3(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := s3fake.New()
	defer srv.Close()
	digests, logs, err := srv.SignedTrail("org-trail-logs", key, time.Date(2026, 9, 11, 0, 0, 12, 0, time.UTC), 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetPublicKeys(&key.PublicKey)
	s3Env(t, srv)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	run := func(args ...string) (int, map[string]any, string) {
		s, out, errb := TestStreams()
		code := Main(context.Background(), append([]string{"verify", "--format", "json"}, args...), s)
		var doc map[string]any
		json.Unmarshal(out.Bytes(), &doc)
		return code, doc, errb.String()
	}
	result := func(doc map[string]any) map[string]any {
		ig, _ := doc["integrity"].(map[string]any)
		ct, _ := ig["cloudtrail"].(map[string]any)
		return ct
	}
	code, doc, stderr := run("s3://org-trail-logs/AWSLogs/")
	r := result(doc)
	if code != 0 || r["status"] != "valid" || r["digests"] != float64(5) || r["log_files"] != float64(15) {
		t.Fatalf("exit %d, %v\n%s", code, r, stderr)
	}
	if srv.KeyLists.Load() != 1 {
		t.Errorf("%d ListPublicKeys calls, want 1 (one region)", srv.KeyLists.Load())
	}
	// --public-key: no ListPublicKeys call.
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemFile := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	if code, doc, _ := run("--public-key", pemFile, "s3://org-trail-logs/AWSLogs/o-abc123def4/"); code != 0 || result(doc)["status"] != "valid" || srv.KeyLists.Load() != 1 {
		t.Errorf("--public-key: exit %d %v, %d key lists", code, result(doc), srv.KeyLists.Load())
	}
	// A changed log file.
	orig := srv.Get("org-trail-logs", logs[4])
	srv.Put("org-trail-logs", logs[4], &s3fake.Object{Body: []byte(`{"Records":[]}`)})
	code, doc, _ = run("s3://org-trail-logs/AWSLogs/")
	if r := result(doc); code != 1 || r["status"] != "invalid" || !strings.Contains(mustJSON(r["problems"]), "s3://org-trail-logs/"+logs[4]) {
		t.Errorf("changed log: exit %d %v", code, r)
	}
	srv.Put("org-trail-logs", logs[4], orig)
	// The newest digest's metadata gone: nothing else records its signature.
	last := srv.Get("org-trail-logs", digests[4])
	srv.Put("org-trail-logs", digests[4], &s3fake.Object{Body: last.Body})
	code, doc, _ = run("s3://org-trail-logs/AWSLogs/")
	if r := result(doc); code != 3 || r["status"] != "unverifiable" {
		t.Errorf("no metadata: exit %d %v", code, r)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestReviewS3Integrity: review over an s3:// CloudTrail tree reads it and checks its
// integrity in the bucket, as for a local tree.
func TestReviewS3Integrity(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := s3fake.New()
	defer srv.Close()
	if _, _, err := srv.SignedTrail("org-trail-logs", key, time.Date(2026, 9, 11, 0, 0, 12, 0, time.UTC), 3, 2); err != nil {
		t.Fatal(err)
	}
	srv.SetPublicKeys(&key.PublicKey)
	s3Env(t, srv)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	s, out, errb := TestStreams()
	code := Main(context.Background(), []string{"review", "--format", "json", "--quiet", "s3://org-trail-logs/AWSLogs/"}, s)
	var doc struct {
		Integrity struct {
			Trees []struct {
				Tree       string `json:"tree"`
				CloudTrail struct {
					Status  string `json:"status"`
					Digests int    `json:"digests"`
				} `json:"cloudtrail"`
			} `json:"trees"`
		} `json:"integrity"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("exit %d: %v\n%s", code, err, errb.String())
	}
	trees := doc.Integrity.Trees
	if len(trees) != 1 || trees[0].Tree != "s3://org-trail-logs/AWSLogs/" || trees[0].CloudTrail.Status != "valid" || trees[0].CloudTrail.Digests != 3 {
		t.Errorf("exit %d, integrity %+v\n%s", code, doc.Integrity, errb.String())
	}
}
