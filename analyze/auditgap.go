package analyze

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// AuditGap reports a silence in an audit stream that is both longer than a floor and far longer
// than the stream's own cadence around it.
//
// Why: an audit log that stops while the service keeps running (a full log volume, a device
// removed and re-added, an attacker holding the node) hides whatever happened meanwhile (ATT&CK
// T1562.008). Vault refuses requests it cannot audit, so the hole also shows an outage.
//
// Streams: one audit device is one stream. Events of several clusters are interleaved in one
// run, so gaps are measured per input file, and files that are rotations of one another are
// chained into one stream: same directory, same base name (audit.log, audit.log-20260923.gz,
// audit.log.1) and time ranges that do not overlap. A silence between two chained files is
// reported once, at low severity, as what it is: a retention or rotation gap.
//
// Thresholds: a gap fires when it is longer than Floor (default 60 s) and more than Factor
// (default 10) times the 99th percentile of the stream's gaps between consecutive events over
// the Context around it (default 24 hours: 12 before, 12 after; the gap itself included). A
// busy cluster's two-minute hole fires; a small cluster's quiet night does not, because its own
// day holds gaps as long (and with fewer than 100 gaps in the context the 99th percentile is the
// longest gap, the silence itself). Linear: each stream's event times are kept as varint deltas
// (gaptimes.go: in memory up to 16 MiB, then in a temporary file, so memory does not grow with
// the input), read back with forward cursors, and the percentiles come from a sliding window
// over log-spaced buckets (1% wide) in a Fenwick tree.
//
// Rhythm: a silence that passes the test but repeats at the same hours on the adjacent day or
// week of the same stream (a quiet night, a weekend, where the input covers another one) is the
// stream's rhythm and is not reported.
//
// Vault and OpenBao file audit devices only: CloudTrail's files are not streams.
//
// Known false positives: a cluster whose traffic really stops (maintenance, a planned
// shutdown); a stream of human traffic only (a few hundred requests a day, silent nights) read
// for a single day, where no other night shows the rhythm; raise the factor for such inputs.
// A file cut before it was copied is not one: the silence at the end of the input is never
// reported, since nothing came after it.
type AuditGap struct {
	env   Env
	rule  Rule
	files map[string]*gapFile
	order []string
	store *gapStore
}

// gapFile is what one input file contributes: its event times, and the events that follow a
// gap longer than the floor (the only ones a finding can name).
type gapFile struct {
	name  string
	times gapTimes // unix nanoseconds, in order
	after []gapEvent
}

// gapEvent is the first event after a silence.
type gapEvent struct {
	at  int64
	ev  gapActor
	pos event.Pos
}

type gapActor struct {
	kind                              event.Kind
	identity, display, cred, path, op string
	addr                              string
}

// NewAuditGap builds the audit-gap detector.
func NewAuditGap(env Env) Detector {
	return &AuditGap{env: env, files: map[string]*gapFile{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault), Group: GroupIdentity, ID: "audit-gap", Name: "Silence in an audit stream", Severity: High,
		Summary: "an audit stream stops for longer than 60 s and more than 10x its own 99th-percentile gap over the surrounding day",
		Help: "A hole in the audit log hides what happened meanwhile (a full log volume, a device removed and re-added, tampering). " +
			"Each audit device is its own stream (rotated files in one directory are chained); a gap fires when it is longer than the floor " +
			"(default 60s) and more than factor (10) times the stream's 99th-percentile gap over the context (24h) around it " +
			"(thresholds.audit-gap: floor, factor, context); a silence that repeats at the same hours on the adjacent day or week (a quiet " +
			"night, a weekend) is the stream's rhythm. A silence between two rotated files is reported at low severity as a " +
			"retention or rotation gap. Known false positives: planned maintenance; a cluster whose traffic really stops; human-only " +
			"traffic read for a single day.",
		Guide: "Compare with the server's operational log and the other audit devices for the same time: was Vault up, was the disk " +
			"full, was an audit device disabled? Treat requests in the hole as unaudited; check the first identities active after it.",
		MITRE: []string{"T1562.008", "T1070"},
	}}
}

// Rule describes audit-gap.
func (d *AuditGap) Rule() Rule { return d.rule }

