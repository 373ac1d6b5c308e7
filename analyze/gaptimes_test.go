package analyze

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// TestGapTimesRoundTrip: the times come back exactly, in memory, on disk and half and half,
// one file or chained, with equal times and deltas of any size.
func TestGapTimesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for _, budget := range []int{0, 3 * gapBlockSize, gapMemory} {
		store := &gapStore{budget: budget}
		var files []*gapTimes
		var want []int64
		at := int64(1_790_000_000_000_000_000)
		for range 3 {
			g := &gapTimes{store: store}
			for range 5000 {
				switch r.IntN(4) {
				case 0: // the same nanosecond
				case 1:
					at += r.Int64N(1 << 40) // hours
				default:
					at += r.Int64N(50_000_000)
				}
				g.add(at)
				want = append(want, at)
			}
			files = append(files, g)
		}
		var got []int64
		for _, g := range files {
			got = append(got, g.all()...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("budget %d: all() differs from what was added", budget)
		}
		c := newGapCursor(files)
		for i, w := range want {
			if p, ok := c.peek(); !ok || p != w {
				t.Fatalf("budget %d: peek %d = %d, %v; want %d", budget, i, p, ok, w)
			}
			if n, _ := c.next(); n != w {
				t.Fatalf("budget %d: next %d = %d, want %d", budget, i, n, w)
			}
		}
		if _, ok := c.next(); ok {
			t.Fatalf("budget %d: the cursor goes past the end", budget)
		}
		if onDisk := store.f != nil; onDisk != (budget < gapMemory) {
			t.Errorf("budget %d: temporary file used = %v", budget, onDisk)
		}
		if budget < gapMemory && store.inMem > budget {
			t.Errorf("budget %d: %d bytes held in memory", budget, store.inMem)
		}
		store.close()
	}
}

// TestAuditGapOnDisk: with the times in the temporary file, audit-gap finds what it finds with
// them in memory (a hole, a hole on the second of three days, a rotation gap) and stays as
// quiet on a small cluster's rhythm.
func TestAuditGapOnDisk(t *testing.T) {
	day := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	hole := [2]time.Time{day.Add(21*time.Hour + 32*time.Minute), day.Add(22*time.Hour + 2*time.Minute)}
	rotated := append(cadence("v/audit.log-20260923", "a", day, day.Add(12*time.Hour), 9*time.Second, 4*time.Second, 5),
		cadence("v/audit.log", "b", day.Add(13*time.Hour), day.Add(24*time.Hour), 9*time.Second, 4*time.Second, 6)...)
	cases := map[string]struct {
		evs  []event.Event
		want int
	}{
		"hole":           {cadence("bao/audit.log", "tokenizer", day, day.Add(24*time.Hour), 7*time.Second, 6*time.Second, 1, hole), 1},
		"three days":     {cadence("bao/audit.log", "tokenizer", day.Add(-24*time.Hour), day.Add(48*time.Hour), 7*time.Second, 6*time.Second, 4, hole), 1},
		"rotation":       {rotated, 1},
		"office rhythm":  {officeHours("bo/audit.log", day, 15, 10, 30, 15), 0},
		"no hole at all": {cadence("bao/audit.log", "tokenizer", day, day.Add(24*time.Hour), 7*time.Second, 6*time.Second, 1), 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			evs := slices.Clone(tc.evs)
			slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
			run := func(budget int) ([]Finding, bool) {
				cfg := DefaultConfig()
				d := NewAuditGap(Env{Config: &cfg, Baseline: baseline.New()}).(*AuditGap)
				d.store = &gapStore{budget: budget}
				for i := range evs {
					d.Observe(&evs[i])
				}
				used := d.store.size > 0
				return d.Finish(), used
			}
			mem, _ := run(gapMemory)
			disk, used := run(0)
			if !used {
				t.Fatal("budget 0 wrote nothing to the temporary file")
			}
			if len(mem) != tc.want {
				t.Fatalf("in memory: %d findings, want %d: %+v", len(mem), tc.want, mem)
			}
			if !reflect.DeepEqual(mem, disk) {
				t.Fatalf("on disk the findings differ:\n%+v\n%+v", disk, mem)
			}
		})
	}
}
