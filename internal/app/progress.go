package app

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// progress shows how far loading has got, on standard error only: a single redrawn line when
// stderr is a terminal (never in pipes or CI logs, whose readers would get a flood of carriage
// returns), and with --verbose one line per finished file wherever stderr goes.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	live    bool // redraw a status line (stderr is a terminal)
	verbose bool
	start   time.Time
	now     func() time.Time
	drawn   time.Time
	files   map[string]*fileProgress
	total   int64 // bytes of all inputs, as stored (0 when unknown, e.g. stdin)
	nfiles  int
	done    int
	current string
	width   int  // of the last status line, to clear it
	over    bool // finish was called: a reader left behind by an interrupt draws nothing more
	cols    int  // terminal width; a longer line would wrap and break the redraw
}

type fileProgress struct {
	read, size int64
	lines      int
	start      time.Time
}

// redrawEvery limits how often the status line is redrawn.
const redrawEvery = 150 * time.Millisecond

// newProgress returns the progress display for inputs, or nil when there is nothing to show
// (--quiet, or neither a terminal nor --verbose).
func newProgress(s IO, quiet, verbose bool, inputs []sources.Input) *progress {
	live := s.ErrTTY && !quiet
	if quiet || (!live && !verbose) {
		return nil
	}
	p := &progress{w: s.Err, live: live, verbose: verbose, start: time.Now(), now: time.Now,
		files: map[string]*fileProgress{}, nfiles: len(inputs)}
	p.cols = 100
	if f, ok := s.Err.(*os.File); ok && live {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.cols = w
		}
	}
	for _, in := range inputs {
		if in.Name == "-" {
			continue
		}
		if in.Open != nil {
			p.total += in.Size
			continue
		}
		if st, err := os.Stat(in.Name); err == nil && st.Mode().IsRegular() {
			p.total += st.Size()
		}
	}
	return p
}

// hook is the sources.LoadOptions.Progress callback; nil-safe.
func (p *progress) hook() func(sources.Progress) {
	if p == nil {
		return nil
	}
	return p.update
}

func (p *progress) update(pr sources.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.over {
		return
	}
	now := p.now()
	fp := p.files[pr.File]
	if fp == nil {
		fp = &fileProgress{start: now}
		p.files[pr.File] = fp
	}
	fp.read, fp.size, fp.lines = pr.Read, pr.Size, pr.Lines
	p.current = pr.File
	if pr.Done {
		p.done++
		if p.verbose {
			p.clear()
			fmt.Fprintf(p.w, "read %s: %d lines, %s in %s\n", report.Sanitize(pr.File), pr.Lines,
				report.HumanBytes(pr.Read), now.Sub(fp.start).Round(time.Millisecond))
		}
	}
	if p.live && (pr.Done || now.Sub(p.drawn) >= redrawEvery) {
		p.draw(now)
	}
}

// status is the one-line summary: files done, bytes and share read, lines, speed, ETA.
func (p *progress) status(now time.Time) string {
	var read int64
	lines := 0
	for _, fp := range p.files {
		read += fp.read
		lines += fp.lines
	}
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(read) / elapsed
	}
	s := fmt.Sprintf("reading %d/%d files · %s", p.done, p.nfiles, report.HumanBytes(read))
	if p.total > 0 {
		pct := min(100, float64(read)*100/float64(p.total))
		s += fmt.Sprintf(" of %s (%.0f%%)", report.HumanBytes(p.total), pct)
	}
	s += fmt.Sprintf(" · %d lines · %s/s", lines, report.HumanBytes(int64(rate)))
	if p.total > 0 && rate > 0 && read < p.total {
		eta := time.Duration(float64(p.total-read) / rate * float64(time.Second))
		s += " · ETA " + eta.Round(time.Second).String()
	}
	// The file name takes what room is left on the line, its end first.
	if room := min(40, p.cols-1-len([]rune(s))-3); p.current != "" && room >= 12 {
		s += " · " + cutLeft(report.Sanitize(p.current), room)
	}
	return s
}

func (p *progress) draw(now time.Time) {
	p.drawn = now
	line := p.status(now)
	if rs := []rune(line); len(rs) >= p.cols {
		line = string(rs[:p.cols-1])
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.width = len(line)
}

// clear erases the status line, so ordinary stderr lines do not land after it.
func (p *progress) clear() {
	if p.live && p.width > 0 {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.width = 0
	}
}

// finish erases the status line when loading is over. nil-safe.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.over = true
}

// logConfig says, with Verbose, which configuration the run uses.
func (o *Options) logConfig() {
	cfg := o.config()
	if !o.Verbose {
		if cfg.Implicit && !o.Quiet { // a file nobody named changes the results: say which
			fmt.Fprintf(o.IO.Err, "config: %s (found in the working directory; --config names another)\n", report.Sanitize(cfg.Path))
		}
		return
	}
	if cfg.Path == "" {
		fmt.Fprintln(o.IO.Err, "config: none (defaults; no ./"+DefaultConfigFile+")")
	} else {
		fmt.Fprintf(o.IO.Err, "config: %s (%d overrides, %d ignore entries)\n", report.Sanitize(cfg.Path), len(cfg.Analyze.Overrides), len(cfg.Ignore))
	}
}

// cutLeft keeps the end of s (a path's file name matters most) within n runes.
func cutLeft(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return "…" + string(rs[len(rs)-n+1:])
}
