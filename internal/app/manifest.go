package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/signing"
)

// The review's manifest and sign-off (docs/review.md, "Sign-off and manifest"): what the review
// read, with which rules and thresholds, what the ignore list left out and who signed it off;
// written next to the report with the report files' SHA-256, signed in the SSH signature format
// with --sign-key, and checked by review --verify.

// ReviewSignoff are a review's sign-off options.
type ReviewSignoff struct {
	Signer   ssh.Signer // --sign-key; nil: the manifest file is not signed
	Reviewer report.Reviewer
}

// ManifestPath is the manifest file of a review written to output (-o): FILE.manifest.json,
// or manifest.json in a CSV review's directory.
func ManifestPath(output, format string) string {
	if format == "csv" {
		return filepath.Join(output, "manifest.json")
	}
	return output + ".manifest.json"
}

// suppressReview leaves out the findings an unexpired ignore entry accepts and returns them
// with the entry, for the manifest; expired entries suppress nothing and are noted.
func suppressReview(fs []analyze.Finding, entries []IgnoreEntry, now time.Time) (kept []analyze.Finding, sup []report.ManifestSuppressed, notes []string) {
	var active []IgnoreEntry
	for _, e := range entries {
		if e.expired(now) {
			notes = append(notes, expiredNote(e))
		} else {
			active = append(active, e)
		}
	}
	for _, f := range fs {
		i := -1
		for j := range active {
			if active[j].matches(&f) {
				i = j
				break
			}
		}
		if i < 0 {
			kept = append(kept, f)
			continue
		}
		e := active[i]
		sup = append(sup, report.ManifestSuppressed{Fingerprint: f.Fingerprint(), Rule: f.Rule, Severity: f.Severity.String(),
			Identity: report.Sanitize(f.Identity), Title: report.Sanitize(f.Title),
			Ignore: report.ManifestIgnore{Index: e.Index, Rule: e.Rule, Identity: e.Identity, Resource: e.Resource, Reason: e.Reason, Expires: e.Expires}})
	}
	return kept, sup, notes
}

// buildManifest is the review's manifest without the report files (they are not written yet).
func buildManifest(o *Options, rr *report.ReviewResult, inventory []string, sup []report.ManifestSuppressed, s ReviewSignoff) *report.ReviewManifest {
	m := report.NewReviewManifest(rr)
	m.GeneratedAt = o.Start.UTC().Format(time.RFC3339)
	for i := range m.Inputs {
		hashInto(&m.Inputs[i])
		// A plain file whose size differs from what was read changed in between (a live log
		// appended to): the hash covers more than the review read.
		if f := rr.Files[i]; m.Inputs[i].SHA256 != nil && !f.Compressed && f.Format != "" && f.NotRead == "" && f.ReadError == "" && f.Bytes != m.Inputs[i].Bytes {
			m.Inputs[i].Note = fmt.Sprintf("the file changed after it was read (%d bytes read, %d hashed)", f.Bytes, m.Inputs[i].Bytes)
		}
	}
	conf := o.config()
	if conf.Path != "" {
		f := report.ManifestFile{File: conf.Path}
		hashInto(&f)
		m.Config = &f
	}
	if o.BaselinePath != "" {
		f := report.ManifestFile{File: o.BaselinePath}
		hashInto(&f)
		m.Baseline = &f
	}
	for _, p := range inventory {
		f := report.ManifestFile{File: p, Format: "inventory"}
		hashInto(&f)
		m.Inventory = append(m.Inventory, f)
	}
	for _, id := range m.Rules {
		if t := conf.Analyze.Thresholds(id); t != nil {
			m.Thresholds[id] = thresholdMap(t)
		}
	}
	rc := conf.Review
	var scopes, overrides []map[string]any
	for _, c := range rc.CIScopes {
		scopes = append(scopes, map[string]any{"identity": c.Identity, "secrets": c.Secrets})
	}
	for _, ov := range rc.Hygiene.Overrides {
		overrides = append(overrides, map[string]any{"secrets": ov.Secrets, "max_age": durationText(ov.MaxAge), "unused_after": durationText(ov.UnusedAfter)})
	}
	m.ReviewSettings = map[string]any{"production": rc.Production, "ci_scopes": scopes, "dormant_after": durationText(rc.DormantAfter),
		"hygiene": map[string]any{"max_age": durationText(rc.Hygiene.MaxAge), "unused_after": durationText(rc.Hygiene.UnusedAfter), "overrides": overrides}}
	if sup != nil {
		m.Suppressed = sup
	}
	m.Reviewer = s.Reviewer
	if m.Reviewer.Name != "" && m.Reviewer.Date == "" {
		m.Reviewer.Date = o.Start.UTC().Format("2006-01-02")
	}
	if s.Signer != nil {
		pub := s.Signer.PublicKey()
		m.SignedBy = &report.ManifestSigner{Key: ssh.FingerprintSHA256(pub), KeyType: pub.Type(), Namespace: signing.Namespace}
	}
	return m
}

