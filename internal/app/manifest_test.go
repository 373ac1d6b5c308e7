package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/signing"
	"github.com/vaultsentry/vaultsentry/sources"
)

func testSigner(t *testing.T, typ string) (ssh.Signer, []signing.Signer) {
	t.Helper()
	var s ssh.Signer
	var err error
	switch typ {
	case "ed25519":
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		s, err = ssh.NewSignerFromKey(k)
	case "rsa":
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		s, err = ssh.NewSignerFromKey(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := signing.ParseAllowedSigners([]byte("reviewer@example.com " + string(ssh.MarshalAuthorizedKey(s.PublicKey()))))
	if err != nil {
		t.Fatal(err)
	}
	return s, trusted
}

// review runs app.Review on the incident fixture into dir with the sign-off given.
func reviewInto(t *testing.T, dir, format, output string, signoff ReviewSignoff, cfg *Config) {
	t.Helper()
	io, _, errb := testIO()
	input := filepath.Join(dir, "audit.log")
	data, err := os.ReadFile(incident)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(input, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Review(context.Background(), ReviewRequest{Options: Options{IO: io, Config: cfg, Quiet: true, MaxLineBytes: 1 << 20, MaxDecompressedBytes: 1 << 30},
		Paths: []string{input}, Format: format, Output: output, Command: []string{"vaultsentry", "review"}, Signoff: signoff})
	if err != nil {
		t.Fatalf("review: %v\n%s", err, errb.String())
	}
}

func TestReviewSignedVerifies(t *testing.T) {
	for _, typ := range []string{"ed25519", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			s, trusted := testSigner(t, typ)
			out := filepath.Join(dir, "review.json")
			reviewInto(t, dir, "json", out, ReviewSignoff{Signer: s, Reviewer: report.Reviewer{Name: "A. Auditor"}}, nil)
			v, err := VerifyReview(ReviewVerifyRequest{Report: out, Trusted: trusted})
			if err != nil || v.Status != ManifestValid || len(v.Signer) != 1 || v.Signer[0] != "reviewer@example.com" {
				t.Fatalf("VerifyReview = %+v, %v", v, err)
			}
			// The JSON embeds the manifest, without the report's own hash.
			var doc struct {
				Manifest report.ReviewManifest `json:"manifest"`
			}
			data, _ := os.ReadFile(out)
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			m := doc.Manifest
			if m.Reviewer.Name != "A. Auditor" || m.Reviewer.Date == "" || m.SignedBy == nil || m.SignedBy.Namespace != signing.Namespace ||
				len(m.Inputs) != 1 || m.Inputs[0].SHA256 == nil || len(*m.Inputs[0].SHA256) != 64 || m.Reports != nil || len(m.Rules) == 0 ||
				m.Thresholds["bulk-read"] == nil || m.ReviewSettings["hygiene"] == nil {
				t.Errorf("embedded manifest: %+v", m)
			}
			// Unsigned checks: no allowed signers -> unverifiable; another key -> invalid.
			if v, _ := VerifyReview(ReviewVerifyRequest{Report: out}); v.Status != ManifestUnverifiable {
				t.Errorf("without allowed signers: %s (%s)", v.Status, v.Reason)
			}
			_, other := testSigner(t, "ed25519")
			if v, _ := VerifyReview(ReviewVerifyRequest{Report: out, Trusted: other}); v.Status != ManifestInvalid || !strings.Contains(v.Reason, "not among the allowed signers") {
				t.Errorf("another signer: %s (%s)", v.Status, v.Reason)
			}
			// One byte of the report changed.
			data[len(data)/2] ^= 0x20
			if err := os.WriteFile(out, data, 0o600); err != nil {
				t.Fatal(err)
			}
			v, _ = VerifyReview(ReviewVerifyRequest{Report: out, Trusted: trusted})
			if v.Status != ManifestInvalid || !strings.Contains(v.Reason, "report "+out) || !strings.Contains(v.Reason, "the manifest has") {
				t.Errorf("changed report: %s (%s)", v.Status, v.Reason)
			}
		})
	}
}

func TestVerifyReviewCases(t *testing.T) {
	dir := t.TempDir()
	s, trusted := testSigner(t, "ed25519")
	out := filepath.Join(dir, "review.md")
	reviewInto(t, dir, "markdown", out, ReviewSignoff{Signer: s}, nil)
	// The manifest file itself, or the report, names the same check.
	for _, arg := range []string{out, out + ".manifest.json"} {
		if v, err := VerifyReview(ReviewVerifyRequest{Report: arg, Trusted: trusted}); err != nil || v.Status != ManifestValid {
			t.Errorf("%s: %+v %v", arg, v, err)
		}
	}
	// The signature deleted while the auditor expects one: invalid.
	sig, _ := os.ReadFile(out + ".manifest.json.sig")
	os.Remove(out + ".manifest.json.sig")
	if v, _ := VerifyReview(ReviewVerifyRequest{Report: out, Trusted: trusted}); v.Status != ManifestInvalid || !strings.Contains(v.Reason, "no signature") {
		t.Errorf("deleted signature: %s (%s)", v.Status, v.Reason)
	}
	os.WriteFile(out+".manifest.json.sig", sig, 0o600)
	// The report gone: invalid, naming it.
	os.Rename(out, out+".bak")
	if v, _ := VerifyReview(ReviewVerifyRequest{Report: out, Trusted: trusted}); v.Status != ManifestInvalid || !strings.Contains(v.Reason, "review.md") {
		t.Errorf("missing report: %s (%s)", v.Status, v.Reason)
	}
	os.Rename(out+".bak", out)
	// A manifest naming a file outside its directory is refused.
	m, _ := os.ReadFile(out + ".manifest.json")
	os.WriteFile(out+".manifest.json", []byte(strings.Replace(string(m), `"file": "review.md"`, `"file": "../etc/passwd"`, 1)), 0o600)
	if v, _ := VerifyReview(ReviewVerifyRequest{Report: out}); v.Status != ManifestInvalid || !strings.Contains(v.Reason, "outside its directory") {
		t.Errorf("escaping path: %s (%s)", v.Status, v.Reason)
	}
	// Not a manifest.
	os.WriteFile(out+".manifest.json", []byte("[1]"), 0o600)
	if v, _ := VerifyReview(ReviewVerifyRequest{Report: out}); v.Status != ManifestInvalid {
		t.Errorf("garbage manifest: %s (%s)", v.Status, v.Reason)
	}
	if v, _ := VerifyReview(ReviewVerifyRequest{Report: filepath.Join(dir, "none.html")}); v.Status != ManifestUnverifiable {
		t.Errorf("no manifest: %s", v.Status)
	}
}

// TestReviewSuppressed: the ignore list applies to the review's findings, and each suppressed
// finding is in the manifest with its entry; an expired entry suppresses nothing and is noted.
func TestReviewSuppressed(t *testing.T) {
	fs := []analyze.Finding{{Rule: "bulk-read", Identity: "sa-backup", Title: "Bulk read"}, {Rule: "bulk-read", Identity: "mallory"}}
	entries, err := NewIgnoreList([]IgnoreRule{{Rule: "bulk-read", Identity: "sa-backup", Reason: "nightly backup", Expires: "2027-01-31"},
		{Rule: "bulk-read", Identity: "mallory", Reason: "old exception", Expires: "2026-01-01"}})
	if err != nil {
		t.Fatal(err)
	}
	kept, sup, notes := suppressReview(fs, entries, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	if len(kept) != 1 || kept[0].Identity != "mallory" {
		t.Errorf("kept %+v", kept)
	}
	if len(sup) != 1 || sup[0].Ignore.Reason != "nightly backup" || sup[0].Ignore.Expires != "2027-01-31" || sup[0].Ignore.Index != 0 || sup[0].Fingerprint == "" {
		t.Errorf("suppressed %+v", sup)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "expired on 2026-01-01") {
		t.Errorf("notes %q", notes)
	}
}

// TestManifestInputs: inputs are hashed as stored; a plain file that grew after it was read
// says so; standard input and s3:// objects have no hash and say why.
func TestManifestInputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(p, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	rr := &report.ReviewResult{Files: []sources.FileStats{{File: p, Format: "vault", Bytes: 10}, {File: p, Format: "vault", Bytes: 4},
		{File: "-", Format: "vault"}, {File: "s3://bucket/key.gz", Format: "cloudtrail"}}}
	m := buildManifest(&Options{Start: time.Date(2026, 10, 2, 9, 0, 0, 0, time.UTC)}, rr, []string{p}, nil, ReviewSignoff{Reviewer: report.Reviewer{Name: "x"}})
	const sum = "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882" // sha256 of 0123456789
	if in := m.Inputs[0]; in.SHA256 == nil || *in.SHA256 != sum || in.Bytes != 10 || in.Note != "" {
		t.Errorf("plain file: %+v", in)
	}
	if in := m.Inputs[1]; !strings.Contains(in.Note, "changed after it was read (4 bytes read, 10 hashed)") {
		t.Errorf("grown file: %+v", in)
	}
	if in := m.Inputs[2]; in.SHA256 != nil || !strings.Contains(in.Note, "standard input") {
		t.Errorf("stdin: %+v", in)
	}
	if in := m.Inputs[3]; in.SHA256 != nil || !strings.Contains(in.Note, "not a local file") {
		t.Errorf("s3: %+v", in)
	}
	if len(m.Inventory) != 1 || m.Inventory[0].SHA256 == nil || *m.Inventory[0].SHA256 != sum {
		t.Errorf("inventory: %+v", m.Inventory)
	}
	if m.Reviewer.Date != "2026-10-02" || m.GeneratedAt != "2026-10-02T09:00:00Z" || m.SignedBy != nil || m.Config != nil {
		t.Errorf("manifest: %+v", m)
	}
}
