package sources

import (
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// EventStore holds a file's events. When the input's size is known (an uncompressed file),
// the pairing stage estimates the final count from the first chunk and keeps the events in one
// slice of that size: no copy at the end for a single file, one large allocation instead of
// many. Otherwise it keeps them in fixed-size blocks, so growing never copies what is there
// (a growing slice would, and would leave the old copy to the collector).
type EventStore struct {
	flat   []event.Event
	blocks [][]event.Event
	n      int
}

const (
	blockShift = 12
	blockSize  = 1 << blockShift
)

func (es *EventStore) Add(ev *event.Event) int {
	if es.flat != nil {
		if len(es.flat) == cap(es.flat) { // the estimate was short: grow by a quarter
			grown := make([]event.Event, len(es.flat), cap(es.flat)+cap(es.flat)/4+blockSize)
			copy(grown, es.flat)
			es.flat = grown
		}
		es.flat = append(es.flat, *ev)
	} else {
		if es.n>>blockShift == len(es.blocks) {
			es.blocks = append(es.blocks, make([]event.Event, 0, blockSize))
		}
		blk := &es.blocks[len(es.blocks)-1]
		*blk = append(*blk, *ev)
	}
	es.n++
	return es.n - 1
}

func (es *EventStore) At(i int) *event.Event {
	if es.flat != nil {
		return &es.flat[i]
	}
	return &es.blocks[i>>blockShift][i&(blockSize-1)]
}

// reserve switches to one slice with room for n events.
func (es *EventStore) Reserve(n int) {
	if es.flat != nil || n <= es.n {
		return
	}
	flat := make([]event.Event, 0, n)
	for _, blk := range es.blocks {
		flat = append(flat, blk...)
	}
	es.flat, es.blocks = flat, nil
}

// each calls fn for every event in order.
func (es *EventStore) Each(fn func(i int, ev *event.Event)) {
	if es.flat != nil {
		for i := range es.flat {
			fn(i, &es.flat[i])
		}
		return
	}
	for b, blk := range es.blocks {
		for j := range blk {
			fn(b<<blockShift+j, &blk[j])
		}
	}
}

// storeOf views evs as a store without copying.
func StoreOf(evs []event.Event) EventStore {
	if evs == nil {
		evs = []event.Event{}
	}
	return EventStore{flat: evs, n: len(evs)}
}

// sortKey orders the events of a Load: by time, then input order (file, position), which is
// what a stable sort of the files' events concatenated in order gives.
type sortKey struct {
	sec  int64
	nsec int32
	file int32
	idx  int
}

func cmpSortKey(a, b sortKey) int {
	switch {
	case a.sec != b.sec:
		if a.sec < b.sec {
			return -1
		}
		return 1
	case a.nsec != b.nsec:
		return int(a.nsec - b.nsec)
	case a.file != b.file:
		return int(a.file - b.file)
	}
	return a.idx - b.idx
}

func keyOf(t time.Time, file, idx int) sortKey {
	return sortKey{sec: t.Unix(), nsec: int32(t.Nanosecond()), file: int32(file), idx: idx}
}

// Len is the number of events held.
func (es *EventStore) Len() int { return es.n }

// Flat is the events as one slice, when they are held as one (StoreOf, or a store sized from
// the file); nil otherwise.
func (es *EventStore) Flat() []event.Event { return es.flat }
