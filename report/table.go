package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// DefaultWidth is the table's width when the caller does not know the terminal's (piped output
// without COLUMNS, a file).
const DefaultWidth = 120

// minTableWidth: a narrower width is laid out as this one, then every line is cut to the width.
const minTableWidth = 40

// colGap is the blank space between two columns.
const colGap = 2

// Table renders the findings for a terminal of Result.Width columns: a summary line, then two
// lines per finding (who and what on the first, the rule, the secrets and when on the second,
// and the next step), worst first (Result.Sort), optionally grouped per identity
// (Result.GroupBy). No line is wider than the width: every cell is cut by display width with
// "…" or "+N more". Plain text without box drawing, so grep and scripts can read it. Every
// log-derived cell goes through Sanitize: log strings can hold escape sequences, newlines and
// bidi overrides.
type Table struct{}

// Render writes the table.
func (Table) Render(w io.Writer, r *Result) error {
	width := r.Width
	if width <= 0 {
		width = DefaultWidth
	}
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintln(w, "No findings.")
		return err
	}
	rows := r.tableRows()
	var b bytes.Buffer
	sum := TableSummary(rows)
	if twwidth.Width(sum) > width { // "3 identities; 25 secrets read by them", shorter
		sum = shortSummary.ReplaceAllString(sum, "; $1 read $2")
	}
	b.WriteString(fitWidth(sum, width) + "\n")
	lay := max(width, minTableWidth)
	cols := r.columns(lay)
	widths := allocate(cols, rows, lay)
	t := tablewriter.NewTable(&b,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone, Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{Lines: tw.LinesNone, Separators: tw.SeparatorsNone},
		})),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: strings.Repeat(" ", colGap), Overwrite: true}),
	)
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.head[0] + "\n" + c.head[1]
	}
	t.Header(head)
	for i := range rows {
		cells := make([]string, len(cols))
		for j, c := range cols {
			l := c.cell(&rows[i], widths[j])
			cells[j] = l[0] + "\n" + l[1]
		}
		if err := t.Append(cells); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3+2*len(rows) {
		return fmt.Errorf("render table: %d lines for %d findings, want two each", len(lines), len(rows))
	}
	var out bytes.Buffer
	for i, l := range lines {
		// Line 1 is the summary, 2-3 the header; then two lines per finding.
		if k := i - 3; k >= 0 && k%2 == 0 && r.GroupBy == GroupIdentity && (k == 0 || identityKey(rows[k/2]) != identityKey(rows[k/2-1])) {
			out.WriteString("\n" + fitWidth(groupHeading(rows, k/2), width) + "\n")
		}
		l = strings.TrimRight(l, " ")
		if twwidth.Width(l) > width { // only below minTableWidth: the layout itself fits
			l = fitWidth(stripANSI(l), width)
		}
		out.WriteString(l + "\n")
	}
	out.WriteString(fitWidth("details: vaultsentry rules explain <rule>; full remediation: --format json", width) + "\n")
	_, err := w.Write(out.Bytes())
	return err
}

