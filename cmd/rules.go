package cmd

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newRulesCmd(s, nil) })
}

type rulesOptions struct {
	IO      Streams
	Format  string // text or json
	Explain string
}

// newRulesCmd builds `vaultsentry rules` and `vaultsentry rules explain ID`. The text is the
// rules' own (analyze.Rule): the same that feeds SARIF help and the HTML report.
func newRulesCmd(s Streams, runF func(context.Context, *rulesOptions) error) *cobra.Command {
	opts := &rulesOptions{IO: s}
	run := func(cc *cobra.Command) error {
		if opts.Format != "text" && opts.Format != "json" && opts.Format != "markdown" {
			return usagef("pass --format text|json|markdown", "--format: unknown format %q for rules (want text, json or markdown)", opts.Format)
		}
		if runF == nil {
			runF = runRules
		}
		return runF(cc.Context(), opts)
	}
	c := &cobra.Command{
		Use:   "rules",
		Short: "List every detection rule: severity, what it detects, defaults, known false positives, MITRE ATT&CK",
		Example: "  vaultsentry rules\n" +
			"  vaultsentry rules explain bulk-read\n" +
			"  vaultsentry rules --format json\n" +
			"  vaultsentry rules --format markdown > docs/rules.md",
		Args: cobra.NoArgs,
		RunE: func(cc *cobra.Command, _ []string) error { return run(cc) },
	}
	c.PersistentFlags().StringVarP(&opts.Format, "format", "f", "text", "output format: text, json, markdown (docs/rules.md is this)")
	explain := &cobra.Command{
		Use:   "explain RULE-ID",
		Short: "Print a rule's investigation guide: what to check, what to run",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("name one rule, e.g. vaultsentry rules explain bulk-read; vaultsentry rules lists them",
					"rules explain: give exactly one rule id")
			}
			return nil
		},
		RunE: func(cc *cobra.Command, args []string) error {
			opts.Explain = args[0]
			return run(cc)
		},
	}
	c.AddCommand(explain)
	return c
}

// ruleJSON is the machine-readable form of a rule.
type ruleJSON struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Severity string   `json:"severity"`
	Summary  string   `json:"summary"`
	Help     string   `json:"help"`
	Guide    string   `json:"guide"`
	MITRE    []string `json:"mitre"`
	Stores   []string `json:"stores"` // the event kinds the rule reads: vault, cloudtrail, kubernetes
}

// storesOf names the kinds in ks.
func storesOf(ks event.Kinds) []string {
	out := []string{}
	for k := event.Kind(1); k < 64; k++ {
		if ks.Has(k) && k.String() != "unknown" {
			out = append(out, k.String())
		}
	}
	return out
}

// storesText is storesOf for people.
func storesText(ks event.Kinds) string {
	names := map[string]string{"vault": "Vault/OpenBao", "cloudtrail": "CloudTrail (Secrets Manager, SSM Parameter Store)", "kubernetes": "Kubernetes audit"}
	var out []string
	for _, s := range storesOf(ks) {
		out = append(out, cmp.Or(names[s], s))
	}
	return strings.Join(out, ", ")
}

func runRules(_ context.Context, o *rulesOptions) error {
	rules := analyze.Rules()
	if o.Explain != "" {
		i := slices.IndexFunc(rules, func(r analyze.Rule) bool { return r.ID == o.Explain })
		if i < 0 {
			ids := make([]string, len(rules))
			for k, r := range rules {
				ids[k] = r.ID
			}
			return usagef("the rule ids are: "+strings.Join(ids, ", "), "rules explain: unknown rule id %q", o.Explain)
		}
		rules = rules[i : i+1]
	}
	if o.Format == "json" {
		out := make([]ruleJSON, 0, len(rules))
		for _, r := range rules {
			out = append(out, ruleJSON{ID: r.ID, Name: r.Name, Severity: r.Severity.String(), Summary: r.Summary,
				Help: r.Help, Guide: r.Guide, MITRE: append([]string{}, r.MITRE...), Stores: storesOf(r.Kinds)})
		}
		enc := json.NewEncoder(o.IO.Out)
		enc.SetIndent("", "  ")
		if o.Explain != "" {
			return enc.Encode(out[0])
		}
		return enc.Encode(out)
	}
	if o.Format == "markdown" {
		return rulesMarkdown(o.IO.Out, rules)
	}
	if o.Explain != "" {
		return explainRule(o.IO.Out, rules[0])
	}
	for i, r := range rules {
		if i > 0 {
			fmt.Fprintln(o.IO.Out)
		}
		fmt.Fprintf(o.IO.Out, "%s  [%s]  %s\n", r.ID, r.Severity, r.Name)
		writeWrapped(o.IO.Out, "  ", sentence(r.Summary))
		writeWrapped(o.IO.Out, "  ", r.Help)
		writeWrapped(o.IO.Out, "  ", "Reads: "+storesText(r.Kinds))
		if len(r.MITRE) > 0 {
			writeWrapped(o.IO.Out, "  ", "MITRE ATT&CK: "+mitreText(r.MITRE))
		}
	}
	fmt.Fprintf(o.IO.Out, "\n%d rules. 'vaultsentry rules explain ID' prints a rule's investigation guide.\n", len(rules))
	return nil
}

