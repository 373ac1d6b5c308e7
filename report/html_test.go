package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
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
