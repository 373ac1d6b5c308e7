package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/review"
)

// The review as one self-contained HTML page for the auditor's file: inline CSS, no script, font
// or request (a Content-Security-Policy forbids them), printable to PDF from a browser (A4, a
// page break before each section, table headers repeated on every page). It renders the review's
// JSON document: the access review, secret hygiene and findings as tables of their own, and every
// other part of the document (integrity, controls, whatever later versions add) generically, as
// tables of its objects, so a part added to the JSON is printed without a change here. Every
// string goes through Sanitize and html/template's contextual escaping.

//go:embed review_html.tmpl
var reviewHTMLSource string

var reviewHTMLTemplate = template.Must(template.New("review").Funcs(template.FuncMap{
	"kind":    jsonKind,
	"columns": jsonColumns,
	"field":   jsonField,
	"text":    jsonText,
	"keys":    func(v any) []string { m, _ := v.(map[string]any); return sortedKeys(m) },
	"status":  statusClass,
	"title":   func(k string) string { return Sanitize(sectionTitle(k)) },
	"join":    strings.Join,
	"when":    shortTime,
	"cut":     Cut,
	"dict":    dict,
	"head":    func(v any, n int) []any { l, _ := v.([]any); return l[:min(n, len(l))] },
	"tail":    func(v any, n int) []any { l, _ := v.([]any); return l[min(n, len(l)):] },
}).Parse(reviewHTMLSource))

type reviewHTMLView struct {
	Doc      reviewDoc
	Flagged  []reviewAccess
	Judged   []reviewSecret
	Sections []reviewHTMLSection // integrity, controls and any other part of the document, in order
	Manifest map[string]any      // the manifest as JSON, for its generic parts
	Counts   []reviewHTMLCount
	Sev      []reviewHTMLCount  // findings per severity, the most severe first
	HowTo    string             // how to verify the manifest file, for the sign-off block
	Formats  []reviewHTMLFormat // the inputs summed per format
}

type reviewHTMLFormat struct {
	Format      string
	Files       int
	Events      int
	First, Last string
}

type reviewHTMLSection struct {
	ID, Title string
	Value     any
}

type reviewHTMLCount struct {
	Name string
	N    int
}

// reviewKnown are the document's keys that the page renders with a layout of its own.
var reviewKnown = []string{"schema_version", "tool", "version", "command", "period", "history_since", "inputs", "access",
	"secrets", "findings", "notes", "counts", "manifest"}

// reviewOrder places the generic sections: these first, in this order, then the rest by name.
var reviewOrder = []string{"integrity", "controls"}

