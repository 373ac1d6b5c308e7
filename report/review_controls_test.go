package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/review"
)

// TestReviewControlsRender: the controls in every format, with an attacker-named identity: the
// JSON has them (and an empty array without --framework), controls.csv has Prowler's column
// names and no cell that starts a formula or holds a control character, the Markdown escapes.
func TestReviewControlsRender(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	evil := "=HYPERLINK(\"http://e.test\")|\x1b[31m<script>\nx"
	evs := []event.Event{{Time: t0, Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Outcome: event.OutcomeOK,
		Principal: evil, DisplayName: evil, Class: event.ClassPerson, Resource: "kv/prod/db", RemoteAddr: netip.MustParseAddr("203.0.113.9")}}
	rv := review.Build(evs, t0, t0.Add(time.Hour), review.DefaultConfig(), nil, nil)
	fws, _ := review.SelectFrameworks([]string{"pci4"}, nil)
	rr := &ReviewResult{Review: rv, Version: "dev", Controls: review.Controls(rv, review.Facts{}, fws)}

	var js bytes.Buffer
	if err := RenderReview(&js, "json", rr); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Controls []map[string]any `json:"controls"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Controls) != 17 || doc.Controls[0]["framework"] != "pci4" || doc.Controls[0]["id"] != "3.6.1" || doc.Controls[0]["status"] != "exception" {
		t.Errorf("json controls: %d, first %v", len(doc.Controls), doc.Controls[0])
	}
	if bytes.Contains(js.Bytes(), []byte("\x1b")) {
		t.Error("json holds a raw escape")
	}

	var c bytes.Buffer
	if err := ReviewCSV(&c, "controls", rr); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&c).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "FRAMEWORK,NAME,ASSESSMENTDATE,REQUIREMENTS_ID,REQUIREMENTS_DESCRIPTION,STATUS,STATUSEXTENDED,RESOURCEID,CHECKID,REMEDIATION" {
		t.Errorf("header %s", got)
	}
	if len(rows) != 18 || rows[1][0] != "pci4" || rows[1][3] != "3.6.1" || rows[1][5] != "exception" || !strings.Contains(rows[1][7], "kv/prod/db") {
		t.Errorf("csv rows: %d, first %q", len(rows), rows[1])
	}
	for _, r := range rows {
		for _, cell := range r {
			if strings.ContainsAny(cell, "\x1b\n\r") || strings.HasPrefix(cell, "=") || strings.HasPrefix(cell, "+") || strings.HasPrefix(cell, "@") {
				t.Errorf("unsafe cell %q", cell)
			}
		}
	}

	var md bytes.Buffer
	if err := RenderReview(&md, "markdown", rr); err != nil {
		t.Fatal(err)
	}
	m := md.String()
	if !strings.Contains(m, "## Controls\n") || !strings.Contains(m, "| pci4 | 3\\.6\\.1 |") && !strings.Contains(m, "| pci4 | 3.6.1 |") {
		t.Errorf("markdown has no controls table:\n%s", m)
	}
	if strings.Contains(m, "\x1b") || strings.Contains(m, "<script>") {
		t.Error("markdown holds the attacker's markup")
	}
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "| pci4 |") && strings.Count(l, "|")-strings.Count(l, "\\|") != 7 {
			t.Errorf("a cell breaks the table: %q", l)
		}
	}

	// Without --framework: an empty array, no section, the CSV header only.
	rr.Controls = nil
	js.Reset()
	RenderReview(&js, "json", rr)
	if !bytes.Contains(js.Bytes(), []byte(`"controls": []`)) {
		t.Error(`no "controls": [] without --framework`)
	}
	md.Reset()
	RenderReview(&md, "markdown", rr)
	if strings.Contains(md.String(), "## Controls") {
		t.Error("a Controls section without --framework")
	}
	c.Reset()
	ReviewCSV(&c, "controls", rr)
	if n := strings.Count(c.String(), "\n"); n != 1 {
		t.Errorf("controls.csv without --framework has %d lines", n)
	}
}
