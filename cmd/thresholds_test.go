package cmd

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

const day = 24 * time.Hour

// TestThresholds decodes thresholds.<rule> for every rule that has thresholds: the keys set
// change, the others keep DefaultConfig's values, and durations take days.
func TestThresholds(t *testing.T) {
	tests := []struct {
		rule, yaml string
		want       func(c *analyze.Config) // applied to DefaultConfig
	}{
		{"bulk-read", "{window: 10m, count: 400, distinct: 150}", func(c *analyze.Config) {
			c.BulkRead = analyze.BurstConfig{Window: 10 * time.Minute, MinCount: 400, MinDistinct: 150}
		}},
		{"denied-burst", "{count: 20}", func(c *analyze.Config) { c.DeniedBurst.MinCount = 20 }},
		{"dual-source-ip", "{window: 1d12h}", func(c *analyze.Config) { c.DualSourceIP.Window = day + 12*time.Hour }},
		{"cross-store-access", "{window: 2h}", func(c *analyze.Config) { c.CrossStore.Window = 2 * time.Hour }},
		{"many-source-ips", "{count: 6, window: 2h}", func(c *analyze.Config) { c.ManySourceIPs = analyze.CountConfig{Window: 2 * time.Hour, Min: 6} }},
		{"enumeration", "{count: 8}", func(c *analyze.Config) { c.Enumeration.Min = 8 }},
		{"audit-gap", "{floor: 90s, factor: 2.5, context: 7d}", func(c *analyze.Config) {
			c.AuditGap = analyze.AuditGapConfig{Floor: 90 * time.Second, Factor: 2.5, Context: 7 * day}
		}},
		{"new-resource", "{min_days: 7}", func(c *analyze.Config) { c.NewResource.MinDays = 7 }},
		{"dormant-identity", "{days: 90}", func(c *analyze.Config) { c.Dormant.Days = 90 }},
		{"new-source-ip", "{min_events: 100, max_known: 5}", func(c *analyze.Config) { c.NewSourceIP.MinEvents, c.NewSourceIP.MaxKnown = 100, 5 }},
		{"rotation-without-read", "{window: 7d}", func(c *analyze.Config) { c.Rotation.Grace = 7 * day }},
		// 0, null and an empty block keep the default, as the example configuration says
		{"bulk-read", "{count: 0, distinct: }", func(*analyze.Config) {}},
		{"audit-gap", "", func(*analyze.Config) {}},
		{"denied-burst", `{window: "0s", count: "12"}`, func(c *analyze.Config) { c.DeniedBurst.MinCount = 12 }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.rule] = true
		t.Run(tt.rule+" "+tt.yaml, func(t *testing.T) {
			lc, err := loadConfig(writeConfig(t, "thresholds:\n  "+tt.rule+": "+tt.yaml+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			want := analyze.DefaultConfig()
			tt.want(&want)
			got := lc.Analyze
			for _, r := range analyze.Rules() {
				if g, w := got.Thresholds(r.ID), want.Thresholds(r.ID); !reflect.DeepEqual(g, w) {
					t.Errorf("thresholds.%s = %+v, want %+v", r.ID, reflect.ValueOf(g).Elem(), reflect.ValueOf(w).Elem())
				}
			}
		})
	}
	def := analyze.DefaultConfig()
	for _, r := range analyze.Rules() {
		if def.Thresholds(r.ID) != nil && !covered[r.ID] {
			t.Errorf("rule %s has thresholds but no case here", r.ID)
		}
	}
}

// TestThresholdErrors: every mistake is a usage error that names the rule and the key.
func TestThresholdErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key lists the rule's keys", "thresholds:\n  bulk-read:\n    window: 5m\n    cnt: 3\n",
			[]string{"thresholds.bulk-read", `[4:5] unknown field "cnt"`, "bulk-read takes window, count, distinct"}},
		{"a key another rule has", "thresholds:\n  dual-source-ip: {count: 3}\n", []string{"thresholds.dual-source-ip", `unknown field "count"`}},
		{"a field that is not a threshold", "thresholds:\n  rotation-without-read: {deployments: {}}\n", []string{`unknown field "deployments"`}},
		{"unknown rule", "thresholds:\n  bulk-reads: {count: 3}\n", []string{"thresholds.bulk-reads", `unknown rule id "bulk-reads"`}},
		{"rule without thresholds", "thresholds:\n  decoy-access: {count: 3}\n", []string{"rule decoy-access has no thresholds"}},
		{"negative count", "thresholds:\n  bulk-read: {count: -3}\n", []string{"thresholds.bulk-read: count:", "-3 must be positive", "default, 30"}},
		{"negative factor", "thresholds:\n  audit-gap: {factor: -1}\n", []string{"thresholds.audit-gap: factor:", "must be positive"}},
		{"negative duration", "thresholds:\n  audit-gap: {floor: -5m}\n", []string{"thresholds.audit-gap: floor:", `"-5m" is not a duration`}},
		{"negative days", "thresholds:\n  dormant-identity: {days: -1}\n", []string{"thresholds.dormant-identity: days:", "must be positive"}},
		{"fraction for a count", "thresholds:\n  enumeration: {count: 2.5}\n", []string{"thresholds.enumeration: count:", `want a whole number, got "2.5"`}},
		{"bad duration", "thresholds:\n  bulk-read: {window: 5 minutes}\n", []string{"thresholds.bulk-read: window:", `"5 minutes" is not a duration`, "7d"}},
		{"list for a duration", "thresholds:\n  bulk-read: {window: [5m]}\n", []string{"thresholds.bulk-read: window:", "want a duration"}},
		{"not a mapping", "thresholds:\n  bulk-read: 30\n", []string{"thresholds.bulk-read", "want a mapping of window, count, distinct"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			s, _, _ := TestStreams()
			if code := exitCode(s, err); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
		})
	}
}

// TestParseDuration: the one duration parser of flags and configuration.
func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"24h", day, false},
		{"7d", 7 * day, false},
		{" 90d ", 90 * day, false},
		{"1d12h", day + 12*time.Hour, false},
		{"0", 0, false},
		{"-1d", 0, true},
		{"-5m", 0, true},
		{"1dx", 0, true},
		{"1.5d", 0, true},
		{"d", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), tt.in) {
			t.Errorf("parseDuration(%q): error %q does not quote the input", tt.in, err)
		}
	}
	for _, d := range []time.Duration{90 * time.Second, 5 * time.Minute, time.Hour, day, 7 * day, day + 12*time.Hour} {
		if got, err := parseDuration(formatDuration(d)); err != nil || got != d {
			t.Errorf("formatDuration(%v) = %q does not parse back: %v, %v", d, formatDuration(d), got, err)
		}
	}
}
