// Package metrics writes what one run found and read as Prometheus metrics, in the text
// exposition format that node_exporter's textfile collector reads (--metrics FILE): findings by
// rule, severity and store, events and malformed lines, the newest event of each audit stream,
// the secret accesses the baseline had not seen, the busiest readers, and how the run went.
//
// Each file describes one run and replaces the previous one, so every metric is a gauge: a
// value of this run, never a count that grows across runs (Prometheus' rate() over a counter
// that resets on every run would be meaningless).
//
// Label values come from logs and are attacker-controlled. They pass through report.Sanitize
// (controls, bidi overrides and bad UTF-8 made visible) and expfmt escapes the rest, and their
// number is bounded: no label ever names a secret, identities are only the top N by reads,
// inputs only the largest few, streams at most MaxStreams per store.
package metrics

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// MaxStreams caps the audit streams listed per store. CloudTrail streams are an account and a
// region as each record states them, so a planted file could name thousands.
const MaxStreams = 100

// Collector is what the metrics need from the events of a run, gathered one event at a time:
// by Collect before analyze.Run, or by Add just before analyze.Runner.Observe sees the same
// event. It keeps counters and one entry per distinct identity and stream, never the events;
// over a baseline that does not learn as it goes (Collect), also the (identity, secret) pairs
// the run taught it, to count each new pair once.
type Collector struct {
	events  map[string]int // store -> events analysed
	reads   map[string]int // store -> secret reads in the reporting window
	fresh   map[string]int // store -> distinct (identity, secret) pairs read that the baseline had not seen
	readers map[identityKey]int
	streams map[streamKey]time.Time // the newest event of each audit stream

	bl         *baseline.Baseline
	learnUntil time.Time
	// learned are the pairs this run taught the baseline that its file did not hold: what
	// baseline.Learn will have recorded by the time of each event, while the baseline does not
	// learn as Add goes (Collect). pending is the latest such pair, not yet in learned: when
	// the next Add finds the baseline knows it, analyze.Runner.Observe is learning each event
	// after Add, the baseline holds every pair learned would, and learned is dropped for good
	// (follows), so a streamed run keeps no second copy of the pairs.
	learned map[pairKey]struct{}
	pending pairKey
	follows bool
	// Events of one file come in long runs: the stream name is worked out once per run of a file.
	lastFile   string
	lastStream streamKey
}

type identityKey struct{ store, identity string }

type streamKey struct{ store, stream string }

type pairKey struct{ identity, resource string }

// Collect goes over the events the run analyses (in time order: the window, and the history
// before --since a baseline has not learned) with the baseline as loaded, before analyze.Run.
// Events before learnUntil (--learn-until, or --since when there is history) only train: their
// reads are not counted, but what they touch is no longer new afterwards, as for the detectors.
// An event an earlier run learned (event.FlagLearned) is a read, never a new one, and, as in Run,
// is not learned again.
func Collect(evs []event.Event, bl *baseline.Baseline, learnUntil time.Time) *Collector {
	c := NewCollector(bl, learnUntil)
	for i := range evs {
		c.Add(&evs[i])
	}
	// The pairs are garbage before analyze.Run grows the baseline by the same ones; this
	// Collector takes no more events.
	c.learned = nil
	return c
}

// NewCollector starts collecting over bl, the baseline as loaded (nil: an empty one), with
// learnUntil as in Collect. Feed it with Add.
func NewCollector(bl *baseline.Baseline, learnUntil time.Time) *Collector {
	if bl == nil {
		bl = baseline.New()
	}
	return &Collector{
		events: map[string]int{}, reads: map[string]int{}, fresh: map[string]int{},
		readers: map[identityKey]int{}, streams: map[streamKey]time.Time{},
		bl: bl, learnUntil: learnUntil, learned: map[pairKey]struct{}{},
	}
}

