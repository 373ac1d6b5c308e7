package report

import (
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/review"
)

// reviewControl is one control of the review's JSON (docs/review.schema.json "controls").
type reviewControl struct {
	Framework   string   `json:"framework"`
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Status      string   `json:"status"`
	Evidence    string   `json:"evidence"`
	Remediation string   `json:"remediation"`
	Resources   []string `json:"resources"`

	name  string   // the framework's name and version, for the CSV
	kinds []string // the evidence kinds, for the CSV
}

// reviewControls are the controls of r as the JSON carries them: an empty array without
// --framework. Evidence and resources hold identities and secret names from the logs.
func reviewControls(r *ReviewResult) []reviewControl {
	out := []reviewControl{}
	for _, c := range r.Controls {
		out = append(out, reviewControl{Framework: validUTF8(c.Framework), ID: validUTF8(c.ID), Title: validUTF8(c.Title), Status: c.Status,
			Evidence: validUTF8(c.Evidence), Remediation: validUTF8(c.Remediation), Resources: validAll(c.Resources),
			name: validUTF8(c.FrameworkName), kinds: c.Kinds})
	}
	return out
}

// reviewControlsMarkdown writes the Controls section (nothing without --framework).
func reviewControlsMarkdown(b *strings.Builder, doc reviewDoc) {
	if len(doc.Controls) == 0 {
		return
	}
	esc := MarkdownEscape
	counts := map[string]int{}
	for _, c := range doc.Controls {
		counts[c.Status]++
	}
	fmt.Fprintln(b, "## Controls")
	fmt.Fprintln(b)
	fmt.Fprintf(b, "%d controls: %d evidence, %d exception, %d gap.\n\n", len(doc.Controls), counts[review.StatusEvidence],
		counts[review.StatusException], counts[review.StatusGap])
	fmt.Fprintln(b, "| framework | control | requirement | status | evidence | remediation |")
	fmt.Fprintln(b, "|---|---|---|---|---|---|")
	for _, c := range doc.Controls {
		ev := esc(c.Evidence)
		if len(c.Resources) > 0 {
			var rs []string
			for _, r := range c.Resources {
				rs = append(rs, esc(Cut(r, 80)))
			}
			ev += " Concerned: " + strings.Join(rs, ", ")
		}
		status := c.Status
		if status != review.StatusEvidence {
			status = "**" + status + "**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", esc(c.Framework), esc(c.ID), esc(c.Title), status, ev, esc(c.Remediation))
	}
	fmt.Fprintln(b)
}

// reviewControlsCSV writes controls.csv with the column names of Prowler's compliance CSV
// (prowler/lib/outputs/compliance: FRAMEWORK, NAME, REQUIREMENTS_ID,
// REQUIREMENTS_DESCRIPTION, STATUS, STATUSEXTENDED, RESOURCEID, CHECKID), comma-separated as
// the review's other tables are, plus REMEDIATION and the review period.
func reviewControlsCSV(row func(...string), doc reviewDoc) {
	row("FRAMEWORK", "NAME", "ASSESSMENTDATE", "REQUIREMENTS_ID", "REQUIREMENTS_DESCRIPTION", "STATUS", "STATUSEXTENDED", "RESOURCEID",
		"CHECKID", "REMEDIATION")
	for _, c := range doc.Controls {
		row(c.Framework, c.name, doc.Period.Start+"/"+doc.Period.End, c.ID, c.Title, c.Status, c.Evidence, strings.Join(c.Resources, " "),
			strings.Join(c.kinds, " "), c.Remediation)
	}
}
