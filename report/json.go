package report

import (
	"bytes"
	"io"
	"slices"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

// SchemaVersion is the version of the JSON report's shape (docs/report.schema.json).
const SchemaVersion = "1"

// JSON renders the stable machine-readable report. Times are RFC 3339 in UTC.
//
// It is the one format that keeps every logged string exactly (invalid UTF-8 aside, which
// becomes U+FFFD): machines compare them (ignore lists, --previous-report, a SIEM joining on an
// identity). They are kept escaped, never raw: the encoder writes C0 controls as \u001b or \n,
// and EscapeInvisibleJSON the rest of what Sanitize would show (DEL, C1 controls, bidi
// overrides, zero-width characters), so the file is safe to print while it decodes to the
// logged value. Whoever displays a decoded value must sanitise it.
type JSON struct{}

type jsonReport struct {
	Version  string        `json:"version"`
	Schema   string        `json:"schema_version"`
	Tool     string        `json:"tool"`
	Command  string        `json:"command"`
	Stats    jsonStats     `json:"stats"`
	Findings []JSONFinding `json:"findings"`
	// Suppressed lists the findings the ignore list suppressed (only with --show-suppressed).
	Suppressed []jsonSuppressed `json:"suppressed"`
}

type jsonSuppressed struct {
	JSONFinding
	Reason  string `json:"suppressed_reason"`
	Expires string `json:"suppressed_until,omitempty"`
}

type jsonStats struct {
	Files      []sources.FileStats `json:"files"`
	Errors     []string            `json:"errors"`
	Notes      []string            `json:"notes"`
	Lines      int                 `json:"lines"`
	Parsed     int                 `json:"parsed"`
	Malformed  int                 `json:"malformed"`
	Skipped    int                 `json:"skipped"`
	Events     int                 `json:"events"`
	Filtered   int                 `json:"filtered_by_time"`
	First      string              `json:"first_event,omitempty"`
	Last       string              `json:"last_event,omitempty"`
	Findings   map[string]int      `json:"findings_by_severity"`
	Training   int                 `json:"findings_in_learning_period"`
	Hidden     int                 `json:"findings_below_min_severity"`
	Duplicates int                 `json:"duplicates"`
	Suppressed int                 `json:"findings_suppressed"`
	Previous   int                 `json:"findings_in_previous_report"`
	LearnUntil string              `json:"learn_until,omitempty"`
	S3         *sources.S3Stats    `json:"s3,omitempty"`

	// Stores: what each log-store export did (scan --loki, --elasticsearch, --opensearch).
	Stores []sources.StoreStats `json:"stores,omitempty"`
}

type jsonEvidence struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Time string `json:"time"`
}

// JSONFinding is one finding as the JSON report writes it (docs/report.schema.json); the
// generic --notify payload reuses it, so a receiver parses alerts as it parses reports.
type JSONFinding struct {
	Rule        string         `json:"rule"`
	Severity    string         `json:"severity"`
	Title       string         `json:"title"`
	Message     string         `json:"message"`
	Source      string         `json:"source"`
	Identity    string         `json:"identity"`
	DisplayName string         `json:"display_name"`
	Credential  string         `json:"credential"`
	Resources   []string       `json:"resources"`
	ValuesRead  []string       `json:"values_read"`
	SourceIPs   []string       `json:"source_ips"`
	FirstSeen   string         `json:"first_seen"`
	LastSeen    string         `json:"last_seen"`
	Count       int            `json:"count"`
	Evidence    []jsonEvidence `json:"evidence"`
	Remediation string         `json:"remediation"`
	Fingerprint string         `json:"fingerprint"`
}

func utc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Render writes r as indented JSON.
func (JSON) Render(w io.Writer, r *Result) error {
	doc := jsonReport{Version: r.Version, Schema: SchemaVersion, Tool: "vaultsentry", Command: r.Command,
		Findings: make([]JSONFinding, 0, len(r.Findings))}
	st := &doc.Stats
	st.Files = r.Files
	if st.Files == nil {
		st.Files = []sources.FileStats{}
	}
	st.Errors, st.Notes = nonNil(r.Errors), nonNil(r.Notes)
	for _, f := range r.Files {
		st.Lines += f.Lines
		st.Parsed += f.Parsed
		st.Malformed += f.Malformed
		st.Skipped += f.SkippedTotal()
		st.Duplicates += f.Duplicates
	}
	st.Events, st.Filtered, st.Training, st.Hidden = r.Events, r.Filtered, r.Training, r.Hidden
	st.First, st.Last = utc(r.First), utc(r.Last)
	st.Findings = map[string]int{}
	for _, s := range analyze.Severities() {
		st.Findings[s] = 0
	}
	for sev, n := range BySeverity(r.Findings) {
		st.Findings[sev.String()] = n
	}
	st.Suppressed, st.Previous, st.LearnUntil = r.SuppressedCount, r.Previous, utc(r.LearnUntil)
	st.S3 = r.S3
	st.Stores = r.Stores
	for _, f := range r.Findings {
		doc.Findings = append(doc.Findings, NewJSONFinding(f))
	}
	doc.Suppressed = make([]jsonSuppressed, 0, len(r.Suppressed))
	for _, s := range r.Suppressed {
		doc.Suppressed = append(doc.Suppressed, jsonSuppressed{JSONFinding: NewJSONFinding(s.Finding), Reason: validUTF8(s.Reason), Expires: s.Expires})
	}
	var buf bytes.Buffer
	enc := sonic.ConfigStd.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(EscapeInvisibleJSON(buf.Bytes()))
	return err
}

// NewJSONFinding is f as the JSON report writes it. Logged strings are kept exactly; whoever
// encodes it should pass the bytes through EscapeInvisibleJSON, as Render does.
func NewJSONFinding(f analyze.Finding) JSONFinding {
	jf := JSONFinding{
		Rule: f.Rule, Severity: f.Severity.String(), Title: validUTF8(f.Title), Message: validUTF8(f.Message),
		Source: f.Source, Identity: validUTF8(f.Identity), DisplayName: validUTF8(f.DisplayName),
		Credential: validUTF8(f.Credential), Resources: validAll(f.Resources), ValuesRead: validAll(f.ValuesRead), SourceIPs: nonNil(f.SourceIPs),
		FirstSeen: utc(f.FirstSeen), LastSeen: utc(f.LastSeen), Count: f.Count,
		Evidence: make([]jsonEvidence, 0, len(f.Evidence)), Remediation: validUTF8(f.Remediation),
		Fingerprint: f.Fingerprint(),
	}
	for _, e := range f.Evidence {
		jf.Evidence = append(jf.Evidence, jsonEvidence{File: validUTF8(e.File), Line: e.Line, Time: utc(e.Time)})
	}
	return jf
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func validAll(ss []string) []string {
	out := slices.Clone(nonNil(ss))
	for i := range out {
		out[i] = validUTF8(out[i])
	}
	return out
}
