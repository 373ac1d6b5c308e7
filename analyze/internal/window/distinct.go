// Package window holds the sliding windows over log time that several detectors share: a
// window of timed entries that counts its distinct items (Distinct), and a queue of per-key
// deadlines for settling a key once its window has passed (Deadlines).
//
// Time is always log time, the times of the events; nothing here reads the wall clock. Input
// is expected in time order, as analyze.Run feeds it, but a slightly late entry is tolerated:
// it is counted like any other and never corrupts the counts.
package window

import "time"

// Entry is one timed item in a window, with what the caller wants to keep about it.
type Entry[I comparable, V any] struct {
	Time  time.Time
	Item  I
	Value V
}

// compactAfter is how many expired entries may sit at the front of the queue before they are
// copied away (when they are also more than half of it): each entry is copied at most once
// more, so Add and Expire stay amortised O(1).
const compactAfter = 256

// Distinct is a sliding window of entries in arrival order with a count of each distinct item
// inside it. Add and Expire are amortised O(1): each entry enters and leaves the queue once.
// The zero value is an empty window without a cap, ready to use.
//
// Entries leave from the front, oldest arrival first, so a late entry (older than one already
// inside) leaves no earlier than the entries that arrived before it: it may stay up to the
// disorder longer than the window, and Len and Distinct always describe exactly what is held.
type Distinct[I comparable, V any] struct {
	q      []Entry[I, V]
	head   int
	counts map[I]int
	max    int
	drop   int
}

// SetCap bounds the window to n entries: adding to a full window first drops its oldest
// entry (counted by Dropped). n <= 0 removes the bound. A lower cap takes effect at the next
// Add.
func (w *Distinct[I, V]) SetCap(n int) { w.max = n }

// Add appends an entry at time t.
func (w *Distinct[I, V]) Add(t time.Time, item I, v V) {
	if w.counts == nil {
		w.counts = map[I]int{}
	}
	for w.max > 0 && w.Len() >= w.max {
		w.pop()
		w.drop++
	}
	w.q = append(w.q, Entry[I, V]{Time: t, Item: item, Value: v})
	w.counts[item]++
}

// Expire drops the entries before cutoff from the front of the window; an entry at exactly
// cutoff stays. A detector with a window of width d calls Expire(now.Add(-d)), so an entry
// exactly d old is still inside.
func (w *Distinct[I, V]) Expire(cutoff time.Time) {
	for w.head < len(w.q) && w.q[w.head].Time.Before(cutoff) {
		w.pop()
	}
	w.compact()
}

// pop removes the front entry.
func (w *Distinct[I, V]) pop() {
	it := w.q[w.head].Item
	if w.counts[it]--; w.counts[it] <= 0 {
		delete(w.counts, it)
	}
	w.q[w.head] = Entry[I, V]{} // let the collector take what the value points to
	w.head++
}

func (w *Distinct[I, V]) compact() {
	switch {
	case w.head == len(w.q):
		w.q, w.head = w.q[:0], 0
	case w.head > compactAfter && w.head*2 > len(w.q):
		n := copy(w.q, w.q[w.head:])
		clear(w.q[n:])
		w.q, w.head = w.q[:n], 0
	}
}

// Entries are the entries inside the window in arrival order. The slice is the window's own:
// it is valid until the next Add, Expire or Release and must not be changed.
func (w *Distinct[I, V]) Entries() []Entry[I, V] { return w.q[w.head:] }

// Len is the number of entries inside the window.
func (w *Distinct[I, V]) Len() int { return len(w.q) - w.head }

// Distinct is the number of distinct items inside the window.
func (w *Distinct[I, V]) Distinct() int { return len(w.counts) }

// Has says whether item is inside the window.
func (w *Distinct[I, V]) Has(item I) bool { return w.counts[item] > 0 }

// Count is how many entries of item are inside the window.
func (w *Distinct[I, V]) Count(item I) int { return w.counts[item] }

// Dropped is how many entries the cap has pushed out since the window was made.
func (w *Distinct[I, V]) Dropped() int { return w.drop }

// Release empties the window and gives its memory back (a Go map never shrinks, so a window
// that once held many items keeps their buckets until it is released). The cap and the
// Dropped count stay. Call it when a key has been idle for longer than its window.
func (w *Distinct[I, V]) Release() {
	w.q, w.head, w.counts = nil, 0, nil
}
