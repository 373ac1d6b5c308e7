package report

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// Charts is the data behind the HTML report's charts: reads per identity over time (the seed's
// "Reads per Accessor" panel) and distinct secrets, for the top identities. Both count what
// bulk-read counts, in its sliding window: each point is the peak within its bucket, so the
// rule's thresholds can be drawn as lines on them.
type Charts struct {
	From, To time.Time     // the charted period: the reporting period (after --learn-until)
	Bucket   time.Duration // width of one point
	Window   time.Duration // the sliding window counted in (bulk-read's)
	Reads    []Series      // peak read and list requests in a Window, per bucket
	Distinct []Series      // peak distinct secrets read or listed in a Window, per bucket
	// ReadLimit and DistinctLimit are bulk-read's thresholds (count, distinct): the
	// lines drawn across the charts.
	ReadLimit, DistinctLimit int
}

// Series is one identity's values, one per bucket.
type Series struct {
	Identity string
	Label    string // display name when known
	Values   []int
	Total    int
	Flagged  bool // the identity has a finding
}

// MaxSeries is how many identities a chart shows.
const MaxSeries = 6

// maxBuckets bounds the points of a line; the bucket grows with the period.
const maxBuckets = 150

var bucketSizes = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour,
}

// BuildCharts is BuildChartsFor with bulk-read's default thresholds.
func BuildCharts(evs []event.Event, findings []analyze.Finding, from, to time.Time) *Charts {
	return BuildChartsFor(evs, findings, from, to, analyze.DefaultConfig().BulkRead)
}

// BuildChartsFor is BuildChartsSeq over a slice of events.
func BuildChartsFor(evs []event.Event, findings []analyze.Finding, from, to time.Time, bulk analyze.BulkReadConfig) *Charts {
	return BuildChartsSeq(func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			for i := range evs {
				if !yield(&evs[i]) {
					return
				}
			}
		}
	}, findings, from, to, bulk)
}

// BuildChartsSeq computes the chart data over [from, to] from events in time order, counting in
// bulk-read's window as the run configured it. The identities shown are those with findings
// first (worst severity first), then the busiest readers, at most MaxSeries. Two linear passes,
// each a call of events (the *event.Event yielded may be reused: nothing keeps it); memory is
// bounded by the identities that read and the chosen identities' reads within one window.
func BuildChartsSeq(events func() iter.Seq[*event.Event], findings []analyze.Finding, from, to time.Time, bulk analyze.BulkReadConfig) *Charts {
	if bulk.Window <= 0 {
		bulk = analyze.DefaultConfig().BulkRead
	}
	if to.Before(from) || from.IsZero() {
		return &Charts{From: from, To: to, Bucket: time.Hour, Window: bulk.Window}
	}
	span := to.Sub(from)
	bucket := bucketSizes[len(bucketSizes)-1]
	for _, b := range bucketSizes {
		if span/b < maxBuckets {
			bucket = b
			break
		}
	}
	start := from.Truncate(bucket)
	n := int(to.Sub(start)/bucket) + 1
	ch := &Charts{From: start, To: start.Add(time.Duration(n) * bucket), Bucket: bucket, Window: bulk.Window,
		ReadLimit: bulk.MinCount, DistinctLimit: bulk.MinDistinct}

	isRead := func(ev *event.Event) bool { return ev.Op == event.OpRead || ev.Op == event.OpList }
	inRange := func(ev *event.Event) bool { return !ev.Time.Before(from) && !ev.Time.After(to) }
	reads := map[string]int{}
	labels := map[string]string{}
	// The strings kept are copies, made once per identity and label: the events may be yielded
	// from a reused buffer (a spill file's pass), whose strings do not outlive the iteration.
	// A map is only assigned to on a new key: assigning to an existing string key stores the
	// new key too.
	type reader struct {
		n     int
		label string
	}
	byID := map[string]*reader{}
	for ev := range events() {
		if !isRead(ev) || !inRange(ev) {
			continue
		}
		id := ev.Actor()
		r := byID[id]
		if r == nil {
			r = &reader{}
			byID[strings.Clone(id)] = r
		}
		r.n++
		if l := ev.DisplayName; l != "" && r.label != l {
			r.label = strings.Clone(l)
		}
	}
	for id, r := range byID {
		reads[id] = r.n
		if r.label != "" {
			labels[id] = r.label
		}
	}
	// Identities with findings first, worst severity first, then by read volume.
	worst := map[string]analyze.Severity{}
	for _, f := range findings {
		if s, ok := worst[f.Identity]; !ok || f.Severity > s {
			worst[f.Identity] = f.Severity
		}
		if f.DisplayName != "" && labels[f.Identity] == "" {
			labels[f.Identity] = f.DisplayName
		}
	}
	ids := make([]string, 0, len(reads))
	for id := range reads {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		sa, fa := worst[a]
		sb, fb := worst[b]
		switch {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		case fa && fb && sa != sb:
			return cmp.Compare(sb, sa)
		}
		return cmp.Or(cmp.Compare(reads[b], reads[a]), cmp.Compare(a, b))
	})
	if len(ids) > MaxSeries {
		ids = ids[:MaxSeries]
	}
	// A sliding window per identity, as bulk-read keeps one per credential: the reads of the
	// last Window and how many times each secret occurs in it.
	type read struct {
		t   time.Time
		res string
	}
	type acc struct {
		reads, distinct []int
		win             []read
		head            int
		counts          map[string]int
		names           map[string]string // a copy of each resource read, as above
	}
	chosen := map[string]*acc{}
	for _, id := range ids {
		chosen[id] = &acc{reads: make([]int, n), distinct: make([]int, n), counts: map[string]int{}, names: map[string]string{}}
	}
	for ev := range events() {
		if !isRead(ev) || !inRange(ev) {
			continue
		}
		a := chosen[ev.Actor()]
		if a == nil {
			continue
		}
		b := int(ev.Time.Sub(start) / bucket)
		if b < 0 || b >= n {
			continue
		}
		res := ev.Resource
		if res != "" {
			if c, ok := a.names[res]; ok {
				res = c
			} else {
				res = strings.Clone(res)
				a.names[res] = res
			}
			a.counts[res]++ // res is the copy: the key stored stays valid
		}
		a.win = append(a.win, read{ev.Time, res})
		for a.head < len(a.win) && ev.Time.Sub(a.win[a.head].t) > bulk.Window {
			if r := a.win[a.head].res; r != "" {
				if a.counts[r]--; a.counts[r] == 0 {
					delete(a.counts, r)
				}
			}
			a.head++
		}
		if a.head > 1024 && a.head*2 > len(a.win) { // keep the slice from growing with the day
			a.win = append(a.win[:0], a.win[a.head:]...)
			a.head = 0
		}
		a.reads[b] = max(a.reads[b], len(a.win)-a.head)
		a.distinct[b] = max(a.distinct[b], len(a.counts))
	}
	for _, id := range ids {
		a := chosen[id]
		_, flagged := worst[id]
		label := labels[id]
		if label == "" {
			label = id
		}
		ch.Reads = append(ch.Reads, Series{Identity: id, Label: label, Values: a.reads, Total: reads[id], Flagged: flagged})
		total := 0
		for _, v := range a.distinct {
			total = max(total, v)
		}
		ch.Distinct = append(ch.Distinct, Series{Identity: id, Label: label, Values: a.distinct, Total: total, Flagged: flagged})
	}
	return ch
}
