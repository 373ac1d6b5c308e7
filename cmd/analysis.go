package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// analysisOptions are the flags every analysing command shares (scan, cloudtrail).
type analysisOptions struct {
	IO          Streams
	Format      string
	Output      string
	MinSeverity string
	FailOn      string
	Since       string
	Until       string
	LearnUntil  string
	Timezone    string
	ConfigPath  string
	K8sEvents   []string
	Strict      bool
	Quiet       bool
	MaxLine     int
	// Gzip limits: a gzip bomb stops with a read error, what came before is kept.
	MaxDecompressed int64
	MaxGzipRatio    int

	// Baseline handling.
	BaselinePath   string
	UpdateBaseline bool
	BaselineMaxAge string

	// Reports.
	ShowSuppressed bool
	PreviousReport string
	Verbose        bool
	now            func() time.Time // wall clock for ignore expiry; tests pin it
	previous       map[string]bool  // fingerprints of --previous-report
	previousFound  bool

	minSev, failOn analyze.Severity
	loc            *time.Location
	// discard: run the analysis for its side effects (baseline learn) and print no report.
	discard bool
}

func (o *analysisOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&o.Format, "format", "f", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.MinSeverity, "min-severity", "info", "show findings at or above this severity: "+strings.Join(analyze.Severities(), ", "))
	f.StringVar(&o.FailOn, "fail-on", "", "exit 1 when a finding at or above this severity exists: "+strings.Join(analyze.Severities(), ", ")+" (default: never)")
	f.StringVar(&o.Since, "since", "", "analyse events at or after `TIME` (RFC 3339, or a duration such as 24h counted back from the newest event)")
	f.StringVar(&o.Until, "until", "", "analyse events before `TIME` (RFC 3339, or a duration counted back from the newest event)")
	f.StringVar(&o.LearnUntil, "learn-until", "", "events before `TIME` only train the baseline; findings are reported after it (RFC 3339 or a duration back from the newest event)")
	f.StringVar(&o.Timezone, "timezone", "UTC", "IANA time zone for times in table output (JSON and SARIF stay UTC)")
	f.StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default ./"+DefaultConfigFile+" when it exists)")
	f.StringArrayVar(&o.K8sEvents, "k8s-events", nil, "`FILE` of 'kubectl get events -A -o json' output: rollouts count as secret propagation (repeatable)")
	f.BoolVar(&o.Strict, "strict", false, "exit 3 after the report when any input line was malformed")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no run summary on standard error")
	f.IntVar(&o.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read; longer lines are skipped and counted")
	f.Int64Var(&o.MaxDecompressed, "max-decompressed-bytes", sources.DefaultMaxDecompressedBytes, "stop reading a gzip input after this many decompressed bytes (gzip bomb guard)")
	f.IntVar(&o.MaxGzipRatio, "max-gzip-ratio", sources.DefaultMaxGzipRatio, "stop reading a gzip input that expands more than this many times, checked after 256 MiB (0: no ratio check)")
	f.StringVar(&o.BaselinePath, "baseline", "", "load the learned baseline from `FILE` (missing file: empty baseline)")
	f.BoolVar(&o.UpdateBaseline, "update-baseline", false, "write the baseline back to --baseline after the run")
	f.StringVar(&o.BaselineMaxAge, "baseline-max-age", "", "when updating the baseline, drop what was last seen longer ago than `DURATION` (e.g. 90d)")
	f.BoolVar(&o.ShowSuppressed, "show-suppressed", false, "list the findings the config's ignore list suppressed (they are always counted)")
	f.StringVar(&o.PreviousReport, "previous-report", "", "report only findings whose fingerprint is not in this earlier JSON report `FILE` (a missing file counts as empty)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "more detail on standard error: config used, each file as it is read, suppressed findings")
}

func (o *analysisOptions) validate() error {
	if _, err := report.New(o.Format); err != nil {
		return usagef("pass --format "+strings.Join(report.Formats(), "|"), "%v", err)
	}
	var err error
	if o.minSev, err = analyze.ParseSeverity(o.MinSeverity); err != nil {
		return usagef("pass --min-severity "+strings.Join(analyze.Severities(), "|"), "--min-severity: %v", err)
	}
	o.failOn = analyze.Critical + 1 // never
	if o.FailOn != "" {
		if o.failOn, err = analyze.ParseSeverity(o.FailOn); err != nil {
			return usagef("pass --fail-on "+strings.Join(analyze.Severities(), "|"), "--fail-on: %v", err)
		}
	}
	if o.loc, err = time.LoadLocation(o.Timezone); err != nil {
		return usagef("use an IANA zone name such as UTC, Europe/Dublin or America/New_York", "--timezone: unknown time zone %q", o.Timezone)
	}
	for _, tv := range []struct{ name, v string }{{"--since", o.Since}, {"--until", o.Until}, {"--learn-until", o.LearnUntil}} {
		if tv.v == "" {
			continue
		}
		if _, _, err := parseTimeArg(tv.v); err != nil {
			return usagef("give an RFC 3339 time (2026-09-23T12:00:00Z) or a duration (90m, 24h, 7d)", "%s: %v", tv.name, err)
		}
	}
	if o.UpdateBaseline && o.BaselinePath == "" {
		return usagef("add --baseline FILE to say where the baseline is kept", "--update-baseline needs --baseline")
	}
	if o.BaselineMaxAge != "" {
		if _, err := parseDuration(o.BaselineMaxAge); err != nil {
			return usagef("give a duration such as 90d", "--baseline-max-age: %v", err)
		}
	}
	if o.PreviousReport != "" { // read now: a bad file should fail before a long load
		if o.previous, o.previousFound, err = previousFingerprints(o.PreviousReport); err != nil {
			return err
		}
	}
	if o.Quiet && o.Verbose {
		return usagef("pass one of them", "--quiet and --verbose exclude each other")
	}
	if o.MaxLine <= 0 {
		return usagef("give a positive number of bytes", "--max-line-bytes must be positive")
	}
	if o.MaxDecompressed <= 0 {
		return usagef("give a positive number of bytes", "--max-decompressed-bytes must be positive")
	}
	if o.MaxGzipRatio < 0 {
		return usagef("give a ratio such as 200, or 0 to turn the check off", "--max-gzip-ratio must not be negative")
	}
	return nil
}

// parseTimeArg reads an RFC 3339 time or a duration (returned as ago, to be counted back from
// the newest event).
func parseTimeArg(s string) (t time.Time, ago time.Duration, err error) {
	if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), 0, nil
	}
	if t, err = time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), 0, nil
	}
	if ago, err = parseDuration(s); err == nil {
		return time.Time{}, ago, nil
	}
	return time.Time{}, 0, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
}

