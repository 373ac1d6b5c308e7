package cmd

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/integrity"
)

func TestVerifyFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"k": {}}`), 0o600)
	tests := []struct {
		name  string
		args  []string
		usage string // substring of the usage error, "" for none
	}{
		{"a folder", []string{dir}, ""},
		{"json", []string{"--format", "json", dir}, ""},
		{"s3", []string{"s3://bucket/AWSLogs/"}, ""},
		{"s3 without a bucket", []string{"s3:///AWSLogs/"}, "names no bucket"},
		{"no folder", nil, "give exactly one folder"},
		{"two folders", []string{dir, dir}, "give exactly one folder"},
		{"bad format", []string{"--format", "sarif", dir}, "unknown format"},
		{"signatures file absent", []string{"--signatures", filepath.Join(dir, "absent.json"), dir}, "--signatures"},
		{"signatures file without a signature", []string{"--signatures", bad, dir}, "has no signature"},
		{"public key not a key", []string{"--public-key", bad, dir}, "--public-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := TestStreams()
			ran := false
			c := newVerifyCmd(s, func(context.Context, *verifyOptions) error { ran = true; return nil })
			c.SetArgs(tt.args)
			err := c.ExecuteContext(context.Background())
			if tt.usage != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.usage) {
					t.Fatalf("err %v, want a usage error about %q", err, tt.usage)
				}
				return
			}
			if err != nil || !ran {
				t.Fatalf("err %v, ran %v", err, ran)
			}
		})
	}
}

// TestVerifyExit runs `vaultsentry verify` through Main on a one-digest tree: valid 0, invalid
// 1, unverifiable 3, and the JSON shape review will embed.
func TestVerifyExit(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	write := func(key string, data []byte) {
		p := filepath.Join(root, filepath.FromSlash(key))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}
	const logKey = "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/11/111122223333_CloudTrail_eu-west-1_20260911T0010Z_a.json.gz"
	const digestKey = "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/09/11/111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20260911T010012Z.json.gz"
	body := []byte(`{"Records":[]}`)
	write(logKey, gz(body))
	sum := sha256.Sum256(body)
	digest, _ := json.Marshal(map[string]any{"awsAccountId": "111122223333", "digestStartTime": "2026-09-11T00:00:12Z",
		"digestEndTime": "2026-09-11T01:00:12Z", "digestS3Bucket": "b", "digestS3Object": digestKey,
		"digestPublicKeyFingerprint": integrity.Fingerprint(&key.PublicKey), "digestSignatureAlgorithm": "SHA256withRSA",
		"previousDigestS3Object": nil, "previousDigestSignature": nil,
		"logFiles": []map[string]string{{"s3Bucket": "b", "s3Object": logKey, "hashValue": hex.EncodeToString(sum[:]), "hashAlgorithm": "SHA-256"}}})
	write(digestKey, gz(digest))
	dsum := sha256.Sum256(digest)
	msg := sha256.Sum256([]byte("2026-09-11T01:00:12Z\nb/" + digestKey + "\n" + hex.EncodeToString(dsum[:]) + "\nnull"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, msg[:])
	side := t.TempDir()
	sigs := filepath.Join(side, "signatures.json")
	os.WriteFile(sigs, []byte(`{"`+digestKey+`": {"signature": "`+hex.EncodeToString(sig)+`", "signature-algorithm": "SHA256withRSA"}}`), 0o600)
	pub := filepath.Join(side, "key.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)}), 0o600)

	run := func(args ...string) (int, string, string) {
		s, out, errb := TestStreams()
		return Main(context.Background(), append([]string{"verify"}, args...), s), out.String(), errb.String()
	}
	if code, out, errOut := run("--signatures", sigs, "--public-key", pub, root); code != 0 || !strings.Contains(out, "VALID") {
		t.Errorf("valid tree: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := run("--format", "json", "--signatures", sigs, "--public-key", pub, filepath.Join(root, "AWSLogs"))
	var doc struct {
		Integrity struct {
			CloudTrail integrity.Result `json:"cloudtrail"`
		} `json:"integrity"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 || doc.Integrity.CloudTrail.Status != integrity.Valid ||
		doc.Integrity.CloudTrail.LogFiles != 1 || doc.Integrity.CloudTrail.Digests != 1 {
		t.Errorf("json: exit %d, %v\n%s", code, err, out)
	}
	if code, out, errOut := run("--public-key", pub, root); code != ExitRuntime || !strings.Contains(out, "no-signature") ||
		!strings.Contains(errOut, "unverifiable") {
		t.Errorf("no signatures: exit %d, want 3\n%s%s", code, out, errOut)
	}
	write(logKey, gz([]byte(`{"Records":[{}]}`)))
	if code, out, errOut := run("--signatures", sigs, "--public-key", pub, root); code != ExitFindings || !strings.Contains(out, "hash-mismatch") {
		t.Errorf("changed log file: exit %d, want 1\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(filepath.Join(root, "absent")); code != ExitRuntime || !strings.Contains(errOut, "hint:") {
		t.Errorf("absent folder: exit %d, want 3\n%s", code, errOut)
	}
}
