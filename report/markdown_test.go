package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"k8s-fraud-model", "k8s-fraud-model"},
		{"a|b", `a\|b`},
		{"*bold* _it_ `code`", "\\*bold\\* \\_it\\_ \\`code\\`"},
		{"<script>alert(1)</script>", `\<script\>alert\(1\)\</script\>`},
		{"[x](http://e.test)", `\[x\]\(http\://e.test\)`},
		{"line\nbreak", `line\\u000abreak`}, // Sanitize makes the newline visible, then \ is escaped
		{"&lt;", `\&lt;`},
		{"@team", `\@team`},
		{"\x1b[31mred", `\\x1b\[31mred`},
	}
	for _, tt := range tests {
		if got := MarkdownEscape(tt.in); got != tt.want {
			t.Errorf("MarkdownEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestMarkdownGolden renders a fixed result and compares with the golden file; it also checks that
// the hostile strings cannot break the table: every row has exactly as many unescaped pipes as
// the header.
func TestMarkdownGolden(t *testing.T) {
	r := fixedResult()
	var buf bytes.Buffer
	if err := (Markdown{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	pipes := regexp.MustCompile(`(^|[^\\])\|`)
	inTable := false
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| Severity |") {
			inTable = true
		}
		if inTable && !strings.HasPrefix(line, "|") {
			inTable = false
		}
		if inTable {
			if n := len(pipes.FindAllStringIndex(" "+line, -1)); n != 8 {
				t.Errorf("table row has %d cell separators, want 8: %s", n, line)
			}
		}
		if strings.HasPrefix(line, "::") {
			t.Errorf("a line starts a workflow command: %q", line)
		}
	}
	for _, bad := range []string{"<script>", "\x1b", "\r"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown holds %q unescaped", bad)
		}
	}
	golden(t, "report.md", buf.Bytes())
}

// TestTimezoneInMessages: --timezone applies to the times inside a finding's message too.
func TestTimezoneInMessages(t *testing.T) {
	dublin, err := time.LoadLocation("Europe/Dublin")
	if err != nil {
		t.Skip("no tzdata")
	}
	at := time.Date(2026, 9, 23, 23, 41, 7, 0, time.UTC)
	r := &Result{Location: dublin, Findings: []analyze.Finding{{Rule: "bulk-read", Title: "Bulk read", Identity: "x",
		Message: "40 reads between 2026-09-23T23:41:07Z and 2026-09-23T23:44:02Z (2m55s)", FirstSeen: at, LastSeen: at}}}
	var b strings.Builder
	if err := (Markdown{}).Render(&b, r); err != nil {
		t.Fatal(err)
	}
	if md := strings.ReplaceAll(b.String(), `\:`, ":"); !strings.Contains(md, "between 2026-09-24T00:41:07+01:00 and 2026-09-24T00:44:02+01:00") ||
		strings.Contains(md, "23:41:07Z") {
		t.Errorf("the message keeps UTC under --timezone Europe/Dublin:\n%s", b.String())
	}
	r.Location = nil
	b.Reset()
	if err := (Markdown{}).Render(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ReplaceAll(b.String(), `\:`, ":"), "between 2026-09-23T23:41:07Z and") {
		t.Errorf("UTC is left as written:\n%s", b.String())
	}
}
