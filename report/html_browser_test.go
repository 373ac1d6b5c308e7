package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vaultsentry/vaultsentry/sources"
)

// chromium finds a Chromium binary: $VAULTSENTRY_CHROMIUM, else Debian's chromium on PATH.
func chromium() string {
	if p := os.Getenv("VAULTSENTRY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium tab, with what the page logged and requested.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	requests []string
}

// newBrowser starts Debian's chromium (skipping, or failing under VAULTSENTRY_REQUIRE_CHROMIUM,
// when there is none). scripts/test.sh installs it when it can (root).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if os.Getenv("VAULTSENTRY_REQUIRE_CHROMIUM") != "" {
			t.Fatal("VAULTSENTRY_REQUIRE_CHROMIUM is set but no chromium was found (apt-get install chromium)")
		}
		t.Skip("no chromium on PATH: install Debian's chromium (scripts/test.sh does as root) to test the HTML report in a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.WindowSize(1400, 1800),
	)
	t.Cleanup(cancelAlloc)
	b := &browser{}
	// The listener sees every event of the tab from the start, in order (log and network are
	// enabled by chromedp when it attaches).
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if t := string(e.Type); t == "error" || t == "warning" || t == "assert" {
				b.problems = append(b.problems, "console."+t)
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				b.problems = append(b.problems, fmt.Sprintf("log %s: %s (%s)", e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		}
	}))
	t.Cleanup(cancelBrowser)
	b.ctx = bctx
	return b
}

// open loads a file. The first Do starts the browser and must not carry a timeout of its own (it
// would bind the browser's life to it); the allocator's context bounds the whole test.
func (b *browser) open(t *testing.T, file string) string {
	t.Helper()
	url := "file://" + filepath.ToSlash(file)
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#findings"))); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	return url
}

