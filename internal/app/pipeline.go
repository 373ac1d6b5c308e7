package app

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// pipeline is one analysing run after loading: filter, analyse, set aside, render, summarise.
type pipeline struct {
	opts    *Options
	command string
	loaded  *sources.Loaded
	inErrs  []error
	// timeRef is the reference for durations: the newest plausible event for files.
	timeRef time.Time
	// store holds the locked baseline file while the run uses it.
	store *baseline.Store
	// liveSince: for online sources --since was already applied by the query.
	liveSince bool
}

// newestPlausible is the reference time for durations on files: the newest event, ignoring
// events dated more than a day after the wall clock. Archived logs cannot come from the future,
// and one corrupt or planted far-future line must not push --since past every real event.
func newestPlausible(evs []event.Event, now time.Time) (time.Time, string) {
	limit := now.Add(24 * time.Hour)
	i := len(evs) - 1
	for i >= 0 && evs[i].Time.After(limit) {
		i--
	}
	future := len(evs) - 1 - i
	if future == 0 {
		return evs[len(evs)-1].Time, ""
	}
	note := fmt.Sprintf("%d events are dated after the current time (first at %s:%d, %s); durations in --since/--until/--learn-until count back from the newest event before them",
		future, evs[i+1].Pos.File, evs[i+1].Pos.Line, evs[i+1].Time.UTC().Format(time.RFC3339))
	if i < 0 {
		return evs[len(evs)-1].Time, note
	}
	return evs[i].Time, note
}

func (p *pipeline) run() (Outcome, error) {
	o := p.opts
	conf := o.config()
	evs := p.loaded.Events
	var futureNote string
	if p.timeRef.IsZero() && len(evs) > 0 {
		p.timeRef, futureNote = newestPlausible(evs, o.now())
	}
	since, until := o.Since.Resolve(p.timeRef), o.Until.Resolve(p.timeRef)
	if p.liveSince {
		since, until = time.Time{}, time.Time{} // the query already applied them
	}
	filtered := 0
	if !since.IsZero() || !until.IsZero() {
		kept := evs[:0]
		for _, ev := range evs {
			if (!since.IsZero() && ev.Time.Before(since)) || (!until.IsZero() && !ev.Time.Before(until)) {
				filtered++
				continue
			}
			kept = append(kept, ev)
		}
		evs = kept
	}
	cfg := conf.Analyze
	cfg.LearnUntil = o.LearnUntil.Resolve(p.timeRef)
	rollouts, err := loadRollouts(append(slices.Clone(conf.K8sEvents), o.K8sEvents...))
	if err != nil {
		return Outcome{}, err
	}
	cfg.Rotation.Rollouts = rollouts

	bl, err := p.loadBaseline()
	if err != nil {
		return Outcome{}, err
	}
	res := analyze.Run(evs, analyze.Env{Config: &cfg, Baseline: bl})
	if err := p.saveBaseline(bl); err != nil {
		return Outcome{}, err
	}
	findings, leftOut := p.leaveOut(res.Findings)

	rr := &report.Result{
		Tool: "vaultsentry", Version: Version, Command: p.command, Rules: res.Rules,
		Files: p.loaded.Files, Events: len(evs), Filtered: filtered, Training: res.Training,
		Location: o.location(), Generated: time.Now().UTC(),
		LearnUntil: cfg.LearnUntil, SuppressedCount: len(leftOut.suppressed), Previous: leftOut.previous,
		Color: o.IO.Color && (o.Output == "" || o.Output == "-"),
	}
	if o.ShowSuppressed {
		rr.Suppressed = leftOut.suppressed
	}
	rr.First, rr.Last = sources.Span(evs)
	for _, e := range p.inErrs {
		rr.Errors = append(rr.Errors, e.Error())
	}
	for _, e := range p.loaded.Errors {
		if !slices.Contains(rr.Errors, e.Error()) {
			rr.Errors = append(rr.Errors, e.Error())
		}
	}
	rr.Notes = append(analyze.Notes(evs, &cfg), leftOut.notes...)
	if futureNote != "" {
		rr.Notes = append(rr.Notes, futureNote)
	}
	out := Outcome{Result: rr, Findings: len(findings)}
	for _, f := range findings {
		out.Worst = max(out.Worst, f.Severity)
		if f.Severity < o.MinSeverity {
			rr.Hidden++
			continue
		}
		rr.Findings = append(rr.Findings, f)
	}
	if o.LearnOnly {
		fmt.Fprintf(o.IO.Err, "learned %d events from %d files into %s (%d identities)\n", len(evs), len(p.loaded.Files),
			report.Sanitize(o.BaselinePath), len(bl.Principals))
		return Outcome{}, nil
	}
	if o.Format == "html" {
		from := rr.First
		if !cfg.LearnUntil.IsZero() && cfg.LearnUntil.After(from) && cfg.LearnUntil.Before(rr.Last) {
			from = cfg.LearnUntil // chart the reporting period, not the history
		}
		rr.Charts = report.BuildCharts(evs, rr.Findings, from, rr.Last)
	}
	if err := p.render(rr); err != nil {
		return out, err
	}
	if !o.Quiet {
		writeSummary(o.IO.Err, rr, time.Since(o.Start), o.Verbose)
	}
	malformed := 0
	for _, f := range p.loaded.Files {
		malformed += f.Malformed
	}
	if o.Strict && malformed > 0 {
		return out, runtimef("fix or remove the malformed lines listed above, or run without --strict",
			fmt.Errorf("--strict: %d malformed input lines", malformed))
	}
	if leftOut.expiredErr != nil {
		return out, leftOut.expiredErr
	}
	return out, nil
}

func (p *pipeline) render(rr *report.Result) error {
	o := p.opts
	r, err := report.New(o.Format)
	if err != nil {
		return usagef("pass --format "+strings.Join(report.Formats(), "|"), "%v", err)
	}
	w := o.IO.Out
	var f *os.File
	if o.Output != "" && o.Output != "-" {
		var err error
		if dir := filepath.Dir(o.Output); dir != "" {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return runtimef("check that the directory of --output exists", fmt.Errorf("write report %s: directory %s does not exist", o.Output, dir))
			}
		}
		f, err = os.Create(o.Output)
		if err != nil {
			return runtimef("check the path and permissions of --output", fmt.Errorf("write report: %w", err))
		}
		w = f
	}
	err = r.Render(w, rr)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return runtimef("", fmt.Errorf("write report: %w", err))
	}
	return nil
}
