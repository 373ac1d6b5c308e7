package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestOverrideHelpers(t *testing.T) {
	c := DefaultConfig()
	c.Overrides = []Override{
		{Identity: "backup-*", Rule: "bulk-read", Count: 500, Distinct: 200},
		{Identity: "k8s-eu1-ci-*", Rule: "enumeration", Window: time.Minute, Distinct: 40},
		{Identity: "vpn-roamer", Rule: "dual-source-ip", Window: 5 * time.Minute},
	}
	if got := c.BurstFor("bulk-read", c.BulkRead, "entity-1", "backup-nightly"); got.MinCount != 500 || got.MinDistinct != 200 || got.Window != c.BulkRead.Window {
		t.Errorf("BurstFor matching display name = %+v", got)
	}
	if got := c.BurstFor("bulk-read", c.BulkRead, "entity-2", "k8s-fraud"); got != c.BulkRead {
		t.Errorf("BurstFor without a matching override = %+v, want the defaults", got)
	}
	if got := c.BurstFor("denied-burst", c.DeniedBurst, "entity-1", "backup-nightly"); got != c.DeniedBurst {
		t.Errorf("an override of another rule applied: %+v", got)
	}
	if got := c.CountFor("enumeration", c.Enumeration, "k8s-eu1-ci-runner", ""); got.Min != 40 || got.Window != time.Minute {
		t.Errorf("CountFor = %+v", got)
	}
	if got := c.WindowFor("dual-source-ip", time.Hour, "vpn-roamer", ""); got != 5*time.Minute {
		t.Errorf("WindowFor = %s", got)
	}
	if got := c.WindowFor("dual-source-ip", time.Hour, "vpn-roamer-2", ""); got != time.Hour {
		t.Errorf("WindowFor near miss = %s, want the default", got)
	}
}

// TestDualSourceIPOverride: a per-identity window (a VPN user whose laptop is sometimes outside)
// shortens the window for that identity only.
func TestDualSourceIPOverride(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Overrides = []Override{{Identity: "roamer", Rule: "dual-source-ip", Window: 5 * time.Minute}}
	evs := func(who string) []event.Event {
		return []event.Event{
			vev(0, who, event.OpRead, "kv/data/a", from("10.8.1.1")),
			vev(20*time.Minute, who, event.OpRead, "kv/data/a", from("198.51.100.7")),
		}
	}
	if got := runDetector(t, NewDualSourceIP, cfg, evs("roamer")); len(got) != 0 {
		t.Errorf("20 minutes apart is outside roamer's 5-minute window: %d findings", len(got))
	}
	if got := runDetector(t, NewDualSourceIP, cfg, evs("other")); len(got) != 1 {
		t.Errorf("another identity keeps the 1-hour window: %d findings", len(got))
	}
}