// hashInto sets f's size and SHA-256 over the bytes as stored, or says why it has none.
func hashInto(f *report.ManifestFile) {
	switch {
	case f.File == "-" || f.File == "":
		f.Note = "standard input: not hashed"
		return
	case strings.Contains(f.File, "://"):
		f.Note = "not a local file: not hashed"
		return
	}
	sum, n, err := hashFile(f.File)
	if err != nil {
		f.Note = "not hashed: " + report.Sanitize(err.Error())
		return
	}
	f.SHA256, f.Bytes = &sum, n
}

func hashFile(path string) (string, int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
		return "", 0, errors.New("not a regular file")
	}
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// thresholdMap is a rule's thresholds struct (analyze.Config.Thresholds) as its configuration
// keys (yaml tags; inline structs flattened), durations as text.
func thresholdMap(ptr any) map[string]any {
	out := map[string]any{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		for i := range v.NumField() {
			name, opts, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			fv := v.Field(i)
			switch {
			case name == "-" || !v.Type().Field(i).IsExported():
			case name == "" && opts == "inline":
				walk(fv)
			case name != "":
				if d, ok := fv.Interface().(time.Duration); ok {
					out[name] = durationText(d)
				} else {
					out[name] = fv.Interface()
				}
			}
		}
	}
	walk(reflect.ValueOf(ptr).Elem())
	return out
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// writeManifest writes the manifest file covering the report files written, and its signature
// when the sign-off has a key. A stale signature of an earlier run is removed, so a manifest is
// never left beside a signature over other bytes.
func writeManifest(ctx context.Context, o *Options, path string, m *report.ReviewManifest, reports []string, s ReviewSignoff) error {
	mf := *m
	mf.Reports = []report.ManifestFile{}
	dir := filepath.Dir(path)
	for _, p := range reports {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			rel = p
		}
		f := report.ManifestFile{File: filepath.ToSlash(rel)}
		sum, n, err := hashFile(p)
		if err != nil {
			return runtimef("check the path given to -o", fmt.Errorf("review manifest: hash %s: %w", p, err))
		}
		f.SHA256, f.Bytes = &sum, n
		mf.Reports = append(mf.Reports, f)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&mf); err != nil {
		return runtimef("", fmt.Errorf("review manifest: %w", err))
	}
	data := buf.Bytes()
	if err := writeOutput(ctx, o.IO.Out, path, "review manifest", func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return err
	}
	sigPath := path + ".sig"
	if s.Signer == nil {
		if err := os.Remove(sigPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return runtimef("remove the old signature by hand", fmt.Errorf("review manifest: remove the stale %s: %w", sigPath, err))
		}
		return nil
	}
	sig, err := signing.Sign(s.Signer, data)
	if err != nil {
		return runtimef("check the key given to --sign-key", fmt.Errorf("review manifest: %w", err))
	}
	return writeOutput(ctx, o.IO.Out, sigPath, "review manifest signature", func(w io.Writer) error { _, err := w.Write(sig); return err })
}

// Review verification results (review --verify): as vaultsentry verify's.
const (
	ManifestValid        = "valid"
	ManifestInvalid      = "invalid"
	ManifestUnverifiable = "unverifiable"
)

// ReviewVerifyRequest is one `vaultsentry review --verify REPORT`.
type ReviewVerifyRequest struct {
	// Report is the report file, the CSV review's directory, or the manifest file itself.
	Report string
	// Trusted are the allowed signers (--allowed-signers); nil: the signature is not checked.
	Trusted []signing.Signer
}

// ReviewCheck is one check of a verification: a report file, an input, the signature.
type ReviewCheck struct {
	What   string // report, input, config, baseline, signature
	File   string
	OK     bool
	Status string // ok, changed, missing, not-present, good, bad, not-signed, not-checked
	Detail string
}

// ReviewVerification is the result of VerifyReview.
type ReviewVerification struct {
	Status   string // valid, invalid, unverifiable
	Reason   string // why, when not valid
	Manifest string
	Checks   []ReviewCheck
	Signer   []string // the principals of the allowed signer that signed
}