// eval evaluates a JavaScript expression from DevTools (the page itself runs none).
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// shotsDir is where screenshots and PDFs go: $VAULTSENTRY_SHOTS when set, else the test's
// temporary directory.
func shotsDir(t *testing.T) string {
	if d := os.Getenv("VAULTSENTRY_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// screenshot sets the viewport to width CSS pixels and writes a full-page PNG (quality 100 is
// PNG; below, JPEG).
func (b *browser) screenshot(t *testing.T, width int64, path string) []byte {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 1000)); err != nil {
		t.Fatalf("viewport %d: %v", width, err)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(shot) < 10000 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Errorf("screenshot at %d px is not a PNG of a page (%d bytes)", width, len(shot))
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot at %d px: %s (%d bytes)", width, path, len(shot))
	return shot
}

// printPDF prints the page as Chromium's print dialog would (A4 from the page's @page rule,
// backgrounds on), writes the PDF and returns its page count.
func (b *browser) printPDF(t *testing.T, path string) int {
	t.Helper()
	// The viewport a screenshot set would otherwise lay the printed page out.
	clear := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(b.ctx, clear); err != nil {
		t.Fatalf("clear the viewport: %v", err)
	}
	// chromedp.PrintToPDF sends Page.printToPDF (page.PrintToPDFParams) and returns the file.
	pdf, err := chromedp.Run(b.ctx, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	n := pdfPages(pdf)
	t.Logf("PDF: %s (%d pages, %d bytes)", path, n, len(pdf))
	return n
}

// pdfPages counts the page objects of a PDF as Chromium (Skia) writes it: uncompressed object
// dictionaries with "/Type /Page".
func pdfPages(pdf []byte) int {
	return len(regexp.MustCompile(`/Type\s*/Page\b`).FindAll(pdf, -1))
}

// clippedSVGText counts the chart labels that reach outside their drawing.
const clippedSVGText = `Array.from(document.querySelectorAll('svg')).reduce((n, svg) => {
  const vb = svg.viewBox.baseVal;
  return n + Array.from(svg.querySelectorAll('text')).filter(t => {
    const b = t.getBBox();
    return b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5;
  }).length;
}, 0)`

// ctLikeFiles is the input list of a CloudTrail S3 export: a log file per account, region and
// five minutes, and a digest per hour, mostly.
func ctLikeFiles(n int) []sources.FileStats {
	t0 := time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC)
	var fs []sources.FileStats
	for i := range n {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		name := fmt.Sprintf("AWSLogs/o-7k2pq9x1ab/428190375562/CloudTrail/eu-west-1/2026/09/11/428190375562_CloudTrail_eu-west-1_%s_%04d.json.gz", at.Format("20060102T1504Z"), i)
		switch i % 12 {
		case 0, 5: // digests hold no event; they count as one skipped line
			fs = append(fs, sources.FileStats{File: strings.Replace(name, "/CloudTrail/", "/CloudTrail-Digest/", 1), Format: "cloudtrail",
				Compressed: true, Lines: 1, Skipped: map[string]int{"digest-file": 1}})
		case 7: // every record delivered before
			fs = append(fs, sources.FileStats{File: name, Format: "cloudtrail", Compressed: true, Bytes: 2100, Lines: 1, Skipped: map[string]int{"duplicate": 1}})
		default:
			fs = append(fs, sources.FileStats{File: name, Format: "cloudtrail", Compressed: true, Bytes: 5400, Lines: 3, Parsed: 3, Events: 3,
				FirstEvent: at, LastEvent: at.Add(4 * time.Minute)})
		}
	}
	return fs
}

// TestHTMLInChromium opens the HTML report from disk in a real headless Chromium, driven over
// the DevTools protocol: the page must load with no console error, exception or network request
// (everything is inline), show every finding, run none of the markup planted in the logs, and
// draw its charts. It checks what a responder reads first (the executive summary, the index and
// its links, the inputs summed per format with the file list folded away), that nothing overflows
// at 800 px and no chart label is cut, and that the page prints to a short PDF although it lists
// hundreds of input files. Full-page screenshots at 1400 and 800 px and the PDF are written to
// $VAULTSENTRY_SHOTS when set, else to the test's temporary directory; the test logs their paths.
func TestHTMLInChromium(t *testing.T) {
	b := newBrowser(t)
	dir := t.TempDir()
	r, _ := incidentResult(t)
	nFiles := len(r.Files)
	r.Files = append(r.Files, ctLikeFiles(520)...)
	recurring, resolved := PriorOf(&r.Suppressed[0].Finding), PriorFinding{Fingerprint: "0123456789abcdef0123456789abcdef",
		Rule: "decoy-access", Severity: 4, Title: "Decoy <b>touched</b>", Identity: "e-gone", DisplayName: "gone<script>x</script>"}
	r.Changes = &Changes{Path: "reports/yesterday.json", Found: true, Recurring: []PriorFinding{recurring}, Resolved: []PriorFinding{resolved}}
	var pg bytes.Buffer
	if err := (HTML{}).Render(&pg, r); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, pg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := b.open(t, file)
	title, err := chromedp.Run(b.ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	count := func(js string) int { t.Helper(); return eval[int](t, b, js) }
	findingsText := text("#findings")
	articles := count(`document.querySelectorAll('#findings article.finding').length`)
	groups := count(`document.querySelectorAll('#findings section.identity').length`)
	// Markup planted in the logs must stay text: no element of these kinds may exist.
	active := count(`document.querySelectorAll('script, img, iframe, object, embed, link, form, a[href^="http"]').length`)
	svgs := count(`document.querySelectorAll('svg').length`)
	lines := count(`document.querySelectorAll('svg polyline').length`)
	thresholds := count(`document.querySelectorAll('figure.linechart svg line.threshold').length`)
	marks := count(`document.querySelectorAll('#chart-timeline rect').length`)
	dates := count(`Array.from(document.querySelectorAll('figure svg text')).filter(t => /^[A-Z][a-z]{2} \d{1,2}$/.test(t.textContent)).length`)
	chartWidth := count(`Math.round(document.querySelector('figure.linechart svg').getBoundingClientRect().width)`)
	clipped := count(clippedSVGText)

	// The executive summary and the index come before the first card; every link of the index,
	// of the summary and of the timeline lands on an element of the page.
	headline := text("#headline")
	rotate := eval[string](t, b, `document.querySelector('#rotate').textContent + (document.querySelector('#rotate-more') || {textContent: ''}).textContent`)
	changes := text("#changes")
	order := count(`(document.querySelector('#executive-summary').compareDocumentPosition(document.querySelector('#index')) & 4) && (document.querySelector('#index').compareDocumentPosition(document.querySelector('article.finding')) & 4) ? 1 : 0`)
	indexRows := count(`document.querySelectorAll('#index-table tr a[href^="#f-"]').length`)
	broken := count(`Array.from(document.querySelectorAll('a[href^="#"]')).filter(a => !document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)))).length`)
	indexTargets := count(`new Set(Array.from(document.querySelectorAll('#index-table a[href^="#f-"]')).map(a => document.getElementById(a.getAttribute('href').slice(1)).tagName + a.getAttribute('href'))).size`)
	affected := count(`document.querySelectorAll('#affected tr').length - 1`)

	// The inputs: one row per format; the per-file list is in the page but folded away.
	formatRows := count(`document.querySelectorAll('#input-formats tr:not(.sub)').length - 1`)
	formats := text("#input-formats")
	folded := count(`document.querySelector('#input-files').open ? 0 : 1`)
	fileRows := count(`document.querySelectorAll('#inputs-table tr').length - 1`)
	fileTableHeight := count(`Math.round(document.querySelector('#input-files').getBoundingClientRect().height)`)

	shots := shotsDir(t)
	b.screenshot(t, 1400, filepath.Join(shots, "report-1400.png"))
	b.screenshot(t, 800, filepath.Join(shots, "report-800.png"))
	overflow := count(`document.documentElement.scrollWidth - window.innerWidth`)
	clipped800 := count(clippedSVGText)
	pages := b.printPDF(t, filepath.Join(shots, "report.pdf"))

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
	if !strings.HasPrefix(title, "vaultsentry report") {
		t.Errorf("title = %q", title)
	}
	if articles != len(r.Findings) {
		t.Errorf("%d findings shown, want %d", articles, len(r.Findings))
	}
	for _, f := range r.Findings {
		if !strings.Contains(findingsText, f.Rule) || !strings.Contains(findingsText, f.Fingerprint()) {
			t.Errorf("finding %s (%s) is not shown", f.Rule, f.Fingerprint())
		}
	}
	ids := map[string]bool{}
	for _, f := range r.Findings {
		ids[f.Identity] = true
	}
	if groups != len(ids) || affected != len(ids) {
		t.Errorf("%d identity groups and %d rows under who is affected, want %d identities", groups, affected, len(ids))
	}
	if !strings.Contains(findingsText, "<script>alert(1)</script>") {
		t.Error("the hostile display name should be shown as text")
	}
	if active != 0 {
		t.Errorf("%d script/img/iframe/... elements exist: log markup was interpreted", active)
	}
	if svgs != 3 || lines == 0 || marks != len(r.Findings) || chartWidth < 600 {
		t.Errorf("charts: %d svg, %d lines, %d timeline marks (want %d), width %d", svgs, lines, marks, len(r.Findings), chartWidth)
	}
	if thresholds != 2 {
		t.Errorf("%d threshold lines on the line charts, want bulk-read's on both", thresholds)
	}
	if dates == 0 {
		t.Error("no chart axis names a date")
	}
	if clipped != 0 || clipped800 != 0 {
		t.Errorf("%d chart labels at 1400 px and %d at 800 px reach outside their chart", clipped, clipped800)
	}
	if overflow > 0 {
		t.Errorf("at 800 px the page is %d px wider than the window", overflow)
	}

	if order != 1 {
		t.Error("the executive summary and then the index should come before the first finding")
	}
	if want := fmt.Sprintf("%d findings", len(r.Findings)); !strings.Contains(headline, want) || !strings.Contains(headline, "identit") {
		t.Errorf("headline %q should say %q and how many identities", headline, want)
	}
	for _, f := range r.Findings {
		for _, v := range f.ValuesRead {
			if !strings.Contains(rotate, Sanitize(v)) {
				t.Errorf("what to rotate lacks %q, returned to %s", v, f.Identity)
			}
		}
	}
	for _, want := range []string{"1 recurring", "1 resolved", "Decoy <b>touched</b>", "gone<script>x</script>", recurring.Fingerprint, fmt.Sprintf("%d new", len(r.Findings)+r.Hidden)} {
		if !strings.Contains(changes, want) {
			t.Errorf("since the previous report lacks %q:\n%s", want, changes)
		}
	}
	if indexRows != len(r.Findings) || indexTargets != len(r.Findings) {
		t.Errorf("the index links to %d findings (%d distinct cards), want %d", indexRows, indexTargets, len(r.Findings))
	}
	if broken != 0 {
		t.Errorf("%d links point at no element of the page", broken)
	}

	if formatRows != 2 || !strings.Contains(formats, "digest-file") || !strings.Contains(formats, "cloudtrail") {
		t.Errorf("inputs per format: %d rows, want vault and cloudtrail with the digests counted:\n%s", formatRows, formats)
	}
	if folded != 1 || fileRows != nFiles+520 || fileTableHeight > 40 {
		t.Errorf("the list of %d files should be in the page and folded: open=%v, %d rows, %d px high", nFiles+520, folded == 0, fileRows, fileTableHeight)
	}
	if pages < 2 || pages >= 30 {
		t.Errorf("the report with %d input files prints to %d pages, want under 30", len(r.Files), pages)
	}
}

// TestPrintHTMLFiles prints the HTML reports named in $VAULTSENTRY_PRINT_HTML (separated by
// spaces) to PDF and takes their screenshots at 1400 and 800 px, into $VAULTSENTRY_SHOTS, to
// look at real reports (the practice scenarios): it logs their page counts.
func TestPrintHTMLFiles(t *testing.T) {
	files := strings.Fields(os.Getenv("VAULTSENTRY_PRINT_HTML"))
	if len(files) == 0 {
		t.Skip("set VAULTSENTRY_PRINT_HTML to HTML reports to print")
	}
	b := newBrowser(t)
	shots := shotsDir(t)
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		b.open(t, abs)
		base := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		b.screenshot(t, 1400, filepath.Join(shots, base+"-1400.png"))
		b.screenshot(t, 800, filepath.Join(shots, base+"-800.png"))
		if n := eval[int](t, b, clippedSVGText); n != 0 {
			t.Errorf("%s: %d chart labels reach outside their chart at 800 px", f, n)
		}
		if n := eval[int](t, b, `document.documentElement.scrollWidth - window.innerWidth`); n > 0 {
			t.Errorf("%s: at 800 px the page is %d px wider than the window", f, n)
		}
		t.Logf("%s: %d pages", f, b.printPDF(t, filepath.Join(shots, base+".pdf")))
	}
}
