package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// widthResult is a run whose findings came in time order with severities mixed, and whose
// identities and paths are not all ASCII (wide CJK characters, accents).
func widthResult() *Result {
	r := goldenResult()
	fx := fixedResult()
	// The secrets whose value was returned: 3 distinct ones, secret/team-a/db in two findings.
	r.Findings[0].ValuesRead = r.Findings[0].Resources[:2]
	r.Findings[1].ValuesRead = []string{"secret/team-a/db"}
	fx.Findings[0].ValuesRead = []string{"kv/prod/a"}
	r.Findings = append(r.Findings, fx.Findings...)
	r.Findings = append(r.Findings,
		analyze.Finding{Rule: "new-source-ip", Severity: analyze.Low, Title: "New source address",
			Message: "first request from 198.51.100.7 in 30 days", Source: "vault",
			Identity: "e-ja", DisplayName: "請求サービス-本番-東京リージョン", Resources: []string{"kv/請求/データベース", "kv/café/crème"},
			SourceIPs: []string{"198.51.100.7"}, FirstSeen: t0.Add(-30 * time.Minute), LastSeen: t0.Add(-30 * time.Minute), Count: 1},
		analyze.Finding{Rule: "rotation-without-read", Severity: analyze.Medium, Title: "Secret rotated but not picked up",
			Message: "kv/prod/db rotated at 22:00; its consumers kept reading the old version", Source: "vault",
			Identity: "e-ja", DisplayName: "請求サービス-本番-東京リージョン", Resources: []string{"kv/prod/db"},
			FirstSeen: t0.Add(-20 * time.Minute), LastSeen: t0.Add(-20 * time.Minute), Count: 3},
	)
	// The time order the pipeline produces.
	slicesSortByTime(r.Findings)
	return r
}

func slicesSortByTime(fs []analyze.Finding) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].FirstSeen.Before(fs[j-1].FirstSeen); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// TestTableWidths: at 80, 120 and 200 columns no line is wider than the terminal, each finding
// takes two lines, the first line is the summary, rows are worst first, and the rendering is
// the golden file's.
func TestTableWidths(t *testing.T) {
	for _, width := range []int{80, 120, 200} {
		for _, group := range []string{"", GroupIdentity} {
			name := fmt.Sprintf("table-%d", width)
			if group != "" {
				name += "-by-" + group
			}
			t.Run(name, func(t *testing.T) {
				r := widthResult()
				r.Width, r.GroupBy = width, group
				out := render(t, "table", r)
				golden(t, name+".table", out)
				lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
				for i, l := range lines {
					if w := twwidth.Width(l); w > width {
						t.Errorf("line %d is %d wide, more than %d: %q", i+1, w, width, l)
					}
				}
				if want := "6 findings: 1 critical, 2 high, 2 medium, 1 low; 4 identities; 3 secrets read by them"; lines[0] != want && lines[0] != "6 findings: 1 critical, 2 high, 2 medium, 1 low; 4 identities read 3 secrets" {
					t.Errorf("summary line %q, want %q", lines[0], want)
				}
				if got, want := severityColumn(lines), "CRITICAL HIGH HIGH MEDIUM MEDIUM LOW"; group == "" && got != want {
					t.Errorf("severities in the order %s, want %s", got, want)
				}
				rows := 0
				for _, l := range lines[3:] {
					if l != "" && !strings.HasPrefix(l, "identity ") {
						rows++
					}
				}
				if want := 2*len(r.Findings) + 1; rows != want { // two lines each, the hint
					t.Errorf("%d row lines, want %d", rows, want)
				}
			})
		}
	}
}

// severityColumn is the severities of the rows, in order.
func severityColumn(lines []string) string {
	var sevs []string
	for _, l := range lines {
		w, _, _ := strings.Cut(l, " ")
		if _, err := analyze.ParseSeverity(w); err == nil && w == strings.ToUpper(w) {
			sevs = append(sevs, w)
		}
	}
	return strings.Join(sevs, " ")
}

// TestTableSortTime: --sort time keeps the findings' time order.
func TestTableSortTime(t *testing.T) {
	r := widthResult()
	r.Sort = SortTime
	lines := strings.Split(string(render(t, "table", r)), "\n")
	if got, want := severityColumn(lines), "LOW MEDIUM MEDIUM HIGH CRITICAL HIGH"; got != want {
		t.Errorf("severities in the order %s, want the time order %s", got, want)
	}
}

// TestTableGroupIdentity: --group-by identity puts each identity's findings under one heading,
// the identity with the worst finding first.
func TestTableGroupIdentity(t *testing.T) {
	r := widthResult()
	r.GroupBy = GroupIdentity
	var heads []string
	for _, l := range strings.Split(string(render(t, "table", r)), "\n") {
		if strings.HasPrefix(l, "identity ") {
			heads = append(heads, l)
		}
	}
	want := []string{
		"identity k8s-eu1-risk-fraud-model (0b7a-entity): 1 finding (1 critical)",
		"identity approle (f3d4a1c2-0000-4000-8000-4b7b00000001): 2 findings (1 high, 1 medium)",
	}
	if len(heads) != 4 || heads[0] != want[0] || heads[1] != want[1] {
		t.Errorf("group headings:\n%s", strings.Join(heads, "\n"))
	}
}

// TestFitList: lists are cut by display width, with "+N more" for what is left out.
func TestFitList(t *testing.T) {
	tests := []struct {
		items []string
		w     int
		want  string
	}{
		{[]string{"a", "b", "c"}, 20, "a, b, c"},
		{[]string{"kv/aaaa", "kv/bbbb", "kv/cccc"}, 20, "kv/aaaa +2 more"},
		{[]string{"kv/" + strings.Repeat("x", 40), "kv/b"}, 16, "kv/xxxxxx… +1 more"[:0] + "kv/xxxx… +1 more"},
		{[]string{"請求/データベース"}, 10, "請求/データ…"[:0] + "請求/デー…"},
		{[]string{"a\x1b[2Jb"}, 20, `a\x1b[2Jb`},
		{nil, 10, ""},
	}
	for _, tt := range tests {
		got := fitList(tt.items, tt.w)
		if got != tt.want || twwidth.Width(got) > tt.w {
			t.Errorf("fitList(%q, %d) = %q (%d wide), want %q", tt.items, tt.w, got, twwidth.Width(got), tt.want)
		}
	}
}

// TestNextStepsFitNarrowTable: every rule's next step, for each source, fits the NEXT STEP
// column at 80 columns (two lines of 20) without being cut.
func TestNextStepsFitNarrowTable(t *testing.T) {
	for _, r := range analyze.Rules() {
		for _, src := range []string{"vault", "cloudtrail", "kubernetes"} {
			s := analyze.NextStep(analyze.Finding{Rule: r.ID, Source: src, Credential: "AKIAEXAMPLE"})
			if l := wrap2(s, 20); strings.Contains(l[0]+l[1], "…") {
				t.Errorf("%s (%s): %q is cut at 20 columns: %q", r.ID, src, s, l)
			}
		}
	}
}

// TestTableTinyWidth: below the narrowest layout the lines are cut to the width, colour or not.
func TestTableTinyWidth(t *testing.T) {
	for _, width := range []int{1, 20, 39, 40, 60} {
		for _, color := range []bool{false, true} {
			r := widthResult()
			r.Width, r.Color = width, color
			for i, l := range strings.Split(strings.TrimSuffix(string(render(t, "table", r)), "\n"), "\n") {
				if w := twwidth.Width(l); w > width {
					t.Errorf("width %d (colour %v): line %d is %d wide: %q", width, color, i+1, w, l)
				}
			}
		}
	}
}
