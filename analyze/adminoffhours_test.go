package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone tests must not depend on the machine's zoneinfo

	"github.com/vaultsentry/vaultsentry/event"
)

// at moves an event to an absolute time.
func atTime(t time.Time) func(*event.Event) { return func(e *event.Event) { e.Time = t } }

func noToken(e *event.Event) {
	e.Flags |= event.FlagUnauthenticated
	e.Principal, e.DisplayName, e.Credential, e.Policies = "", "", "", nil
}

func withRootToken(e *event.Event) { e.Flags |= event.FlagRootToken; e.Policies = []string{"root"} }

func asCloudTrail(principal, session string) func(*event.Event) {
	return func(e *event.Event) {
		e.Kind, e.Principal, e.DisplayName, e.Credential = event.KindCloudTrail, principal, session, "ASIAEXAMPLE"
		e.Policies, e.Resource = nil, e.Path
	}
}

// dublinWindows is the practice configuration: Mon-Fri 07:00-20:00 and a Wednesday change
// window 23:00-01:00, Europe/Dublin.
func dublinWindows(t *testing.T) Maintenance {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Dublin")
	if err != nil {
		t.Fatal(err)
	}
	var wed [7]bool
	wed[time.Wednesday] = true
	return Maintenance{Location: loc, Windows: []Window{
		{Days: weekdays(), From: 7 * 60, To: 20 * 60},
		{Days: wed, From: 23 * 60, To: 60},
	}}
}