// Observe appends the event's time to its file's stream.
func (d *AuditGap) Observe(ev *event.Event) {
	if ev.Kind != event.KindVault {
		// CloudTrail delivers many small files per account, region and hour, out of order: a
		// file is not a stream. Trail tampering is audit-disabled's; delivery holes need the
		// digest files.
		return
	}
	d.observe(ev)
}

// observe appends the event's time to its file's stream, whatever its kind (StreamGaps measures
// Kubernetes audit files too).
func (d *AuditGap) observe(ev *event.Event) {
	name := ev.Pos.File
	g := d.files[name]
	if g == nil {
		if d.store == nil {
			d.store = &gapStore{budget: gapMemory}
		}
		g = &gapFile{name: name, times: gapTimes{store: d.store}}
		d.files[name] = g
		d.order = append(d.order, name)
	}
	t := ev.Time.UnixNano()
	n, last := g.times.n, g.times.last
	// The first event of a file may follow a silence too: the one between rotated files.
	if n == 0 || time.Duration(t-last) > d.env.Config.AuditGap.Floor {
		g.after = append(g.after, gapEvent{at: t, pos: ev.Pos, ev: gapActor{
			kind: ev.Kind, identity: ev.Actor(), display: ev.DisplayName, cred: ev.Credential,
			path: ev.Path, op: ev.Action, addr: addrString(ev),
		}})
	}
	if n > 0 && t < last {
		t = last // events reach detectors in time order; never let a gap be negative
	}
	g.times.add(t)
}

func addrString(ev *event.Event) string {
	if ev.RemoteAddr.IsValid() {
		return ev.RemoteAddr.String()
	}
	return ""
}

// gapStream is one audit device: one or more chained files.
type gapStream struct {
	files []*gapFile
}

func (s *gapStream) last() int64 {
	return s.files[len(s.files)-1].times.last
}

func (s *gapStream) times() []*gapTimes {
	out := make([]*gapTimes, len(s.files))
	for i, f := range s.files {
		out[i] = &f.times
	}
	return out
}

// streams groups the files into streams: files in one directory with the same base name whose
// time ranges do not overlap are rotations of one device.
func (d *AuditGap) streams() []*gapStream {
	groups := map[string][]*gapFile{}
	var keys []string
	for _, name := range d.order {
		f := d.files[name]
		if f.times.n == 0 {
			continue
		}
		k := filepath.Dir(name) + "\x00" + rotationStem(filepath.Base(name))
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	var out []*gapStream
	for _, k := range keys {
		fs := groups[k]
		slices.SortStableFunc(fs, func(a, b *gapFile) int { return compareInt64(a.times.first, b.times.first) })
		var cur *gapStream
		for _, f := range fs {
			if cur != nil && f.times.first >= cur.last() {
				cur.files = append(cur.files, f)
				continue
			}
			// Overlapping ranges: two devices writing side by side, not a rotation.
			cur = &gapStream{files: []*gapFile{f}}
			out = append(out, cur)
		}
	}
	return out
}

// rotationStem is a file name without what log rotation adds: compression suffixes, dates,
// counters ("audit.log-20260923.gz", "audit.log.1", "audit-2026-09-23T10-00-00.000.log" and
// "audit.log" all become "audit").
func rotationStem(name string) string {
	s := strings.ToLower(name)
	if i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }); i >= 0 {
		s = s[:i]
	}
	for {
		t := strings.TrimRight(s, ".-_ ")
		for _, ext := range []string{".gz", ".zst", ".bz2", ".log", ".json", ".jsonl", ".ndjson", ".txt"} {
			t = strings.TrimSuffix(t, ext)
		}
		if t == s {
			return s
		}
		s = t
	}
}

// Finish measures every stream's gaps against the percentile of its context.
func (d *AuditGap) Finish() []Finding {
	defer d.store.close()
	var out []Finding
	for _, s := range d.streams() {
		out = append(out, d.stream(s)...)
	}
	return out
}

// gapCandidate is a gap longer than the floor, waiting for its context.
type gapCandidate struct {
	from, to int64 // the last event before and the first after
	next     gapEvent
	boundary bool // between two chained files
	prevFile string
}

func (d *AuditGap) stream(s *gapStream) []Finding {
	var out []Finding
	for _, h := range d.silences(s) {
		out = append(out, d.finding(h.c, h.gap, h.p99, h.n))
	}
	return out
}

