package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// items lists the items inside w in order.
func items[V any](w *Distinct[string, V]) []string {
	var out []string
	for _, e := range w.Entries() {
		out = append(out, e.Item)
	}
	return out
}

func TestDistinctCounts(t *testing.T) {
	var w Distinct[string, int]
	for i, it := range []string{"a", "b", "a", "c", "a"} {
		w.Add(at(i), it, i)
	}
	if w.Len() != 5 || w.Distinct() != 3 || w.Count("a") != 3 || !w.Has("c") || w.Has("z") {
		t.Fatalf("len %d distinct %d count(a) %d: want 5, 3, 3", w.Len(), w.Distinct(), w.Count("a"))
	}
	w.Expire(at(2)) // drops a@0, b@1
	if got := items(&w); !slices.Equal(got, []string{"a", "c", "a"}) || w.Distinct() != 2 || w.Has("b") {
		t.Fatalf("after expiry: %v, distinct %d, has b %v", got, w.Distinct(), w.Has("b"))
	}
	if e := w.Entries()[0]; e.Value != 2 || !e.Time.Equal(at(2)) {
		t.Errorf("oldest entry %+v, want the value 2 at %v", e, at(2))
	}
	w.Expire(at(100))
	if w.Len() != 0 || w.Distinct() != 0 || len(w.Entries()) != 0 {
		t.Errorf("expired all: len %d distinct %d", w.Len(), w.Distinct())
	}
}

func TestDistinctEdge(t *testing.T) {
	const width = 5 * time.Minute
	var w Distinct[string, struct{}]
	w.Add(t0, "a", struct{}{})
	now := t0.Add(width)
	w.Add(now, "b", struct{}{})
	w.Expire(now.Add(-width)) // a is exactly width old: still inside
	if w.Len() != 2 || !w.Has("a") {
		t.Fatalf("an entry exactly one width old left the window: %v", items(&w))
	}
	now = now.Add(time.Nanosecond)
	w.Expire(now.Add(-width)) // one nanosecond more: gone
	if w.Len() != 1 || w.Has("a") {
		t.Fatalf("an entry a nanosecond older than the width stayed: %v", items(&w))
	}
}

func TestDistinctOutOfOrder(t *testing.T) {
	var w Distinct[string, int]
	w.Add(at(10), "a", 0)
	w.Add(at(12), "b", 1)
	w.Add(at(11), "c", 2) // late by a second
	w.Add(at(3), "d", 3)  // very late
	if w.Len() != 4 || w.Distinct() != 4 {
		t.Fatalf("late entries not counted: len %d distinct %d", w.Len(), w.Distinct())
	}
	// Entries leave from the front in arrival order: the late d stays while b and c do.
	w.Expire(at(11))
	if got := items(&w); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("after Expire(11): %v, want b c d", got)
	}
	w.Expire(at(13))
	if w.Len() != 0 || w.Distinct() != 0 {
		t.Fatalf("after Expire(13): %v, distinct %d", items(&w), w.Distinct())
	}
	// Expiring to an earlier cutoff than before is harmless.
	w.Add(at(20), "e", 4)
	w.Expire(at(5))
	if w.Len() != 1 || w.Distinct() != 1 {
		t.Fatalf("an earlier cutoff changed the window: %v", items(&w))
	}
}

func TestDistinctCap(t *testing.T) {
	var w Distinct[string, int]
	w.SetCap(3)
	for i, it := range []string{"a", "b", "a", "c", "d"} {
		w.Add(at(i), it, i)
	}
	if got := items(&w); !slices.Equal(got, []string{"a", "c", "d"}) || w.Dropped() != 2 || w.Distinct() != 3 {
		t.Fatalf("capped window %v, dropped %d, distinct %d; want a c d, 2, 3", got, w.Dropped(), w.Distinct())
	}
	if w.Count("a") != 1 || w.Has("b") {
		t.Errorf("counts after the cap: a %d, has b %v", w.Count("a"), w.Has("b"))
	}
	w.SetCap(1) // lowering it takes effect at the next Add
	w.Add(at(9), "e", 9)
	if got := items(&w); !slices.Equal(got, []string{"e"}) || w.Dropped() != 5 {
		t.Fatalf("after lowering the cap: %v, dropped %d", got, w.Dropped())
	}
	w.SetCap(0)
	for i := range 1000 {
		w.Add(at(10+i), "x", i)
	}
	if w.Len() != 1001 || w.Dropped() != 5 {
		t.Fatalf("without a cap: len %d, dropped %d", w.Len(), w.Dropped())
	}
}