// tableRows are the findings in the table's order: worst first, then as they came (time), or
// as they came for SortTime; with GroupIdentity, each identity's findings together, the
// identities in the order of their first row.
func (r *Result) tableRows() []analyze.Finding {
	rows := slices.Clone(r.Findings)
	if r.Sort != SortTime {
		slices.SortStableFunc(rows, func(a, b analyze.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	}
	if r.GroupBy == GroupIdentity {
		first := map[string]int{}
		for i, f := range rows {
			if _, ok := first[identityKey(f)]; !ok {
				first[identityKey(f)] = i
			}
		}
		slices.SortStableFunc(rows, func(a, b analyze.Finding) int {
			return cmp.Compare(first[identityKey(a)], first[identityKey(b)])
		})
	}
	return rows
}

// identityKey is what tells identities apart: the stable principal, else the name.
func identityKey(f analyze.Finding) string {
	if f.Identity != "" {
		return f.Identity
	}
	return f.DisplayName
}

// TableSummary is the table's first line, in the manner of trivy and osv-scanner: the findings
// per severity, the identities, and the secrets whose value was returned to them
// (Finding.ValuesRead: the ones to rotate).
func TableSummary(fs []analyze.Finding) string {
	ids, read := map[string]bool{}, map[string]bool{}
	for _, f := range fs {
		ids[identityKey(f)] = true
		for _, s := range f.ValuesRead {
			read[s] = true
		}
	}
	idents := "identities"
	if len(ids) == 1 {
		idents = "identity"
	}
	return fmt.Sprintf("%s: %s; %d %s; %s read by them", count(len(fs), "finding"), severityCounts(fs),
		len(ids), idents, count(len(read), "secret"))
}

// shortSummary rewrites the end of the summary line for narrow terminals.
var shortSummary = regexp.MustCompile(`; (\d+ identit(?:y|ies)); (\d+ secrets?) read by them$`)

// severityCounts lists the non-zero counts per severity, worst first: "2 critical, 1 low".
func severityCounts(fs []analyze.Finding) string {
	by := BySeverity(fs)
	var parts []string
	for s := analyze.Critical; s >= analyze.Info; s-- {
		if by[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", by[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func count(n int, noun string) string { return fmt.Sprintf("%d %s%s", n, noun, plural(n)) }

// groupHeading opens the block of the identity of rows[i] under --group-by identity.
func groupHeading(rows []analyze.Finding, i int) string {
	key := identityKey(rows[i])
	var mine []analyze.Finding
	for _, f := range rows[i:] {
		if identityKey(f) != key {
			break
		}
		mine = append(mine, f)
	}
	name := Sanitize(who(rows[i]))
	if rows[i].DisplayName != "" && rows[i].Identity != "" && rows[i].Identity != rows[i].DisplayName {
		name += " (" + Sanitize(rows[i].Identity) + ")"
	}
	return fmt.Sprintf("identity %s: %s (%s)", name, count(len(mine), "finding"), severityCounts(mine))
}

// column is one column of the table: a two-line header and a two-line cell per finding, laid
// out in the width allocate gives it.
type column struct {
	head     [2]string
	min, max int
	// weight is the column's share of a narrow terminal: the columns give up width one at a time,
	// always the one widest for its weight, down to their minimum. 0: the width is fixed.
	weight int
	want   func(f *analyze.Finding) int              // the width the content would like
	keep   func(f *analyze.Finding) int              // the width never cut (rule ids); nil: none
	cell   func(f *analyze.Finding, w int) [2]string // the two lines, each at most w wide
}

// columns are the table's columns for a width: from 120 columns on a SOURCE column, from 170 on
// the secrets get a column of their own and the times are full RFC 3339.
func (r *Result) columns(width int) []column {
	whenLayout := "01-02 15:04Z07"
	switch {
	case width >= 170:
		whenLayout = "2006-01-02T15:04:05Z07:00"
	case width >= 120:
		whenLayout = "2006-01-02 15:04Z07"
	}
	when := func(f *analyze.Finding) string {
		if f.FirstSeen.IsZero() {
			return "-"
		}
		return f.FirstSeen.In(r.loc()).Format(whenLayout)
	}
	sevWhen := column{head: [2]string{"SEVERITY", "WHEN"}, max: 32,
		want: func(f *analyze.Finding) int { return max(len("CRITICAL"), twwidth.Width(when(f))) },
		cell: func(f *analyze.Finding, w int) [2]string {
			return [2]string{r.severityCell(f.Severity), fitWidth(when(f), w)}
		}}
	whoRule := column{head: [2]string{"IDENTITY", "RULE"}, min: 12, max: 20, weight: 20,
		want: func(f *analyze.Finding) int { return max(twwidth.Width(Sanitize(who(*f))), len(f.Rule)) },
		keep: func(f *analyze.Finding) int { return min(len(f.Rule), 24) },
		cell: func(f *analyze.Finding, w int) [2]string {
			return [2]string{fitWidth(Sanitize(who(*f)), w), fitWidth(f.Rule, w)}
		}}
	whatSecrets := column{head: [2]string{"WHAT HAPPENED", "SECRETS"}, min: 16, max: 60, weight: 30,
		want: func(f *analyze.Finding) int {
			return max(twwidth.Width(Sanitize(what(*f))), twwidth.Width(strings.Join(sanitizeAll(f.Resources), ", ")))
		},
		cell: func(f *analyze.Finding, w int) [2]string {
			return [2]string{fitWidth(Sanitize(what(*f)), w), fitList(f.Resources, w)}
		}}
	source := column{head: [2]string{"SOURCE", ""}, min: 15, max: 24, weight: 15,
		want: func(f *analyze.Finding) int { return maxWidth(f.SourceIPs) },
		cell: func(f *analyze.Finding, w int) [2]string { return fitList2(f.SourceIPs, w) }}
	next := column{head: [2]string{"NEXT STEP", ""}, min: 20, max: 44, weight: 12,
		want: func(f *analyze.Finding) int { return twwidth.Width(analyze.NextStep(*f)) },
		cell: func(f *analyze.Finding, w int) [2]string { return wrap2(analyze.NextStep(*f), w) }}
	switch {
	case width >= 170:
		whatCount := column{head: [2]string{"WHAT HAPPENED", "EVENTS, LAST SEEN"}, min: 24, max: 70, weight: 30,
			want: func(f *analyze.Finding) int { return twwidth.Width(Sanitize(what(*f))) },
			cell: func(f *analyze.Finding, w int) [2]string {
				return [2]string{fitWidth(Sanitize(r.localText(what(*f))), w), fitWidth(fmt.Sprintf("%d, last %s", f.Count, r.humanTime(f.LastSeen)), w)}
			}}
		secrets := column{head: [2]string{"SECRETS", ""}, min: 16, max: 50, weight: 20,
			want: func(f *analyze.Finding) int {
				return (twwidth.Width(strings.Join(sanitizeAll(f.Resources), ", ")) + 1) / 2
			},
			cell: func(f *analyze.Finding, w int) [2]string { return fitList2(f.Resources, w) }}
		whoRule.max, source.max, next.min = 32, 40, 24
		return []column{sevWhen, whoRule, whatCount, secrets, source, next}
	case width >= 120:
		whoRule.max, whatSecrets.max = 28, 70
		return []column{sevWhen, whoRule, whatSecrets, source, next}
	}
	return []column{sevWhen, whoRule, whatSecrets, next}
}

// allocate gives each column the width its content wants within its bounds, then takes back
// what the terminal lacks, one column at a time from the one widest for its weight, down to
// their minimum, and below that from the widest (very narrow terminals only).
func allocate(cols []column, rows []analyze.Finding, width int) []int {
	ws := make([]int, len(cols))
	for i := range cols {
		c := &cols[i]
		c.min = max(c.min, twwidth.Width(c.head[0]), twwidth.Width(c.head[1]))
		for j := range rows {
			ws[i] = max(ws[i], c.want(&rows[j]))
			if c.keep != nil {
				c.min = max(c.min, c.keep(&rows[j]))
			}
		}
		ws[i] = min(max(ws[i], c.min), max(c.max, c.min))
	}
	over := colGap*(len(cols)-1) - width
	for _, w := range ws {
		over += w
	}
	for over > 0 {
		j := -1
		for i, c := range cols {
			if c.weight > 0 && ws[i] > c.min && (j < 0 || ws[i]*cols[j].weight > ws[j]*c.weight) {
				j = i
			}
		}
		if j < 0 {
			break
		}
		ws[j]--
		over--
	}
	for over > 0 {
		j := 0
		for i := range ws {
			if ws[i] > ws[j] {
				j = i
			}
		}
		if ws[j] <= 1 {
			break
		}
		ws[j]--
		over--
	}
	return ws
}

// fitWidth cuts s to at most w display columns, ending it with "…" when it was cut.
func fitWidth(s string, w int) string {
	if twwidth.Width(s) <= w {
		return s
	}
	ell := twwidth.Width("…")
	if w < ell {
		return ""
	}
	end := 0
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		if twwidth.Width(s[:i+n])+ell > w {
			break
		}
		i += n
		end = i
	}
	return s[:end] + "…"
}

// fitList shows the first items that fit in w columns, "a, b +3 more"; the first item is cut
// rather than left out.
func fitList(items []string, w int) string {
	out := ""
	for i, it := range items {
		it = Sanitize(it)
		cand := it
		if i > 0 {
			cand = out + ", " + it
		}
		more := ""
		if rest := len(items) - i - 1; rest > 0 {
			more = fmt.Sprintf(" +%d more", rest)
		}
		if twwidth.Width(cand+more) <= w {
			out = cand
			continue
		}
		if i == 0 {
			return fitWidth(it, max(w-twwidth.Width(more), min(w, 2))) + fitMore(more, w)
		}
		return out + fmt.Sprintf(" +%d more", len(items)-i)
	}
	return out
}

// fitMore keeps the "+N more" marker when there is room for it beside a cut first item.
func fitMore(more string, w int) string {
	if w-twwidth.Width(more) < 2 {
		return ""
	}
	return more
}

// fitList2 spreads items over two lines of w columns: whole items on the first, the rest with
// "+N more" on the second.
func fitList2(items []string, w int) [2]string {
	if len(items) == 0 {
		return [2]string{}
	}
	line, i := "", 0
	for ; i < len(items); i++ {
		cand := Sanitize(items[i])
		if i > 0 {
			cand = line + ", " + cand
		}
		if twwidth.Width(cand) > w {
			break
		}
		line = cand
	}
	if i == 0 {
		line, i = fitWidth(Sanitize(items[0]), w), 1
	}
	return [2]string{line, fitList(items[i:], w)}
}

// wrap2 wraps s at spaces into two lines of w columns; what does not fit ends with "…".
func wrap2(s string, w int) [2]string {
	if twwidth.Width(s) <= w {
		return [2]string{s, ""}
	}
	words := strings.Fields(s)
	line, i := "", 0
	for ; i < len(words); i++ {
		cand := words[i]
		if i > 0 {
			cand = line + " " + words[i]
		}
		if twwidth.Width(cand) > w {
			break
		}
		line = cand
	}
	if i == 0 {
		return [2]string{fitWidth(words[0], w), fitWidth(strings.Join(words[1:], " "), w)}
	}
	return [2]string{line, fitWidth(strings.Join(words[i:], " "), w)}
}

// cell is a log-derived value for a fixed-width cell of the trace tables: sanitized, then cut.
func cell(s string, n int) string { return Cut(Sanitize(s), n) }

func maxWidth(ss []string) int {
	w := 0
	for _, s := range ss {
		w = max(w, twwidth.Width(Sanitize(s)))
	}
	return w
}

// stripANSI removes the colour sequences the table itself writes (severityCell).
func stripANSI(s string) string {
	for _, seq := range ansiSeverity {
		s = strings.ReplaceAll(s, seq, "")
	}
	return strings.ReplaceAll(s, "\x1b[0m", "")
}

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