func explainRule(w io.Writer, r analyze.Rule) error {
	fmt.Fprintf(w, "%s: %s\n", r.ID, r.Name)
	fmt.Fprintf(w, "Default severity: %s\n", r.Severity)
	fmt.Fprintf(w, "Reads: %s\n", storesText(r.Kinds))
	if len(r.MITRE) > 0 {
		fmt.Fprintf(w, "MITRE ATT&CK: %s\n", mitreText(r.MITRE))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "What it detects")
	writeWrapped(w, "  ", sentence(r.Summary))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Why, defaults, known false positives")
	writeWrapped(w, "  ", r.Help)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Investigation guide")
	guide := r.Guide
	if guide == "" {
		guide = "No guide yet: trace the identity (vaultsentry trace --identity ...), revoke its credential and rotate what it read."
	}
	writeWrapped(w, "  ", guide)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Tuning")
	writeWrapped(w, "  ", tuningText(r.ID))
	return nil
}

// rulesMarkdown writes the rules as docs/rules.md: one section per rule, anchored by its id (the
// runbook_url of an alert and the SARIF help point there), with the same texts as rules explain.
func rulesMarkdown(w io.Writer, rules []analyze.Rule) error {
	bw := &strings.Builder{}
	fmt.Fprintln(bw, "# Detection rules")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "<!-- Generated by `vaultsentry rules --format markdown`; do not edit: cmd/rules_test.go fails when it is stale. -->")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "Rule ids are a public contract: ignore entries, dashboards and alert routes name them.")
	fmt.Fprintln(bw)
	fmt.Fprintln(bw, "| rule | severity | detects | reads |")
	fmt.Fprintln(bw, "|---|---|---|---|")
	for _, r := range rules {
		fmt.Fprintf(bw, "| [`%s`](#%s) | %s | %s | %s |\n", r.ID, r.ID, r.Severity, report.MarkdownEscape(r.Summary), storesText(r.Kinds))
	}
	for _, r := range rules {
		fmt.Fprintf(bw, "\n<a id=\"%s\"></a>\n## %s\n\n", r.ID, r.ID)
		fmt.Fprintf(bw, "**%s**. Default severity **%s**. Reads: %s.\n\n", report.MarkdownEscape(r.Name), r.Severity, storesText(r.Kinds))
		fmt.Fprintf(bw, "%s\n\n", report.MarkdownEscape(sentence(r.Summary)))
		fmt.Fprintf(bw, "**Why, defaults, known false positives.** %s\n\n", report.MarkdownEscape(r.Help))
		guide := r.Guide
		if guide == "" {
			guide = "Trace the identity (vaultsentry trace --identity ...), revoke its credential and rotate what it read."
		}
		fmt.Fprintf(bw, "**Investigation.** %s\n\n", report.MarkdownEscape(guide))
		fmt.Fprintf(bw, "**Tuning.** %s\n", report.MarkdownEscape(tuningText(r.ID)))
		if len(r.MITRE) > 0 {
			fmt.Fprintf(bw, "\n**MITRE ATT&CK.** %s\n", report.MarkdownEscape(mitreText(r.MITRE)))
		}
	}
	_, err := io.WriteString(w, bw.String())
	return err
}

// tuningText says how to tune rule; the threshold keys and their defaults come from
// analyze.DefaultConfig, so the text cannot drift from what the rule uses.
func tuningText(rule string) string {
	const ignore = "an ignore entry (rule + identity/resource glob + reason + expires) accepts a known finding. See vaultsentry.example.yaml."
	def := analyze.DefaultConfig()
	t := def.Thresholds(rule)
	if t == nil {
		return "This rule has no thresholds; " + ignore
	}
	var keys []string
	for _, f := range thresholdFields(t) {
		keys = append(keys, f.key+" "+thresholdValue(f.v))
	}
	return fmt.Sprintf("thresholds.%s in the configuration file (defaults: %s) changes them for everyone; an overrides entry "+
		"(identity glob + rule) gives one known identity its own limits; %s", rule, strings.Join(keys, ", "), ignore)
}

func mitreText(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = report.MITREName(id)
	}
	return strings.Join(parts, "; ")
}

// wrapWidth is the width rules text is wrapped to.
const wrapWidth = 100

// writeWrapped writes text wrapped at wrapWidth, each line indented.
func writeWrapped(w io.Writer, indent, text string) {
	words := strings.Fields(text)
	line := indent
	for _, word := range words {
		if len(line) > len(indent) && len(line)+1+len(word) > wrapWidth {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		fmt.Fprintln(w, line)
	}
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