// gapHit is a candidate that passed the test: the silence, the stream's 99th percentile around
// it and how many gaps that percentile is over.
type gapHit struct {
	c        gapCandidate
	gap, p99 time.Duration
	n        int
}

// silences are the stream's gaps that pass the test, in time order.
func (d *AuditGap) silences(s *gapStream) []gapHit {
	cfg := d.env.Config.AuditGap
	// The candidates: every recorded "first event after a silence" whose silence in the
	// chained stream is still longer than the floor.
	var cands []gapCandidate
	var prev int64 // the stream's event before the cursor
	havePrev := false
	for fi, f := range s.files {
		c := newGapCursor([]*gapTimes{&f.times})
		j := 0 // index in the file of the cursor's next time
		for _, a := range f.after {
			for {
				t, ok := c.peek()
				if !ok || t >= a.at {
					break
				}
				c.next()
				prev, havePrev = t, true
				j++
			}
			if !havePrev {
				continue // the start of the stream follows nothing
			}
			if time.Duration(a.at-prev) <= cfg.Floor {
				continue
			}
			cand := gapCandidate{from: prev, to: a.at, next: a, boundary: j == 0 && fi > 0}
			if cand.boundary {
				cand.prevFile = s.files[fi-1].name
			}
			cands = append(cands, cand)
		}
		if f.times.n > 0 {
			prev, havePrev = f.times.last, true
		}
	}
	if len(cands) == 0 {
		return nil
	}
	// Slide a window over the gaps (a gap ends at each event but the first) and ask each
	// candidate for the 99th percentile of the gaps ending within
	// [from - Context/2, to + Context/2]. Two cursors: the window's end and its start.
	times := s.times()
	half := int64(cfg.Context / 2)
	var bit fenwick
	hiC, loC := newGapCursor(times), newGapCursor(times)
	hiT, _ := hiC.next() // the event the window's last gap ends at
	loT, _ := loC.next() // the event the window's first gap starts at
	lo, hi := 0, 0       // gaps [lo, hi) are in the tree
	rh := rhythmCheck{first: s.files[0].times.first, last: s.last(), files: times}
	var out []gapHit
	for _, c := range cands {
		for {
			t, ok := hiC.peek()
			if !ok || t > c.to+half {
				break
			}
			hiC.next()
			bit.add(gapBucket(t-hiT), 1)
			hiT = t
			hi++
		}
		for lo < hi {
			t, _ := loC.peek()
			if t >= c.from-half {
				break
			}
			loC.next()
			bit.add(gapBucket(t-loT), -1)
			loT = t
			lo++
		}
		n := hi - lo
		if n == 0 {
			continue
		}
		rank := int(math.Ceil(0.99 * float64(n)))
		p99 := bucketUpper(bit.search(rank))
		gap := time.Duration(c.to - c.from)
		if float64(gap) <= cfg.Factor*float64(p99) || rh.silent(c.from, c.to) {
			continue
		}
		out = append(out, gapHit{c, gap, p99, n})
	}
	return out
}

func (d *AuditGap) finding(c gapCandidate, gap, p99 time.Duration, n int) Finding {
	a := c.next.ev
	from, to := time.Unix(0, c.from).UTC(), time.Unix(0, c.to).UTC()
	f := Finding{
		Rule: d.rule.ID, Severity: d.rule.Severity, Title: d.rule.Name, Source: a.kind.String(),
		Identity: a.identity, DisplayName: a.display, Credential: a.cred,
		FirstSeen: from, LastSeen: to, Count: 1, TriggerTime: to,
	}
	stream := c.next.pos.File
	f.Resources = []string{stream}
	if c.boundary {
		f.Severity = Low
		f.Title = "Gap between rotated audit files"
		f.Resources = []string{c.prevFile, stream}
	}
	if a.addr != "" {
		f.SourceIPs = []string{a.addr}
	}
	who := a.display
	if who == "" {
		who = a.identity
	}
	if who == "" {
		who = "an unauthenticated caller"
	}
	where := "in " + stream
	if c.boundary {
		where = fmt.Sprintf("between the end of %s and the start of %s (a retention or rotation gap: the files are one device's "+
			"log, and the entries between them are missing from the input)", c.prevFile, stream)
	}
	f.Message = fmt.Sprintf("%s without audit entries %s, from %s to %s: more than %.0fx this stream's 99th-percentile gap "+
		"(%s over %d gaps within %s around it); first event after it: %s %s by %s",
		Span(gap), where, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano),
		d.env.Config.AuditGap.Factor, p99.Round(100*time.Millisecond), n, Span(d.env.Config.AuditGap.Context), a.op, a.path, who)
	f.addEvidence(Evidence{File: c.next.pos.File, Line: c.next.pos.Line, Time: to})
	f.Remediation = "check the server's operational log and the other audit devices for the silence; treat requests in it as unaudited"
	return f
}

