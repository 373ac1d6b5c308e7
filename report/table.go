package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/vaultsentry/vaultsentry/analyze"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// Table renders one row per finding for a terminal. Every cell goes through Sanitize and Cut:
// log strings can hold escape sequences, newlines and bidi overrides.
type Table struct{}

// Render writes the table.
func (Table) Render(w io.Writer, r *Result) error {
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintln(w, "No findings.")
		return err
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoFormat(tw.Off),
	)
	t.Header("SEVERITY", "RULE", "IDENTITY", "WHAT HAPPENED", "FIRST SEEN", "LAST SEEN", "COUNT")
	for _, f := range r.Findings {
		who := f.DisplayName
		if who == "" {
			who = f.Identity
		}
		what := f.Message
		if what == "" {
			what = f.Title
		}
		if len(f.Resources) > 0 {
			what += " [" + strings.Join(f.Resources[:min(3, len(f.Resources))], ", ")
			if len(f.Resources) > 3 {
				what += fmt.Sprintf(", +%d", len(f.Resources)-3)
			}
			what += "]"
		}
		if err := t.Append([]string{
			r.severityCell(f.Severity), f.Rule, cell(who, 40), cell(what, 100),
			r.humanTime(f.FirstSeen), r.humanTime(f.LastSeen), fmt.Sprint(f.Count),
		}); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	return t.Render()
}

func cell(s string, n int) string { return Cut(Sanitize(s), n) }

// ansiSeverity colours the severity column on terminals (Result.Color: a TTY, NO_COLOR unset).
var ansiSeverity = map[analyze.Severity]string{
	analyze.Critical: "\x1b[1;97;41m", analyze.High: "\x1b[1;31m", analyze.Medium: "\x1b[33m", analyze.Low: "\x1b[36m", analyze.Info: "\x1b[2m",
}

func (r *Result) severityCell(s analyze.Severity) string {
	name := strings.ToUpper(s.String())
	if !r.Color {
		return name
	}
	return ansiSeverity[s] + name + "\x1b[0m"
}
