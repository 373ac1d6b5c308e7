package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

// NoCloudTrailTree is the reason of integrity.cloudtrail when no input is a CloudTrail tree:
// nothing was validated, so the review cannot call the logs valid.
const NoCloudTrailTree = "no CloudTrail tree among the inputs: no log file's integrity was validated " +
	"(give the folder that holds AWSLogs/ with its CloudTrail-Digest files; Vault and Kubernetes audit logs carry no integrity record)"

// reviewIntegrity is the review's "integrity" object: the CloudTrail validation over every
// tree among the inputs, then the logs' completeness.
type reviewIntegrity struct {
	CloudTrail        *integrity.Result   `json:"cloudtrail"`
	Trees             []reviewTree        `json:"trees"`
	Coverage          []reviewCoverage    `json:"coverage"`
	Gaps              []reviewGap         `json:"gaps"`
	AuditChanges      []reviewAuditChange `json:"audit_changes"`
	ReadEventsPresent map[string]bool     `json:"read_events_present"`
	Notes             []string            `json:"notes"`
}

type reviewTree struct {
	Tree              string            `json:"tree"`
	CloudTrail        *integrity.Result `json:"cloudtrail"`
	Events            int               `json:"events"`
	ReadEventsPresent bool              `json:"read_events_present"`
}

type reviewCoverage struct {
	Stream string `json:"stream"`
	Store  string `json:"store"`
	Files  int    `json:"files"`
	Events int    `json:"events"`
	First  string `json:"first_event"`
	Last   string `json:"last_event"`
}

type reviewGap struct {
	Start           string `json:"start"`
	End             string `json:"end"`
	Duration        string `json:"duration"`
	DurationSeconds int64  `json:"duration_seconds"`
	Stream          string `json:"stream"`
	File            string `json:"file"`
	PrevFile        string `json:"prev_file,omitempty"`
	Reason          string `json:"reason"`
	Detail          string `json:"detail"`
}

type reviewAuditChange struct {
	Time        string `json:"time"`
	Store       string `json:"store"`
	Identity    string `json:"identity"`
	DisplayName string `json:"display_name"`
	Action      string `json:"action"`
	Target      string `json:"target"`
	Detail      string `json:"detail"`
	Outcome     string `json:"outcome"`
	File        string `json:"file"`
	Line        int    `json:"line"`
}

// statusRank orders the verdicts: invalid over unverifiable over valid.
func statusRank(s integrity.Status) int {
	switch s {
	case integrity.Invalid:
		return 2
	case integrity.Unverifiable:
		return 1
	}
	return 0
}

// combineTrees is the integrity.cloudtrail object over every tree: the worst status, counts
// summed, problems and notes concatenated (a problem's file is already the local path that
// ends in its S3 key).
func combineTrees(trees []TreeIntegrity) *integrity.Result {
	out := &integrity.Result{Status: integrity.Valid, Problems: []integrity.Problem{}}
	if len(trees) == 0 {
		out.Status, out.Reason = integrity.Unverifiable, NoCloudTrailTree
		return out
	}
	var reasons []string
	for _, t := range trees {
		c := t.CloudTrail
		if c == nil {
			continue
		}
		if statusRank(c.Status) > statusRank(out.Status) {
			out.Status = c.Status
		}
		out.LogFiles += c.LogFiles
		out.Digests += c.Digests
		out.NotYetCovered += c.NotYetCovered
		for _, p := range c.Problems {
			out.Problems = append(out.Problems, integrity.Problem{File: validUTF8(p.File), Kind: p.Kind, Detail: validUTF8(p.Detail)})
		}
		prefix := ""
		if len(trees) > 1 {
			prefix = validUTF8(t.Tree) + ": "
		}
		if c.Reason != "" {
			reasons = append(reasons, prefix+validUTF8(c.Reason))
		}
		for _, n := range c.Notes {
			out.Notes = append(out.Notes, prefix+validUTF8(n))
		}
	}
	out.Reason = strings.Join(reasons, "; ")
	return out
}

