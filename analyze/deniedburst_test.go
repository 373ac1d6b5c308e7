package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// The settlement batch's Thursday run: 12 denied reads on 12 paths, one every ~6 s.
func settlementProbe(start time.Duration, n int) []event.Event {
	return every(n, func(i int) event.Event {
		return vev(start+time.Duration(i)*6*time.Second, "k8s-eu1-treasury-settlement-batch", event.OpRead,
			fmt.Sprintf("kv/data/prod/treasury-v2/s%02d", i), denied, from("100.74.9.118"))
	})
}

func TestDeniedBurst(t *testing.T) {
	// VSO: 31 reads every 3 hours, one of them denied, for two days.
	var vso []event.Event
	for c := range 16 {
		for i := range 31 {
			opts := []func(*event.Event){}
			path := fmt.Sprintf("kv/data/prod/app%02d", i)
			if i == 30 {
				path, opts = "kv/data/prod/shared/partner-legacy-key", append(opts, denied)
			}
			vso = append(vso, vev(time.Duration(c)*3*time.Hour+time.Duration(i)*100*time.Millisecond, "vso", event.OpRead, path, opts...))
		}
	}
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"12 denied reads on 12 paths in 75 s", settlementProbe(0, 12), 1},
		{"exactly 10 denied on 5 paths", every(10, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "probe", event.OpRead, fmt.Sprintf("kv/data/x/%d", i%5), denied)
		}), 1},
		{"9 denied on 9 paths is below the count", settlementProbe(0, 9), 0},
		{"one identity retrying the same denied path 40 times is quiet", every(40, func(i int) event.Event {
			return vev(time.Duration(i)*5*time.Second, "app", event.OpRead, "kv/data/prod/app/db", denied)
		}), 0},
		{"20 denied on 4 paths is below the distinct paths", every(20, func(i int) event.Event {
			return vev(time.Duration(i)*5*time.Second, "app", event.OpRead, fmt.Sprintf("kv/data/prod/app/%d", i%4), denied)
		}), 0},
		{"a periodic reader with one denied read per cycle is quiet", vso, 0},
		{"12 denied paths spread over an hour are quiet", every(12, func(i int) event.Event {
			return vev(time.Duration(i)*5*time.Minute, "dev", event.OpRead, fmt.Sprintf("kv/data/team/%d", i), denied)
		}), 0},
		{"successful reads are not denials", every(20, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "app", event.OpRead, fmt.Sprintf("kv/data/prod/%d", i))
		}), 0},
		{"requests without an identity are not counted", every(20, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "", event.OpRead, fmt.Sprintf("kv/data/prod/%d", i), denied,
				func(e *event.Event) {
					e.Principal, e.DisplayName, e.Credential = "", "", ""
					e.Flags |= event.FlagUnauthenticated
				})
		}), 0},
		{"two probes of different paths an hour apart are two bursts", append(settlementProbe(0, 12),
			every(12, func(i int) event.Event {
				return vev(time.Hour+time.Duration(i)*5*time.Second, "k8s-eu1-treasury-settlement-batch", event.OpRead,
					fmt.Sprintf("legacy/treasury/t%02d", i), denied)
			})...), 2},
		{"a nightly job denied on the same paths every night is reported once", append(append(settlementProbe(0, 12),
			settlementProbe(24*time.Hour, 12)...), settlementProbe(48*time.Hour, 12)...), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewDeniedBurst, DefaultConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "denied-burst" || f.Count < 10 || len(f.Resources) < 5 || f.Severity != Medium {
					t.Errorf("finding %+v: want denied-burst, medium, count >= 10, >= 5 resources", f)
				}
			}
		})
	}
}

func TestDeniedBurstOneFindingPerBurst(t *testing.T) {
	// 60 denials on 60 paths, one every 3 s: the window slides over the whole run.
	evs := every(60, func(i int) event.Event {
		return vev(time.Duration(i)*3*time.Second, "probe", event.OpRead, fmt.Sprintf("kv/data/p/%02d", i), denied)
	})
	got := runDetector(t, NewDeniedBurst, DefaultConfig(), evs)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	f := got[0]
	if f.Count != 60 || len(f.Resources) != 50 || !f.FirstSeen.Equal(t0) || !f.LastSeen.Equal(t0.Add(177*time.Second)) {
		t.Errorf("burst = count %d, %d resources, %s..%s; want 60 over the whole span, 50 listed", f.Count, len(f.Resources), f.FirstSeen, f.LastSeen)
	}
	if !f.TriggerTime.Equal(t0.Add(27 * time.Second)) {
		t.Errorf("trigger %s, want the 10th denial", f.TriggerTime)
	}
}

func TestDeniedBurstOverride(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Overrides = []Override{{Identity: "k8s-eu1-treasury-*", Rule: "denied-burst", Count: 20}}
	if got := runDetector(t, NewDeniedBurst, cfg, settlementProbe(0, 12)); len(got) != 0 {
		t.Fatalf("override to 20: got %d findings, want 0", len(got))
	}
}

// observeAll feeds evs to a fresh detector, as Run does, and returns it before Finish.
func observeAll[D Detector](mk func(Env) Detector, evs []event.Event) D {
	cfg := DefaultConfig()
	d := mk(Env{Config: &cfg, Baseline: baseline.New()})
	for i := range evs {
		d.Observe(&evs[i])
	}
	return d.(D)
}

// An identity idle for two windows is settled while the input goes on: its burst is closed, its
// window released; the findings are those of the identity alone.
func TestDeniedBurstSettlesIdleIdentities(t *testing.T) {
	probe := settlementProbe(0, 12)
	alone := observeAll[*DeniedBurst](NewDeniedBurst, slices.Clone(probe)).Finish()
	// Another identity keeps being denied on one path (never a burst) for an hour afterwards.
	mixed := append(slices.Clone(probe), every(60, func(i int) event.Event {
		return vev(2*time.Minute+time.Duration(i)*time.Minute, "retrier", event.OpRead, "kv/data/one", denied)
	})...)
	d := observeAll[*DeniedBurst](NewDeniedBurst, mixed)
	st := d.state["entity-k8s-eu1-treasury-settlement-batch"]
	if st.burst != nil || st.win.Len() != 0 || len(d.found) != 1 {
		t.Fatalf("idle identity not settled: burst open %v, %d in its window, %d findings", st.burst != nil, st.win.Len(), len(d.found))
	}
	if len(st.seen) != 12 {
		t.Errorf("settling forgot the denied paths: %d remembered, want 12", len(st.seen))
	}
	if got := d.Finish(); len(got) != 1 || len(alone) != 1 || got[0].Message != alone[0].Message || got[0].Count != alone[0].Count {
		t.Fatalf("settled %+v, want %+v", got, alone)
	}
	if d.idle.Len() != 1 {
		t.Errorf("%d identities waiting to be settled, want the retrier only", d.idle.Len())
	}
}

// A denial a few seconds older than the one before it (two servers' clocks, a merge of files)
// is counted like the others.
func TestDeniedBurstSlightlyOutOfOrder(t *testing.T) {
	evs := settlementProbe(0, 12)
	for i := 1; i < len(evs); i += 3 {
		evs[i], evs[i-1] = evs[i-1], evs[i]
	}
	got := observeAll[*DeniedBurst](NewDeniedBurst, evs).Finish()
	if len(got) != 1 || got[0].Count != 12 || len(got[0].Resources) != 12 {
		t.Fatalf("got %+v, want one burst of 12 denials on 12 paths", got)
	}
}