func TestDistinctRelease(t *testing.T) {
	var w Distinct[string, int]
	w.SetCap(5000)
	for i := range 4000 {
		w.Add(at(i), fmt.Sprint(i), i)
	}
	w.Release()
	if w.Len() != 0 || w.Distinct() != 0 || w.q != nil || w.counts != nil {
		t.Fatalf("Release kept memory: len %d, cap %d, counts %v", w.Len(), cap(w.q), w.counts != nil)
	}
	w.Add(at(5000), "a", 0) // usable afterwards, with its cap
	if w.Len() != 1 || w.Distinct() != 1 || w.max != 5000 {
		t.Fatalf("after Release: len %d distinct %d cap %d", w.Len(), w.Distinct(), w.max)
	}
}

// TestDistinctMemory: a window sliding for a long time holds what is inside it, not what
// passed through it.
func TestDistinctMemory(t *testing.T) {
	var w Distinct[string, int]
	for i := range 1_000_000 {
		now := at(i)
		w.Add(now, fmt.Sprint(i%5000), i)
		w.Expire(now.Add(-100 * time.Second))
		if w.Len() != min(i+1, 101) {
			t.Fatalf("at %d: len %d", i, w.Len())
		}
		if cap(w.q) > 4*(101+compactAfter) {
			t.Fatalf("at %d: queue capacity %d for %d entries", i, cap(w.q), w.Len())
		}
	}
	if w.Distinct() != 101 {
		t.Errorf("distinct %d, want 101", w.Distinct())
	}
}

// TestDistinctMatchesNaive compares the window with a plain list on random, slightly
// disordered input, with and without a cap.
func TestDistinctMatchesNaive(t *testing.T) {
	type ref struct {
		t    time.Time
		item string
	}
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 2))
		capN := 0
		if seed%2 == 1 {
			capN = 1 + r.IntN(40)
		}
		var w Distinct[string, int]
		w.SetCap(capN)
		var naive []ref
		now := 0
		for i := range 3000 {
			now += r.IntN(10)
			tm := now - r.IntN(5) // up to 4 s late
			it := fmt.Sprint(r.IntN(30))
			w.Add(at(tm), it, i)
			if capN > 0 && len(naive) >= capN {
				naive = naive[len(naive)-capN+1:]
			}
			naive = append(naive, ref{at(tm), it})
			cut := at(now - 60)
			w.Expire(cut)
			for len(naive) > 0 && naive[0].t.Before(cut) {
				naive = naive[1:]
			}
			seen := map[string]int{}
			for _, n := range naive {
				seen[n.item]++
			}
			if w.Len() != len(naive) || w.Distinct() != len(seen) {
				t.Fatalf("seed %d step %d: len %d distinct %d, want %d %d", seed, i, w.Len(), w.Distinct(), len(naive), len(seen))
			}
			for k, c := range seen {
				if w.Count(k) != c {
					t.Fatalf("seed %d step %d: count(%s) %d, want %d", seed, i, k, w.Count(k), c)
				}
			}
			for j, e := range w.Entries() {
				if !e.Time.Equal(naive[j].t) || e.Item != naive[j].item {
					t.Fatalf("seed %d step %d: entry %d is %v %s, want %v %s", seed, i, j, e.Time, e.Item, naive[j].t, naive[j].item)
				}
			}
		}
	}
}
