package window

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDistinct is one window sliding over a steady stream: each Add is matched by an
// expiry, with 300 entries and up to 64 items inside.
func BenchmarkDistinct(b *testing.B) {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("kv/data/p/", i)
	}
	var w Distinct[string, int]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Second)
		w.Add(now, keys[i%len(keys)], i)
		w.Expire(now.Add(-300 * time.Second))
		i++
	}
	if w.Len() == 0 {
		b.Fatal("empty window")
	}
}

// BenchmarkDistinctCap: the same stream into a window capped at 100 entries.
func BenchmarkDistinctCap(b *testing.B) {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("kv/data/p/", i)
	}
	var w Distinct[string, int]
	w.SetCap(100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Second)
		w.Add(now, keys[i%len(keys)], i)
		w.Expire(now.Add(-300 * time.Second))
		i++
	}
}

// BenchmarkKeyed is the detectors' pattern: 1,000 keys, each event adds to its key's window,
// moves its deadline and settles the keys idle for two widths.
func BenchmarkKeyed(b *testing.B) {
	const width = 5 * time.Minute
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprint("id-", i)
	}
	wins := map[string]*Distinct[string, struct{}]{}
	var idle Deadlines[string]
	settle := func(k string) { wins[k].Release() }
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		idle.Due(now, settle)
		// keys come in rounds: a tenth of them active at a time, so keys go idle and come back
		id := ids[(i%100)+100*((i/20000)%10)]
		w := wins[id]
		if w == nil {
			w = &Distinct[string, struct{}]{}
			wins[id] = w
		}
		w.Add(now, ids[i%37], struct{}{})
		w.Expire(now.Add(-width))
		idle.Set(id, SettleAfter(now, width))
		i++
	}
}

// BenchmarkDeadlinesSet moves the deadlines of 10,000 keys later, as each event does.
func BenchmarkDeadlinesSet(b *testing.B) {
	var d Deadlines[int]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		d.Set(i%10000, now.Add(time.Minute))
		d.Due(now, func(int) {})
		i++
	}
}
