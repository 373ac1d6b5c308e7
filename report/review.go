package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

// ReviewSchemaVersion is the version of the review's JSON contract (docs/review.schema.json).
const ReviewSchemaVersion = "1"

// ReviewResult is what `vaultsentry review` renders: the review, the inputs it read and the
// findings of the same run.
type ReviewResult struct {
	Review   *review.Review
	Files    []sources.FileStats
	Findings []analyze.Finding
	Version  string
	Command  []string // the command line, for the record
	// Integrity is the log file validation of each CloudTrail tree among the inputs.
	Integrity []TreeIntegrity
	// Controls are the controls of the frameworks given to --framework (review.Controls).
	Controls []review.Control
	// Manifest is the review's record and sign-off (review_manifest.go); nil: NewReviewManifest.
	Manifest *ReviewManifest
}

// TreeIntegrity is one input tree's log file integrity.
type TreeIntegrity struct {
	Tree       string            `json:"tree"`
	CloudTrail *integrity.Result `json:"cloudtrail"`
	// Events and ReadEvents count the events read from the tree's files and the reads among
	// them (review.IsReadEvent): none of the second says the trail omits reads.
	Events, ReadEvents int `json:"-"`
}

// ReviewFormats lists the review's formats.
func ReviewFormats() []string { return []string{"json", "markdown", "csv", "html"} }

// RenderReview writes r as json, markdown or html (csv is one file per table: ReviewCSV).
func RenderReview(w io.Writer, format string, r *ReviewResult) error {
	switch format {
	case "json":
		return reviewJSON(w, r)
	case "markdown":
		return reviewMarkdown(w, r)
	case "html":
		return reviewHTML(w, r)
	}
	return fmt.Errorf("unknown review format %q (want one of %s)", format, strings.Join(ReviewFormats(), ", "))
}

type reviewDoc struct {
	SchemaVersion string          `json:"schema_version"`
	Tool          string          `json:"tool"`
	Version       string          `json:"version"`
	Command       []string        `json:"command"`
	Period        reviewPeriod    `json:"period"`
	HistorySince  string          `json:"history_since"`
	Inputs        []reviewInput   `json:"inputs"`
	Access        []reviewAccess  `json:"access"`
	Secrets       []reviewSecret  `json:"secrets"`
	Integrity     reviewIntegrity `json:"integrity"`
	Controls      []reviewControl `json:"controls"`
	Findings      []JSONFinding   `json:"findings"`
	Notes         []string        `json:"notes"`
	Counts        map[string]int  `json:"counts"` // per access flag and per secret verdict
	// Inventory is what --inventory gave the review (null: no inventory; reviewinventory.go).
	Inventory *reviewInventory `json:"inventory"`
	Manifest  *ReviewManifest  `json:"manifest"`
}

type reviewPeriod struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type reviewInput struct {
	File   string `json:"file"`
	Format string `json:"format"`
	Events int    `json:"events"`
	First  string `json:"first_event,omitempty"`
	Last   string `json:"last_event,omitempty"`
	reviewAccounting
}

type reviewAccess struct {
	Identity    string        `json:"identity"`
	DisplayName string        `json:"display_name"`
	Class       string        `json:"class"`
	Secret      string        `json:"secret"`
	Store       string        `json:"store"`
	Reads       int           `json:"reads"`
	Denied      int           `json:"denied"`
	FirstRead   string        `json:"first_read"`
	LastRead    string        `json:"last_read"`
	Networks    []string      `json:"networks"`
	Flags       []review.Flag `json:"flags"`
}

type reviewSecret struct {
	Store     string           `json:"store"`
	Secret    string           `json:"secret"`
	LastWrite string           `json:"last_write"`
	LastRead  string           `json:"last_read"`
	Reads     int              `json:"reads"`
	Readers   []string         `json:"readers"`
	AgeDays   *int             `json:"age_days"` // null: no write seen
	Verdicts  []review.Verdict `json:"verdicts"`
}

