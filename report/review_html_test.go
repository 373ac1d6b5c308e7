package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

// hostile strings planted in paths, identities and reasons: markup and a terminal escape.
const (
	hostileSecret   = "kv/prod/<script>alert(1)</script>/\x1b[31mred\x1b[0m"
	hostileIdentity = "oidc-<img src=x onerror=alert(2)>"
)

// practiceLikeReview is a review shaped like the practice scenario's (three stores, about a
// hundred accesses, sixty secrets, forty findings): 14 days of reads by workloads, CI and people,
// writes, denied attempts, and a CloudTrail tree's integrity, with hostile strings in a secret's
// path and a person's name, a suppressed finding and a reviewer.
func practiceLikeReview(t *testing.T) *ReviewResult {
	t.Helper()
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var evs []event.Event
	add := func(at time.Time, op event.Op, outcome event.Outcome, who, display string, class event.Class, res string, ip string) {
		ev := event.Event{Time: at, Kind: event.KindVault, Op: op, Outcome: outcome, Principal: who, DisplayName: display, Class: class, Resource: res,
			RemoteAddr: netip.MustParseAddr(ip)}
		if op == event.OpRead {
			ev.Flags = event.FlagValueRead
		}
		evs = append(evs, ev)
	}
	var secrets []string
	for i := range 60 {
		env := []string{"prod", "staging", "dev"}[i%3]
		secrets = append(secrets, fmt.Sprintf("kv/%s/service-%02d/database-credentials", env, i))
	}
	secrets = append(secrets, hostileSecret)
	for i, s := range secrets {
		add(t0.Add(time.Duration(i)*time.Minute), event.OpWrite, event.OutcomeOK, "ops-rotator", "approle-rotator", event.ClassWorkload, s, "10.0.0.5")
	}
	for d := range 14 {
		day := t0.Add(time.Duration(d) * 24 * time.Hour)
		for w := range 20 {
			for k := range 4 {
				s := secrets[(w*3+k)%len(secrets)]
				if w%7 == 3 && d%5 != 0 {
					continue // rarely read
				}
				add(day.Add(time.Duration(w*10+k)*time.Minute+time.Hour), event.OpRead, event.OutcomeOK, fmt.Sprintf("sa-%02d", w),
					fmt.Sprintf("kubernetes-payments-%02d", w), event.ClassWorkload, s, "10.0.1.9")
			}
		}
		add(day.Add(9*time.Hour), event.OpRead, event.OutcomeOK, "alice", "oidc-alice", event.ClassPerson, secrets[0], "203.0.113.9")
		add(day.Add(10*time.Hour), event.OpRead, event.OutcomeDenied, "mallory", hostileIdentity, event.ClassPerson, hostileSecret, "198.51.100.7")
		add(day.Add(11*time.Hour), event.OpRead, event.OutcomeOK, "gitlab-runner", "gitlab-ci", event.ClassWorkload, secrets[d%len(secrets)], "10.0.2.2")
	}
	cfg := review.DefaultConfig()
	cfg.CIScopes = []review.CIScope{{Identity: "gitlab-ci", Secrets: []string{"kv/dev/*"}}}
	rv := review.Build(evs, t0, t0.Add(14*24*time.Hour), cfg, nil, func(a netip.Addr) bool { return a.IsPrivate() })
	r, _ := incidentResult(t)
	rr := &ReviewResult{Review: rv, Findings: r.Findings, Version: "1.4.0", Command: []string{"vaultsentry", "review", "--format", "html", "-o", "review.html", "kv/"}}
	for i := range 7 {
		rr.Files = append(rr.Files, sources.FileStats{File: fmt.Sprintf("/var/log/vault/audit.log-202609%02d.gz", i+1), Format: "vault", Events: 900 + i,
			FirstEvent: t0.Add(time.Duration(i) * 48 * time.Hour), LastEvent: t0.Add(time.Duration(i+1) * 48 * time.Hour)})
	}
	rr.Files = append(rr.Files, sources.FileStats{File: "/var/log/\x1b]0;owned\x07<b>evil</b>.log", Format: "vault", Events: 1})
	rr.Integrity = []TreeIntegrity{{Tree: "export/<i>trail</i>", CloudTrail: &integrity.Result{Status: integrity.Invalid, LogFiles: 120, Digests: 24,
		Problems: []integrity.Problem{{File: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/11/x.json.gz", Kind: "hash-mismatch", Detail: "sha256 differs from the digest's"}}}}}
	for i := range 99 { // a tree with many problems: the page shows 40 and folds the rest
		rr.Integrity[0].CloudTrail.Problems = append(rr.Integrity[0].CloudTrail.Problems, integrity.Problem{File: fmt.Sprintf("AWSLogs/x/%03d.json.gz", i),
			Kind: "missing-log-file", Detail: "listed by its digest, not in the tree"})
	}
	m := NewReviewManifest(rr)
	sum := strings.Repeat("ab", 32)
	for i := range m.Inputs {
		m.Inputs[i].SHA256, m.Inputs[i].Bytes = &sum, 1234
	}
	m.Thresholds["bulk-read"] = map[string]any{"window": "5m0s", "min_count": 30}
	m.Suppressed = []ManifestSuppressed{{Fingerprint: "0123456789abcdef", Rule: "bulk-read", Severity: "high", Identity: "sa-backup",
		Title: "Bulk read", Ignore: ManifestIgnore{Index: 0, Rule: "bulk-read", Identity: "sa-backup", Reason: "nightly backup <script>x</script>", Expires: "2027-01-31"}}}
	m.Reviewer = Reviewer{Name: "A. Auditor", Role: "Security lead", Date: "2026-10-02"}
	m.SignedBy = &ManifestSigner{Key: "SHA256:abc", KeyType: "ssh-ed25519", Namespace: "vaultsentry-review"}
	rr.Manifest = m
	return rr
}

// TestReviewHTML checks the page without a browser: every section is there, the hostile strings
// are escaped and their control characters shown in caret notation, and nothing is loaded.
func TestReviewHTML(t *testing.T) {
	rr := practiceLikeReview(t)
	var buf bytes.Buffer
	if err := RenderReview(&buf, "html", rr); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range []string{"summary", "period", "access", "secrets", "s-integrity", "findings", "manifest", "signoff"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("no section #%s", id)
		}
	}
	for _, bad := range []string{"<script>", "<img", "<b>evil", "<i>trail", "\x1b", "\x07"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `\x1b[31mred`, "A. Auditor", "nightly backup &lt;script&gt;", "hash-mismatch",
		"st-invalid", "2027-01-31", strings.Repeat("ab", 32), "ssh-keygen -Y verify", "(the same as above)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, ext := range []string{`href="http`, `src="`, "<link", "<img", "url(", "@import"} {
		if strings.Contains(page, ext) {
			t.Errorf("the page holds %q: it must load nothing", ext)
		}
	}
}

// TestReviewHTMLGeneric: a part of the document the page has no layout for (controls, added by
// a later version) is rendered as a table of its objects, escaped.
func TestReviewHTMLGeneric(t *testing.T) {
	var controls any
	if err := json.Unmarshal([]byte(`[{"framework":"soc2","id":"CC6.3","title":"Access <em>review</em>","status":"gap","evidence":["a","b"],"remediation":null},
		{"framework":"pci4","id":"10.4.1.1","status":"evidence","extra":{"k":1.5}}]`), &controls); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := reviewHTMLTemplate.ExecuteTemplate(&buf, "value", controls); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"<th>Framework</th>", "<th>Remediation</th>", "<th>Extra</th>", "CC6.3", "Access &lt;em&gt;review&lt;/em&gt;",
		`class="st-gap"`, `class="st-evidence"`, "<li>", "1.5"} {
		if !strings.Contains(out, want) {
			t.Errorf("generic table lacks %q:\n%s", want, out)
		}
	}
}

// TestReviewHTMLInChromium opens the practice-like review in headless Chromium: no console
// error, exception or request; the hostile strings are text; in print media every section after
// the summary starts a page and table headers repeat; it prints to a sane number of A4 pages.
func TestReviewHTMLInChromium(t *testing.T) {
	b := newBrowser(t)
	rr := practiceLikeReview(t)
	var buf bytes.Buffer
	if err := RenderReview(&buf, "html", rr); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "review.html")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := b.open(t, file)
	count := func(js string) int { t.Helper(); return eval[int](t, b, js) }
	active := count(`document.querySelectorAll('script, img, iframe, object, embed, link, form, a[href^="http"]').length`)
	broken := count(`Array.from(document.querySelectorAll('a[href^="#"]')).filter(a => !document.getElementById(a.getAttribute('href').slice(1))).length`)
	accessRows := count(`document.querySelectorAll('#access-all tbody tr').length`)
	secretRows := count(`document.querySelectorAll('#secrets-table tbody tr').length`)
	findingRows := count(`document.querySelectorAll('#findings-table tbody tr').length`)
	text := eval[string](t, b, `document.body.innerText`)
	folded := count(`Array.from(document.querySelectorAll('#s-integrity details.more')).filter(d => !d.open && d.querySelectorAll(':scope > table > tbody > tr').length === 60).length`)
	shownProblems := count(`Array.from(document.querySelectorAll('#s-integrity table.generic')).filter(t => !t.closest('details') && Array.from(t.querySelectorAll(':scope > thead th')).some(th => th.textContent === 'Kind')).map(t => t.querySelectorAll(':scope > tbody > tr').length)[0] || 0`)
	media := func(m string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return err
		})
	}
	if err := chromedp.Do(b.ctx, media("print")); err != nil {
		t.Fatal(err)
	}
	pageBreaks := count(`Array.from(document.querySelectorAll('main > section')).filter(s => getComputedStyle(s).breakBefore === 'page').length`)
	sections := count(`document.querySelectorAll('main > section').length`)
	headers := count(`Array.from(document.querySelectorAll('thead')).filter(h => getComputedStyle(h).display !== 'table-header-group').length`)
	if err := chromedp.Do(b.ctx, media("")); err != nil {
		t.Fatal(err)
	}
	pages := b.printPDF(t, filepath.Join(shotsDir(t), "review.pdf"))

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(b.problems, "\n"))
	}
	for _, u := range b.requests {
		if u != url {
			t.Errorf("the page requested %s; it must load nothing", u)
		}
	}
	if active != 0 {
		t.Errorf("%d script/img/... elements: logged markup was interpreted", active)
	}
	if broken != 0 {
		t.Errorf("%d links of the index point nowhere", broken)
	}
	for _, want := range []string{"<script>alert(1)</script>", `\x1b[31mred`, hostileIdentity, "<b>evil</b>", "A. Auditor"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page's text lacks %q", want)
		}
	}
	if strings.ContainsAny(text, "\x1b\x07") {
		t.Error("a terminal escape reached the page's text")
	}
	if accessRows != len(rr.Review.Access) || secretRows != len(rr.Review.Secrets) || findingRows != len(rr.Findings) {
		t.Errorf("rows: %d accesses (want %d), %d secrets (want %d), %d findings (want %d)", accessRows, len(rr.Review.Access),
			secretRows, len(rr.Review.Secrets), findingRows, len(rr.Findings))
	}
	if sections < 7 || pageBreaks != sections-1 {
		t.Errorf("in print, %d of %d sections start a page; want all but the summary", pageBreaks, sections)
	}
	if folded < 1 || shownProblems != 40 {
		t.Errorf("100 integrity problems: %d shown unfolded (want 40), %d folded lists of the other 60 (want 1 or more)", shownProblems, folded)
	}
	if headers != 0 {
		t.Errorf("%d table headers do not repeat on each printed page", headers)
	}
	t.Logf("practice-like review: %d accesses, %d secrets, %d findings, %d inputs: %d A4 pages", len(rr.Review.Access), len(rr.Review.Secrets),
		len(rr.Findings), len(rr.Files), pages)
	if pages < 7 || pages > 30 {
		t.Errorf("the review prints to %d pages, want 7 (one per section) to 30", pages)
	}
}