// newReviewIntegrity builds the integrity object from the trees' validation and the review's
// completeness (nil: not measured, the lists are empty).
func newReviewIntegrity(trees []TreeIntegrity, c *review.Completeness) reviewIntegrity {
	ri := reviewIntegrity{CloudTrail: combineTrees(trees), Trees: []reviewTree{}, Coverage: []reviewCoverage{}, Gaps: []reviewGap{},
		AuditChanges: []reviewAuditChange{}, ReadEventsPresent: map[string]bool{}, Notes: []string{}}
	for _, t := range trees {
		ri.Trees = append(ri.Trees, reviewTree{Tree: validUTF8(t.Tree), CloudTrail: t.CloudTrail, Events: t.Events, ReadEventsPresent: t.ReadEvents > 0})
		if t.Events > 0 && t.ReadEvents == 0 {
			ri.Notes = append(ri.Notes, fmt.Sprintf("%s: no read-only event among its %d events: %s", validUTF8(t.Tree), t.Events, review.NoReadsNote))
		}
	}
	if c == nil {
		return ri
	}
	for _, s := range c.Streams {
		ri.Coverage = append(ri.Coverage, reviewCoverage{Stream: validUTF8(s.Stream), Store: s.Store, Files: s.Files, Events: s.Events,
			First: utc(s.First), Last: utc(s.Last)})
	}
	for _, g := range c.Gaps {
		d := g.End.Sub(g.Start)
		ri.Gaps = append(ri.Gaps, reviewGap{Start: utc(g.Start), End: utc(g.End), Duration: analyze.Span(d), DurationSeconds: int64(d.Seconds()),
			Stream: validUTF8(g.Stream), File: validUTF8(g.File), PrevFile: validUTF8(g.PrevFile), Reason: g.Reason, Detail: validUTF8(g.Detail)})
	}
	for _, a := range c.AuditChanges {
		ri.AuditChanges = append(ri.AuditChanges, reviewAuditChange{Time: utc(a.Time), Store: a.Store, Identity: validUTF8(a.Identity),
			DisplayName: validUTF8(a.DisplayName), Action: validUTF8(a.Action), Target: validUTF8(a.Target), Detail: validUTF8(a.Detail),
			Outcome: a.Outcome, File: validUTF8(a.Pos.File), Line: a.Pos.Line})
	}
	for k, v := range c.ReadEvents {
		ri.ReadEventsPresent[k] = v
	}
	for _, n := range c.Notes {
		ri.Notes = append(ri.Notes, validUTF8(n))
	}
	return ri
}

// reviewIntegrityMarkdown writes the log integrity and completeness sections.
func reviewIntegrityMarkdown(b *strings.Builder, ri reviewIntegrity) {
	esc := MarkdownEscape
	code := func(s string) string { return "`" + strings.ReplaceAll(Sanitize(s), "`", "'") + "`" }
	c := ri.CloudTrail
	fmt.Fprintln(b, "## Log file integrity (CloudTrail)")
	fmt.Fprintln(b)
	fmt.Fprintf(b, "**%s**: %d log files, %d digests, %d problems", c.Status, c.LogFiles, c.Digests, len(c.Problems))
	if c.Reason != "" {
		fmt.Fprintf(b, ": %s", esc(c.Reason))
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b)
	for _, t := range ri.Trees {
		tc := t.CloudTrail
		fmt.Fprintf(b, "- %s: **%s**, %d log files, %d digests, %d problems", code(t.Tree), tc.Status, tc.LogFiles, tc.Digests, len(tc.Problems))
		if tc.Reason != "" {
			fmt.Fprintf(b, ": %s", esc(tc.Reason))
		}
		fmt.Fprintln(b)
	}
	if len(c.Problems) > 0 {
		fmt.Fprintln(b)
		fmt.Fprintln(b, "| file | problem | detail |")
		fmt.Fprintln(b, "|---|---|---|")
		for _, p := range c.Problems {
			fmt.Fprintf(b, "| %s | %s | %s |\n", esc(Cut(p.File, 120)), esc(p.Kind), esc(Cut(p.Detail, 300)))
		}
	}
	fmt.Fprintln(b)
	fmt.Fprintln(b, "## Log completeness")
	fmt.Fprintln(b)
	var stores []string
	for s := range ri.ReadEventsPresent {
		stores = append(stores, s)
	}
	slices.Sort(stores)
	var rs []string
	for _, s := range stores {
		yes := "no read event"
		if ri.ReadEventsPresent[s] {
			yes = "read events present"
		}
		rs = append(rs, s+": "+yes)
	}
	if len(rs) > 0 {
		fmt.Fprintf(b, "Reads logged: %s.\n\n", strings.Join(rs, "; "))
	}
	fmt.Fprintln(b, "| stream | store | files | events | first event | last event |")
	fmt.Fprintln(b, "|---|---|---:|---:|---|---|")
	for _, s := range ri.Coverage {
		fmt.Fprintf(b, "| %s | %s | %d | %d | %s | %s |\n", esc(Cut(s.Stream, 100)), s.Store, s.Files, s.Events, s.First, s.Last)
	}
	if len(ri.Coverage) == 0 {
		fmt.Fprintln(b, "| none | | | | | |")
	}
	fmt.Fprintln(b)
	fmt.Fprintf(b, "### Gaps (%d)\n\n", len(ri.Gaps))
	fmt.Fprintln(b, "| start | end | duration | stream | reason | detail |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, g := range ri.Gaps {
		fmt.Fprintf(b, "| %s | %s | %s | %s | `%s` | %s |\n", g.Start, g.End, g.Duration, esc(Cut(g.Stream, 100)), g.Reason, esc(Cut(g.Detail, 400)))
	}
	if len(ri.Gaps) == 0 {
		fmt.Fprintln(b, "| none | | | | | |")
	}
	fmt.Fprintln(b)
	fmt.Fprintf(b, "### Audit configuration changes (%d)\n\n", len(ri.AuditChanges))
	fmt.Fprintln(b, "| time | store | identity | action | target | outcome | detail |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|---|")
	for _, a := range ri.AuditChanges {
		who := a.Identity
		if a.DisplayName != "" && a.DisplayName != a.Identity {
			who = a.DisplayName + " (" + a.Identity + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", a.Time, a.Store, esc(Cut(who, 80)), esc(Cut(a.Action, 60)), esc(Cut(a.Target, 100)),
			a.Outcome, esc(Cut(a.Detail, 200)))
	}
	if len(ri.AuditChanges) == 0 {
		fmt.Fprintln(b, "| none | | | | | | |")
	}
	fmt.Fprintln(b)
	for _, n := range ri.Notes {
		fmt.Fprintf(b, "- %s\n", esc(n))
	}
	if len(ri.Notes) > 0 {
		fmt.Fprintln(b)
	}
}