func newReviewDoc(r *ReviewResult) reviewDoc {
	rv := r.Review
	doc := reviewDoc{SchemaVersion: ReviewSchemaVersion, Tool: "vaultsentry", Version: r.Version, Command: nonNil(r.Command),
		Period: reviewPeriod{utc(rv.Start), utc(rv.End)}, HistorySince: utc(rv.HistorySince),
		Inputs: []reviewInput{}, Access: []reviewAccess{}, Secrets: []reviewSecret{}, Findings: []JSONFinding{},
		Notes: nonNil(rv.Notes), Counts: map[string]int{}, Controls: reviewControls(r),
		Inventory: newReviewInventory(rv.Inventory), Manifest: manifestOf(r)}
	for _, f := range r.Files {
		doc.Inputs = append(doc.Inputs, reviewInput{File: validUTF8(f.File), Format: f.Format, Events: f.Events,
			First: utc(f.FirstEvent), Last: utc(f.LastEvent), reviewAccounting: newReviewAccounting(f)})
	}
	for _, a := range rv.Access {
		flags := a.Flags
		if flags == nil {
			flags = []review.Flag{}
		}
		for i := range flags {
			flags[i].Reason = validUTF8(flags[i].Reason)
			doc.Counts[flags[i].Flag]++
		}
		doc.Access = append(doc.Access, reviewAccess{Identity: validUTF8(a.Identity), DisplayName: validUTF8(a.DisplayName), Class: a.Class,
			Secret: validUTF8(a.Secret), Store: a.Store, Reads: a.Reads, Denied: a.Denied, FirstRead: utc(a.FirstRead),
			LastRead: utc(a.LastRead), Networks: nonNil(a.Networks), Flags: flags})
	}
	for _, s := range rv.Secrets {
		var age *int
		if s.AgeDays >= 0 {
			age = &s.AgeDays
		}
		for i := range s.Verdicts {
			s.Verdicts[i].Reason = validUTF8(s.Verdicts[i].Reason)
			doc.Counts[s.Verdicts[i].Verdict]++
		}
		doc.Secrets = append(doc.Secrets, reviewSecret{Store: s.Store, Secret: validUTF8(s.Secret), LastWrite: utc(s.LastWrite),
			LastRead: utc(s.LastRead), Reads: s.Reads, Readers: validAll(s.Readers), AgeDays: age, Verdicts: s.Verdicts})
	}
	for _, f := range r.Findings {
		doc.Findings = append(doc.Findings, NewJSONFinding(f))
	}
	doc.Integrity = newReviewIntegrity(r.Integrity, rv.Completeness)
	return doc
}

func reviewJSON(w io.Writer, r *ReviewResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(newReviewDoc(r))
}

