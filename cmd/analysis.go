package cmd

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/metrics"
	"github.com/vaultsentry/vaultsentry/notify"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// analysisOptions are the flags every analysing command shares (scan, cloudtrail).
type analysisOptions struct {
	IO          Streams
	Format      string
	Outputs     []string // -o, repeatable
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
	Sort           string // table rows: report.SortOrders()
	GroupBy        string // table rows: "" or one of report.Groupings()

	// Alerts.
	Notify            []string
	NotifyMinSeverity string
	NotifyOnError     bool

	// Metrics for node_exporter's textfile collector.
	Metrics              string
	MetricsTopIdentities int

	// changed tells validate whether a flag was given (nil: none was); a method value, so
	// cmd needs no import of pflag.
	changed func(name string) bool

	// Set by validate.
	outputs                  []app.Output        // -o with the format of each; nil: standard output in Format
	previous                 *app.PreviousReport // --previous-report, read before the long load
	minSev, failOn           analyze.Severity
	loc                      *time.Location
	since, until, learnUntil app.TimeArg
	baselineMaxAge           time.Duration
	notify                   []notify.Target
	notifyMin                analyze.Severity
	// discard: run the analysis for its side effects (baseline learn) and print no report.
	discard bool
}

func (o *analysisOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&o.Format, "format", "f", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringArrayVarP(&o.Outputs, "output", "o", nil, "write the report to `FILE` instead of standard output, in the format its extension names\n"+
		"("+outputExtensions()+"); repeatable: one analysis, one file per -o")
	o.changed = f.Changed
	f.StringVar(&o.MinSeverity, "min-severity", "info", "show findings at or above this severity: "+strings.Join(analyze.Severities(), ", "))
	f.StringVar(&o.FailOn, "fail-on", "", "exit 1 when a finding at or above this severity exists: "+strings.Join(analyze.Severities(), ", ")+" (default: never)")
	f.StringVar(&o.Since, "since", "", "analyse events at or after `TIME` (RFC 3339, or a duration such as 24h counted back from the newest event)")
	f.StringVar(&o.Until, "until", "", "analyse events before `TIME` (RFC 3339, or a duration counted back from the newest event)")
	f.StringVar(&o.LearnUntil, "learn-until", "", "events before `TIME` only train the baseline; findings are reported after it (RFC 3339 or a duration back from the newest event)")
	f.StringVar(&o.Timezone, "timezone", "UTC", "IANA time zone for every time in the human formats (table, Markdown, HTML), the times inside messages included; JSON and SARIF stay UTC")
	f.StringVarP(&o.ConfigPath, "config", "c", "", "configuration `FILE` (default ./"+DefaultConfigFile+" when it exists)")
	f.StringArrayVar(&o.K8sEvents, "k8s-events", nil, "`FILE` of 'kubectl get events -A -o json' output: rollouts count as secret propagation (repeatable)")
	f.BoolVar(&o.Strict, "strict", false, "exit 3 after the report when any input line was malformed")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no run summary on standard error")
	f.IntVar(&o.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read; longer lines are skipped and counted")
	f.Int64Var(&o.MaxDecompressed, "max-decompressed-bytes", sources.DefaultMaxDecompressedBytes, "stop reading a compressed input (gzip, zstd, bzip2, xz) after this many decompressed bytes (decompression bomb guard)")
	f.IntVar(&o.MaxGzipRatio, "max-gzip-ratio", sources.DefaultMaxGzipRatio, "stop reading a compressed input that expands more than this many times, checked after 256 MiB (0: no ratio check)")
	f.StringVar(&o.BaselinePath, "baseline", "", "load the learned baseline from `FILE` (missing file: empty baseline)")
	f.BoolVar(&o.UpdateBaseline, "update-baseline", false, "write the baseline back to --baseline after the run")
	f.StringVar(&o.BaselineMaxAge, "baseline-max-age", "", "when updating the baseline, drop what was last seen longer ago than `DURATION` (e.g. 90d)")
	f.BoolVar(&o.ShowSuppressed, "show-suppressed", false, "list the findings the config's ignore list suppressed (they are always counted)")
	f.StringVar(&o.PreviousReport, "previous-report", "", "report only findings whose fingerprint is not in this earlier JSON report `FILE` (a missing file counts as empty)")
	f.StringArrayVar(&o.Notify, "notify", nil, "after the report, send the new findings to `URL` (repeatable): a path ending in /api/v2/alerts is\n"+
		"Alertmanager, hooks.slack.com or slack+https://... a Slack webhook, anything else a JSON POST; a failed delivery exits 3")
	f.StringVar(&o.NotifyMinSeverity, "notify-min-severity", "high", "--notify sends findings at or above severity `SEV`: "+strings.Join(analyze.Severities(), ", "))
	f.BoolVar(&o.NotifyOnError, "notify-on-error", false, "when the run fails (exit 3), send a short error notice to every --notify URL")
	f.StringVar(&o.Sort, "sort", report.SortSeverity, "order of the table's rows: "+strings.Join(report.SortOrders(), ", ")+" (time: a timeline)")
	f.StringVar(&o.GroupBy, "group-by", "", "group the table's rows: "+strings.Join(report.Groupings(), ", ")+" (default: no grouping)")
	f.StringVar(&o.Metrics, "metrics", "", "also write Prometheus metrics of the run to `FILE` (text format, replaced atomically; for node_exporter's\n"+
		"textfile collector): findings by rule, severity and store, events, malformed lines, newest event per audit stream, new secret accesses")
	f.IntVar(&o.MetricsTopIdentities, "metrics-top-identities", metrics.DefaultTopIdentities, "list this many identities, those with the most secret reads, in --metrics (0: none)")
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "more detail on standard error: config used, each file as it is read, suppressed findings")
}

