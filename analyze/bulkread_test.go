package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestBulkRead(t *testing.T) {
	harvest := every(40, func(i int) event.Event {
		return vev(time.Duration(i)*3*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i%25))
	})
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"40 reads of 25 secrets in 2 minutes", harvest, 1},
		{"agent renewing one lease every 5 minutes for a day is quiet",
			every(288, func(i int) event.Event {
				return vev(time.Duration(i)*5*time.Minute, "agent", event.OpRead, "database/creds/ledger-rw")
			}), 0},
		{"workload re-reading its two secrets 100 times in 5 minutes is quiet",
			every(100, func(i int) event.Event {
				return vev(time.Duration(i)*3*time.Second, "app", event.OpRead, fmt.Sprintf("kv/data/app/%d", i%2))
			}), 0},
		{"ESO reading 12 secrets hourly is quiet",
			every(12*24, func(i int) event.Event {
				return vev(time.Duration(i/12)*time.Hour+time.Duration(i%12)*time.Second, "eso", event.OpRead, fmt.Sprintf("kv/data/eso/%d", i%12))
			}), 0},
		{"CI reading one secret per deploy is quiet",
			every(50, func(i int) event.Event {
				return vev(time.Duration(i)*20*time.Minute, "ci", event.OpRead, "kv/data/ci/deploy-key")
			}), 0},
		{"19 reads of 19 secrets in a minute is below both thresholds", harvest[:19], 0},
		// Stratus Red Team's secretsmanager-retrieve-secrets: each of 20 secrets read once, in seconds.
		{"20 secrets read once each is a harvest, however few the reads", every(20, func(i int) event.Event {
			return vev(time.Duration(i)*200*time.Millisecond, "stratus", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i))
		}), 1},
		{"a listing of the whole store, then reads of 11 secrets, is a harvest", append([]event.Event{
			vev(0, "thief", event.OpList, "kv/metadata/", withFlags(event.FlagListAll))}, every(11, func(i int) event.Event {
			return vev(time.Second+time.Duration(i)*time.Second, "thief", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i))
		})...), 1},
		{"a listing of the whole store, then reads of 5 secrets, is not", append([]event.Event{
			vev(0, "app", event.OpList, "kv/metadata/", withFlags(event.FlagListAll))}, every(5, func(i int) event.Event {
			return vev(time.Second+time.Duration(i)*time.Second, "app", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i))
		})...), 0},
		{"a workload reading its 3 secrets every minute for a day is quiet", every(3*24*60, func(i int) event.Event {
			return vev(time.Duration(i/3)*time.Minute+time.Duration(i%3)*time.Second, "api", event.OpRead, fmt.Sprintf("kv/data/api/%d", i%3))
		}), 0},
		{"two bursts an hour apart are two findings",
			append(slices.Clone(harvest), every(40, func(i int) event.Event {
				return vev(time.Hour+time.Duration(i)*3*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i%25))
			})...), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewBulkRead, DefaultConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "bulk-read" || (f.Count < 30 || len(f.Resources) < 10) && len(f.Resources) < 11 {
					t.Errorf("finding %+v: want rule bulk-read, count >= 30 over >= 10 resources, or >= 20 resources", f)
				}
			}
		})
	}
}

func TestBulkReadMergesOneBurst(t *testing.T) {
	evs := every(200, func(i int) event.Event {
		return vev(time.Duration(i)*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/data/prod/s%03d", i))
	})
	got := runDetector(t, NewBulkRead, DefaultConfig(), evs)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1 merged burst", len(got))
	}
	f := got[0]
	if f.Count != 200 || !f.FirstSeen.Equal(t0) || !f.LastSeen.Equal(t0.Add(199*time.Second)) {
		t.Errorf("burst = count %d, %s..%s; want 200 reads over the whole span", f.Count, f.FirstSeen, f.LastSeen)
	}
}

func TestBulkReadPeriodicSetLearned(t *testing.T) {
	cycle := func(start time.Duration, n int) []event.Event {
		return every(n, func(i int) event.Event {
			return vev(start+time.Duration(i)*100*time.Millisecond, "vso", event.OpRead, fmt.Sprintf("kv/data/prod/app%02d", i))
		})
	}
	var evs []event.Event
	for c := range 4 {
		evs = append(evs, cycle(time.Duration(c)*3*time.Hour, 31)...)
	}
	quiet := runDetector(t, NewBulkRead, DefaultConfig(), slices.Clone(evs))
	// The first two cycles are reported (nothing learned yet); the later ones repeat the set.
	if len(quiet) != 2 {
		t.Fatalf("periodic set: got %d findings, want 2 (only before the habit is known)", len(quiet))
	}
	extra := append(slices.Clone(evs), cycle(12*time.Hour, 32)...) // app31 is new
	got := runDetector(t, NewBulkRead, DefaultConfig(), extra)
	if len(got) != 3 || !slices.Contains(got[2].Resources, "kv/prod/app31") {
		t.Fatalf("a burst outside the known set must be reported: got %d findings", len(got))
	}
}

// A sync that logs in for every cycle (External Secrets' default) reads with a new token each
// time: each cycle's burst must end when its window does, not at the end of the input, so the
// set is learned from the first cycles and the later ones stay quiet, whatever the order of the
// credentials.
func TestBulkReadPeriodicSetNewTokenEachCycle(t *testing.T) {
	var evs []event.Event
	for c := range 8 {
		evs = append(evs, every(31, func(i int) event.Event {
			return vev(time.Duration(c)*3*time.Hour+time.Duration(i)*100*time.Millisecond, "eso", event.OpRead,
				fmt.Sprintf("kv/data/prod/app%02d", (i+7*c)%31), withCred(fmt.Sprintf("hmac-sha256:login-%d", c)))
		})...)
	}
	for range 5 { // the order of the open bursts once came from map iteration
		got := runDetector(t, NewBulkRead, DefaultConfig(), slices.Clone(evs))
		if len(got) != 2 || !got[0].FirstSeen.Equal(t0) || !got[1].FirstSeen.Equal(t0.Add(3*time.Hour)) {
			var when []time.Time
			for _, f := range got {
				when = append(when, f.FirstSeen)
			}
			t.Fatalf("got findings at %v, want the first two cycles only (%s, %s)", when, t0, t0.Add(3*time.Hour))
		}
	}
}

// TestBulkReadSourceIPsMatchEvidence: the addresses of a burst are those of every read in it,
// the reads before the threshold was crossed included, as its evidence lists them.
func TestBulkReadSourceIPsMatchEvidence(t *testing.T) {
	evs := every(40, func(i int) event.Event {
		addr := "203.0.113.9"
		if i < 5 {
			addr = "198.51.100.7" // the first reads of the window, before the burst is one
		}
		return vev(time.Duration(i)*3*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i%25), from(addr))
	})
	fs := runDetector(t, NewBulkRead, DefaultConfig(), evs)
	if len(fs) != 1 {
		t.Fatalf("want one bulk-read, got %v", rulesOf(fs))
	}
	got := slices.Sorted(slices.Values(fs[0].SourceIPs))
	if want := []string{"198.51.100.7", "203.0.113.9"}; !slices.Equal(got, want) {
		t.Errorf("source_ips %q, want %q (the evidence's reads come from both)", got, want)
	}
	if !fs[0].FirstSeen.Equal(fs[0].Evidence[0].Time) {
		t.Errorf("first_seen %v, the first evidence at %v", fs[0].FirstSeen, fs[0].Evidence[0].Time)
	}
}