// rhythmShifts are the periods at which a stream's quiet hours repeat: the day and the week.
var rhythmShifts = [...]time.Duration{-24 * time.Hour, 24 * time.Hour, -7 * 24 * time.Hour, 7 * 24 * time.Hour}

// rhythmCheck reports whether a silence repeats at the same hours on an adjacent day or week
// that the stream covers: a quiet night or weekend, not a hole. For each shifted window inside
// the stream's span, the stream counts as silent then when one gap covers at least half of the
// window. Only gaps that passed the percentile test are checked, in time order, and they do not
// overlap, so a forward cursor per shift visits each event at most once: linear.
type rhythmCheck struct {
	first, last int64 // the stream's span
	files       []*gapTimes
	cur         [len(rhythmShifts)]*gapCursor
}

func (r *rhythmCheck) silent(from, to int64) bool {
	for i, k := range rhythmShifts {
		a, b := from+int64(k), to+int64(k)
		if a < r.first || b > r.last {
			continue // the stream does not cover those hours
		}
		if r.cur[i] == nil {
			r.cur[i] = newGapCursor(r.files)
		}
		if longestClipped(r.cur[i], a, b)*2 >= b-a {
			return true
		}
	}
	return false
}

// longestClipped is the longest silence inside [a, b], counting the gaps that cross its edges
// only up to the edges. The stream covers [a, b]; c is at or before its first event at or after
// a, and is left after the last at or before b (the next window starts at b or later, and an
// event at exactly its start changes no silence in it).
func longestClipped(c *gapCursor, a, b int64) int64 {
	for {
		t, ok := c.peek()
		if !ok || t >= a {
			break
		}
		c.next()
	}
	prev := a
	var longest int64
	for {
		t, ok := c.peek()
		if !ok || t > b {
			break
		}
		c.next()
		longest = max(longest, t-prev)
		prev = t
	}
	return max(longest, b-prev)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Gap buckets: bucket 0 holds gaps under a millisecond; bucket k >= 1 holds gaps in
// [1ms * 1.01^(k-1), 1ms * 1.01^k). 3,000 buckets reach beyond ten years.
const (
	gapBuckets    = 3000
	gapBucketBase = 1.01
)

var logGapBase = math.Log(gapBucketBase)

func gapBucket(ns int64) int {
	ms := float64(ns) / 1e6
	if ms < 1 {
		return 0
	}
	k := int(math.Log(ms)/logGapBase) + 1
	return min(k, gapBuckets-1)
}

// bucketUpper is the longest gap bucket k can hold (an overestimate of the percentile, so the
// test errs towards quiet).
func bucketUpper(k int) time.Duration {
	if k <= 0 {
		return time.Millisecond
	}
	return time.Duration(math.Pow(gapBucketBase, float64(k)) * float64(time.Millisecond))
}

// fenwick counts gaps per bucket and finds the bucket holding the k-th smallest gap in
// O(log buckets).
type fenwick struct{ t [gapBuckets + 1]int32 }

func (f *fenwick) add(k, v int) {
	for i := k + 1; i <= gapBuckets; i += i & -i {
		f.t[i] += int32(v)
	}
}

// search returns the smallest bucket whose cumulative count reaches rank (1-based).
func (f *fenwick) search(rank int) int {
	pos := 0
	rem := int32(rank)
	for step := 1 << 11; step > 0; step >>= 1 { // 2^11 = 2048 < 3000 < 4096
		if next := pos + step; next <= gapBuckets && f.t[next] < rem {
			pos = next
			rem -= f.t[next]
		}
	}
	return pos // 0-based bucket index = pos (1-based pos+1)
}