func reviewHTML(w io.Writer, r *ReviewResult) error {
	doc := newReviewDoc(r)
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return err
	}
	v := reviewHTMLView{Doc: doc}
	sanitizeDoc(&v.Doc)
	for _, a := range v.Doc.Access {
		if len(a.Flags) > 0 {
			v.Flagged = append(v.Flagged, a)
		}
	}
	for _, s := range v.Doc.Secrets {
		if len(s.Verdicts) > 0 {
			v.Judged = append(v.Judged, s)
		}
	}
	sev := map[string]int{}
	for _, f := range v.Doc.Findings {
		sev[f.Severity]++
	}
	names := analyze.Severities()
	for i := len(names) - 1; i >= 0; i-- {
		if n := sev[names[i]]; n > 0 {
			v.Sev = append(v.Sev, reviewHTMLCount{names[i], n})
		}
	}
	for _, k := range sortedKeys(doc.Counts) {
		v.Counts = append(v.Counts, reviewHTMLCount{k, doc.Counts[k]})
	}
	byFormat := map[string]int{}
	for _, in := range v.Doc.Inputs {
		i, ok := byFormat[in.Format]
		if !ok {
			i = len(v.Formats)
			byFormat[in.Format] = i
			v.Formats = append(v.Formats, reviewHTMLFormat{Format: in.Format})
		}
		f := &v.Formats[i]
		f.Files++
		f.Events += in.Events
		if in.First != "" && (f.First == "" || in.First < f.First) {
			f.First = in.First
		}
		if in.Last > f.Last {
			f.Last = in.Last
		}
	}
	var rest []string
	for k := range all {
		if !slices.Contains(reviewKnown, k) && !slices.Contains(reviewOrder, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range append(slices.Clone(reviewOrder), rest...) {
		if val, ok := all[k]; ok {
			v.Sections = append(v.Sections, reviewHTMLSection{ID: "s-" + safeID(k), Title: sectionTitle(k), Value: dedupe(val, map[string]bool{})})
		}
	}
	if m, ok := all["manifest"].(map[string]any); ok {
		v.Manifest = m
	}
	v.HowTo = "ssh-keygen -Y verify -f allowed_signers -I REVIEWER -n vaultsentry-review -s REPORT.manifest.json.sig < REPORT.manifest.json"
	return reviewHTMLTemplate.Execute(w, v)
}

// sanitizeDoc passes every string of the typed parts through Sanitize (control characters in
// caret notation: harmless in a page, but a copied path must not carry a terminal escape).
func sanitizeDoc(d *reviewDoc) {
	for i := range d.Access {
		a := &d.Access[i]
		a.Identity, a.DisplayName, a.Secret, a.Store = Sanitize(a.Identity), Sanitize(a.DisplayName), Sanitize(a.Secret), Sanitize(a.Store)
		a.Networks = sanitizeAll(a.Networks)
		fl := make([]review.Flag, 0, len(a.Flags))
		for _, f := range a.Flags {
			fl = append(fl, review.Flag{Flag: Sanitize(f.Flag), Reason: Sanitize(f.Reason)})
		}
		a.Flags = fl
	}
	for i := range d.Secrets {
		s := &d.Secrets[i]
		s.Store, s.Secret, s.Readers = Sanitize(s.Store), Sanitize(s.Secret), sanitizeAll(s.Readers)
		vs := make([]review.Verdict, 0, len(s.Verdicts))
		for _, x := range s.Verdicts {
			vs = append(vs, review.Verdict{Verdict: Sanitize(x.Verdict), Reason: Sanitize(x.Reason)})
		}
		s.Verdicts = vs
	}
	for i := range d.Inputs {
		d.Inputs[i].File = Sanitize(d.Inputs[i].File)
	}
	for i := range d.Findings {
		f := &d.Findings[i]
		f.Title, f.Message, f.Identity, f.DisplayName = Sanitize(f.Title), Sanitize(f.Message), Sanitize(f.Identity), Sanitize(f.DisplayName)
		f.Resources = sanitizeAll(f.Resources)
	}
	d.Notes = sanitizeAll(d.Notes)
	d.Command = sanitizeAll(d.Command)
	d.Version = Sanitize(d.Version)
}

// shortTime is an RFC 3339 time of the document to the second, for the tables ("-" when none):
// the JSON keeps the nanoseconds.
func shortTime(s string) string {
	if s == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// jsonKind classifies a decoded JSON value for the generic templates.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		if len(x) == 0 {
			return "empty"
		}
		return "object"
	case []any:
		if len(x) == 0 {
			return "empty"
		}
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				return "list"
			}
		}
		return "table"
	}
	return "scalar"
}

// columnsFirst are the keys a generic table shows first, in this order, when its objects have
// them: what a row is about, then its verdict.
var columnsFirst = []string{"file", "tree", "framework", "id", "title", "status", "kind", "rule", "identity", "secret"}

// jsonColumns are the keys of a list of objects: columnsFirst, then the others by name.
func jsonColumns(v any) []string {
	var cols []string
	seen := map[string]bool{}
	for _, k := range columnsFirst {
		for _, e := range v.([]any) {
			if _, ok := e.(map[string]any)[k]; ok && !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	for _, e := range v.([]any) {
		m := e.(map[string]any)
		for _, k := range sortedKeys(m) {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols
}

// dedupe replaces an object or list that a section already shows (a tree's CloudTrail result
// that is also the combined one) by a note, so a page does not print it twice. Only large values
// count: a repeated status or empty list stays.
func dedupe(v any, seen map[string]bool) any {
	switch x := v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		if len(b) > 200 {
			if seen[string(b)] {
				return "(the same as above)"
			}
			seen[string(b)] = true
		}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			out[k] = dedupe(x[k], seen)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dedupe(e, seen)
		}
		return out
	}
	return v
}

// jsonField is the value of key k of a decoded JSON object (nil when v is not one).
func jsonField(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

// jsonText is a scalar as text: strings sanitised, numbers as written.
func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return Sanitize(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "-"
	}
	return Sanitize(fmt.Sprint(v))
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// statusClass is the CSS class of a status or verdict cell (valid, invalid, unverifiable,
// evidence, exception, gap, ...): "st-" and the value when it is a plain word, else "".
func statusClass(v any) string {
	s, ok := v.(string)
	if !ok || s == "" || len(s) > 40 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz-") != "" {
		return ""
	}
	return "st-" + s
}

// sectionTitle makes a JSON key a heading: "audit_changes" -> "Audit changes".
func sectionTitle(k string) string {
	k = strings.ReplaceAll(k, "_", " ")
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

func safeID(k string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(k))
}
