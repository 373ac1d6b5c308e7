package analyze

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
)

// helpDefaults lists, per rule, the phrases of its Summary and Help that quote a default, each
// built from DefaultConfig, and the same for the detector's doc comment (Thresholds: ...). A
// default that changes without its text, or text that changes without its default, fails
// TestHelpQuotesDefaults.
func helpDefaults(c Config) map[string]struct{ help, doc []string } {
	mins := func(d time.Duration) int { return int(d / time.Minute) }
	hours := func(d time.Duration) int { return int(d / time.Hour) }
	return map[string]struct{ help, doc []string }{
		"bulk-read": {
			help: []string{
				fmt.Sprintf("at least %d reads", c.BulkRead.MinCount),
				fmt.Sprintf("at least %d distinct secrets within %d minutes", c.BulkRead.MinDistinct, mins(c.BulkRead.Window)),
				fmt.Sprintf("reads %d distinct secrets (twice the distinct count) within %d minutes", 2*c.BulkRead.MinDistinct, mins(c.BulkRead.Window)),
			},
			doc: []string{fmt.Sprintf("%d reads over %d distinct secrets in %d minutes", c.BulkRead.MinCount, c.BulkRead.MinDistinct, mins(c.BulkRead.Window)),
				fmt.Sprintf("(%d distinct secrets) in the window", 2*c.BulkRead.MinDistinct)},
		},
		"dual-source-ip": {
			help: []string{spellHour(c.DualSourceIP.Window), fmt.Sprintf("default %d minutes", mins(c.DualSourceIP.Window))},
			doc:  []string{fmt.Sprintf("window %d minutes", mins(c.DualSourceIP.Window))},
		},
		"cross-store-access": {
			help: []string{fmt.Sprintf("within %dh", hours(c.CrossStore.Window))},
			doc:  []string{fmt.Sprintf("window (%dh)", hours(c.CrossStore.Window))},
		},
		"new-resource": {
			doc: []string{fmt.Sprintf("min_days %d or\n// min_events %d", c.NewResource.MinDays, c.NewResource.MinEvents)},
		},
		"dormant-identity": {
			help: []string{fmt.Sprintf("not seen for %d days", c.Dormant.Days), fmt.Sprintf("(default %d)", c.Dormant.Days)},
			doc:  []string{fmt.Sprintf("default %d.", c.Dormant.Days)},
		},
		"new-source-ip": {
			doc: []string{
				fmt.Sprintf("min_days %d\n// or min_events %d", c.NewSourceIP.MinDays, c.NewSourceIP.MinEvents),
				fmt.Sprintf("max_known (%d)", c.NewSourceIP.MaxKnown),
			},
		},
		"denied-burst": {
			help: []string{fmt.Sprintf("at least %d permission-denied errors on at least %d distinct paths within %d minutes",
				c.DeniedBurst.MinCount, c.DeniedBurst.MinDistinct, mins(c.DeniedBurst.Window))},
			doc: []string{
				fmt.Sprintf("at least %d denials over at least %d distinct paths", c.DeniedBurst.MinCount, c.DeniedBurst.MinDistinct),
				fmt.Sprintf("sliding %d-minute window", mins(c.DeniedBurst.Window)),
			},
		},
		"enumeration": {
			help: []string{fmt.Sprintf("at least %d distinct paths within %d minutes", c.Enumeration.Min, mins(c.Enumeration.Window))},
			doc:  []string{fmt.Sprintf("at least %d distinct listed paths within %d minutes", c.Enumeration.Min, mins(c.Enumeration.Window))},
		},
		"many-source-ips": {
			help: []string{
				fmt.Sprintf("more than %d distinct external addresses %s", c.ManySourceIPs.Min-1, spellHour(c.ManySourceIPs.Window)),
				fmt.Sprintf("%d or more distinct external addresses", c.ManySourceIPs.Min),
				fmt.Sprintf("within %d hour", hours(c.ManySourceIPs.Window)),
			},
			doc: []string{fmt.Sprintf("%d-hour window reach %d, i.e. more than %d", hours(c.ManySourceIPs.Window), c.ManySourceIPs.Min, c.ManySourceIPs.Min-1)},
		},
		"rotation-without-read": {
			help: []string{fmt.Sprintf("default %dm", mins(c.Rotation.Grace))},
			doc:  []string{fmt.Sprintf("grace %d minutes", mins(c.Rotation.Grace))},
		},
		"audit-gap": {
			help: []string{
				fmt.Sprintf("longer than %d s and more than %gx", int(c.AuditGap.Floor/time.Second), c.AuditGap.Factor),
				spellDay(c.AuditGap.Context),
				fmt.Sprintf("(default %ds)", int(c.AuditGap.Floor/time.Second)),
				fmt.Sprintf("factor (%g)", c.AuditGap.Factor),
				fmt.Sprintf("context (%dh)", hours(c.AuditGap.Context)),
			},
			doc: []string{
				fmt.Sprintf("(default %d s)", int(c.AuditGap.Floor/time.Second)),
				fmt.Sprintf("(default %g)", c.AuditGap.Factor),
				fmt.Sprintf("(default %d hours: %d before, %d after;", hours(c.AuditGap.Context), hours(c.AuditGap.Context)/2, hours(c.AuditGap.Context)/2),
			},
		},
		"admin-off-hours": {
			help: []string{
				"default " + strings.Join(c.AdminPolicies, " and "),
				"default " + maintenanceText(c.Maintenance),
			},
		},
		"unusual-client": {
			help: []string{fmt.Sprintf("at least %d events", unusualClientMinHistory)},
			doc:  []string{fmt.Sprintf("at least %d earlier events", unusualClientMinHistory)},
		},
	}
}

