package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
)

// burstDigest is what the baseline learned of bursts (per principal: how many, the longest,
// the last one's end, the paths), as one hash.
func burstDigest(bl *baseline.Baseline) (string, int) {
	h := sha256.New()
	bursts := 0
	for _, p := range slices.Sorted(maps.Keys(bl.Principals)) {
		hi := bl.Principals[p]
		if hi.Bursts == 0 {
			continue
		}
		bursts += int(hi.Bursts)
		fmt.Fprintf(h, "%s %d %d %s %q\n", p, hi.Bursts, hi.MaxBurst, hi.LastBurst.UTC().Format(time.RFC3339Nano),
			slices.Sorted(maps.Keys(hi.BurstPaths)))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], bursts
}

// syncCycles is a sync operator reading its set every 10 minutes for two days, the set growing
// by one secret a day, and a second one reading a different set each cycle.
func syncCycles() []event.Event {
	var evs []event.Event
	for c := range 288 {
		at := time.Duration(c) * 10 * time.Minute
		for i := range 22 + c/144 {
			evs = append(evs, vev(at+time.Duration(i)*100*time.Millisecond, "eso", event.OpRead, fmt.Sprintf("kv/data/shop/s%02d", i)))
		}
		for i := range 25 {
			evs = append(evs, vev(at+time.Minute+time.Duration(i)*100*time.Millisecond, "roamer", event.OpRead, fmt.Sprintf("kv/data/r/%d", (c*7+i)%300)))
		}
	}
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

// TestBurstLearning: what the baseline learns of bulk-read's bursts is unchanged since the
// detector stopped keeping one record per burst until Finish (the digests were taken before).
func TestBurstLearning(t *testing.T) {
	for _, tc := range []struct {
		name         string
		evs          func(t *testing.T) []event.Event
		learnedUntil time.Duration // from the first event; 0: none
		digest       string
		bursts       int
	}{
		{"sync-cycles", func(*testing.T) []event.Event { return syncCycles() }, 0, "051891871e4f6d3c", 576},
		{"sync-cycles-learned-until", func(*testing.T) []event.Event { return syncCycles() }, 30 * time.Hour, "67ef5f6f42df0352", 216},
		{"loggen", func(t *testing.T) []event.Event { return loadGenerated(t, 4<<20, loggen.Options{}) }, 0, "9ed11f05268790ac", 2},
		{"scenario", func(t *testing.T) []event.Event { return newScenario(t).evs }, 0, "aa0bb90534f41606", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := tc.evs(t)
			cfg := DefaultConfig()
			env := Env{Config: &cfg, Baseline: baseline.New()}
			if tc.learnedUntil > 0 {
				env.LearnedUntil = evs[0].Time.Add(tc.learnedUntil)
			}
			Run(evs, env)
			d, n := burstDigest(env.Baseline)
			t.Logf("%s: %d bursts learned, digest %s", tc.name, n, d)
			if d != tc.digest || n != tc.bursts {
				t.Errorf("%d bursts, digest %s; want %d, %s", n, d, tc.bursts, tc.digest)
			}
		})
	}
}
