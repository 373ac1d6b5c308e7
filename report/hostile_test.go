package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// assertTerminalSafe fails when out holds anything a terminal would interpret: a control
// character other than the newline ending a line, a bidi or invisible character, invalid UTF-8.
func assertTerminalSafe(t *testing.T, what string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Errorf("%s: invalid UTF-8", what)
	}
	for i, r := range string(out) {
		if (unicode.IsControl(r) && r != '\n') || isInvisible(r) {
			t.Errorf("%s: %U at byte %d: %q", what, r, i, out[max(0, i-20):min(len(out), i+20)])
			return
		}
	}
}

// TestTableTerminalSafety: attacker strings in every field are shown escaped, and no value
// breaks the layout: at every width each finding takes two lines, none wider than the width.
func TestTableTerminalSafety(t *testing.T) {
	r, strs := hostileResult(t)
	for _, width := range []int{80, 120, 200} {
		r.Width = width
		out := render(t, "table", r)
		assertTerminalSafe(t, "table", out)
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if want := 1 + 2 + 2*len(r.Findings) + 1; len(lines) != want { // summary, header, rows, hint
			t.Fatalf("%d columns: %d lines for %d findings, want %d: a value broke a row", width, len(lines), len(r.Findings), want)
		}
		for i, l := range lines {
			if got := twwidth.Width(l); got > width {
				t.Errorf("%d columns: line %d is %d wide: %q", width, i+1, got, l)
			}
		}
		// Every finding's first line shows the start of its identity, sanitized; the rows keep
		// their order (all are high).
		for i, s := range strs {
			head := []rune(Sanitize(s))
			head = head[:min(len(head), 6)]
			if !strings.Contains(lines[3+2*i], string(head)) {
				t.Errorf("%d columns: row %d does not show %q: %q", width, i+1, string(head), lines[3+2*i])
			}
		}
		if width < 200 {
			continue
		}
		// Escapes are visible, in the forms the docs promise.
		for _, want := range []string{`\x1b[31m`, `\x1b]8;;`, `\x1b]0;`, `\u202e`, `\u200b`, `\u000a`, `\u000d`, `\xff`, `\\x1b`, `\u0007`} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("table lacks the escape %s", want)
			}
		}
	}
}

// TestLongValuesCutOnlyInTable: a long value is cut with a visible marker in the table, never
// in JSON or SARIF.
func TestLongValuesCutOnlyInTable(t *testing.T) {
	long := "secret/" + strings.Repeat("x", 400) + "/tail-END"
	r := goldenResult()
	r.Findings = r.Findings[:1]
	r.Findings[0].DisplayName = long
	r.Findings[0].Resources = []string{long}
	table := render(t, "table", r)
	if bytes.Contains(table, []byte("tail-END")) || !bytes.Contains(table, []byte("…")) {
		t.Errorf("table: the long value is not cut with a marker")
	}
	for _, f := range []string{"json", "sarif"} {
		if n := bytes.Count(render(t, f, r), []byte(long)); n < 2 {
			t.Errorf("%s: the long value appears whole %d times, want it in display_name and resources", f, n)
		}
	}
}

