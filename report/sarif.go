package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// SARIF renders SARIF 2.1.0 for GitHub code scanning and other SARIF consumers. Attacker text
// goes only into message.text, never markdown; each result has a content fingerprint and a
// location at the log file and line of its first evidence.
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
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(ru.Severity))).
			WithProperties(props)
	}
	for _, f := range r.Findings {
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
			Add("identity", validUTF8(f.Identity)).
			Add("display_name", validUTF8(f.DisplayName)).
			Add("count", f.Count).
			Add("first_seen", utc(f.FirstSeen)).
			Add("last_seen", utc(f.LastSeen)).
			Add("resources", validAll(f.Resources)).
			Add("source_ips", nonNil(f.SourceIPs))
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
	for _, fs := range r.Files {
		for _, p := range fs.Problems {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
				sarif.NewNotification().WithLevel("warning").
					WithMessage(sarif.NewTextMessage(validUTF8(fmt.Sprintf("%s:%d: %s", fs.File, p.Line, p.Reason)))).
					WithLocations([]*sarif.Location{sarif.NewLocationWithPhysicalLocation(
						sarif.NewPhysicalLocation().
							WithArtifactLocation(sarif.NewSimpleArtifactLocation(sarifURI(fs.File))).
							WithRegion(sarif.NewRegion().WithStartLine(max(p.Line, 1))))}))
		}
	}
	run.AddInvocation(inv)
	rep.AddRun(run)
	if err := rep.PrettyWrite(w); err != nil {
		return fmt.Errorf("write sarif: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// sarifText is the result message: plain text only, one line, attacker strings quoted so that
// a path cannot pose as another field.
func sarifText(f analyze.Finding) string {
	who := f.DisplayName
	if who == "" {
		who = f.Identity
	}
	msg := fmt.Sprintf("[%s] %s: %s (identity %q)", f.Severity, f.Title, f.Message, who)
	return validUTF8(strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(msg))
}

// sarifURI is the path as given on the command line, with forward slashes.
func sarifURI(p string) string {
	return strings.ReplaceAll(validUTF8(p), `\`, "/")
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
