package cmd

import (
	"os"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// TestTuningText: rules explain quotes the keys and defaults from DefaultConfig.
func TestTuningText(t *testing.T) {
	if got := tuningText("bulk-read"); !strings.Contains(got, "(defaults: window 5m, count 30, distinct 10)") {
		t.Errorf("bulk-read: %q", got)
	}
	if got := tuningText("audit-gap"); !strings.Contains(got, "floor 1m, factor 10, context 24h") {
		t.Errorf("audit-gap: %q", got)
	}
	if got := tuningText("decoy-access"); !strings.HasPrefix(got, "This rule has no thresholds") {
		t.Errorf("decoy-access: %q", got)
	}
}

// TestRulesDoc: docs/rules.md is what `vaultsentry rules --format markdown` writes, so the page
// that alerts (runbook_url) and SARIF link to cannot drift from the rules. Regenerate it with
// go run . rules --format markdown > docs/rules.md
func TestRulesDoc(t *testing.T) {
	var b strings.Builder
	if err := rulesMarkdown(&b, analyze.Rules()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Errorf("docs/rules.md is stale: run go run . rules --format markdown > docs/rules.md")
	}
	for _, r := range analyze.Rules() {
		if !strings.Contains(b.String(), `<a id="`+r.ID+`"></a>`) {
			t.Errorf("no anchor for %s", r.ID)
		}
	}
}
