package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// HTML renders the daily report: one self-contained page (inline CSS and SVG, no script, font or
// network request; a Content-Security-Policy forbids them), that works opened from disk. Every
// string from a log goes through html/template's contextual escaping.
type HTML struct{}

func init() {
	renderers["html"] = func() Renderer { return HTML{} }
}

//go:embed html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1":      f1,
	"add":     func(a, b any) float64 { return toFloat(a) + toFloat(b) },
	"sub":     func(a, b int) int { return a - b },
	"dict":    dict,
	"safeCSS": safeColor,
}).Parse(htmlSource))

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	}
	panic(fmt.Sprintf("add: %T is not a number", v))
}

// dict builds a map from key, value pairs, for passing several values to a sub-template.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// safeColor passes one of our own #rrggbb colours to a style attribute; anything else is refused.
func safeColor(c string) template.CSS {
	if len(c) != 7 || c[0] != '#' || strings.Trim(c[1:], "0123456789abcdefABCDEF") != "" {
		return template.CSS("transparent")
	}
	return template.CSS(c)
}

type htmlView struct {
	Version     string
	Command     string
	Generated   string
	First, Last string
	Duration    string
	LearnUntil  string
	Zone        string
	Severities  []htmlSeverity
	Total       int
	Stats       htmlStats
	Files       []htmlFile
	Notes       []string
	Errors      []string
	HasCharts   bool
	ChartPeriod string
	Reads       svgChart
	Distinct    svgChart
	Timeline    svgTimeline
	Findings    []htmlFinding
	Suppressed  []htmlFinding
	Rules       []htmlRule

	// The executive summary.
	Headline    string
	Top         []htmlIndexRow // the critical and high findings, at most maxTop
	MoreTop     int
	Affected    []htmlIdentity
	Rotate      []htmlSecret // secrets whose value was returned, worst first
	MoreRotate  []htmlSecret // past maxListed, inside a <details>
	TouchedOnly int          // secrets findings name whose value was not returned
	Revoke      []htmlCredential
	Changes     *htmlChanges

	Index  []htmlIndexRow // every finding, worst first
	Groups []htmlGroup    // the findings by identity, worst identity first

	Formats          []htmlFormat // the inputs, one row per format
	ProblemFiles     []htmlFile   // files with a read error or unusable lines, at most maxListed
	MoreProblemFiles int
}

// How much the summary lists before it folds the rest away (a <details>, closed in print).
const (
	maxTop    = 10
	maxListed = 30
)

type htmlLink struct{ Anchor, Label string }

type htmlIndexRow struct {
	Anchor, Severity, Color, Title, Rule string
	Who, WhoAnchor, When                 string
	Count, Values                        int
}

type htmlIdentity struct {
	Anchor, Label, Identity, Severity, Color string
	First                                    string
	Findings, Values                         int
	Rules, Addresses                         []string
	MoreAddresses                            int
}

type htmlSecret struct {
	Name, Severity, Color string
	Readers               []string
	Findings              []htmlLink
}

type htmlCredential struct {
	Credential, Who, Severity, Color string
	Findings                         []htmlLink
}

type htmlChanges struct {
	Path                string
	Found               bool
	New                 int
	Recurring, Resolved htmlPriorList
}

type htmlPriorList struct {
	Total int
	Shown []htmlPrior
	More  []htmlPrior
}

type htmlPrior struct {
	Fingerprint, Rule, Severity, Color, Title, Who, When string
}

type htmlGroup struct {
	Anchor, Label, Identity, Severity, Color string
	Findings                                 []htmlFinding
}

type htmlFormat struct {
	Format                                                       string
	Files, Lines, Parsed, Malformed, Skipped, Duplicates, Events int
	Bytes, First, Last                                           string
	NoEvents                                                     int    // files with no event
	SkipReasons                                                  string // lines skipped, by reason
	Detail                                                       string // the line under the row: skip reasons, duplicates, files without events
	WholeFiles                                                   string // files with no event, by why (digests, duplicates, not audit logs)
}

