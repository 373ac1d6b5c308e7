package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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

// TestHTMLInChromium opens the HTML report from disk in a real headless Chromium, driven over
// the DevTools protocol: the page must load with no console error, exception or network request
// (everything is inline), show every finding, run none of the markup planted in the logs, and
// draw its charts. A full-page screenshot is saved in the test's temporary directory (and in
// $VAULTSENTRY_SCREENSHOT_DIR when set, to look at it).
//
// scripts/test.sh installs Debian's chromium when it can (root); elsewhere the test skips, unless
// VAULTSENTRY_REQUIRE_CHROMIUM is set.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		if os.Getenv("VAULTSENTRY_REQUIRE_CHROMIUM") != "" {
			t.Fatal("VAULTSENTRY_REQUIRE_CHROMIUM is set but no chromium was found (apt-get install chromium)")
		}
		t.Skip("no chromium on PATH: install Debian's chromium (scripts/test.sh does as root) to test the HTML report in a browser")
	}
	dir := t.TempDir()
	r, _ := incidentResult(t)
	var page bytes.Buffer
	if err := (HTML{}).Render(&page, r); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(file)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
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
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 1800),
	)
	defer cancelAlloc()
	var mu sync.Mutex
	var problems, requests []string
	// The listener sees every event of the tab from the start, in order (log and network are
	// enabled by chromedp when it attaches).
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if t := string(e.Type); t == "error" || t == "warning" || t == "assert" {
				problems = append(problems, "console."+t)
			}
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, fmt.Sprintf("log %s: %s (%s)", e.Entry.Level, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		}
	}))
	defer cancelBrowser()

	// The first Do starts the browser and must not carry a timeout of its own (it would bind
	// the browser's life to it); the allocator's context above bounds the whole test.
	if err := chromedp.Do(bctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#findings"))); err != nil {
		t.Fatalf("chromium: open %s: %v", url, err)
	}
	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	findingsText, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#findings")))
	if err != nil {
		t.Fatal(err)
	}
	count := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return n
	}
	articles := count(`document.querySelectorAll('#findings article.finding').length`)
	// Markup planted in the logs must stay text: no element of these kinds may exist.
	active := count(`document.querySelectorAll('script, img, iframe, object, embed, link, form, a[href^="http"]').length`)
	svgs := count(`document.querySelectorAll('svg').length`)
	lines := count(`document.querySelectorAll('svg polyline').length`)
	marks := count(`document.querySelectorAll('#chart-timeline rect').length`)
	chartWidth := count(`Math.round(document.querySelector('figure.linechart svg').getBoundingClientRect().width)`)
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	png := filepath.Join(dir, "report.png")
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := os.Getenv("VAULTSENTRY_SCREENSHOT_DIR"); d != "" {
		if err := os.WriteFile(filepath.Join(d, "report.png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("screenshot: %s (%d bytes)", png, len(shot))

	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(problems, "\n"))
	}
	for _, u := range requests {
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
	if !strings.Contains(findingsText, "<script>alert(1)</script>") {
		t.Error("the hostile display name should be shown as text")
	}
	if active != 0 {
		t.Errorf("%d script/img/iframe/... elements exist: log markup was interpreted", active)
	}
	if svgs != 3 || lines == 0 || marks != len(r.Findings) || chartWidth < 600 {
		t.Errorf("charts: %d svg, %d lines, %d timeline marks (want %d), width %d", svgs, lines, marks, len(r.Findings), chartWidth)
	}
	if len(shot) < 10000 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Errorf("screenshot is not a PNG of a page (%d bytes)", len(shot))
	}
}