// TestReviewHTMLControls: the controls --framework adds are a section of their own, every row
// printed (the review itself is never folded), statuses coloured, strings escaped.
func TestReviewHTMLControls(t *testing.T) {
	rr := practiceLikeReview(t)
	for i := range 45 {
		rr.Controls = append(rr.Controls, review.Control{Framework: "pci4", FrameworkName: "PCI DSS v4.0", ID: fmt.Sprintf("10.2.1.%d", i),
			Title: "Audit logs <b>capture</b>", Status: []string{"evidence", "exception", "gap"}[i%3], Evidence: "reads logged", Remediation: "-"})
	}
	var buf bytes.Buffer
	if err := RenderReview(&buf, "html", rr); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	i := strings.Index(page, `<section id="s-controls"`)
	if i < 0 {
		t.Fatal("no controls section")
	}
	sec := page[i : i+strings.Index(page[i:], "</section>")]
	if n := strings.Count(sec, "10.2.1."); n != 45 || strings.Contains(sec, "<details") {
		t.Errorf("controls: %d rows shown, folded=%v; want all 45 unfolded", n, strings.Contains(sec, "<details"))
	}
	for _, want := range []string{`class="st-gap"`, `class="st-exception"`, `class="st-evidence"`, "Audit logs &lt;b&gt;capture&lt;/b&gt;", `href="#s-controls"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