func TestAdminOffHours(t *testing.T) {
	wed3 := time.Date(2026, 9, 23, 3, 0, 0, 0, time.UTC)   // Wednesday 03:00 UTC
	sat10 := time.Date(2026, 9, 26, 10, 0, 0, 0, time.UTC) // Saturday
	admin := withPolicies("default", "vault-admin")
	dublin := dublinWindows(t)
	tests := []struct {
		name   string
		cfg    func(*Config)
		events []event.Event
		want   int
	}{
		{"admin policy at 03:00", nil, seqOf(vev(0, "ops", event.OpAdmin, "sys/policies/acl/app", admin, atTime(wed3))), 1},
		{"same admin at 10:00 is inside the window", nil, seqOf(vev(0, "ops", event.OpAdmin, "sys/policies/acl/app", admin)), 0},
		{"a failed root sign-in at 03:00 is not admin activity", nil, seqOf(aev(0, "admin", "", "ConsoleLogin", event.OpLogin, "", atTime(wed3), denied,
			func(e *event.Event) { e.Principal, e.DisplayName = "arn:aws:iam::"+testAccount+":root", "root" })), 0},
		{"a successful root sign-in at 03:00 is", nil, seqOf(aev(0, "admin", "", "ConsoleLogin", event.OpLogin, "", atTime(wed3),
			func(e *event.Event) { e.Principal, e.DisplayName = "arn:aws:iam::"+testAccount+":root", "root" })), 1},
		{"non-admin at 03:00", nil, seqOf(vev(0, "app", event.OpRead, "kv/data/app/db", withPolicies("default", "app"), atTime(wed3))), 0},
		{"policy root-readonly is not root", func(c *Config) { c.AdminPolicies = []string{"root"} },
			seqOf(vev(0, "ro", event.OpRead, "sys/mounts", withPolicies("root-readonly"), atTime(wed3))), 0},
		{"root token at 03:00", nil, seqOf(vev(0, "root", event.OpAdmin, "sys/mounts/x", withRootToken, atTime(wed3))), 1},
		{"admin on Saturday morning", nil, seqOf(vev(0, "ops", event.OpList, "sys/policies/acl", admin, atTime(sat10))), 1},
		{"admin login at night counts", nil,
			seqOf(vev(0, "ops", event.OpLogin, "auth/oidc/oidc/callback", admin, atTime(wed3))), 1},
		{"renewals of an admin token at night do not count", nil, seqOf(
			vev(0, "agent", event.OpOther, "auth/token/renew-self", admin, atTime(wed3)),
			vev(0, "agent", event.OpOther, "sys/leases/renew", admin, atTime(wed3.Add(30*time.Minute))),
			vev(0, "agent", event.OpOther, "ns1/auth/token/renew-self", admin, atTime(wed3.Add(time.Hour)),
				func(e *event.Event) { e.Namespace = "ns1/" }),
		), 0},
		{"noToken request at night", nil,
			seqOf(vev(0, "x", event.OpOther, "auth/oidc/oidc/auth_url", noToken, atTime(wed3))), 0},
		{"configured policy and zone: 21:45 Dublin is off-hours though inside the UTC default",
			func(c *Config) { c.AdminPolicies, c.Maintenance = []string{"vault-operators"}, dublin },
			seqOf(vev(0, "liam", event.OpAdmin, "sys/audit/siem", withPolicies("default", "vault-operators"),
				atTime(time.Date(2026, 9, 23, 20, 45, 0, 0, time.UTC)))), 1},
		{"change window crossing midnight: Wed 23:14 and Thu 00:39 Dublin are inside",
			func(c *Config) { c.AdminPolicies, c.Maintenance = []string{"vault-operators"}, dublin },
			seqOf(vev(0, "maria", event.OpRead, "sys/storage/raft/configuration", withPolicies("vault-operators"),
				atTime(time.Date(2026, 9, 23, 22, 14, 0, 0, time.UTC))),
				vev(0, "maria", event.OpRead, "sys/storage/raft/snapshot", withPolicies("vault-operators"),
					atTime(time.Date(2026, 9, 23, 23, 39, 0, 0, time.UTC)))), 0},
		{"change window ends: Thu 01:30 Dublin is outside",
			func(c *Config) { c.AdminPolicies, c.Maintenance = []string{"vault-operators"}, dublin },
			seqOf(vev(0, "maria", event.OpRead, "sys/storage/raft/snapshot", withPolicies("vault-operators"),
				atTime(time.Date(2026, 9, 24, 0, 30, 0, 0, time.UTC)))), 1},
		{"AWS admin role on Saturday", nil,
			seqOf(vev(0, "x", event.OpRead, "prod/db", atTime(sat10),
				asCloudTrail("arn:aws:iam::111122223333:role/PlatformAdmin", "ciaran"))), 1},
		{"AWS workload role on Saturday", nil,
			seqOf(vev(0, "x", event.OpRead, "prod/db", atTime(sat10),
				asCloudTrail("arn:aws:iam::111122223333:role/ledger-api", "i-0abc"))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			got := runDetector(t, NewAdminOffHours, cfg, slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "admin-off-hours" || f.Severity != High || f.Message == "" {
					t.Errorf("finding %+v: want rule admin-off-hours, severity high, a message", f)
				}
			}
		})
	}
}

func TestAdminOffHoursSessions(t *testing.T) {
	night := time.Date(2026, 9, 23, 1, 0, 0, 0, time.UTC)
	admin := withPolicies("admin")
	var in []event.Event
	for i := range 5 { // one session: five requests in ten minutes
		in = append(in, vev(0, "ops", event.OpAdmin, "sys/mounts/m"+string(rune('a'+i)), admin, atTime(night.Add(time.Duration(i)*2*time.Minute))))
	}
	got := runDetector(t, NewAdminOffHours, DefaultConfig(), slices.Clone(in))
	if len(got) != 1 || got[0].Count != 5 || len(got[0].Resources) != 5 {
		t.Fatalf("one session: got %d findings %+v, want one with count 5", len(got), got)
	}
	if !strings.Contains(got[0].Message, "Europe") && !strings.Contains(got[0].Message, "UTC") {
		t.Errorf("message %q should name the zone", got[0].Message)
	}
	// A second session three hours later is a second finding; work inside a window in between
	// ends the first session as well.
	later := append(slices.Clone(in), vev(0, "ops", event.OpAdmin, "sys/mounts/z", admin, atTime(night.Add(3*time.Hour))))
	if got := runDetector(t, NewAdminOffHours, DefaultConfig(), later); len(got) != 2 {
		t.Fatalf("two sessions: got %d findings, want 2", len(got))
	}
	split := append(slices.Clone(in[:2]),
		vev(0, "ops", event.OpAdmin, "sys/mounts/day", admin, atTime(time.Date(2026, 9, 23, 6, 0, 0, 0, time.UTC))),
		vev(0, "ops", event.OpAdmin, "sys/mounts/eve", admin, atTime(time.Date(2026, 9, 23, 22, 5, 0, 0, time.UTC))))
	if got := runDetector(t, NewAdminOffHours, DefaultConfig(), split); len(got) != 2 {
		t.Fatalf("sessions split by in-window work: got %d findings, want 2", len(got))
	}
}

