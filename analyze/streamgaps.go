package analyze

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// StreamCoverage is one audit stream of a run and the time its events cover: a Vault or
// Kubernetes audit device (its file, or rotated files chained, as audit-gap groups them), or
// the CloudTrail events of one account and region.
type StreamCoverage struct {
	Stream      string // the stream's first file, or "cloudtrail ACCOUNT REGION"
	Store       string // the event kind: vault, kubernetes, cloudtrail
	Files       int
	First, Last time.Time
	Events      int
}

// StreamGap is a stretch of a period that a stream has no event for.
type StreamGap struct {
	Stream     string
	File       string // the file the silence is in (for between-files: the file after it)
	PrevFile   string // between-files: the file before the silence
	Start, End time.Time
	Reason     string // GapSilence, GapBetweenFiles, GapPeriodStart, GapPeriodEnd
	Detail     string
}

// The reasons of a StreamGap (a public contract: the review's gaps[].reason).
const (
	GapSilence      = "silence"       // inside a file: longer than the floor and factor x the stream's cadence (audit-gap's test)
	GapBetweenFiles = "between-files" // between two rotated files of one stream, same test
	GapPeriodStart  = "period-start"  // the period starts that long before the stream's first event
	GapPeriodEnd    = "period-end"    // the period ends that long after the stream's last event
)

// StreamGaps measures the streams of evs (in time order) over the period [start, end): what
// each covers, and its gaps. Silences inside a Vault or Kubernetes stream and between its
// rotated files are audit-gap's, with its thresholds (cfg; zero fields: the defaults) and its
// rhythm rule; a CloudTrail account and region is not a stream of one device (digest
// validation covers delivery holes), so only its edges are measured. An edge (the period
// before a stream's first event, after its last) is a gap when it is longer than the floor
// and more than factor times the stream's 99th-percentile gap over the context next to it
// (a lone event near the edge has no cadence: no gap).
func StreamGaps(evs []event.Event, start, end time.Time, cfg AuditGapConfig) ([]StreamCoverage, []StreamGap) {
	def := DefaultConfig().AuditGap
	if cfg.Floor <= 0 {
		cfg.Floor = def.Floor
	}
	if cfg.Factor <= 0 {
		cfg.Factor = def.Factor
	}
	if cfg.Context <= 0 {
		cfg.Context = def.Context
	}
	d := &AuditGap{env: Env{Config: &Config{AuditGap: cfg}}, files: map[string]*gapFile{}}
	defer func() { d.store.close() }() // the store is made by the first observe
	type trail struct {
		times []int64
		files map[string]struct{}
	}
	trails := map[string]*trail{}
	var trailOrder []string
	for i := range evs {
		ev := &evs[i]
		if ev.Time.Before(start) || !ev.Time.Before(end) {
			continue
		}
		switch ev.Kind {
		case event.KindVault, event.KindKubernetes:
			d.observe(ev)
		case event.KindCloudTrail:
			k := "cloudtrail " + orUnknown(ev.Namespace) + " " + orUnknown(ev.Region)
			tr := trails[k]
			if tr == nil {
				tr = &trail{files: map[string]struct{}{}}
				trails[k] = tr
				trailOrder = append(trailOrder, k)
			}
			t := ev.Time.UnixNano()
			if n := len(tr.times); n > 0 && t < tr.times[n-1] {
				t = tr.times[n-1]
			}
			tr.times = append(tr.times, t)
			tr.files[ev.Pos.File] = struct{}{}
		}
	}
	var cov []StreamCoverage
	var gaps []StreamGap
	for _, s := range d.streams() {
		name := s.files[0].name
		var times []int64
		for _, f := range s.files {
			times = append(times, f.times.all()...)
		}
		cov = append(cov, StreamCoverage{Stream: name, Store: s.files[0].after[0].ev.kind.String(), Files: len(s.files),
			First: time.Unix(0, times[0]).UTC(), Last: time.Unix(0, times[len(times)-1]).UTC(), Events: len(times)})
		for _, h := range d.silences(s) {
			g := StreamGap{Stream: name, File: h.c.next.pos.File, Start: time.Unix(0, h.c.from).UTC(), End: time.Unix(0, h.c.to).UTC(), Reason: GapSilence}
			cadence := fmt.Sprintf("more than %.0fx the stream's 99th-percentile gap (%s over %d gaps within %s around it)",
				cfg.Factor, h.p99.Round(100*time.Millisecond), h.n, Span(cfg.Context))
			if h.c.boundary {
				g.Reason, g.PrevFile = GapBetweenFiles, h.c.prevFile
				g.Detail = fmt.Sprintf("%s between the end of %s and the start of %s, rotated files of one device: the entries between them are missing from the inputs (%s)",
					Span(h.gap), h.c.prevFile, g.File, cadence)
			} else {
				g.Detail = fmt.Sprintf("%s without an event in %s: %s", Span(h.gap), g.File, cadence)
			}
			gaps = append(gaps, g)
		}
		gaps = append(gaps, edges(name, s.files[0].name, s.files[len(s.files)-1].name, times, start, end, cfg)...)
	}
	for _, k := range trailOrder {
		tr := trails[k]
		cov = append(cov, StreamCoverage{Stream: k, Store: event.KindCloudTrail.String(), Files: len(tr.files),
			First: time.Unix(0, tr.times[0]).UTC(), Last: time.Unix(0, tr.times[len(tr.times)-1]).UTC(), Events: len(tr.times)})
		gaps = append(gaps, edges(k, "", "", tr.times, start, end, cfg)...)
	}
	slices.SortStableFunc(gaps, func(a, b StreamGap) int { return a.Start.Compare(b.Start) })
	return cov, gaps
}

