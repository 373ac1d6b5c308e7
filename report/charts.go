package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// Charts is the data behind the HTML report's charts: reads per identity over time (the seed's
// "Reads per Accessor" panel) and distinct secrets per time bucket, for the top identities.
type Charts struct {
	From, To time.Time     // the charted period: the reporting period (after --learn-until)
	Bucket   time.Duration // width of one point
	Reads    []Series      // read and list requests per bucket
	Distinct []Series      // distinct secrets touched per bucket
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

// BuildCharts computes the chart data over [from, to] from events in time order. The identities
// shown are those with findings first (worst severity first), then the busiest readers, at most
// MaxSeries. Two linear passes over evs; memory is bounded by the chosen identities' distinct
// secrets within one bucket.
func BuildCharts(evs []event.Event, findings []analyze.Finding, from, to time.Time) *Charts {
	if to.Before(from) || from.IsZero() {
		return &Charts{From: from, To: to, Bucket: time.Hour}
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
	ch := &Charts{From: start, To: start.Add(time.Duration(n) * bucket), Bucket: bucket}

	isRead := func(ev *event.Event) bool { return ev.Op == event.OpRead || ev.Op == event.OpList }
	inRange := func(ev *event.Event) bool { return !ev.Time.Before(from) && !ev.Time.After(to) }
	reads := map[string]int{}
	labels := map[string]string{}
	for i := range evs {
		ev := &evs[i]
		if !isRead(ev) || !inRange(ev) {
			continue
		}
		id := ev.Actor()
		reads[id]++
		if ev.DisplayName != "" {
			labels[id] = ev.DisplayName
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
	type acc struct {
		reads, distinct []int
		cur             int
		seen            map[string]struct{}
	}
	chosen := map[string]*acc{}
	for _, id := range ids {
		chosen[id] = &acc{reads: make([]int, n), distinct: make([]int, n), cur: -1}
	}
	for i := range evs {
		ev := &evs[i]
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
		a.reads[b]++
		if ev.Resource == "" {
			continue
		}
		if b != a.cur { // events are in time order: a new bucket starts a new set
			a.cur, a.seen = b, map[string]struct{}{}
		}
		if _, ok := a.seen[ev.Resource]; !ok {
			a.seen[ev.Resource] = struct{}{}
			a.distinct[b]++
		}
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
