package review

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // a Monday

func read(at time.Duration, who string, class event.Class, res string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{Time: t0.Add(at), Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Outcome: event.OutcomeOK,
		Principal: who, DisplayName: who, Class: class, Resource: res, RemoteAddr: netip.MustParseAddr("10.0.0.5")}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func write(at time.Duration, who, res string) event.Event {
	ev := read(at, who, event.ClassWorkload, res)
	ev.Op, ev.Flags = event.OpWrite, 0
	return ev
}

const day = 24 * time.Hour

// TestReview: 220 days of history and a 30-day review period. Planted: a secret rotated and
// never read again, a secret not written for 200 days, a secret no one read for 100 days, a
// person reading production, CI reading another environment, a return after dormancy, a new
// access. The quiet ones stay quiet: a secret rotated monthly and read after each rotation by
// its consumer, CI reading its own environment, a workload reading production.
func TestReview(t *testing.T) {
	var evs []event.Event
	// History (before the period, days 0..189): the app reads its database secret daily and it
	// is rotated every 30 days; the legacy key is written on day 0 and read until day 90; the
	// stale key is written on day 0 and read every day.
	for d := 0; d < 220; d++ {
		at := time.Duration(d) * day
		if d%30 == 0 {
			evs = append(evs, write(at, "rotator", "kv/prod/app/db"), write(at, "rotator", "kv/staging/app/db"))
		}
		evs = append(evs, read(at+time.Hour, "app", event.ClassWorkload, "kv/prod/app/db"),
			read(at+time.Hour, "app-staging", event.ClassWorkload, "kv/staging/app/db"),
			read(at+2*time.Hour, "app", event.ClassWorkload, "kv/prod/app/stale-key"))
		if d < 90 {
			evs = append(evs, read(at+3*time.Hour, "batch", event.ClassWorkload, "kv/prod/legacy/ftp"))
		}
		if d == 0 {
			evs = append(evs, write(at, "ops", "kv/prod/app/stale-key"), write(at, "ops", "kv/prod/legacy/ftp"))
		}
		if d == 150 {
			evs = append(evs, read(at, "contractor", event.ClassPerson, "kv/dev/tools"))
		}
		if d == 200 { // in the period: a rotation nobody picks up
			evs = append(evs, write(at, "rotator", "kv/prod/partner/api-key"))
		}
		if d >= 180 && d%7 == 0 { // CI in its own environment, since before the period
			evs = append(evs, read(at+4*time.Hour, "ci-staging", event.ClassWorkload, "kv/staging/app/db"))
		}
	}
	evs = append(evs,
		read(195*day, "alice", event.ClassPerson, "kv/prod/app/db"),                      // a person reading production
		read(196*day, "ci-staging", event.ClassWorkload, "kv/prod/app/db"),               // CI outside its environment
		read(197*day, "contractor", event.ClassPerson, "kv/dev/tools"),                   // back after 47 days
		read(198*day, "app", event.ClassWorkload, "kv/prod/payments/new", denyIf(false)), // new for app
		read(199*day, "mallory", event.ClassPerson, "kv/prod/app/db", denyIf(true)),      // denied: counted, not flagged
	)
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	start, end := t0.Add(190*day), t0.Add(220*day)
	prior := baseline.New()
	var period []event.Event
	for i := range evs {
		if evs[i].Time.Before(start) {
			prior.Learn(&evs[i])
		} else {
			period = append(period, evs[i])
		}
	}
	cfg := DefaultConfig()
	cfg.CIScopes = []CIScope{{Identity: "ci-staging", Secrets: []string{"kv/staging/*"}}}
	r := Build(period, start, end, cfg, prior, func(a netip.Addr) bool { return a.IsPrivate() })

	flags := map[string][]string{}
	for _, a := range r.Access {
		for _, f := range a.Flags {
			flags[a.Identity+" "+a.Secret] = append(flags[a.Identity+" "+a.Secret], f.Flag)
		}
	}
	want := map[string][]string{
		"alice kv/prod/app/db":      {FlagPersonProduction, FlagNewAccess},
		"ci-staging kv/prod/app/db": {FlagCIOutsideScope, FlagNewAccess},
		"contractor kv/dev/tools":   {FlagDormant},
		"app kv/prod/payments/new":  {FlagNewAccess},
	}
	for k, w := range want {
		if !slices.Equal(flags[k], w) {
			t.Errorf("%s: flags %q, want %q", k, flags[k], w)
		}
	}
	for k, f := range flags {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: flags %q, want none", k, f)
		}
	}
	for _, a := range r.Access {
		if a.Identity == "mallory" && (a.Denied != 1 || a.Reads != 0 || len(a.Flags) != 0) {
			t.Errorf("mallory: %+v, want one denied read, no flag", a)
		}
		if a.Identity == "ci-staging" && a.Class != "ci" {
			t.Errorf("ci-staging class %q, want ci", a.Class)
		}
	}

	verdicts := map[string][]string{}
	for _, s := range r.Secrets {
		for _, v := range s.Verdicts {
			verdicts[s.Secret] = append(verdicts[s.Secret], v.Verdict)
		}
	}
	wantV := map[string][]string{
		"kv/prod/partner/api-key": {VerdictRotatedNeverRead},
		"kv/prod/app/stale-key":   {VerdictRotationOverdue},
		"kv/prod/legacy/ftp":      {VerdictRotationOverdue, VerdictUnused},
		// never written in the 220 days the history covers: the last write is older than that
		"kv/dev/tools":         {VerdictRotationOverdue, VerdictRarelyRead},
		"kv/prod/payments/new": {VerdictRotationOverdue, VerdictRarelyRead},
	}
	for k, w := range wantV {
		if !slices.Equal(verdicts[k], w) {
			t.Errorf("%s: verdicts %q, want %q", k, verdicts[k], w)
		}
	}
	for k, v := range verdicts {
		if _, ok := wantV[k]; !ok {
			t.Errorf("%s: verdicts %q, want none (a quiet secret)", k, v)
		}
	}
	for _, s := range r.Secrets {
		if s.Secret == "kv/prod/app/db" && (!slices.Equal(s.Readers, []string{"app"}) || s.AgeDays != 10) {
			t.Errorf("kv/prod/app/db: readers %q, age %d days; want app (the only reader since the write of day 210), 10 days", s.Readers, s.AgeDays)
		}
	}
}

func denyIf(denied bool) func(*event.Event) {
	return func(e *event.Event) {
		if denied {
			e.Outcome = event.OutcomeDenied
		}
	}
}
