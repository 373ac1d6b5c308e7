package report

import "testing"

// TestGolden renders a fixed run in every format and compares it byte for byte with
// testdata/golden. Times are fixed, findings and statistics in a fixed order.
func TestGolden(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			golden(t, "report."+format, render(t, format, goldenResult()))
		})
	}
	t.Run("no findings", func(t *testing.T) {
		r := goldenResult()
		r.Findings = nil
		for _, format := range Formats() {
			golden(t, "empty."+format, render(t, format, r))
		}
	})
	t.Run("hostile table", func(t *testing.T) {
		// What attacker strings look like once escaped: review this file when it changes.
		r, _ := hostileResult(t)
		golden(t, "hostile.table", render(t, "table", r))
	})
	t.Run("time zone", func(t *testing.T) {
		r := goldenResult()
		loc, err := loadZone("America/New_York")
		if err != nil {
			t.Skip(err)
		}
		r.Location = loc
		golden(t, "report-new-york.table", render(t, "table", r))
	})
}
