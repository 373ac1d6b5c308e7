package analyze

import (
	"strings"
	"testing"
)

// TestNextStep: every registered rule has its own short next step (not the fallback), short
// enough for two lines of the table at 80 columns, for each source it reads.
func TestNextStep(t *testing.T) {
	for _, r := range Rules() {
		for _, src := range []string{"vault", "cloudtrail", "kubernetes"} {
			f := Finding{Rule: r.ID, Source: src, Credential: "AKIAEXAMPLE"}
			s := NextStep(f)
			if strings.HasPrefix(s, "see vaultsentry rules explain") {
				t.Errorf("%s: no next step of its own", r.ID)
			}
			if len(s) > 50 {
				t.Errorf("%s (%s): next step is %d characters, want at most 50: %q", r.ID, src, len(s), s)
			}
		}
	}
	if got := NextStep(Finding{Rule: "no-such-rule"}); got != "see vaultsentry rules explain no-such-rule" {
		t.Errorf("unknown rule: %q", got)
	}
}
