package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// SARIF renders SARIF 2.1.0 for GitHub code scanning and other SARIF consumers. Attacker text
// goes only into message.text, never markdown; each result has a content fingerprint and a
// location at the log file and line of its first evidence. Every string from a log, in the
// message and in the properties alike (identity, display_name, resources, source_ips), goes
// through Sanitize: SARIF viewers render properties to people, and some print them to a
// terminal. The exact values are in the JSON report; the fingerprint is computed from them.
type SARIF struct{}

// securitySeverity is what GitHub code scanning reads to rank results.
var securitySeverity = map[analyze.Severity]string{
	analyze.Critical: "9.5", analyze.High: "8.0", analyze.Medium: "5.5", analyze.Low: "2.0", analyze.Info: "0.0",
}

func sarifLevel(s analyze.Severity) string {
	switch {
	case s >= analyze.High:
		return "error"
	case s >= analyze.Medium:
		return "warning"
	}
	return "note"
}

// Render writes the SARIF log.
func (SARIF) Render(w io.Writer, r *Result) error {
	rep := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("vaultsentry", "https://github.com/vaultsentry/vaultsentry")
	run.Tool.Driver.WithVersion(r.Version).WithSemanticVersion(strings.TrimPrefix(r.Version, "v"))
	rules := r.Rules
	if len(rules) == 0 {
		rules = analyze.Rules()
	}
	index := map[string]int{}
	for _, ru := range rules {
		if _, dup := index[ru.ID]; dup {
			continue
		}
		index[ru.ID] = len(run.Tool.Driver.Rules)
		help := ru.Help
		if ru.Guide != "" {
			help += "\n\nInvestigation: " + ru.Guide
		}
		props := sarif.NewPropertyBag().
			Add("security-severity", securitySeverity[ru.Severity]).
			Add("precision", "medium")
		props.WithTags(append([]string{"security"}, ru.MITRE...))
		run.AddRule(ru.ID).
			WithName(ruleName(ru.ID)).
			WithShortDescription(sarif.NewMultiformatMessageString().WithText(ru.Summary)).
			WithFullDescription(sarif.NewMultiformatMessageString().WithText(ru.Name + ": " + ru.Summary)).
			WithHelp(sarif.NewMultiformatMessageString().WithText(help)).
			WithHelpURI(RuleDocURL(ru.ID)).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(ru.Severity))).
			WithProperties(props)
	}
	kept, left := sarifFindings(r.Findings)
	for _, f := range kept {
		res := sarif.NewRuleResult(f.Rule).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(sarifText(f))).
			WithPartialFingerprints(map[string]string{"vaultsentry/v1": f.Fingerprint()}) // Add* panics: the map starts nil
		if i, ok := index[f.Rule]; ok {
			res.WithRuleIndex(i)
		}
		props := sarif.NewPropertyBag().
			Add("severity", f.Severity.String()).
			Add("security-severity", securitySeverity[f.Severity]).
			Add("identity", Sanitize(f.Identity)).
			Add("display_name", Sanitize(f.DisplayName)).
			Add("count", f.Count).
			Add("first_seen", utc(f.FirstSeen)).
			Add("last_seen", utc(f.LastSeen)).
			Add("resources", sanitizeAll(f.Resources)).
			Add("values_read", sanitizeAll(f.ValuesRead)).
			Add("remediation", Sanitize(f.Remediation)).
			Add("source_ips", sanitizeAll(f.SourceIPs))
		res.WithProperties(props)
		if len(f.Evidence) > 0 {
			e := f.Evidence[0]
			loc := sarif.NewPhysicalLocation().
				WithArtifactLocation(sarif.NewSimpleArtifactLocation(sarifURI(e.File))).
				WithRegion(sarif.NewRegion().WithStartLine(max(e.Line, 1)))
			res.WithLocations([]*sarif.Location{sarif.NewLocationWithPhysicalLocation(loc)})
		}
		run.AddResult(res)
	}
	if run.Results == nil {
		run.Results = []*sarif.Result{}
	}
	inv := sarif.NewInvocation().WithExecutionSuccessful(true)
	if left > 0 {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			sarif.NewNotification().WithLevel("warning").WithMessage(sarif.NewTextMessage(fmt.Sprintf(
				"%d lower-severity findings are left out of this SARIF log (at most %d results are written; GitHub code scanning accepts 25,000 per run); the JSON report lists every finding",
				left, MaxSARIFResults))))
	}
	for _, fs := range r.Files {
		for _, p := range fs.Problems {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
				sarif.NewNotification().WithLevel("warning").
					WithMessage(sarif.NewTextMessage(Sanitize(fmt.Sprintf("%s:%d: %s", fs.File, p.Line, p.Reason)))).
					WithLocations([]*sarif.Location{sarif.NewLocationWithPhysicalLocation(
						sarif.NewPhysicalLocation().
							WithArtifactLocation(sarif.NewSimpleArtifactLocation(sarifURI(fs.File))).
							WithRegion(sarif.NewRegion().WithStartLine(max(p.Line, 1))))}))
		}
	}
	run.AddInvocation(inv)
	rep.AddRun(run)
	var buf bytes.Buffer
	if err := rep.PrettyWrite(&buf); err != nil {
		return fmt.Errorf("write sarif: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(EscapeInvisibleJSON(buf.Bytes()))
	return err
}

// MaxSARIFResults caps the results of one SARIF run, far below GitHub code scanning's limit of
// 25,000 (beyond which it rejects the upload). Findings are already merged per identity and rule;
// past the cap the most severe, then the earliest, are kept.
const MaxSARIFResults = 5000

// sarifFindings returns the findings to write, in report order, and how many were left out.
func sarifFindings(fs []analyze.Finding) ([]analyze.Finding, int) {
	if len(fs) <= MaxSARIFResults {
		return fs, 0
	}
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(fs[b].Severity, fs[a].Severity) })
	idx = idx[:MaxSARIFResults]
	slices.Sort(idx)
	out := make([]analyze.Finding, 0, len(idx))
	for _, i := range idx {
		out = append(out, fs[i])
	}
	return out, len(fs) - len(out)
}

// sarifText is the result message: plain text only, one line, attacker strings quoted so that
// a path cannot pose as another field. It goes through Sanitize like a terminal line: SARIF
// viewers show it to people (and some print it to terminals), so a bidi override or an escape
// sequence must be visible, not obeyed.
func sarifText(f analyze.Finding) string {
	who := f.DisplayName
	if who == "" {
		who = f.Identity
	}
	return fmt.Sprintf("[%s] %s: %s (identity %s)", f.Severity, Sanitize(f.Title), Sanitize(f.Message), quoted(who))
}

// quoted puts a sanitised s between double quotes; Sanitize already doubled every backslash,
// so an escaped quote inside cannot be mistaken for the end.
func quoted(s string) string {
	return `"` + strings.ReplaceAll(Sanitize(s), `"`, `\"`) + `"`
}

// sarifURI is the path as given on the command line, with forward slashes, as a URI reference:
// SARIF requires one, so spaces, control characters, '%', '?', '#' and non-ASCII bytes are
// percent-encoded (a file name is attacker-chosen when the log directory is shared).
func sarifURI(p string) string {
	u := url.URL{Path: strings.ReplaceAll(p, `\`, "/")}
	return u.String()
}

// ruleName turns "bulk-read" into "BulkRead" (SARIF rule names are identifiers).
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