// helpNumbers are the numbers in rule text that are not defaults (RFCs, prefix lengths, CVEs).
var helpNumbers = regexp.MustCompile(`/\d+|\d+th-percentile|CVE-\d+-\d+|KV v\d|IPv\d|k8s`)

// TestHelpQuotesDefaults checks the defaults quoted by `vaultsentry rules` (each rule's Summary
// and Help) and by the detectors' doc comments against DefaultConfig, and that Summary and Help
// quote no other number.
func TestHelpQuotesDefaults(t *testing.T) {
	def := DefaultConfig()
	want := helpDefaults(def)
	docs := detectorDocs(t)
	env := Env{Config: ptr(DefaultConfig()), Baseline: baseline.New()}
	for _, d := range New(env) {
		r := d.Rule()
		w := want[r.ID]
		text := r.Summary + " " + r.Help
		for _, p := range w.help {
			if !strings.Contains(text, p) {
				t.Errorf("%s: the help does not say %q (from DefaultConfig):\n%s", r.ID, p, text)
			}
			text = strings.ReplaceAll(text, p, "")
		}
		if n := regexp.MustCompile(`\d+`).FindString(helpNumbers.ReplaceAllString(text, "")); n != "" {
			t.Errorf("%s: the help quotes %s, which no phrase in helpDefaults ties to DefaultConfig:\n%s", r.ID, n, text)
		}
		typ := reflect.TypeOf(d).Elem().Name()
		doc, ok := docs[typ]
		if !ok {
			t.Errorf("%s: no doc comment found for type %s", r.ID, typ)
		}
		for _, p := range w.doc {
			if !strings.Contains(doc, p) {
				t.Errorf("%s: the doc comment of %s does not say %q (from DefaultConfig):\n%s", r.ID, typ, p, doc)
			}
		}
		if def.Thresholds(r.ID) != nil && len(w.help)+len(w.doc) == 0 && r.ID != "new-resource" {
			t.Errorf("%s has thresholds but helpDefaults checks none of its text", r.ID)
		}
	}
}

// detectorDocs reads the doc comments of the package's types, as the source has them ("// "
// prefixes included, so multi-line phrases keep their line breaks).
func detectorDocs(t *testing.T) map[string]string {
	t.Helper()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	docs := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE || g.Doc == nil {
				continue
			}
			var b strings.Builder
			for _, c := range g.Doc.List {
				b.WriteString(c.Text + "\n")
			}
			for _, s := range g.Specs {
				docs[s.(*ast.TypeSpec).Name.Name] = b.String()
			}
		}
	}
	return docs
}

func spellHour(d time.Duration) string {
	if d == time.Hour {
		return "within an hour"
	}
	return fmt.Sprintf("within %d hours", d/time.Hour)
}

func spellDay(d time.Duration) string {
	if d == 24*time.Hour {
		return "over the surrounding day"
	}
	return fmt.Sprintf("over the surrounding %d hours", d/time.Hour)
}

// maintenanceText writes the default maintenance windows as admin-off-hours' help does:
// "Mon-Fri 06:00-22:00 UTC".
func maintenanceText(m Maintenance) string {
	var parts []string
	for _, w := range m.Windows {
		var days []int
		for d, on := range w.Days {
			if on {
				days = append(days, d)
			}
		}
		name := func(d int) string { return time.Weekday(d).String()[:3] }
		span := name(days[0])
		if len(days) > 1 {
			span += "-" + name(days[len(days)-1])
		}
		parts = append(parts, fmt.Sprintf("%s %02d:%02d-%02d:%02d", span, w.From/60, w.From%60, w.To/60, w.To%60))
	}
	return strings.Join(parts, ", ") + " " + m.Location.String()
}
