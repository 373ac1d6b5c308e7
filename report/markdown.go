package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// Markdown renders GitHub-flavoured Markdown for tickets and GitHub job summaries
// ($GITHUB_STEP_SUMMARY). Log strings first go through Sanitize (so a newline cannot end a table
// row or start a heading) and then have every character Markdown or HTML would act on escaped.
type Markdown struct{}

func init() {
	renderers["markdown"] = func() Renderer { return Markdown{} }
}

// Caps that keep a summary readable (GitHub accepts at most 1 MiB per step summary).
const (
	mdResources = 20
	mdEvidence  = 5
)

// mdSpecial are the characters escaped with a backslash: Markdown emphasis, code, links and
// images, tables, HTML tags and entities, strikethrough, and the ':' and '@' that start
// autolinks and mentions. Every one is ASCII punctuation, so CommonMark's backslash escape applies.
const mdSpecial = "\\`*_{}[]()<>|&~:@#!"

// MarkdownEscape makes s inert in Markdown: sanitized, then every special character escaped.
func MarkdownEscape(s string) string {
	s = Sanitize(s)
	if !strings.ContainsAny(s, mdSpecial) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(mdSpecial, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Render writes the Markdown report.
func (Markdown) Render(w io.Writer, r *Result) error {
	var b strings.Builder
	esc := MarkdownEscape
	by := BySeverity(r.Findings)
	fmt.Fprintf(&b, "## vaultsentry: %d finding%s\n\n", len(r.Findings), plural(len(r.Findings)))
	var sev []string
	for s := analyze.Critical; s >= analyze.Info; s-- {
		part := fmt.Sprintf("%s %d", s, by[s])
		if by[s] > 0 && s >= analyze.High {
			part = "**" + part + "**"
		}
		sev = append(sev, part)
	}
	b.WriteString(strings.Join(sev, " · ") + "\n\n")
	lines, malformed := 0, 0
	for _, f := range r.Files {
		lines += f.Lines
		malformed += f.Malformed
	}
	if !r.First.IsZero() {
		fmt.Fprintf(&b, "Logs from %s to %s · ", r.humanTime(r.First), r.humanTime(r.Last))
	}
	fmt.Fprintf(&b, "%d events from %d file%s (%d lines, %d malformed) · vaultsentry %s %s\n\n",
		r.Events, len(r.Files), plural(len(r.Files)), lines, malformed, esc(r.Version), esc(r.Command))
	var extra []string
	if r.Hidden > 0 {
		extra = append(extra, fmt.Sprintf("%d below --min-severity", r.Hidden))
	}
	if r.Training > 0 {
		extra = append(extra, fmt.Sprintf("%d in the learning period", r.Training))
	}
	if r.SuppressedCount > 0 {
		extra = append(extra, fmt.Sprintf("%d suppressed by the ignore list", r.SuppressedCount))
	}
	if r.Previous > 0 {
		extra = append(extra, fmt.Sprintf("%d already in the previous report", r.Previous))
	}
	if len(extra) > 0 {
		b.WriteString("Not shown: " + strings.Join(extra, ", ") + ".\n\n")
	}
	for _, n := range r.Notes {
		b.WriteString("> **Note:** " + esc(n) + "\n\n")
	}
	for _, e := range r.Errors {
		b.WriteString("> **Unreadable input:** " + esc(e) + "\n\n")
	}
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	} else {
		b.WriteString("| Severity | Rule | Identity | What happened | First seen | Last seen | Count |\n")
		b.WriteString("|---|---|---|---|---|---|---:|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %d |\n", strings.ToUpper(f.Severity.String()), f.Rule,
				esc(Cut(who(f), 60)), esc(Cut(r.localText(what(f)), 140)), r.humanTime(f.FirstSeen), r.humanTime(f.LastSeen), f.Count)
		}
		rules := ruleIndex(r.Rules)
		for i, f := range r.Findings {
			fmt.Fprintf(&b, "\n### %d. %s `%s`: %s\n\n", i+1, strings.ToUpper(f.Severity.String()), f.Rule, esc(f.Title))
			mdFinding(&b, r, f, rules)
		}
	}
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(&b, "\n### Suppressed by the ignore list (%d)\n\n", len(r.Suppressed))
		b.WriteString("| Rule | Identity | Reason | Expires |\n|---|---|---|---|\n")
		for _, s := range r.Suppressed {
			exp := s.Expires
			if exp == "" {
				exp = "never"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Finding.Rule, esc(Cut(who(s.Finding), 60)), esc(s.Reason), exp)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdList writes one bullet of a finding's strings, the first mdResources of them escaped.
func mdList(b *strings.Builder, label string, items []string) {
	if len(items) == 0 {
		return
	}
	shown := items[:min(mdResources, len(items))]
	parts := make([]string, len(shown))
	for i, s := range shown {
		parts[i] = MarkdownEscape(s)
	}
	more := ""
	if len(items) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(items)-len(shown))
	}
	fmt.Fprintf(b, "- **%s (%d):** %s%s\n", label, len(items), strings.Join(parts, ", "), more)
}