// VerifyReview checks a review against its manifest file: the SHA-256 of every report file it
// lists (a changed or missing one is invalid), of every input, the configuration and the
// baseline where they are present here (a changed one is invalid, an absent one is noted), and
// the signature with the allowed signers. Without a signature check (no .sig, or no allowed
// signers given) hashes that match are unverifiable: anyone who changed the report could have
// rewritten an unsigned manifest. An error is a manifest that cannot be read at all.
func VerifyReview(req ReviewVerifyRequest) (*ReviewVerification, error) {
	path := req.Report
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "manifest.json")
	} else if !strings.HasSuffix(path, ".manifest.json") && filepath.Base(path) != "manifest.json" {
		path += ".manifest.json"
	}
	v := &ReviewVerification{Manifest: path}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			v.Status, v.Reason = ManifestUnverifiable, "no manifest file "+path+" (a review written with -o has one beside the report)"
			return v, nil
		}
		return nil, err
	}
	var m report.ReviewManifest
	if err := json.Unmarshal(data, &m); err != nil || m.ManifestVersion == "" {
		v.Status, v.Reason = ManifestInvalid, "the manifest is not a review manifest"
		if err != nil {
			v.Reason += ": " + err.Error()
		}
		return v, nil
	}
	dir := filepath.Dir(path)
	invalid := func(c ReviewCheck) { c.OK = false; v.Checks = append(v.Checks, c) }
	if len(m.Reports) == 0 {
		invalid(ReviewCheck{What: "report", File: path, Status: "missing", Detail: "the manifest lists no report file"})
	}
	covered := false
	for _, f := range m.Reports {
		p := filepath.Join(dir, filepath.FromSlash(f.File))
		if !filepath.IsLocal(filepath.FromSlash(f.File)) {
			invalid(ReviewCheck{What: "report", File: f.File, Status: "bad", Detail: "the manifest names a report outside its directory"})
			continue
		}
		if samePath(p, req.Report) {
			covered = true
		}
		v.Checks = append(v.Checks, compareFile("report", p, f, false))
	}
	if !covered && path != req.Report && !isDir(req.Report) {
		invalid(ReviewCheck{What: "report", File: req.Report, Status: "missing", Detail: "the manifest does not list this report"})
	}
	for _, f := range m.Inputs {
		if f.SHA256 == nil {
			v.Checks = append(v.Checks, ReviewCheck{What: "input", File: f.File, OK: true, Status: "not-checked", Detail: "the review recorded no hash: " + f.Note})
			continue
		}
		v.Checks = append(v.Checks, compareFile("input", locate(f.File, dir), f, true))
	}
	for _, x := range []struct {
		what string
		f    *report.ManifestFile
	}{{"config", m.Config}, {"baseline", m.Baseline}} {
		if x.f != nil && x.f.SHA256 != nil {
			v.Checks = append(v.Checks, compareFile(x.what, locate(x.f.File, dir), *x.f, true))
		}
	}
	for _, f := range m.Inventory {
		if f.SHA256 != nil {
			v.Checks = append(v.Checks, compareFile("inventory", locate(f.File, dir), f, true))
		}
	}
	sigCheck := ReviewCheck{What: "signature", File: path + ".sig"}
	sig, err := os.ReadFile(path + ".sig")
	switch {
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, err
	case err != nil && req.Trusted != nil:
		sigCheck.Status, sigCheck.Detail = "missing", "allowed signers were given but the manifest has no signature"
	case err != nil:
		sigCheck.OK, sigCheck.Status, sigCheck.Detail = true, "not-signed", "the manifest is not signed"
	case req.Trusted == nil:
		sigCheck.OK, sigCheck.Status, sigCheck.Detail = true, "not-checked", "signed; pass --allowed-signers to check the signature"
	default:
		res, err := signing.Verify(data, sig, req.Trusted)
		if err != nil {
			sigCheck.Status, sigCheck.Detail = "bad", err.Error()
		} else {
			sigCheck.OK, sigCheck.Status = true, "good"
			sigCheck.Detail = "signed by " + res.Fingerprint
			if p := strings.Join(res.Principals, ", "); p != "" {
				sigCheck.Detail += " (" + p + ")"
			}
			v.Signer = res.Principals
		}
	}
	v.Checks = append(v.Checks, sigCheck)
	var bad []string
	for _, c := range v.Checks {
		if !c.OK {
			bad = append(bad, c.What+" "+c.File+": "+c.Detail)
		}
	}
	switch {
	case len(bad) > 0:
		v.Status, v.Reason = ManifestInvalid, strings.Join(bad, "; ")
	case sigCheck.Status != "good":
		v.Status, v.Reason = ManifestUnverifiable, "the hashes match, but "+sigCheck.Detail+": nothing shows who wrote the manifest"
	default:
		v.Status = ManifestValid
	}
	return v, nil
}

// compareFile checks a file against its manifest entry. optional: a file absent here is noted,
// not a failure (the inputs of a review are often not where the auditor verifies it).
func compareFile(what, path string, f report.ManifestFile, optional bool) ReviewCheck {
	c := ReviewCheck{What: what, File: path}
	sum, n, err := hashFile(path)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist) && optional:
		c.OK, c.Status, c.Detail = true, "not-present", "not here, not checked"
	case err != nil:
		c.Status, c.Detail = "missing", err.Error()
	case f.SHA256 == nil || sum != *f.SHA256:
		want := "none"
		if f.SHA256 != nil {
			want = *f.SHA256
		}
		c.Status, c.Detail = "changed", fmt.Sprintf("sha256 %s (%d bytes), the manifest has %s (%d bytes)", sum, n, want, f.Bytes)
	default:
		c.OK, c.Status, c.Detail = true, "ok", "sha256 "+sum
	}
	return c
}

// locate finds a file the review named: as recorded (relative to where the review ran), else
// relative to the manifest's directory.
func locate(file, dir string) string {
	if _, err := os.Stat(file); err == nil || filepath.IsAbs(file) {
		return file
	}
	if p := filepath.Join(dir, file); fileExists(p) {
		return p
	}
	return file
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func isDir(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}