// Add counts one event, in time order. It is called either over events the baseline has not
// learned (Collect), or just before analyze.Runner.Observe makes the baseline learn ev, the
// baseline then holding every earlier event of the run: the counts are the same, since
// baseline.Learn records a pair exactly when Add counts it as learned (learnable). Add does not
// keep ev.
func (c *Collector) Add(ev *event.Event) {
	store := ev.Kind.String()
	c.events[store]++

	var sk streamKey
	if ev.Kind == event.KindCloudTrail {
		sk = streamKey{store, cloudTrailStream(ev)}
	} else {
		if ev.Pos.File != c.lastFile || c.lastStream.stream == "" || c.lastStream.store != store {
			c.lastFile, c.lastStream = ev.Pos.File, streamKey{store, FileStream(ev.Pos.File)}
		}
		sk = c.lastStream
	}
	if t, ok := c.streams[sk]; !ok || ev.Time.After(t) {
		c.streams[sk] = ev.Time
	}

	if !learnable(ev) {
		return
	}
	if c.pending != (pairKey{}) {
		switch {
		case c.follows:
		case knows(c.bl, nil, c.pending):
			c.follows, c.learned = true, nil
		case c.learned != nil:
			c.learned[c.pending] = struct{}{}
		}
		c.pending = pairKey{}
	}
	id := ev.Actor()
	k := pairKey{id, ev.Resource}
	// An event an earlier run learned is not a first access, even when the baseline has
	// pruned it since.
	known := ev.Flags&event.FlagLearned != 0 || knows(c.bl, c.learned, k)
	if ev.Op == event.OpRead && !ev.Time.Before(c.learnUntil) && ev.Flags&(event.FlagControl|event.FlagMaintenance) == 0 {
		c.reads[store]++
		c.readers[identityKey{store, id}]++
		if !known {
			c.fresh[store]++
		}
	}
	if !known {
		c.pending = k
	}
}

// knows reports whether the baseline had seen k before the current event.
func knows(bl *baseline.Baseline, learned map[pairKey]struct{}, k pairKey) bool {
	if h := bl.Get(k.identity); h != nil {
		if _, ok := h.Resources[k.resource]; ok {
			return true
		}
	}
	_, ok := learned[k]
	return ok
}

// learnable reports whether baseline.Learn records ev's secret for its identity: a successful
// read, list, write or delete of a resource by an identity that is not a service acting for
// someone, nor unauthenticated.
func learnable(ev *event.Event) bool {
	if ev.Resource == "" || ev.Outcome != event.OutcomeOK || ev.Flags&(event.FlagServiceActor|event.FlagUnauthenticated) != 0 || ev.Actor() == "" {
		return false
	}
	switch ev.Op {
	case event.OpRead, event.OpList, event.OpWrite, event.OpDelete:
		return true
	}
	return false
}

// cloudTrailStream is a CloudTrail record's account and region: one trail delivers the records
// of each account and region on their own, so each can fall silent alone.
func cloudTrailStream(ev *event.Event) string {
	account, region := ev.Namespace, ev.Region
	if account == "" {
		account = "unknown"
	}
	if region == "" {
		region = "unknown"
	}
	return account + "/" + region
}

// compressedExts are the suffixes a rotated log gets when it is compressed.
var compressedExts = []string{".gz", ".zst", ".bz2", ".xz"}

// FileStream names the audit stream a Vault or Kubernetes audit file belongs to: the file
// without the suffixes log rotation adds (audit.log.1, audit.log.2.gz, audit.log-20260101.gz
// are all audit.log), so the rotated copies of one audit device are one stream whose newest
// event is the device's last write; a device that stopped writing shows as a gap.
func FileStream(path string) string {
	dir, base := filepath.Split(path)
	for _, ext := range compressedExts {
		base = strings.TrimSuffix(base, ext)
	}
	// One rotation suffix: logrotate's numbered .1 or its dateext -YYYYMMDD. A shorter number
	// after a dash is a name (vault-1), kept.
	if i := strings.LastIndexAny(base, ".-"); i > 0 && allDigits(base[i+1:]) && (base[i] == '.' || len(base)-i-1 == 8) {
		base = base[:i]
	}
	return dir + base
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
