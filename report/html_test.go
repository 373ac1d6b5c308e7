package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestHTMLEscapesAndSelfContained renders the incident (whose identity and paths carry markup,
// newlines and escape sequences) and checks the page loads nothing and runs nothing.
func TestHTMLEscapesAndSelfContained(t *testing.T) {
	r, _ := incidentResult(t)
	var buf bytes.Buffer
	if err := (HTML{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<script", "<img", "\x1b", "<b>markup</b>", "<nightly>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`,
		"&lt;script&gt;alert(1)&lt;/script&gt;", // the hostile display name, shown as text
		`\u000a::warning::owned\x1b[31m`,        // controls made visible, as on the terminal
		`id="chart-timeline"`, "<polyline", "Reads per identity", "Distinct secrets per window",
		"known &lt;nightly&gt; job", "Suppressed by the ignore list (1)", "Already in the previous report",
		"T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, f := range r.Findings {
		if !strings.Contains(page, `id="f-`+f.Fingerprint()+`"`) {
			t.Errorf("finding %s %s has no section", f.Rule, f.Identity)
		}
	}
	// Nothing is fetched: no src attribute at all, and links only to anchors in the page.
	if m := regexp.MustCompile(`<[a-zA-Z][^<>]*\ssrc=`).FindString(page); m != "" {
		t.Errorf("page has a src attribute: %q", m)
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("link leaves the page: %q", m[1])
		}
	}
}

func TestHTMLNoFindings(t *testing.T) {
	var buf bytes.Buffer
	if err := (HTML{}).Render(&buf, &Result{Command: "scan"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<p id="no-findings">No findings.</p>`) {
		t.Error("an empty run should say there are no findings")
	}
}

// TestHTMLSummary checks what the executive summary, the index, the groups and the input summary
// are built from: the worst finding first, one group per identity, the values returned as the
// secrets to rotate, and digests counted per format rather than listed.
func TestHTMLSummary(t *testing.T) {
	r := fixedResult()
	r.Findings[1].ValuesRead = []string{"kv/x<img src=x onerror=alert(2)>|`*_[]/s0\r\n::error::pwned"}
	r.Findings[0].ValuesRead = []string{"kv/prod/a", "database/creds/ledger-rw"}
	low := r.Findings[0]
	low.Rule, low.Severity, low.Title, low.ValuesRead = "new-source-ip", analyze.Low, "New source address", []string{"kv/prod/a"}
	low.FirstSeen = low.FirstSeen.Add(-time.Hour)
	r.Findings = append([]analyze.Finding{low}, r.Findings...)
	r.Files = append(r.Files, ctLikeFiles(24)...)
	r.Files = append(r.Files, sources.FileStats{File: "notes.yaml", NotRead: "not an audit log (YAML)"})
	r.Changes = &Changes{Path: "y.json", Found: true, Resolved: []PriorFinding{{Fingerprint: "ab", Rule: "bulk-read", Title: "Old <b>one</b>"}}}
	v := buildHTMLView(r)

	if got := []string{v.Index[0].Rule, v.Index[1].Rule, v.Index[2].Rule}; got[0] != "bulk-read" || got[2] != "new-source-ip" {
		t.Errorf("index order = %v, want the critical finding first and the low one last", got)
	}
	if len(v.Top) != 2 || v.Top[0].Severity != "critical" {
		t.Errorf("what happened lists %d findings, want the critical and the high one", len(v.Top))
	}
	if len(v.Groups) != 2 || v.Groups[0].Identity != "0b7a-entity" || len(v.Groups[0].Findings) != 2 {
		t.Fatalf("groups: %+v", v.Groups)
	}
	if g := v.Groups[0].Findings; g[0].Rule != "new-source-ip" || g[1].Rule != "bulk-read" || g[0].RepeatGuide || g[1].RepeatGuide {
		t.Errorf("an identity's findings stay in time order, each rule's guide printed once: %s %v, %s %v", g[0].Rule, g[0].RepeatGuide, g[1].Rule, g[1].RepeatGuide)
	}
	if len(v.Affected) != 2 || v.Affected[0].Values != 2 || v.Affected[0].Findings != 2 || v.Affected[0].Severity != "critical" {
		t.Errorf("who is affected: %+v", v.Affected[0])
	}
	var rotate []string
	for _, s := range v.Rotate {
		rotate = append(rotate, s.Name+"@"+s.Severity+"@"+strings.Join(s.Readers, "+")+"@"+s.Findings[0].Label)
	}
	want := []string{"database/creds/ledger-rw@critical@k8s-eu1-risk-fraud-model@bulk-read", "kv/prod/a@critical@k8s-eu1-risk-fraud-model@bulk-read",
		`kv/x<img src=x onerror=alert(2)>|` + "`*_[]/s0\\u000d\\u000a::error::pwned@high@" + Sanitize(r.Findings[2].DisplayName) + "@dual-source-ip"}
	if strings.Join(rotate, "\n") != strings.Join(want, "\n") {
		t.Errorf("what to rotate:\n%s\nwant\n%s", strings.Join(rotate, "\n"), strings.Join(want, "\n"))
	}
	if len(v.Rotate[1].Findings) != 2 || v.TouchedOnly != 1 {
		t.Errorf("kv/prod/a was returned by two findings (%d); %d other resources were only touched, want 1 (kv/prod/b)", len(v.Rotate[1].Findings), v.TouchedOnly)
	}
	if len(v.Revoke) != 2 || v.Revoke[0].Credential != "hmac-sha256:1b3c" {
		t.Errorf("credentials to revoke: %+v", v.Revoke)
	}
	if v.Changes == nil || v.Changes.New != 3 || v.Changes.Resolved.Total != 1 || v.Changes.Recurring.Total != 0 {
		t.Errorf("changes: %+v", v.Changes)
	}
	if !strings.HasPrefix(v.Headline, "3 findings (1 critical, 1 high, 1 low) about 2 identities") || !strings.Contains(v.Headline, "3 secrets had their value returned") {
		t.Errorf("headline = %q", v.Headline)
	}
	if len(v.Formats) != 3 {
		t.Fatalf("formats: %+v", v.Formats)
	}
	ct, nr := v.Formats[1], v.Formats[2]
	if ct.Format != "cloudtrail" || ct.Files != 24 || ct.NoEvents != 6 || ct.WholeFiles != "digest-file 4, duplicate 2" || ct.Events != 18*3 {
		t.Errorf("cloudtrail inputs: %+v", ct)
	}
	if nr.Format != "not read" || nr.NoEvents != 1 || nr.WholeFiles != "not an audit log (YAML) 1" {
		t.Errorf("files not read: %+v", nr)
	}
	if len(v.ProblemFiles) != 1 || v.ProblemFiles[0].Name != "vault-main/audit.log" {
		t.Errorf("files with problems: %+v", v.ProblemFiles)
	}

	var buf bytes.Buffer
	if err := (HTML{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, bad := range []string{"<img", "<b>one</b>", "<script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{`id="executive-summary"`, `<a href="#` + v.Index[0].Anchor + `">`, `id="changes-resolved">1<`, "Old &lt;b&gt;one&lt;/b&gt;",
		`<details id="input-files">`, "Files without events: digest-file 4, duplicate 2."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
