package baseline

import (
	"reflect"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestLearnBursts: n bursts learned at once leave the history n LearnBurst calls leave; an
// unknown principal, or no burst, changes nothing.
func TestLearnBursts(t *testing.T) {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	bursts := [][]string{{"kv/a", "kv/b", "kv/c"}, {"kv/a", "kv/b", "kv/c", "kv/d", "kv/e"}, {"kv/b", "kv/f"}}
	mk := func() *Baseline {
		b := New()
		b.Learn(&event.Event{Time: t0, Kind: event.KindVault, Op: event.OpRead, Outcome: event.OutcomeOK, Principal: "app", Resource: "kv/a"})
		b.LearnBurst("app", []string{"kv/old"}, t0.Add(-time.Hour)) // from an earlier run
		return b
	}
	one := mk()
	for i, ps := range bursts {
		one.LearnBurst("app", ps, t0.Add(time.Duration(i)*time.Minute))
	}
	all := mk()
	all.LearnBursts("app", 3, 5, []string{"kv/a", "kv/b", "kv/c", "kv/d", "kv/e", "kv/f"}, t0.Add(2*time.Minute))
	if !reflect.DeepEqual(one.Get("app"), all.Get("app")) {
		t.Errorf("LearnBursts: %+v\nLearnBurst each: %+v", all.Get("app"), one.Get("app"))
	}
	if h := all.Get("app"); h.Bursts != 4 || h.MaxBurst != 5 || len(h.BurstPaths) != 7 {
		t.Errorf("bursts %d, max %d, %d paths; want 4, 5, 7", h.Bursts, h.MaxBurst, len(h.BurstPaths))
	}
	before := *all.Get("app")
	all.LearnBursts("app", 0, 9, []string{"kv/z"}, t0.Add(time.Hour))
	all.LearnBursts("nobody", 2, 2, []string{"kv/z", "kv/y"}, t0)
	if h := all.Get("app"); h.Bursts != before.Bursts || h.MaxBurst != before.MaxBurst || len(h.BurstPaths) != len(before.BurstPaths) || all.Get("nobody") != nil {
		t.Error("no burst, or an unknown principal, changed the baseline")
	}
}
