package analyze

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// AdminOffHours reports a privileged identity acting outside the maintenance windows.
//
// Why: administrators work in business hours and in announced change windows; a stolen admin
// token or session is used whenever the attacker has it. Privileged work at 03:00 is worth a
// look even when every single request is allowed.
//
// Privileged: on Vault, a token whose effective policies (token and identity policies) match one
// of admin_policies (globs; default "root" and "*admin*"), or the root token itself; on AWS, a
// principal matching admin_arns. The windows (maintenance_windows) are weekday ranges in a named
// time zone, each log time converted into that zone, so a window keeps its wall-clock hours
// across daylight-saving changes; a window whose end is not after its start crosses midnight.
//
// What counts: requests the identity made itself, logins included (an administrator signing in
// at night is the start of the work), but not failed logins (someone trying the credential). Not counted: unauthenticated requests (no identity),
// requests an AWS service made on a caller's behalf, and token or lease renewals
// (auth/token/renew*, sys/leases/renew, sys/renew), which agents holding a long-lived token make
// around the clock without anybody working.
//
// Thresholds: one request is enough. Requests of one identity with less than an hour between
// them, and no request inside a window between them, are one session and one finding.
//
// Known false positives: automation that runs with an administrator policy (Terraform, backup
// jobs) on a schedule; give it its own policy or leave it out of admin_policies. Change windows
// that are not in the configuration.
type AdminOffHours struct {
	env     Env
	rule    Rule
	open    map[string]*offSession
	due     window.Deadlines[string] // when each open session has been quiet for offHoursSessionGap
	found   []Finding
	zone    string
	windows string
}

// offHoursSessionGap: off-hours requests of one identity further apart than this are separate
// sessions.
const offHoursSessionGap = time.Hour

type offSession struct {
	f     Finding
	paths set
	root  bool
	pols  set
}

// NewAdminOffHours builds the admin-off-hours detector.
func NewAdminOffHours(env Env) Detector {
	d := &AdminOffHours{env: env, open: map[string]*offSession{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "admin-off-hours", Name: "Privileged identity active outside maintenance windows", Severity: High,
		Summary: "a token with an administrator policy (or an admin AWS principal) is used outside the configured maintenance windows",
		Help: "Administrators work in business hours and announced change windows; a stolen admin token is used whenever the attacker " +
			"holds it. Privileged means a Vault token whose policies match admin_policies (default root and *admin*), the root token, " +
			"or an AWS principal matching admin_arns. Windows come from maintenance_windows (weekday ranges in a named time zone, " +
			"midnight-crossing allowed; default Mon-Fri 06:00-22:00 UTC). Token and lease renewals and unauthenticated requests do not count. " +
			"Known false positives: scheduled automation holding an admin policy; change windows missing from the configuration.",
		Guide: "Ask the administrator whether the session was theirs (time, source address, client). If not, revoke the token or " +
			"session at once, then review every change it made: policies, auth methods, audit devices, tokens it created.",
		MITRE: []string{"T1078", "T1078.004"},
	}}
	loc := env.Config.Maintenance.Location
	if loc == nil {
		loc = time.UTC
	}
	d.zone = loc.String()
	d.windows = describeWindows(env.Config.Maintenance)
	return d
}

// Rule describes admin-off-hours.
func (d *AdminOffHours) Rule() Rule { return d.rule }

// Observe adds a privileged request outside the windows to its identity's session.
func (d *AdminOffHours) Observe(ev *event.Event) {
	d.due.Due(ev.Time, func(k string) { d.close(k, d.open[k]) })
	if !d.privileged(ev) || !countsAsActivity(ev) {
		return
	}
	key := ev.Actor() + "\x00" + ev.DisplayName
	s := d.open[key]
	if d.env.Config.Maintenance.Contains(ev.Time) {
		// Work inside a window ends any off-hours session of this identity.
		if s != nil {
			d.close(key, s)
		}
		return
	}
	if s != nil && ev.Time.Sub(s.f.LastSeen) > offHoursSessionGap {
		d.close(key, s)
		s = nil
	}
	if s == nil {
		s = &offSession{f: newFinding(d.rule, ev)}
		d.open[key] = s
	}
	s.f.Count++
	s.f.LastSeen = ev.Time
	s.f.addEvidence(evidenceOf(ev))
	s.f.SourceIPs = appendAddr(s.f.SourceIPs, ev.RemoteAddr)
	d.due.Set(key, ev.Time.Add(offHoursSessionGap))
	if p := ev.Path; p != "" {
		s.paths.add(p)
	}
	if ev.Has(event.FlagRootToken) {
		s.root = true
	}
	for _, p := range ev.Policies {
		if d.env.Config.IsAdminPolicy([]string{p}) {
			s.pols.add(p)
		}
	}
}