func (o *analysisOptions) validate() error {
	if _, err := report.New(o.Format); err != nil {
		return usagef("pass --format "+strings.Join(report.Formats(), "|"), "%v", err)
	}
	var err error
	if o.outputs, err = o.resolveOutputs(); err != nil {
		return err
	}
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
	if err := parseTimeFlags(timeFlag{"--since", o.Since, &o.since}, timeFlag{"--until", o.Until, &o.until},
		timeFlag{"--learn-until", o.LearnUntil, &o.learnUntil}); err != nil {
		return err
	}
	if o.UpdateBaseline && o.BaselinePath == "" {
		return usagef("add --baseline FILE to say where the baseline is kept", "--update-baseline needs --baseline")
	}
	if o.BaselineMaxAge != "" {
		if o.baselineMaxAge, err = parseDuration(o.BaselineMaxAge); err != nil {
			return usagef("give a duration such as 90d", "--baseline-max-age: %v", err)
		}
	}
	if o.PreviousReport != "" { // read now: a bad file should fail before a long load
		if o.previous, err = app.ReadPreviousReport(o.PreviousReport); err != nil {
			return err
		}
	}
	if o.Sort != "" && !slices.Contains(report.SortOrders(), o.Sort) { // "": a command without the flag (baseline learn)
		return usagef("pass --sort "+strings.Join(report.SortOrders(), "|"), "--sort: unknown order %q", o.Sort)
	}
	if o.GroupBy != "" && !slices.Contains(report.Groupings(), o.GroupBy) {
		return usagef("pass --group-by "+strings.Join(report.Groupings(), "|")+", or leave it out", "--group-by: unknown grouping %q", o.GroupBy)
	}
	if o.Metrics == "-" {
		return usagef("give a file path, such as /var/lib/node_exporter/textfile/vaultsentry.prom", "--metrics writes a file, not standard output")
	}
	for _, out := range o.outputs {
		if o.Metrics != "" && sameFile(out.Path, o.Metrics) {
			return usagef("give the metrics their own file, such as vaultsentry.prom", "--metrics %s is also an -o report", o.Metrics)
		}
	}
	if o.MetricsTopIdentities < 0 {
		return usagef("give a number of identities such as 20, or 0 to list none", "--metrics-top-identities must not be negative")
	}
	if o.Quiet && o.Verbose {
		return usagef("pass one of them", "--quiet and --verbose exclude each other")
	}
	if err := o.validateNotify(); err != nil {
		return err
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

// validateNotify checks --notify, --notify-min-severity and --notify-on-error.
func (o *analysisOptions) validateNotify() error {
	o.notify, o.notifyMin = nil, analyze.High
	if o.NotifyMinSeverity != "" { // "" only where the flag is not declared (baseline learn)
		var err error
		if o.notifyMin, err = analyze.ParseSeverity(o.NotifyMinSeverity); err != nil {
			return usagef("pass --notify-min-severity "+strings.Join(analyze.Severities(), "|"), "--notify-min-severity: %v", err)
		}
	}
	for i, raw := range o.Notify {
		t, err := notify.ParseTarget(raw)
		if err != nil {
			// The URL itself is not repeated: a webhook's URL is its secret.
			return usagef("give an http(s) URL such as http://alertmanager:9093/api/v2/alerts, https://hooks.slack.com/services/..., "+
				"slack+https://HOST/PATH for another Slack-compatible webhook, or https://HOST/PATH for a JSON POST",
				"--notify #%d: %v", i+1, err)
		}
		o.notify = append(o.notify, t)
	}
	if o.NotifyOnError && len(o.notify) == 0 {
		return usagef("add --notify URL to say where the notice goes", "--notify-on-error needs --notify")
	}
	return nil
}

// timeFlag is one --since-style flag: its name, its value, where the parsed value goes.
type timeFlag struct {
	name, v string
	dst     *app.TimeArg
}

// parseTimeFlags parses each --since-style flag (scan, cloudtrail, trace, review); a bad value is
// a usage error that names the flag.
func parseTimeFlags(flags ...timeFlag) error {
	for _, f := range flags {
		var err error
		if *f.dst, err = parseTimeArg(f.v); err != nil {
			return usagef("give an RFC 3339 time (2026-09-23T12:00:00Z) or a duration (90m, 24h, 7d)", "%s: %v", f.name, err)
		}
	}
	return nil
}

// parseTimeArg reads an RFC 3339 time or a duration (counted back from the newest event, or from
// now for the LookupEvents API); "" is the unset TimeArg.
func parseTimeArg(s string) (app.TimeArg, error) {
	if s == "" {
		return app.TimeArg{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return app.At(t), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return app.At(t), nil
	}
	if ago, err := parseDuration(s); err == nil {
		return app.Ago(ago), nil
	}
	return app.TimeArg{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
}

// options turns the validated flags and the configuration into what a run takes.
func (o *analysisOptions) options(cfg *loadedConfig, start time.Time) app.Options {
	ratio := o.MaxGzipRatio
	if ratio == 0 {
		ratio = -1 // the flag's 0 turns the check off; LoadOptions' 0 means the default
	}
	pruneAfter := cfg.BaselineMaxAge // the flag overrides the file
	if o.BaselineMaxAge != "" {
		pruneAfter = o.baselineMaxAge
	}
	return app.Options{
		IO: o.IO.app(), Config: cfg.app(),
		Format: o.Format, Outputs: o.outputs, MinSeverity: o.minSev, Location: o.loc,
		Since: o.since, Until: o.until, LearnUntil: o.learnUntil, K8sEvents: o.K8sEvents,
		Strict: o.Strict, Quiet: o.Quiet, Verbose: o.Verbose,
		MaxLineBytes: o.MaxLine, MaxDecompressedBytes: o.MaxDecompressed, MaxGzipRatio: ratio,
		BaselinePath: o.BaselinePath, UpdateBaseline: o.UpdateBaseline, PruneAfter: pruneAfter,
		ShowSuppressed: o.ShowSuppressed, Previous: o.previous, LearnOnly: o.discard,
		Notify: o.notify, NotifyMinSeverity: o.notifyMin, NotifyOnError: o.NotifyOnError,
		Sort: o.Sort, GroupBy: o.GroupBy,
		Metrics: o.Metrics, MetricsTopIdentities: o.MetricsTopIdentities,
		Start: start,
	}
}

// exit maps the outcome of a run to the error Main turns into its exit code: the run's own error
// first (--strict, an expired ignore entry), then ErrFindings at --fail-on.
func (o *analysisOptions) exit(out app.Outcome, err error) error {
	if err != nil {
		return err
	}
	if out.Reaches(o.failOn) {
		return ErrFindings
	}
	return nil
}

// sameFile reports whether two command-line paths name the same file, by absolute path.
func sameFile(a, b string) bool {
	abs := func(p string) string {
		if q, err := filepath.Abs(p); err == nil {
			return q
		}
		return p
	}
	return abs(a) == abs(b)
}
