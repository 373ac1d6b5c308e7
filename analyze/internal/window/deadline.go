package window

import "time"

// Deadlines is a queue of one deadline per key, for settling a key once its window has
// passed: a detector moves a key's deadline with each of its events and asks, with the newest
// log time, which keys are due.
//
// Moving a deadline later, what every event does, is O(1): the key keeps its place in the
// heap and is put back at its new deadline when that place comes up (a stale entry). Moving
// one earlier, and popping, are O(log n) in the number of keys. The zero value is empty and
// ready to use.
type Deadlines[K comparable] struct {
	h     deadlineHeap[K]
	slots map[K]*slot[K]
}

type slot[K comparable] struct {
	key K
	due time.Time // the deadline
	at  time.Time // where the key sits in the heap: at or before due
	i   int       // index in the heap
}

// Set gives key the deadline t, in place of the one it had.
func (d *Deadlines[K]) Set(key K, t time.Time) {
	if d.slots == nil {
		d.slots = map[K]*slot[K]{}
	}
	s := d.slots[key]
	switch {
	case s == nil:
		s = &slot[K]{key: key, due: t, at: t}
		d.slots[key] = s
		d.h.push(s)
	case t.Before(s.at):
		s.due, s.at = t, t
		d.h.up(s.i)
	default:
		s.due = t
	}
}

// Deadline is key's deadline, if it has one.
func (d *Deadlines[K]) Deadline(key K) (time.Time, bool) {
	if s := d.slots[key]; s != nil {
		return s.due, true
	}
	return time.Time{}, false
}

// Remove forgets key's deadline.
func (d *Deadlines[K]) Remove(key K) {
	if s := d.slots[key]; s != nil {
		d.h.remove(s.i)
		delete(d.slots, key)
	}
}

// SettleAfter is when a key whose newest entry is at last, in a window of the given width,
// can be settled without changing what any later entry sees, as long as entries arrive at most
// one width late: the window has passed (last+width) and one more width allows for the
// disorder. A detector settles with the newest log time it has seen, so a key is settled
// exactly as its next event would have found it.
func SettleAfter(last time.Time, width time.Duration) time.Time { return last.Add(2 * width) }

// Len is the number of keys with a deadline.
func (d *Deadlines[K]) Len() int { return len(d.slots) }

// Due removes each key whose deadline is before now and calls settle for it, earliest
// deadline first. A deadline equal to now is not due yet. settle may Set the key again (it
// is then due no earlier than the next call) or Set other keys.
func (d *Deadlines[K]) Due(now time.Time, settle func(K)) {
	if len(d.h) == 0 || !d.h[0].at.Before(now) {
		return // the common case, kept small enough to inline: nothing is due
	}
	d.settle(now, settle)
}

func (d *Deadlines[K]) settle(now time.Time, settle func(K)) {
	for len(d.h) > 0 {
		s := d.h[0]
		if !s.at.Before(now) {
			return
		}
		if s.due.After(s.at) { // moved later since it was queued: requeue at its deadline
			s.at = s.due
			d.h.down(0)
			continue
		}
		d.h.remove(0)
		delete(d.slots, s.key)
		settle(s.key)
	}
}

// deadlineHeap is a min-heap of slots by their place in the queue. It is written out rather
// than built on container/heap: the interface calls of that package were most of the cost of
// requeueing a key.
type deadlineHeap[K comparable] []*slot[K]

func (h deadlineHeap[K]) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}

func (h deadlineHeap[K]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h deadlineHeap[K]) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h[r].at.Before(h[c].at) {
			c = r
		}
		if !h[c].at.Before(h[i].at) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

func (h *deadlineHeap[K]) push(s *slot[K]) {
	s.i = len(*h)
	*h = append(*h, s)
	h.up(s.i)
}

// remove takes out the slot at i.
func (h *deadlineHeap[K]) remove(i int) {
	old := *h
	n := len(old) - 1
	if i != n {
		old.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		h.down(i)
		h.up(i)
	}
}
