package analyze

import (
	"testing"
	"time"
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