type htmlSeverity struct {
	Name  string
	Count int
	Color string
}

type htmlStats struct {
	Files, Lines, Parsed, Malformed, Skipped, Duplicates int
	Bytes                                                string
	Events, Filtered, Hidden, Training, Suppressed       int
	Previous                                             int
}

type htmlFile struct {
	Name, Format, Bytes, First, Last, ReadError string
	Compressed                                  bool
	Lines, Parsed, Malformed, Skipped, Events   int
	Problems                                    []string
	MoreProblems                                int
}

type htmlFinding struct {
	Anchor, Severity, Color, Rule, Title, Message string
	Identity, DisplayName, Credential, Source     string
	FirstSeen, LastSeen, Fingerprint              string
	Remediation, Guide                            string
	Count                                         int
	Resources, ValuesRead, SourceIPs, MITRE       []string
	Evidence                                      []htmlEvidence
	MoreEvidence                                  int
	Reason, Expires                               string // suppressed findings only
	// RepeatGuide: an earlier card of the page has the same rule's guide (print shows it once).
	RepeatGuide bool
}

type htmlEvidence struct {
	File string
	Line int
	Time string
}

type htmlRule struct {
	ID, Name, Severity, Color, Summary, Help, Guide string
	MITRE                                           []string
}

// Render writes the page.
func (HTML) Render(w io.Writer, r *Result) error {
	if err := htmlTemplate.Execute(w, buildHTMLView(r)); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

func buildHTMLView(r *Result) *htmlView {
	loc := r.loc()
	v := &htmlView{Version: r.Version, Command: r.Command, Zone: loc.String(), Total: len(r.Findings)}
	if v.Version == "" {
		v.Version = Version
	}
	if !r.Generated.IsZero() {
		v.Generated = r.humanTime(r.Generated)
	}
	if !r.First.IsZero() {
		v.First, v.Last = r.humanTime(r.First), r.humanTime(r.Last)
		v.Duration = humanSpan(r.Last.Sub(r.First))
	}
	if !r.LearnUntil.IsZero() {
		v.LearnUntil = r.humanTime(r.LearnUntil)
	}
	by := BySeverity(r.Findings)
	for s := analyze.Critical; s >= analyze.Info; s-- {
		v.Severities = append(v.Severities, htmlSeverity{Name: s.String(), Count: by[s], Color: severityColors[s]})
	}
	st := &v.Stats
	var bytes int64
	for _, f := range r.Files {
		st.Files++
		st.Lines += f.Lines
		st.Parsed += f.Parsed
		st.Malformed += f.Malformed
		st.Skipped += f.SkippedTotal()
		st.Duplicates += f.Duplicates
		bytes += f.Bytes
		hf := htmlFile{Name: Sanitize(f.File), Format: f.Format, Compressed: f.Compressed, Bytes: HumanBytes(f.Bytes),
			Lines: f.Lines, Parsed: f.Parsed, Malformed: f.Malformed, Skipped: f.SkippedTotal(), Events: f.Events,
			ReadError: Sanitize(f.ReadError)}
		if !f.FirstEvent.IsZero() {
			hf.First, hf.Last = r.humanTime(f.FirstEvent), r.humanTime(f.LastEvent)
		}
		for i, p := range f.Problems {
			if i == 10 {
				hf.MoreProblems = len(f.Problems) - i
				break
			}
			hf.Problems = append(hf.Problems, fmt.Sprintf("line %d: %s", p.Line, Sanitize(p.Reason)))
		}
		hf.MoreProblems += max(0, f.Malformed+f.Skipped["too-long"]-len(f.Problems))
		v.Files = append(v.Files, hf)
	}
	st.Bytes = HumanBytes(bytes)
	st.Events, st.Filtered, st.Hidden, st.Training = r.Events, r.Filtered, r.Hidden, r.Training
	st.Suppressed, st.Previous = r.SuppressedCount, r.Previous
	v.Notes, v.Errors = sanitizeAll(r.Notes), sanitizeAll(r.Errors)

	rules := ruleIndex(r.Rules)
	if ch := r.Charts; ch != nil {
		v.HasCharts = true
		v.ChartPeriod = r.humanTime(ch.From) + " to " + r.humanTime(ch.To)
		win := humanDuration(ch.Window)
		v.Reads = lineChart(ch, ch.Reads, loc, "reads", ch.ReadLimit,
			fmt.Sprintf("bulk-read threshold: %d reads in %s", ch.ReadLimit, win))
		v.Distinct = lineChart(ch, ch.Distinct, loc, "peak", ch.DistinctLimit,
			fmt.Sprintf("bulk-read threshold: %d distinct secrets in %s", ch.DistinctLimit, win))
	}
	v.Timeline = findingTimeline(r.Findings, r.Charts, loc)
	for _, f := range r.Findings {
		v.Findings = append(v.Findings, htmlFindingOf(r, f, rules))
	}
	buildSummary(v, r)
	buildInputs(v, r)
	for _, s := range r.Suppressed {
		hf := htmlFindingOf(r, s.Finding, rules)
		hf.Reason, hf.Expires = Sanitize(s.Reason), s.Expires
		v.Suppressed = append(v.Suppressed, hf)
	}
	ruleList := r.Rules
	if len(ruleList) == 0 {
		ruleList = analyze.Rules()
	}
	for _, ru := range ruleList {
		v.Rules = append(v.Rules, htmlRule{ID: ru.ID, Name: ru.Name, Severity: ru.Severity.String(), Color: severityColors[ru.Severity],
			Summary: ru.Summary, Help: ru.Help, Guide: ru.Guide, MITRE: mitreList(ru.MITRE)})
	}
	return v
}

func htmlFindingOf(r *Result, f analyze.Finding, rules map[string]analyze.Rule) htmlFinding {
	hf := htmlFinding{
		Anchor: "f-" + f.Fingerprint(), Severity: f.Severity.String(), Color: severityColors[f.Severity],
		Rule: f.Rule, Title: Sanitize(f.Title), Message: Sanitize(r.localText(f.Message)),
		Identity: Sanitize(f.Identity), DisplayName: Sanitize(f.DisplayName), Credential: Sanitize(f.Credential),
		Source: f.Source, FirstSeen: r.humanTime(f.FirstSeen), LastSeen: r.humanTime(f.LastSeen),
		Fingerprint: f.Fingerprint(), Remediation: Sanitize(r.localText(f.Remediation)), Count: f.Count,
		Resources: sanitizeAll(f.Resources), ValuesRead: sanitizeAll(f.ValuesRead), SourceIPs: sanitizeAll(f.SourceIPs),
	}
	if ru, ok := rules[f.Rule]; ok {
		hf.Guide = ru.Guide
		hf.MITRE = mitreList(ru.MITRE)
	}
	for _, e := range f.Evidence {
		hf.Evidence = append(hf.Evidence, htmlEvidence{File: Sanitize(e.File), Line: e.Line, Time: r.humanTime(e.Time)})
	}
	if f.Count > len(f.Evidence) {
		hf.MoreEvidence = f.Count - len(f.Evidence)
	}
	return hf
}

// sanitizeAll applies Sanitize to every string: in a page, control characters are harmless
// but invisible, and a responder should see that a name holds a newline or an escape sequence.
func sanitizeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, v := range ss {
		out[i] = Sanitize(v)
	}
	return out
}

// ruleIndex maps rule ids to rules: those of the run, then every registered rule.
func ruleIndex(rs []analyze.Rule) map[string]analyze.Rule {
	m := map[string]analyze.Rule{}
	for _, ru := range analyze.Rules() {
		m[ru.ID] = ru
	}
	for _, ru := range rs {
		m[ru.ID] = ru
	}
	return m
}

func mitreList(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, MITREName(id))
	}
	return out
}

// HumanBytes formats a byte count with binary units, for people.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// humanSpan writes durations with days: "65d 19h" rather than "1579h18m22s" (analyze.Span).
func humanSpan(d time.Duration) string { return analyze.Span(d) }
