package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/metrics"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// pipeline is one analysing run after loading: filter, analyse, set aside, render, summarise.
type pipeline struct {
	// ctx ends the run early (SIGINT, SIGTERM): analysis and rendering stop, and neither the
	// report nor the baseline is written.
	ctx     context.Context
	opts    *Options
	command string
	loaded  *sources.Loaded
	inErrs  []error
	// timeRef is the reference for durations: the newest plausible event for files.
	timeRef time.Time
	// store holds the locked baseline file while the run uses it.
	store *baseline.Store
	// saveErr: the baseline was opened read-only because it cannot be written back.
	saveErr error
	// liveSince: for online sources --since was already applied by the query.
	liveSince bool
	// learnedLast: the newest event of each file that the run learned (window), for the
	// baseline's inputs.
	learnedLast map[string]time.Time
	// batch: this run is one batch of a baseline learn over an archive too large for one
	// (learn.go); nil otherwise.
	batch *learnBatch
	// earlier: the inputs learned by the earlier batches, saved with this run's.
	earlier []baseline.Input
	// metrics is what --metrics gathered from the events (metrics.go); nil without it.
	metrics *metrics.Collector
	// stores: what each log-store export did (logstore.go); nil for files.
	stores []sources.StoreStats
	// stream, when set, reads the inputs while run analyses them (stream.go): loaded is set
	// once they are read. nil: loaded holds every event.
	stream *streamSource
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

func (p *pipeline) run() (out Outcome, err error) {
	defer p.finishMetrics(&out, &err)
	o := p.opts
	conf := o.config()
	var futureNote string
	if p.timeRef.IsZero() {
		if p.stream != nil && o.countsBack() {
			if err := p.streamRef(); err != nil {
				return Outcome{}, err
			}
		}
		if p.stream == nil && len(p.loaded.Events) > 0 {
			p.timeRef, futureNote = newestPlausible(p.loaded.Events, o.now())
		}
	}
	since, until := o.Since.Resolve(p.timeRef), o.Until.Resolve(p.timeRef)
	if p.liveSince {
		since, until = time.Time{}, time.Time{} // the query already applied them
	}
	cfg := conf.Analyze
	cfg.LearnUntil = o.LearnUntil.Resolve(p.timeRef)
	rollouts, err := loadRollouts(append(slices.Clone(conf.K8sEvents), o.K8sEvents...))
	if err != nil {
		return Outcome{}, err
	}
	cfg.Rotation.Rollouts = rollouts
	if p.ctx.Err() != nil {
		return Outcome{}, interrupted(p.ctx, "reading")
	}

	var bl *baseline.Baseline
	if p.batch != nil { // one batch of baseline learn: the driver holds the baseline
		bl, p.store, p.saveErr = p.batch.bl, p.batch.store, p.batch.saveErr
	} else {
		if bl, err = p.loadBaseline(); err != nil {
			return Outcome{}, err
		}
		defer p.store.Close() // the lock is held until the baseline is written back, or not
	}
	win := p.window(bl, since, until)
	if win.useHistory && !since.IsZero() && since.After(cfg.LearnUntil) {
		cfg.LearnUntil = since // what comes before --since is history, not the report
	}
	if o.Verbose {
		if p.stream == nil {
			fmt.Fprintf(o.IO.Err, "analysing %d events\n", len(p.loaded.Events))
		} else {
			fmt.Fprintln(o.IO.Err, "analysing the events as they are read")
		}
	}
	a, err := p.newAnalysis(win, bl, &cfg)
	if err != nil {
		return Outcome{}, err
	}
	defer a.close()
	if p.stream != nil {
		err = p.streamInto(a.consume)
	} else {
		err = a.consume(p.loaded.Events)
		a.kept = p.loaded.Events[:a.events]
	}
	a.done()
	if err != nil && !errors.Is(err, errStopped) {
		return Outcome{}, err
	}
	if errors.Is(err, errStopped) || p.ctx.Err() != nil {
		if p.stream != nil {
			return Outcome{}, interrupted(p.ctx, "reading and analysing")
		}
		return Outcome{}, interrupted(p.ctx, "analysing")
	}
	if p.stream != nil && a.span.future > 0 {
		futureNote = a.span.note()
	}
	if err := a.spillErr(); err != nil {
		return Outcome{}, err
	}
	res := a.runner.Finish(a.second())
	if res.Interrupted || p.ctx.Err() != nil {
		return Outcome{}, interrupted(p.ctx, "analysing")
	}
	p.metrics = a.metrics()
	findings, leftOut := p.leaveOut(res.Findings)

	rr := &report.Result{
		Tool: "vaultsentry", Version: Version, Command: p.command, Rules: res.Rules,
		Files: p.loaded.Files, Events: a.events, Filtered: win.filtered, Training: res.Training,
		Location: o.location(), Generated: time.Now().UTC(),
		LearnUntil: cfg.LearnUntil, SuppressedCount: len(leftOut.suppressed), Previous: leftOut.previous, Changes: leftOut.changes,
		Width: o.IO.Width, Sort: o.Sort, GroupBy: o.GroupBy,
		Stores: p.stores, S3: p.loaded.S3,
	}
	if o.ShowSuppressed {
		rr.Suppressed = leftOut.suppressed
	}
	rr.First, rr.Last = a.span.first, a.span.last
	for _, e := range p.inErrs {
		rr.Errors = append(rr.Errors, e.Error())
	}
	for _, e := range p.loaded.Errors {
		if !slices.Contains(rr.Errors, e.Error()) {
			rr.Errors = append(rr.Errors, e.Error())
		}
	}
	rr.Notes = append(a.notes.Notes(), leftOut.notes...)
	if futureNote != "" {
		rr.Notes = append(rr.Notes, futureNote)
	}
	rr.Notes = append(rr.Notes, p.historyNotes(win, since, cfg.LearnUntil)...)
	out = Outcome{Result: rr, Findings: len(findings)}
	for _, f := range findings {
		out.Worst = max(out.Worst, f.Severity)
		if f.Severity < o.MinSeverity {
			rr.Hidden++
			continue
		}
		rr.Findings = append(rr.Findings, f)
	}
	if p.batch != nil {
		p.batch.done(p, a.events)
		return Outcome{}, nil
	}
	if o.LearnOnly {
		if err := p.saveBaseline(bl); err != nil {
			return Outcome{}, err
		}
		fmt.Fprintf(o.IO.Err, "learned %d events from %d files into %s (%d identities)\n", a.events, len(p.loaded.Files),
			report.Sanitize(o.BaselinePath), len(bl.Principals))
		return Outcome{}, nil
	}
	if p.charts() {
		from := rr.First
		if !cfg.LearnUntil.IsZero() && cfg.LearnUntil.After(from) && cfg.LearnUntil.Before(rr.Last) {
			from = cfg.LearnUntil // chart the reporting period, not the history
		}
		rr.Charts = report.BuildChartsSeq(a.second(), rr.Findings, from, rr.Last, cfg.BulkRead)
	}
	// The report first, then the baseline: a baseline that cannot be saved (a full disk, a
	// read-only directory) must not cost the report. A report that cannot be written keeps the
	// baseline as it was, or a second run would judge the same events against a history that
	// already holds them, and the findings nobody saw would be gone for good.
	if err := p.render(rr); err != nil {
		if p.store != nil && o.UpdateBaseline && p.ctx.Err() == nil {
			err = withNote(err, "the baseline was not updated")
		}
		return out, err
	}
	if p.ctx.Err() != nil && p.store != nil && o.UpdateBaseline {
		return out, runtimef("the report is complete; run again to update the baseline",
			fmt.Errorf("interrupted after writing the report, before saving the baseline: %w", context.Cause(p.ctx)))
	}
	alertErr := p.sendAlerts(bl, findings) // --notify (notify.go): before the baseline records what was sent
	baselineErr := p.saveBaseline(bl)
	if !o.Quiet {
		writeSummary(o.IO.Err, rr, p.loaded.Panics, time.Since(o.Start), o.Verbose)
	}
	if baselineErr != nil {
		return out, baselineErr
	}
	if alertErr != nil {
		return out, alertErr
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

// render writes the report to each output, all rendered from the same result. An output that
// cannot be written does not stop the others: the error names the ones that failed and the ones
// written. An interrupt stops at the next output; what was already renamed into place is whole.
func (p *pipeline) render(rr *report.Result) error {
	outs := p.opts.outputs()
	var failed []error
	var written, failedPaths []string
	for _, out := range outs {
		r, err := report.New(out.Format)
		if err != nil {
			return usagef("pass --format "+strings.Join(report.Formats(), "|"), "%v", err)
		}
		res := *rr // Color depends on the destination; the rest is shared
		res.Color = p.opts.IO.Color && (out.Path == "" || out.Path == "-")
		if out.Path != "" && out.Path != "-" {
			res.Width = 0 // a file is laid out at the default width, whatever the terminal
		}
		err = writeOutput(p.ctx, p.opts.IO.Out, out.Path, "report", func(w io.Writer) error { return r.Render(w, &res) })
		if err != nil && p.ctx.Err() != nil {
			if len(written) > 0 {
				return runtimef("the outputs written are complete; the others are as they were",
					fmt.Errorf("interrupted while writing the report %s (written: %s): %w", outputName(out.Path), strings.Join(written, ", "), context.Cause(p.ctx)))
			}
			return err
		}
		if err != nil {
			failed = append(failed, err)
			failedPaths = append(failedPaths, outputName(out.Path))
			continue
		}
		written = append(written, outputName(out.Path))
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(outs) == 1:
		return failed[0]
	}
	hint := ""
	var re *RuntimeError
	if errors.As(failed[0], &re) {
		hint = re.Hint
	}
	msg := fmt.Sprintf("%d of %d report outputs not written (%s)", len(failed), len(outs), strings.Join(failedPaths, ", "))
	if len(written) > 0 {
		msg += "; written: " + strings.Join(written, ", ")
	}
	// One line, each cause wrapped (errors.Join would put them on lines of their own).
	verbs := strings.TrimSuffix(strings.Repeat("%w; ", len(failed)), "; ")
	return runtimef(hint, fmt.Errorf("%s: "+verbs, append([]any{msg}, toAny(failed)...)...))
}

func toAny(errs []error) []any {
	as := make([]any, len(errs))
	for i, e := range errs {
		as[i] = e
	}
	return as
}

// outputName names an output in messages.
func outputName(path string) string {
	if path == "" || path == "-" {
		return "standard output"
	}
	return path
}

// withNote adds a sentence to a run error's hint.
func withNote(err error, note string) error {
	var re *RuntimeError
	if errors.As(err, &re) {
		hint := note
		if re.Hint != "" {
			hint = re.Hint + "; " + note
		}
		return &RuntimeError{Err: re.Err, Hint: hint}
	}
	return err
}

// charts reports whether the run writes an HTML report, whose charts take a second pass over
// every analysed event.
func (p *pipeline) charts() bool {
	return slices.ContainsFunc(p.opts.outputs(), func(out Output) bool { return out.Format == "html" })
}
