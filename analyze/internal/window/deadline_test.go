package window

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func due(d *Deadlines[string], now time.Time) []string {
	var out []string
	d.Due(now, func(k string) { out = append(out, k) })
	return out
}

func TestDeadlines(t *testing.T) {
	var d Deadlines[string]
	d.Set("a", at(30))
	d.Set("b", at(10))
	d.Set("c", at(20))
	if got := due(&d, at(10)); len(got) != 0 {
		t.Fatalf("a deadline equal to now was due: %v", got)
	}
	if got := due(&d, at(25)); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("due at 25: %v, want b c", got)
	}
	if _, ok := d.Deadline("b"); ok || d.Len() != 1 {
		t.Fatalf("a settled key kept its deadline (len %d)", d.Len())
	}
	if got := due(&d, at(31)); !slices.Equal(got, []string{"a"}) || d.Len() != 0 {
		t.Fatalf("due at 31: %v (len %d), want a", got, d.Len())
	}
}

func TestDeadlinesMove(t *testing.T) {
	var d Deadlines[string]
	d.Set("a", at(10))
	d.Set("b", at(15))
	d.Set("a", at(20)) // later: a stale place in the heap, put back when it comes up
	if dl, _ := d.Deadline("a"); !dl.Equal(at(20)) {
		t.Fatalf("deadline of a %v, want %v", dl, at(20))
	}
	if got := due(&d, at(16)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("due at 16: %v, want b (a was moved to 20)", got)
	}
	d.Set("a", at(5)) // earlier again
	d.Set("c", at(7))
	if got := due(&d, at(8)); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("due at 8: %v, want a c", got)
	}
	d.Set("x", at(1))
	d.Remove("x")
	d.Remove("never")
	if got := due(&d, at(100)); len(got) != 0 || d.Len() != 0 {
		t.Fatalf("a removed key was settled: %v", got)
	}
}

func TestDeadlinesSettleSetsAgain(t *testing.T) {
	var d Deadlines[string]
	d.Set("a", at(1))
	d.Set("b", at(2))
	var got []string
	d.Due(at(3), func(k string) {
		got = append(got, k)
		if k == "a" {
			d.Set("a", at(3)) // not before now: due at a later call
			d.Set("b", at(50))
		}
	})
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("settled %v, want a (b was moved to 50 while settling)", got)
	}
	if got := due(&d, at(4)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("due at 4: %v, want a", got)
	}
}

// TestDeadlinesMatchNaive compares with a map scanned at each step, keys moved both ways.
func TestDeadlinesMatchNaive(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 3))
		var d Deadlines[int]
		naive := map[int]time.Time{}
		now := 0
		for step := range 5000 {
			now += r.IntN(3)
			k := r.IntN(50)
			switch x := r.IntN(10); {
			case x < 8:
				tm := at(now + r.IntN(40) - 5)
				d.Set(k, tm)
				naive[k] = tm
			case x < 9:
				d.Remove(k)
				delete(naive, k)
			}
			var want []int
			for k, tm := range naive {
				if tm.Before(at(now)) {
					want = append(want, k)
				}
			}
			var got []int
			var last time.Time
			d.Due(at(now), func(k int) {
				if naive[k].Before(last) {
					t.Fatalf("seed %d step %d: settled out of deadline order", seed, step)
				}
				last = naive[k]
				got = append(got, k)
			})
			for _, k := range want {
				delete(naive, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) || d.Len() != len(naive) {
				t.Fatalf("seed %d step %d: due %v, want %v (len %d, want %d)", seed, step, got, want, d.Len(), len(naive))
			}
		}
	}
}

// TestIdleKeysReleased is how a detector uses both: a window per key, settled once idle, so
// memory follows the keys active within the last windows, not every key ever seen.
func TestIdleKeysReleased(t *testing.T) {
	const width = time.Minute
	wins := map[string]*Distinct[string, int]{}
	var idle Deadlines[string]
	var now time.Time
	for i := range 200_000 {
		tm := at(i) // one event a second, each key active for 100 s
		if tm.After(now) {
			now = tm
			idle.Due(now, func(k string) {
				wins[k].Release()
				delete(wins, k)
			})
		}
		key := fmt.Sprint("id-", i/100)
		w := wins[key]
		if w == nil {
			w = &Distinct[string, int]{}
			wins[key] = w
		}
		w.Add(tm, fmt.Sprint(i%17), i)
		w.Expire(tm.Add(-width))
		idle.Set(key, SettleAfter(tm, width))
		if len(wins) > 3 || idle.Len() > 3 {
			t.Fatalf("at %d: %d windows and %d deadlines held, want at most 3", i, len(wins), idle.Len())
		}
	}
}

func TestSettleAfter(t *testing.T) {
	if got := SettleAfter(t0, 5*time.Minute); !got.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("SettleAfter = %v, want two widths later", got)
	}
}