// resolveTime turns a flag value into a time, counting durations back from ref.
func resolveTime(s string, ref time.Time) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, ago, _ := parseTimeArg(s)
	if t.IsZero() {
		return ref.Add(-ago)
	}
	return t
}

// pipeline is one analysing run after loading: filter, analyse, render, summarise.
type pipeline struct {
	opts    *analysisOptions
	command string
	cfg     *loadedConfig
	loaded  *sources.Loaded
	inErrs  []error
	start   time.Time
	// timeRef is the reference for durations: the newest event for files.
	timeRef time.Time
	// store holds the locked baseline file while the run uses it.
	store *baseline.Store
	// liveSince: for online sources --since was already applied by the query.
	liveSince bool
}

// loadOptions are the reading limits the flags set.
func (o *analysisOptions) loadOptions(format string) sources.LoadOptions {
	ratio := o.MaxGzipRatio
	if ratio == 0 {
		ratio = -1 // the flag's 0 turns the check off; LoadOptions' 0 means the default
	}
	return sources.LoadOptions{Formats: formats.Files(), Only: format, MaxLineBytes: o.MaxLine, Stdin: o.IO.In,
		MaxDecompressedBytes: o.MaxDecompressed, MaxGzipRatio: ratio}
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

func (p *pipeline) run(ctx context.Context) error {
	o := p.opts
	evs := p.loaded.Events
	var futureNote string
	if p.timeRef.IsZero() && len(evs) > 0 {
		p.timeRef, futureNote = newestPlausible(evs, time.Now())
	}
	since, until := resolveTime(o.Since, p.timeRef), resolveTime(o.Until, p.timeRef)
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
	cfg := p.cfg.Analyze
	cfg.LearnUntil = resolveTime(o.LearnUntil, p.timeRef)
	rollouts, err := loadRollouts(append(slices.Clone(p.cfg.K8sEvents), o.K8sEvents...))
	if err != nil {
		return err
	}
	cfg.Rotation.Rollouts = rollouts

	bl, err := p.loadBaseline()
	if err != nil {
		return err
	}
	res := analyze.Run(evs, analyze.Env{Config: &cfg, Baseline: bl})
	if err := p.saveBaseline(bl, evs); err != nil {
		return err
	}
	findings, leftOut := p.leaveOut(res.Findings)

	rr := &report.Result{
		Tool: "vaultsentry", Version: version, Command: p.command, Rules: res.Rules,
		Files: p.loaded.Files, Events: len(evs), Filtered: filtered, Training: res.Training,
		Location: o.loc, Generated: time.Now().UTC(),
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
	worst := analyze.Info
	anyFinding := false
	for _, f := range findings {
		if !anyFinding || f.Severity > worst {
			worst, anyFinding = f.Severity, true
		}
		if f.Severity < o.minSev {
			rr.Hidden++
			continue
		}
		rr.Findings = append(rr.Findings, f)
	}
	if o.discard {
		fmt.Fprintf(o.IO.Err, "learned %d events from %d files into %s (%d identities)\n", len(evs), len(p.loaded.Files),
			report.Sanitize(o.BaselinePath), len(bl.Principals))
		return nil
	}
	if o.Format == "html" {
		from := rr.First
		if !cfg.LearnUntil.IsZero() && cfg.LearnUntil.After(from) && cfg.LearnUntil.Before(rr.Last) {
			from = cfg.LearnUntil // chart the reporting period, not the history
		}
		rr.Charts = report.BuildCharts(evs, rr.Findings, from, rr.Last)
	}
	if err := p.render(rr); err != nil {
		return err
	}
	if !o.Quiet {
		writeSummary(o.IO.Err, rr, time.Since(p.start), o.Verbose)
	}
	malformed := 0
	for _, f := range p.loaded.Files {
		malformed += f.Malformed
	}
	if o.Strict && malformed > 0 {
		return runtimef("fix or remove the malformed lines listed above, or run without --strict",
			fmt.Errorf("--strict: %d malformed input lines", malformed))
	}
	if leftOut.expiredErr != nil {
		return leftOut.expiredErr
	}
	if anyFinding && worst >= o.failOn {
		return ErrFindings
	}
	return nil
}

func (p *pipeline) render(rr *report.Result) error {
	o := p.opts
	r, _ := report.New(o.Format)
	var w io.Writer = o.IO.Out
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
	err := r.Render(w, rr)
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
