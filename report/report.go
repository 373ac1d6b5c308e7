// Package report renders findings: table, JSON, SARIF, Markdown, HTML, and trace timelines
// (table, JSON, CSV). Every string that came from a log is attacker-controlled and is cleaned
// at the render boundary, the same way in every format: Sanitize for the table, SARIF (message
// and properties), Markdown, HTML, CSV (then CSVSafe) and standard error. The JSON reports
// (scan and trace) alone keep the exact logged values, for machines that compare them, and keep
// them escaped (the encoder, then EscapeInvisibleJSON): no raw control, bidi or invisible
// character is in any output file.
package report

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Version is the tool version written into reports; cmd sets it from the build.
var Version = "dev"

// Result is everything a report shows.
type Result struct {
	Tool      string
	Version   string
	Command   string // "scan" or "cloudtrail"
	Findings  []analyze.Finding
	Rules     []analyze.Rule
	Files     []sources.FileStats
	Errors    []string // inputs that could not be read
	Notes     []string // run notes (e.g. a load balancer address hides clients)
	Events    int      // events analysed (after --since/--until)
	Filtered  int      // events outside --since/--until
	Training  int      // findings inside the learning period, not reported
	Hidden    int      // findings below --min-severity
	First     time.Time
	Last      time.Time
	Location  *time.Location // for human formats; nil means UTC
	Generated time.Time

	// Suppressed are findings an ignore entry matched; listed only with --show-suppressed, but
	// always counted in SuppressedCount.
	Suppressed      []SuppressedFinding
	SuppressedCount int
	// Previous counts findings left out because --previous-report already had them.
	Previous int
	// Changes compares the run with --previous-report (new, recurring, resolved); nil when
	// none was given. The findings of Findings are the new ones.
	Changes *Changes
	// LearnUntil is the end of the learning period, when one was set.
	LearnUntil time.Time
	// Charts are the HTML report's chart data; nil when the format does not draw charts.
	Charts *Charts
	// Color: severities may be coloured (a terminal, NO_COLOR unset).
	Color bool
	// Width is the terminal's width in columns for the table; 0 is DefaultWidth. The caller
	// decides it (the terminal, COLUMNS); renderers never read the environment.
	Width int
	// Sort orders the table's rows: SortSeverity (the zero value) or SortTime.
	Sort string
	// GroupBy groups the table's rows: "" (none) or GroupIdentity.
	GroupBy string
	// S3 is the s3:// reading statistics (listing, pruning, fetches, failures); nil without them.
	S3 *sources.S3Stats
	// Stores are what each log-store export did (scan --loki, --elasticsearch); nil for files.
	Stores []sources.StoreStats
}

// Table row orders (--sort) and groupings (--group-by).
const (
	SortSeverity  = "severity" // worst first, then time
	SortTime      = "time"     // a timeline
	GroupIdentity = "identity" // one block per identity
)

// SortOrders lists the values of --sort, the default first.
func SortOrders() []string { return []string{SortSeverity, SortTime} }

// Groupings lists the values of --group-by.
func Groupings() []string { return []string{GroupIdentity} }

// SuppressedFinding is a finding an ignore entry matched, with that entry's reason.
type SuppressedFinding struct {
	Finding analyze.Finding
	Reason  string
	Expires string // YYYY-MM-DD, empty when the entry never expires
}

// Changes is what changed since the report given to --previous-report.
type Changes struct {
	Path  string // the previous report, as given
	Found bool   // false: there was no file at Path, so every finding is new
	// Recurring are this run's findings that the previous report already had (left out of
	// Findings); Resolved are the previous report's findings this run did not find again.
	Recurring []PriorFinding
	Resolved  []PriorFinding
}

// PriorFinding names a finding of the previous report, or one of this run that it already had.
type PriorFinding struct {
	Fingerprint         string
	Rule                string
	Severity            analyze.Severity
	Title               string
	Identity            string
	DisplayName         string
	FirstSeen, LastSeen time.Time
}

// PriorOf is the PriorFinding of a finding of this run.
func PriorOf(f *analyze.Finding) PriorFinding {
	return PriorFinding{Fingerprint: f.Fingerprint(), Rule: f.Rule, Severity: f.Severity, Title: f.Title,
		Identity: f.Identity, DisplayName: f.DisplayName, FirstSeen: f.FirstSeen, LastSeen: f.LastSeen}
}

// Renderer writes a Result in one format.
type Renderer interface {
	Render(w io.Writer, r *Result) error
}

var renderers = map[string]func() Renderer{
	"table": func() Renderer { return Table{} },
	"json":  func() Renderer { return JSON{} },
	"sarif": func() Renderer { return SARIF{} },
}

// Formats lists the output formats, for --format help and validation.
func Formats() []string {
	fs := make([]string, 0, len(renderers))
	for k := range renderers {
		fs = append(fs, k)
	}
	slices.Sort(fs)
	return fs
}

// New returns the renderer for format.
func New(format string) (Renderer, error) {
	f, ok := renderers[format]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	return f(), nil
}

// BySeverity counts findings per severity.
func BySeverity(fs []analyze.Finding) map[analyze.Severity]int {
	m := map[analyze.Severity]int{}
	for _, f := range fs {
		m[f.Severity]++
	}
	return m
}

func (r *Result) loc() *time.Location {
	if r.Location == nil {
		return time.UTC
	}
	return r.Location
}

// humanTime formats t in the report's zone, with an explicit offset.
// RuleDocURL is where a rule is documented: its section of docs/rules.md (generated by
// `vaultsentry rules --format markdown`), for SARIF's helpUri and alerts' runbook_url.
func RuleDocURL(rule string) string {
	return "https://github.com/vaultsentry/vaultsentry/blob/main/docs/rules.md#" + url.PathEscape(rule)
}

// utcStamp is a UTC time as analyze writes it into messages and remediations.
var utcStamp = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b`)

// localText rewrites the UTC times in a finding's text into --timezone, as every other time of
// the human formats is: a responder in Dublin reads one clock. JSON and SARIF keep UTC.
func (r *Result) localText(s string) string {
	if r.loc() == time.UTC || !strings.Contains(s, "Z") {
		return s
	}
	return utcStamp.ReplaceAllStringFunc(s, func(m string) string {
		t, err := time.Parse(time.RFC3339Nano, m)
		if err != nil {
			return m
		}
		return r.humanTime(t)
	})
}

func (r *Result) humanTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(r.loc()).Format("2006-01-02T15:04:05Z07:00")
}
