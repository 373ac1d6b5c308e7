package app

import (
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/notify"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// Options are what every analysing run takes (scan, cloudtrail, baseline learn): the flags they
// share, already validated.
type Options struct {
	IO     IO
	Config *Config // nil: DefaultConfig

	Format string // a name from report.Formats()
	Output string // file for the report; "" or "-" is IO.Out
	// Outputs, when set, replace Format and Output: the report is rendered into each, from the
	// one analysis. At most one of them is standard output ("" or "-").
	Outputs     []Output
	MinSeverity analyze.Severity
	Location    *time.Location // for times in table output; nil is UTC

	Since, Until, LearnUntil TimeArg
	K8sEvents                []string // more Kubernetes events files, after the configuration's
	// PathAccounts and PathRegions keep only CloudTrail trees' files of these accounts and
	// regions (AWSLogs/[o-..../]ACCOUNT/CloudTrail/REGION/...), local or s3://; empty: all.
	PathAccounts, PathRegions []string
	expanded                  *expansion // the paths as learnArchive expanded them, for the one batch (s3.go)

	Strict  bool // a malformed line fails the run after the report
	Quiet   bool
	Verbose bool

	// Reading limits (sources.LoadOptions); zero values take the sources defaults.
	MaxLineBytes         int
	MaxDecompressedBytes int64
	MaxGzipRatio         int // 0: the default ratio; negative: no ratio check

	BaselinePath   string
	UpdateBaseline bool          // write the baseline back (locked while the run uses it)
	PruneAfter     time.Duration // when updating, drop what was last seen longer ago (0: keep all)

	// Metrics is the file --metrics writes (Prometheus text format, atomically); "": none.
	Metrics string
	// MetricsTopIdentities is how many identities the metrics list by reads; 0: none.
	MetricsTopIdentities int
	// metricsTried: this run has written (or tried to write) the metrics file.
	metricsTried bool

	ShowSuppressed bool
	Previous       *PreviousReport // --previous-report, read before the run; nil: none

	// Alerts (--notify, notify.go): after the report, the new findings at or above
	// NotifyMinSeverity are posted to each target; NotifyOnError posts a notice when the run
	// fails (exit 3). Notifier nil: the default retries and timeouts.
	Notify            []notify.Target
	NotifyMinSeverity analyze.Severity
	NotifyOnError     bool
	Notifier          *notify.Sender
	// Sort and GroupBy order the table's rows (report.SortOrders, report.Groupings).
	Sort, GroupBy string

	// LearnOnly runs the analysis for the baseline and prints one line instead of a report.
	LearnOnly bool
	// LearnBatchBytes bounds what one batch of a LearnOnly run holds in memory, in estimated
	// decompressed input bytes (learn.go); 0: DefaultLearnBatchBytes.
	LearnBatchBytes int64

	// Start is when the run began, for the elapsed time in the summary (zero: when Scan is called).
	Start time.Time
	// Now is the wall clock (ignore expiry, the future-event guard); nil is time.Now.
	Now func() time.Time
}

// Output is one destination of the report: a file ("" or "-" for IO.Out) and its format.
type Output struct {
	Path   string
	Format string // a name from report.Formats()
}

// outputs are the report's destinations: Outputs, or the one of Format and Output.
func (o *Options) outputs() []Output {
	if len(o.Outputs) > 0 {
		return o.Outputs
	}
	return []Output{{Path: o.Output, Format: o.Format}}
}

func (o *Options) config() *Config {
	if o.Config == nil {
		o.Config = DefaultConfig()
	}
	return o.Config
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) location() *time.Location {
	if o.Location == nil {
		return time.UTC
	}
	return o.Location
}

// loadOptions are the reading limits of the run.
func (o *Options) loadOptions(format string) sources.LoadOptions {
	return sources.LoadOptions{Formats: formats.Files(), Only: format, MaxLineBytes: o.MaxLineBytes, Stdin: o.IO.In,
		MaxDecompressedBytes: o.MaxDecompressedBytes, MaxGzipRatio: o.MaxGzipRatio}
}

// Outcome is what a run found, for the exit code.
type Outcome struct {
	// Result is the report as rendered; nil for a LearnOnly run.
	Result *report.Result
	// Findings is the number of findings after the ignore list and the previous report, at any
	// severity (--min-severity only hides them from the report).
	Findings int
	// Worst is the highest severity among them (meaningful when Findings > 0).
	Worst analyze.Severity
}

// Reaches reports whether a finding is at or above s (--fail-on).
func (o Outcome) Reaches(s analyze.Severity) bool { return o.Findings > 0 && o.Worst >= s }