// reviewIntegrityCSV writes the gaps and audit_changes tables; ok is false for another table.
func reviewIntegrityCSV(table string, ri reviewIntegrity, row func(...string)) bool {
	switch table {
	case "gaps":
		row("start", "end", "duration", "duration_seconds", "stream", "file", "prev_file", "reason", "detail")
		for _, g := range ri.Gaps {
			row(g.Start, g.End, g.Duration, strconv.FormatInt(g.DurationSeconds, 10), g.Stream, g.File, g.PrevFile, g.Reason, g.Detail)
		}
	case "audit_changes":
		row("time", "store", "identity", "display_name", "action", "target", "outcome", "detail", "file", "line")
		for _, a := range ri.AuditChanges {
			row(a.Time, a.Store, a.Identity, a.DisplayName, a.Action, a.Target, a.Outcome, a.Detail, a.File, strconv.Itoa(a.Line))
		}
	default:
		return false
	}
	return true
}

// reviewAccounting is an input's per-line accounting (sources.FileStats): every line parsed,
// malformed (with its line) or skipped for a reason.
type reviewAccounting struct {
	Lines      int                 `json:"lines"`
	Parsed     int                 `json:"parsed"`
	Malformed  int                 `json:"malformed"`
	Skipped    map[string]int      `json:"skipped"`
	Duplicates int                 `json:"duplicates"`
	Problems   []reviewLineProblem `json:"problems"`
	NotRead    string              `json:"not_read,omitempty"`
	ReadError  string              `json:"read_error,omitempty"`
}

type reviewLineProblem struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func newReviewAccounting(f sources.FileStats) reviewAccounting {
	a := reviewAccounting{Lines: f.Lines, Parsed: f.Parsed, Malformed: f.Malformed, Skipped: map[string]int{}, Duplicates: f.Duplicates,
		Problems: []reviewLineProblem{}, NotRead: validUTF8(f.NotRead), ReadError: validUTF8(f.ReadError)}
	for k, v := range f.Skipped {
		a.Skipped[validUTF8(k)] = v
	}
	for _, p := range f.Problems {
		a.Problems = append(a.Problems, reviewLineProblem{Line: p.Line, Reason: validUTF8(p.Reason)})
	}
	return a
}

// markdown is the accounting in one phrase, the first malformed lines located.
func (a reviewAccounting) markdown() string {
	skipped := 0
	for _, n := range a.Skipped {
		skipped += n
	}
	s := fmt.Sprintf("%d lines: %d parsed, %d malformed, %d skipped", a.Lines, a.Parsed, a.Malformed, skipped)
	if a.Duplicates > 0 {
		s += fmt.Sprintf(", %d duplicate records dropped", a.Duplicates)
	}
	if len(a.Problems) > 0 {
		var ls []string
		for _, p := range a.Problems[:min(len(a.Problems), 5)] {
			ls = append(ls, "line "+strconv.Itoa(p.Line)+": "+Cut(p.Reason, 80))
		}
		s += " (" + MarkdownEscape(strings.Join(ls, "; ")) + ")"
	}
	if a.NotRead != "" {
		s += "; not read: " + MarkdownEscape(a.NotRead)
	}
	if a.ReadError != "" {
		s += "; reading stopped: " + MarkdownEscape(a.ReadError)
	}
	return s
}
