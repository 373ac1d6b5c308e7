package cmd

import (
	"strings"
	"testing"
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