// TestAdminOffHoursDST checks that windows keep their wall-clock hours across daylight-saving
// changes: 19:30 UTC is 20:30 in Dublin in summer time (outside 07:00-20:00) and 19:30 after
// the clocks go back on Sunday 25 October 2026 (inside); 06:30 UTC is 06:30 before the clocks go
// forward on 29 March 2026 (outside) and 07:30 after (inside).
func TestAdminOffHoursDST(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Maintenance = dublinWindows(t)
	cases := []struct {
		at   time.Time
		want int
	}{
		{time.Date(2026, 10, 23, 19, 30, 0, 0, time.UTC), 1}, // Friday, IST (UTC+1): 20:30
		{time.Date(2026, 10, 26, 19, 30, 0, 0, time.UTC), 0}, // Monday, GMT: 19:30
		{time.Date(2026, 3, 27, 6, 30, 0, 0, time.UTC), 1},   // Friday, GMT: 06:30
		{time.Date(2026, 3, 30, 6, 30, 0, 0, time.UTC), 0},   // Monday, IST: 07:30
	}
	for _, c := range cases {
		ev := vev(0, "ops", event.OpAdmin, "sys/policies/acl/x", withPolicies("admin"), atTime(c.at))
		if got := runDetector(t, NewAdminOffHours, cfg, seqOf(ev)); len(got) != c.want {
			t.Errorf("%s (%s Dublin): got %d findings, want %d", c.at.Format(time.RFC3339),
				c.at.In(cfg.Maintenance.Location).Format("Mon 15:04 MST"), len(got), c.want)
		}
	}
	// The same in a zone whose change falls on another date: New York leaves DST on 1 November.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Maintenance = Maintenance{Location: ny, Windows: []Window{{Days: weekdays(), From: 9 * 60, To: 17 * 60}}}
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{time.Date(2026, 10, 30, 13, 30, 0, 0, time.UTC), 0}, // Friday 09:30 EDT
		{time.Date(2026, 11, 2, 13, 30, 0, 0, time.UTC), 1},  // Monday 08:30 EST
	} {
		ev := vev(0, "ops", event.OpAdmin, "sys/policies/acl/x", withPolicies("admin"), atTime(c.at))
		if got := runDetector(t, NewAdminOffHours, cfg, seqOf(ev)); len(got) != c.want {
			t.Errorf("%s New York: got %d findings, want %d", c.at.Format(time.RFC3339), len(got), c.want)
		}
	}
}

func TestDescribeWindows(t *testing.T) {
	var wed [7]bool
	wed[time.Wednesday] = true
	got := describeWindows(Maintenance{Windows: []Window{{Days: weekdays(), From: 420, To: 1200}, {Days: wed, From: 1380, To: 60}}})
	if want := "Mon-Fri 07:00-20:00, Wed 23:00-01:00"; got != want {
		t.Errorf("describeWindows = %q, want %q", got, want)
	}
}

func seqOf(e ...event.Event) []event.Event { return e }