// privileged reports whether ev was made by an administrator.
func (d *AdminOffHours) privileged(ev *event.Event) bool {
	return ev.Actor() != "" && actorIsAdmin(d.env.Config, ev)
}

// countsAsActivity reports whether ev is work done by its identity, as opposed to requests
// without an identity or the renewals that keep a token alive.
func countsAsActivity(ev *event.Event) bool {
	if ev.Has(event.FlagUnauthenticated) || ev.Has(event.FlagServiceActor) || ev.Has(event.FlagMaintenance) || ev.Actor() == "" {
		return false
	}
	if ev.Op == event.OpLogin && ev.Outcome != event.OutcomeOK {
		return false // a failed sign-in is somebody trying the credential, not the administrator at work
	}
	if ev.Kind != event.KindVault {
		return true
	}
	p := pathInNamespace(ev)
	return !strings.HasPrefix(p, "auth/token/renew") && !strings.HasPrefix(p, "sys/leases/renew") &&
		!strings.HasPrefix(p, "sys/renew")
}

func (d *AdminOffHours) close(key string, s *offSession) {
	delete(d.open, key)
	d.due.Remove(key)
	f := s.f
	f.Resources = s.paths.sorted(MaxResources)
	why := "policies " + strings.Join(s.pols.sorted(0), ", ")
	switch {
	case s.root:
		why = "root token"
	case f.Source == event.KindCloudTrail.String():
		why = "administrator principal"
	}
	loc := d.env.Config.Maintenance.Location
	if loc == nil {
		loc = time.UTC
	}
	first, last := f.FirstSeen.In(loc), f.LastSeen.In(loc)
	span := first.Format("Mon 2006-01-02 15:04")
	if !sameMinute(first, last) {
		if first.YearDay() == last.YearDay() && first.Year() == last.Year() {
			span += "-" + last.Format("15:04")
		} else {
			span += " to " + last.Format("Mon 2006-01-02 15:04")
		}
	}
	f.Message = fmt.Sprintf("%s %s %s, outside the maintenance windows (%s), by a privileged identity (%s); paths: %s",
		Count(f.Count, "request", "requests"), span, d.zone, d.windows, why, summarizeList(f.Resources, 8))
	if f.Source == event.KindCloudTrail.String() {
		f.Remediation = revokeHint(f)
	} else {
		f.Remediation = "confirm with the administrator; if the session was not theirs, revoke the token (" + revokeHint(f) +
			") and review what it changed"
	}
	d.found = append(d.found, f)
}

func sameMinute(a, b time.Time) bool { return a.Truncate(time.Minute).Equal(b.Truncate(time.Minute)) }

// Finish closes the open sessions.
func (d *AdminOffHours) Finish() []Finding {
	for _, k := range slices.Sorted(maps.Keys(d.open)) {
		d.close(k, d.open[k])
	}
	return d.found
}

// describeWindows renders the maintenance windows for a message ("Mon-Fri 07:00-20:00, Wed 23:00-01:00").
func describeWindows(m Maintenance) string {
	if len(m.Windows) == 0 {
		return "no windows configured"
	}
	var parts []string
	for _, w := range m.Windows {
		parts = append(parts, describeDays(w.Days)+" "+clockHHMM(w.From)+"-"+clockHHMM(w.To))
	}
	return strings.Join(parts, ", ")
}

func describeDays(days [7]bool) string {
	names := [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	order := []int{1, 2, 3, 4, 5, 6, 0} // Monday first
	var parts []string
	for i := 0; i < len(order); {
		if !days[order[i]] {
			i++
			continue
		}
		j := i
		for j+1 < len(order) && days[order[j+1]] {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, names[order[i]])
		case j == i+1:
			parts = append(parts, names[order[i]], names[order[j]])
		default:
			parts = append(parts, names[order[i]]+"-"+names[order[j]])
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

func clockHHMM(mins int) string { return fmt.Sprintf("%02d:%02d", mins/60, mins%60) }

// summarizeList joins up to n items and says how many more there were.
func summarizeList(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}