// edges are the period's stretches before a stream's first event and after its last that
// pass the test: longer than the floor and more than factor x the stream's 99th-percentile
// gap over the context next to the edge (never for a lone event: it has no cadence).
func edges(stream, firstFile, lastFile string, times []int64, start, end time.Time, cfg AuditGapConfig) []StreamGap {
	var out []StreamGap
	first, last := times[0], times[len(times)-1]
	test := func(gap time.Duration, lo, hi int64) (string, bool) {
		if gap <= cfg.Floor {
			return "", false
		}
		var gs []int64
		i, _ := slices.BinarySearch(times, lo)
		for ; i+1 < len(times) && times[i+1] <= hi; i++ {
			gs = append(gs, times[i+1]-times[i])
		}
		if len(gs) == 0 {
			return "", false // a single event near the edge: no cadence to judge the silence by
		}
		slices.Sort(gs)
		p99 := time.Duration(gs[int(math.Ceil(0.99*float64(len(gs))))-1])
		if float64(gap) <= cfg.Factor*float64(p99) {
			return "", false
		}
		return fmt.Sprintf("more than %.0fx the stream's 99th-percentile gap (%s over %d gaps within %s of the edge)",
			cfg.Factor, p99.Round(100*time.Millisecond), len(gs), Span(cfg.Context/2)), true
	}
	half := int64(cfg.Context / 2)
	if gap := time.Duration(first - start.UnixNano()); gap > 0 {
		if why, ok := test(gap, first, first+half); ok {
			out = append(out, StreamGap{Stream: stream, File: firstFile, Start: start.UTC(), End: time.Unix(0, first).UTC(), Reason: GapPeriodStart,
				Detail: fmt.Sprintf("the period starts %s before the stream's first event: %s", Span(gap), why)})
		}
	}
	if gap := time.Duration(end.UnixNano() - last); gap > 0 {
		if why, ok := test(gap, last-half, last); ok {
			out = append(out, StreamGap{Stream: stream, File: lastFile, Start: time.Unix(0, last).UTC(), End: end.UTC(), Reason: GapPeriodEnd,
				Detail: fmt.Sprintf("the period ends %s after the stream's last event: %s", Span(gap), why)})
		}
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