func mdFinding(b *strings.Builder, r *Result, f analyze.Finding, rules map[string]analyze.Rule) {
	esc := MarkdownEscape
	if f.Message != "" {
		b.WriteString(esc(r.localText(f.Message)) + "\n\n")
	}
	fmt.Fprintf(b, "- **Identity:** %s\n", esc(f.Identity))
	if f.DisplayName != "" {
		fmt.Fprintf(b, "- **Display name:** %s\n", esc(f.DisplayName))
	}
	if f.Credential != "" {
		fmt.Fprintf(b, "- **Credential:** %s\n", esc(f.Credential))
	}
	fmt.Fprintf(b, "- **When:** %s to %s (%d events)\n", r.humanTime(f.FirstSeen), r.humanTime(f.LastSeen), f.Count)
	if len(f.SourceIPs) > 0 {
		fmt.Fprintf(b, "- **Source addresses:** %s\n", esc(strings.Join(f.SourceIPs, ", ")))
	}
	mdList(b, "Secrets and paths", f.Resources)
	mdList(b, "Values returned, rotate these", f.ValuesRead)
	if len(f.Evidence) > 0 {
		shown := f.Evidence[:min(mdEvidence, len(f.Evidence))]
		parts := make([]string, len(shown))
		for i, e := range shown {
			parts[i] = fmt.Sprintf("%s\\:%d", esc(e.File), e.Line)
		}
		more := ""
		if f.Count > len(shown) {
			more = fmt.Sprintf(" (%d of %d entries)", len(shown), f.Count)
		}
		fmt.Fprintf(b, "- **Evidence:** %s%s\n", strings.Join(parts, ", "), more)
	}
	if f.Remediation != "" {
		fmt.Fprintf(b, "- **Remediation:** %s\n", esc(r.localText(f.Remediation)))
	}
	if ru, ok := rules[f.Rule]; ok {
		if ru.Guide != "" {
			fmt.Fprintf(b, "- **Investigation:** %s\n", esc(ru.Guide))
		}
		if len(ru.MITRE) > 0 {
			fmt.Fprintf(b, "- **MITRE ATT&CK:** %s\n", esc(strings.Join(mitreList(ru.MITRE), "; ")))
		}
	}
	fmt.Fprintf(b, "- **Fingerprint:** `%s`\n", f.Fingerprint())
}

// who names a finding's identity for people: the display name, and for an AWS principal the
// role (or user) and the account its ARN names, which a session name alone does not say
// ("i-0b7d3e9a1c4f25e60" is an EC2 instance's session of some role in some account).
func who(f analyze.Finding) string {
	name := f.DisplayName
	if name == "" {
		name = f.Identity
	}
	if role, acct, ok := awsPrincipal(f.Identity); ok {
		switch {
		case strings.HasPrefix(role, "AWSReservedSSO_"): // IAM Identity Center: the person, then the permission set
			set := strings.TrimPrefix(role, "AWSReservedSSO_")
			if i := strings.LastIndexByte(set, '_'); i > 0 {
				set = set[:i]
			}
			return fmt.Sprintf("%s (SSO %s, %s)", name, set, acct)
		case name == role || name == f.Identity:
			return fmt.Sprintf("%s (%s)", role, acct)
		}
		return fmt.Sprintf("%s/%s (%s)", role, name, acct)
	}
	return name
}

// awsPrincipal reads the role or user name and the account of an IAM or STS ARN
// (arn:PARTITION:iam::ACCOUNT:role/PATH/NAME, user/NAME, sts assumed-role/NAME/SESSION,
// federated-user/NAME).
func awsPrincipal(arn string) (name, account string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || (parts[2] != "iam" && parts[2] != "sts") || parts[4] == "" {
		return "", "", false
	}
	kind, rest, found := strings.Cut(parts[5], "/")
	if !found || rest == "" {
		return "", "", false
	}
	segs := strings.Split(rest, "/")
	switch kind {
	case "assumed-role":
		name = segs[0]
	case "role", "user", "federated-user":
		name = segs[len(segs)-1]
	default:
		return "", "", false
	}
	return name, parts[4], name != ""
}

func what(f analyze.Finding) string {
	if f.Message != "" {
		return f.Message
	}
	return f.Title
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