// reviewMarkdown is the review for a ticket or a wiki page: the flagged accesses and the
// secrets with verdicts first, then every access, the notes and the inputs.
func reviewMarkdown(w io.Writer, r *ReviewResult) error {
	doc := newReviewDoc(r)
	esc := MarkdownEscape
	var b strings.Builder
	fmt.Fprintf(&b, "# Access review and secret hygiene: %s to %s\n\n", doc.Period.Start, doc.Period.End)
	fmt.Fprintf(&b, "History since %s; %d accesses (identity, secret), %d secrets, %d findings. vaultsentry %s.\n\n",
		doc.HistorySince, len(doc.Access), len(doc.Secrets), len(doc.Findings), esc(r.Version))
	fmt.Fprintln(&b, "## Accesses to review")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| identity | class | secret | reads | denied | networks | flags |")
	fmt.Fprintln(&b, "|---|---|---|---:|---:|---|---|")
	flagged := 0
	for _, a := range doc.Access {
		if len(a.Flags) == 0 {
			continue
		}
		flagged++
		var fl []string
		for _, f := range a.Flags {
			fl = append(fl, "`"+f.Flag+"`: "+esc(f.Reason))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s |\n", esc(Cut(reviewWho(a), 60)), a.Class, esc(Cut(a.Secret, 80)), a.Reads, a.Denied,
			strings.Join(a.Networks, ", "), strings.Join(fl, "; "))
	}
	if flagged == 0 {
		fmt.Fprintln(&b, "| none | | | | | | |")
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "## Secrets with a verdict")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| secret | store | last write | last read | reads | readers | verdicts |")
	fmt.Fprintln(&b, "|---|---|---|---|---:|---:|---|")
	judged := 0
	for _, s := range doc.Secrets {
		if len(s.Verdicts) == 0 {
			continue
		}
		judged++
		var vs []string
		for _, v := range s.Verdicts {
			vs = append(vs, "`"+v.Verdict+"`: "+esc(v.Reason))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %s |\n", esc(Cut(s.Secret, 80)), s.Store, orDash(s.LastWrite), orDash(s.LastRead),
			s.Reads, len(s.Readers), strings.Join(vs, "; "))
	}
	if judged == 0 {
		fmt.Fprintln(&b, "| none | | | | | | |")
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "## Every access (%d)\n\n", len(doc.Access))
	fmt.Fprintln(&b, "| identity | class | secret | reads | denied | first read | last read |")
	fmt.Fprintln(&b, "|---|---|---|---:|---:|---|---|")
	for _, a := range doc.Access {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s |\n", esc(Cut(reviewWho(a), 60)), a.Class, esc(Cut(a.Secret, 80)), a.Reads, a.Denied,
			orDash(a.FirstRead), orDash(a.LastRead))
	}
	fmt.Fprintln(&b)
	reviewIntegrityMarkdown(&b, doc.Integrity)
	reviewControlsMarkdown(&b, doc)
	if len(doc.Notes) > 0 {
		fmt.Fprintln(&b, "## Notes")
		fmt.Fprintln(&b)
		for _, n := range doc.Notes {
			fmt.Fprintf(&b, "- %s\n", esc(n))
		}
		fmt.Fprintln(&b)
	}
	fmt.Fprintf(&b, "## Inputs (%d)\n\n", len(doc.Inputs))
	for _, in := range doc.Inputs {
		fmt.Fprintf(&b, "- `%s` (%s): %d events, %s to %s; %s\n", strings.ReplaceAll(Sanitize(in.File), "`", "'"), in.Format, in.Events, orDash(in.First), orDash(in.Last),
			in.reviewAccounting.markdown())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func reviewWho(a reviewAccess) string {
	if a.DisplayName != "" && a.DisplayName != a.Identity {
		return a.DisplayName + " (" + a.Identity + ")"
	}
	return a.Identity
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ReviewCSV writes one CSV table: "access" or "secrets", with the columns auditors import;
// every cell is sanitised and cannot start a spreadsheet formula.
func ReviewCSV(w io.Writer, table string, r *ReviewResult) error {
	doc := newReviewDoc(r)
	cw := csv.NewWriter(w)
	row := func(cells ...string) {
		for i, c := range cells {
			cells[i] = CSVSafe(Sanitize(c)) // CSV files get cat'ed to terminals too
		}
		cw.Write(cells)
	}
	switch table {
	case "access":
		row("identity", "display_name", "class", "secret", "store", "reads", "denied", "first_read", "last_read", "networks", "flags")
		for _, a := range doc.Access {
			var fl []string
			for _, f := range a.Flags {
				fl = append(fl, f.Flag+": "+f.Reason)
			}
			row(a.Identity, a.DisplayName, a.Class, a.Secret, a.Store, strconv.Itoa(a.Reads), strconv.Itoa(a.Denied), a.FirstRead, a.LastRead,
				strings.Join(a.Networks, " "), strings.Join(fl, "; "))
		}
	case "secrets":
		row("store", "secret", "last_write", "last_read", "reads", "readers", "age_days", "verdicts")
		for _, s := range doc.Secrets {
			age := ""
			if s.AgeDays != nil {
				age = strconv.Itoa(*s.AgeDays)
			}
			var vs []string
			for _, v := range s.Verdicts {
				vs = append(vs, v.Verdict+": "+v.Reason)
			}
			row(s.Store, s.Secret, s.LastWrite, s.LastRead, strconv.Itoa(s.Reads), strings.Join(s.Readers, " "), age, strings.Join(vs, "; "))
		}
	case "controls":
		reviewControlsCSV(row, doc)
	default:
		if !reviewIntegrityCSV(table, doc.Integrity, row) {
			return fmt.Errorf("unknown review table %q", table)
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReviewCSVTables are the files a CSV review writes into its directory.
func ReviewCSVTables() []string {
	return []string{"access", "secrets", "gaps", "audit_changes", "controls"}
}