// TestStructuredOutputAnyBytes: whatever bytes the strings hold, JSON and SARIF are valid JSON
// and valid UTF-8, invalid bytes are replaced by U+FFFD in the same way everywhere, and no
// string can forge another finding or change a severity.
func TestStructuredOutputAnyBytes(t *testing.T) {
	r, strs := hostileResult(t)
	// A finding whose path tries to close the object and open a critical one.
	forged := "secret/a\"}, {\"rule\":\"x\",\"severity\":\"critical\n\"}]}\r\n{\"rule\":\"y"
	r.Findings = append(r.Findings, analyze.Finding{Rule: "dual-source-ip", Severity: analyze.Low, Title: forged,
		Message: forged, Identity: forged, DisplayName: forged, Resources: []string{forged}, FirstSeen: t0, LastSeen: t0, Count: 1,
		Evidence: []analyze.Evidence{{File: forged, Line: 1, Time: t0}}})
	n := len(r.Findings)

	t.Run("json", func(t *testing.T) {
		out := render(t, "json", r)
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatal("invalid JSON or UTF-8")
		}
		var doc struct {
			Findings []struct {
				Rule        string
				Severity    string
				DisplayName string `json:"display_name"`
				Resources   []string
			}
			Stats struct {
				Files []struct{ File string }
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Findings) != n {
			t.Fatalf("%d findings, want %d", len(doc.Findings), n)
		}
		for i, f := range doc.Findings[:len(strs)] {
			if f.DisplayName != validUTF8(strs[i]) || f.Resources[0] != validUTF8(strs[i]) {
				t.Errorf("finding %d: %q, want %q", i, f.DisplayName, validUTF8(strs[i]))
			}
			if f.Severity != "high" || f.Rule != "bulk-read" {
				t.Errorf("finding %d: rule %q severity %q", i, f.Rule, f.Severity)
			}
		}
		last := doc.Findings[n-1]
		if last.Rule != "dual-source-ip" || last.Severity != "low" || last.DisplayName != forged {
			t.Errorf("forged finding: %+v", last)
		}
		// Exact values, but escaped: the file itself holds no raw control or invisible character.
		assertTerminalSafe(t, "json file", out)
		// Stats strings are encoded by sonic itself: same replacement as validUTF8.
		bad := r.Files[len(r.Files)-1].File
		if got := doc.Stats.Files[len(doc.Stats.Files)-1].File; got != validUTF8(bad) {
			t.Errorf("file name %q, want %q", got, validUTF8(bad))
		}
	})
	t.Run("sarif", func(t *testing.T) {
		out := render(t, "sarif", r)
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatal("invalid JSON or UTF-8")
		}
		validateSARIF(t, out)
		var doc struct {
			Runs []struct {
				Results []struct {
					RuleID  string `json:"ruleId"`
					Level   string
					Message struct {
						Text     string
						Markdown *string
					}
					Properties map[string]any
				}
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Runs) != 1 || len(doc.Runs[0].Results) != n {
			t.Fatalf("want 1 run of %d results", n)
		}
		for i, res := range doc.Runs[0].Results {
			if res.Message.Markdown != nil {
				t.Errorf("result %d has a markdown message", i)
			}
			assertTerminalSafe(t, "sarif message", []byte(res.Message.Text))
			if i < len(strs) && (res.RuleID != "bulk-read" || res.Level != "error" || res.Properties["severity"] != "high") {
				t.Errorf("result %d: %s %s %v", i, res.RuleID, res.Level, res.Properties["severity"])
			}
		}
		last := doc.Runs[0].Results[n-1]
		if last.RuleID != "dual-source-ip" || last.Level != "note" || last.Properties["severity"] != "low" ||
			last.Properties["display_name"] != Sanitize(forged) {
			t.Errorf("forged result: %+v", last)
		}
		// Properties are shown to people too: every string in them is sanitised.
		for i, res := range doc.Runs[0].Results {
			for k, v := range res.Properties {
				for _, s := range propStrings(v) {
					assertTerminalSafe(t, fmt.Sprintf("sarif result %d property %s", i, k), []byte(s))
				}
			}
			if i < len(strs) {
				if got, want := res.Properties["display_name"], Sanitize(strs[i]); got != want {
					t.Errorf("result %d display_name = %q, want %q", i, got, want)
				}
				if got, want := res.Properties["identity"], Sanitize("entity "+strs[i]); got != want {
					t.Errorf("result %d identity = %q, want %q", i, got, want)
				}
			}
		}
		assertTerminalSafe(t, "sarif file", out)
		if bytes.Contains(out, []byte(`"markdown"`)) {
			t.Error("SARIF output has a markdown field: attacker text must stay in message.text")
		}
	})
}

// validateSARIF checks out, byte for byte, against the SARIF 2.1.0 JSON schema, and that
// go-sarif reads it back and validates it too.
func validateSARIF(t *testing.T, out []byte) {
	t.Helper()
	schema, err := os.ReadFile("../testdata/sarif/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(out))
	if err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, e := range res.Errors() {
		t.Errorf("SARIF schema: %s", e)
	}
	rep, err := sarif.FromBytes(out)
	if err != nil {
		t.Fatalf("go-sarif cannot read our SARIF: %v", err)
	}
	if err := rep.Validate(); err != nil {
		t.Errorf("go-sarif: %v", err)
	}
}

// TestSARIFSchema: the golden run and an empty run validate against the schema.
func TestSARIFSchema(t *testing.T) {
	validateSARIF(t, render(t, "sarif", goldenResult()))
	r := goldenResult()
	r.Findings, r.Files = nil, nil
	out := render(t, "sarif", r)
	validateSARIF(t, out)
	if !bytes.Contains(out, []byte(`"results": []`)) {
		t.Error("runs[].results must be present when empty")
	}
}

// propStrings are the strings of a decoded SARIF property value.
func propStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, propStrings(e)...)
		}
		return out
	}
	return nil
}

// TestEscapeInvisibleJSON: what JSON allows raw and a terminal would obey becomes a \u escape,
// and the value decodes unchanged.
func TestEscapeInvisibleJSON(t *testing.T) {
	for _, s := range []string{"plain", "del\x7f", "c1\u0085\u009b31m", "rtl\u202eexe", "zw\u200b", "tag\U000e0041",
		"bom\ufeff", "keep é ü 漢字 \ufffd", "esc\x1b[31m", "nl\n", "ls\u2028"} {
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		got := EscapeInvisibleJSON(enc)
		assertTerminalSafe(t, s, got)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("%q: decodes to %q (%v)", s, back, err)
		}
		if !strings.ContainsAny(s, "\x7f\u0085\u202e\u200b\U000e0041\ufeff") && string(got) != string(enc) {
			t.Errorf("%q: changed %s to %s", s, enc, got)
		}
	}
}
