package report

import (
	"github.com/vaultsentry/vaultsentry/analyze"
)

// ManifestVersion is the version of the review manifest's shape (docs/review.md, "Sign-off and
// manifest").
const ManifestVersion = "1"

// ReviewManifest is the record of how a review was made, for the auditor: the period, every
// input with its SHA-256 (over the bytes as stored), the tool, the exact command line, the rules
// and thresholds in effect, the findings the ignore list suppressed with the entry that did it,
// and the reviewer's sign-off. The review's JSON holds it as "manifest"; written next to the
// report (REPORT.manifest.json, or manifest.json in a CSV directory) it also holds the SHA-256
// of the report files it covers ("reports"), and --sign-key signs that file.
type ReviewManifest struct {
	ManifestVersion string               `json:"manifest_version"`
	Tool            string               `json:"tool"`
	Version         string               `json:"version"`
	GeneratedAt     string               `json:"generated_at"` // the wall clock of the run (RFC 3339), "" when unknown
	Command         []string             `json:"command"`
	Period          reviewPeriod         `json:"period"`
	Inputs          []ManifestFile       `json:"inputs"`
	Config          *ManifestFile        `json:"config"`    // null: the defaults
	Baseline        *ManifestFile        `json:"baseline"`  // null: none given
	Inventory       []ManifestFile       `json:"inventory"` // the --inventory files
	Rules           []string             `json:"rules"`
	Thresholds      map[string]any       `json:"thresholds"` // per rule id, keys as in the configuration's thresholds.<rule-id>
	ReviewSettings  map[string]any       `json:"review_settings"`
	Suppressed      []ManifestSuppressed `json:"suppressed"`
	Reviewer        Reviewer             `json:"reviewer"`
	SignedBy        *ManifestSigner      `json:"signed_by"` // null: not signed
	// Reports are the report files the manifest covers; only in the manifest file (a report
	// cannot hold its own hash).
	Reports []ManifestFile `json:"reports,omitempty"`
}

// ManifestFile is one file and its SHA-256 over the bytes as stored (compressed files are
// hashed compressed). SHA256 is null when the file could not be hashed (standard input, an
// s3:// object): Note says why.
type ManifestFile struct {
	File   string  `json:"file"`
	Format string  `json:"format,omitempty"`
	Bytes  int64   `json:"bytes"`
	SHA256 *string `json:"sha256"`
	Note   string  `json:"note,omitempty"`
}

// ManifestSuppressed is one finding the ignore list left out of the review, with the entry
// that did it: the documented exception.
type ManifestSuppressed struct {
	Fingerprint string         `json:"fingerprint"`
	Rule        string         `json:"rule"`
	Severity    string         `json:"severity"`
	Identity    string         `json:"identity"`
	Title       string         `json:"title"`
	Ignore      ManifestIgnore `json:"ignore"`
}

// ManifestIgnore is an entry of the configuration's ignore list as written.
type ManifestIgnore struct {
	Index    int    `json:"index"`
	Rule     string `json:"rule"`
	Identity string `json:"identity,omitempty"`
	Resource string `json:"resource,omitempty"`
	Reason   string `json:"reason"`
	Expires  string `json:"expires"` // YYYY-MM-DD; "" never expires
}

// Reviewer is the sign-off: who reviewed the period, in which role, when and what they
// decided. Fields not given on the command line are "" for the reviewer to fill in on paper (a
// signed manifest is not edited: sign after filling them in).
type Reviewer struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Date     string `json:"date"`
	Decision string `json:"decision"` // approved, approved-with-exceptions, rejected; "" pending
}

// Reviewer decisions.
var ReviewerDecisions = []string{"approved", "approved-with-exceptions", "rejected"}

// ManifestSigner says which key signs the manifest file (its .sig) and for which SSHSIG
// namespace.
type ManifestSigner struct {
	Key       string `json:"key"` // SHA256:... as ssh-keygen -l shows it
	KeyType   string `json:"key_type"`
	Namespace string `json:"namespace"`
}

// NewReviewManifest is the manifest of r as far as r knows it: period, tool, command, the inputs
// (without hashes) and the rules. internal/app adds the hashes, thresholds, suppressed findings
// and the reviewer.
func NewReviewManifest(r *ReviewResult) *ReviewManifest {
	m := &ReviewManifest{ManifestVersion: ManifestVersion, Tool: "vaultsentry", Version: r.Version, Command: nonNil(r.Command),
		Inputs: []ManifestFile{}, Inventory: []ManifestFile{}, Rules: []string{}, Thresholds: map[string]any{}, ReviewSettings: map[string]any{},
		Suppressed: []ManifestSuppressed{}}
	if r.Review != nil {
		m.Period = reviewPeriod{utc(r.Review.Start), utc(r.Review.End)}
	}
	for _, f := range r.Files {
		m.Inputs = append(m.Inputs, ManifestFile{File: validUTF8(f.File), Format: f.Format})
	}
	for _, rule := range analyze.Rules() {
		m.Rules = append(m.Rules, rule.ID)
	}
	return m
}

// manifestOf is the manifest the review's JSON embeds: r.Manifest, or the one r implies.
func manifestOf(r *ReviewResult) *ReviewManifest {
	if r.Manifest != nil {
		return r.Manifest
	}
	return NewReviewManifest(r)
}
