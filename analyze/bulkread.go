package analyze

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// BulkRead reports harvesting: one credential reads or lists at least MinCount times across at
// least MinDistinct distinct secrets inside a sliding window.
//
// Why: a stolen token is used with the same API calls as the workload it belongs to; what
// changes is the breadth. Path diversity inside the window is the signal, not volume over the
// whole input.
//
// Thresholds: 30 reads over 10 distinct secrets in 5 minutes (the seed's dashboard rule), or
// twice the distinct count (20 distinct secrets) in the window whatever the number of reads:
// the standard harvest reads each secret once (Stratus Red Team's secretsmanager-retrieve-secrets
// reads 20 in 4 seconds; Elastic's and Panther's rules fire at 20), and no workload reads that
// many different secrets that fast unless it is a sync the baseline has seen. A listing of the
// whole store followed within the window by reads of at least the distinct count (10) is the
// harvest too, however few the reads (Stratus' ssm-retrieve-securestring-parameters:
// DescribeParameters, then GetParameters of every name it returned).
// Overlapping windows merge into one finding per burst, and each burst stays its own finding
// (GroupNone: Run does not sum two harvests an hour apart into one). A burst ends when a whole
// window passes without the threshold being met again, in log time, whichever credential the
// next event carries: a sync that logs in for every cycle (External Secrets) uses a new token each time, and
// each cycle must end, and be learned, before the next one is judged. Each event enters and
// leaves its credential's window once; open bursts wait in window.Deadlines (O(1) to extend).
//
// Known false positives: operators that sync a fixed set of secrets periodically (External
// Secrets, Vault Secrets Operator). Once the baseline has seen the same set in earlier bursts,
// a burst that stays inside it is quiet; one secret outside it is reported. The detector never
// writes the baseline: it keeps this run's bursts itself (judging each against the baseline and
// the ones before it) and hands them to Run, which learns them when the detector has finished. Per-identity
// thresholds (config "overrides") give known bulk readers their own limits.
type BulkRead struct {
	env    Env
	state  map[string]*bulkState
	found  []Finding
	rule   Rule
	config BurstConfig
	due    window.Deadlines[string] // open bursts, by credential, until their window runs out
	// idle: each credential's state, until it has been quiet long enough to be forgotten
	// (window.SettleAfter): a token used once must not keep its window for the rest of the input.
	idle window.Deadlines[string]
	// habits are the bursts closed in this run, by principal, not yet in the baseline; learned
	// sums, per principal, those an earlier run did not learn, for Run (learnedBursts), and
	// learnOrder lists the principals as their first such burst closed.
	habits     map[string]*burstHabit
	learned    map[string]*learnedBurst
	learnOrder []string
}

// burstHabit is what a principal's bursts of this run add to its baseline history: how many
// there were and which paths they read.
type burstHabit struct {
	bursts int
	paths  map[string]struct{}
}

type readRef struct {
	t    time.Time
	res  string
	pos  event.Pos
	addr netip.Addr // where the read came from: a burst's source_ips are its reads' addresses
}

type bulkState struct {
	key  string    // the credential (or principal) it counts for
	win  []readRef // events inside the window, oldest first (win[head:])
	head int
	// listedAll is the time of the credential's latest successful listing of a whole store;
	// a listing of everything followed by reads of what it found is the harvest's shape.
	listedAll time.Time
	counts    map[string]int
	burst     *bulkBurst
	cfg       BurstConfig
}

type bulkBurst struct {
	f        Finding
	paths    set
	lastTrig time.Time
}

// NewBulkRead builds the bulk-read detector.
func NewBulkRead(env Env) Detector {
	return &BulkRead{env: env, state: map[string]*bulkState{}, habits: map[string]*burstHabit{}, config: env.Config.BulkRead, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupNone, ID: "bulk-read", Name: "Bulk secret read (harvesting)", Severity: Critical,
		Summary: "one credential reads many distinct secrets within minutes",
		Help: "A stolen token or key is used with the workload's own API calls; only the breadth changes. " +
			"Fires when one credential makes at least 30 reads or lists over at least 10 distinct secrets within 5 minutes, " +
			"or reads 20 distinct secrets (twice the distinct count) within 5 minutes however few the reads, or lists the whole store " +
			"and then reads at least 10 distinct secrets within 5 minutes (thresholds.bulk-read). SSM: a GetParameters of ten names is ten reads. Kubernetes: gets of Secrets by one " +
			"service-account token; kubelets and kubernetes.operators are left out. Known false positives: secret operators syncing a fixed set (quiet once a baseline has seen that set), " +
			"backup jobs; give them per-identity overrides rather than raising the global threshold.",
		Guide: "List what the credential read (vaultsentry trace --credential ...), revoke it, rotate every secret in the list, " +
			"and find where the token was taken from (pod, CI job, laptop).",
		MITRE: []string{"T1555.006", "T1530"},
	}}
}

// Rule describes bulk-read.
func (d *BulkRead) Rule() Rule { return d.rule }

// Observe adds a read or list to its credential's window.
func (d *BulkRead) Observe(ev *event.Event) {
	if ev.Op != event.OpRead && ev.Op != event.OpList {
		return
	}
	d.expire(ev.Time)
	if ev.Resource == "" || ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) || ev.Has(event.FlagMaintenance) ||
		readsForOthers(d.env.Config, ev) {
		return
	}
	key := ev.Credential
	if key == "" {
		key = ev.Actor()
	}
	st := d.state[key]
	if st == nil {
		st = &bulkState{key: key, counts: map[string]int{}, cfg: burstFor(d.env.Config, d.rule.ID, ev, d.config)}
		d.state[key] = st
	}
	cfg := st.cfg
	// Close a burst that has gone quiet for a whole window.
	if st.burst != nil && ev.Time.Sub(st.burst.lastTrig) > cfg.Window {
		d.close(st)
	}
	if ev.Has(event.FlagListAll) && ev.Outcome == event.OutcomeOK {
		st.listedAll = ev.Time
	}
	st.win = append(st.win, readRef{t: ev.Time, res: ev.Resource, pos: ev.Pos, addr: ev.RemoteAddr})
	st.counts[ev.Resource]++
	d.idle.Set(key, window.SettleAfter(ev.Time, cfg.Window))
	for st.head < len(st.win) && ev.Time.Sub(st.win[st.head].t) > cfg.Window {
		old := st.win[st.head]
		if st.counts[old.res]--; st.counts[old.res] == 0 {
			delete(st.counts, old.res)
		}
		st.head++
	}
	if st.head > 1024 && st.head*2 > len(st.win) { // compact: amortised O(1) per event
		st.win = append(st.win[:0], st.win[st.head:]...)
		st.head = 0
	}
	n := len(st.win) - st.head
	listedThenRead := !st.listedAll.IsZero() && ev.Time.Sub(st.listedAll) <= cfg.Window && len(st.counts) > cfg.MinDistinct
	if (n >= cfg.MinCount && len(st.counts) >= cfg.MinDistinct) || len(st.counts) >= 2*cfg.MinDistinct || listedThenRead {
		if st.burst == nil {
			b := &bulkBurst{f: newFinding(d.rule, ev)}
			b.f.FirstSeen = st.win[st.head].t
			for _, r := range st.win[st.head:] {
				b.add(r)
			}
			st.burst = b
		} else {
			st.burst.add(st.win[len(st.win)-1])
		}
		st.burst.lastTrig = ev.Time
		d.due.Set(key, ev.Time.Add(cfg.Window)) // moving a deadline later is O(1)
		st.burst.f.LastSeen = ev.Time
	} else if st.burst != nil {
		st.burst.add(st.win[len(st.win)-1])
		st.burst.f.LastSeen = ev.Time
	}
}

// expire closes the bursts whose window has run out before now, whichever credential the
// event that says so carries.
func (d *BulkRead) expire(now time.Time) {
	d.due.Due(now, func(key string) {
		if st := d.state[key]; st != nil && st.burst != nil {
			d.close(st)
		}
	})
	// A credential quiet for two windows has nothing in its window any more, and a listing
	// older than one window no longer counts: its state is what a new one would be.
	d.idle.Due(now, func(key string) {
		if st := d.state[key]; st != nil {
			if st.burst != nil {
				d.close(st)
			}
			delete(d.state, key)
		}
	})
}

func (b *bulkBurst) add(r readRef) {
	b.f.Count++
	b.paths.add(r.res)
	b.f.addEvidence(Evidence{File: r.pos.File, Line: r.pos.Line, Time: r.t})
	b.f.SourceIPs = appendAddr(b.f.SourceIPs, r.addr)
}

func (d *BulkRead) close(st *bulkState) {
	b := st.burst
	st.burst = nil
	d.due.Remove(st.key)
	paths := b.paths.sorted(0)
	h := d.env.Baseline.Get(b.f.Identity)
	known := h != nil && knownPeriodicSet(h, d.habits[b.f.Identity], paths)
	if h != nil {
		// Every burst becomes part of the identity's habit, reported or not: a periodic set is
		// learned from its repetitions.
		d.noteBurst(b.f.Identity, paths, b.f.LastSeen)
	}
	if known {
		return
	}
	f := b.f
	f.Resources = b.paths.sorted(MaxResources)
	f.Message = fmt.Sprintf("%s of %s between %s and %s (%s)",
		Count(f.Count, "read", "reads"), Count(len(paths), "distinct secret", "distinct secrets"), f.FirstSeen.UTC().Format(time.RFC3339),
		f.LastSeen.UTC().Format(time.RFC3339), Span(f.LastSeen.Sub(f.FirstSeen)))
	f.Remediation = revokeHint(f)
	d.found = append(d.found, f)
}

// noteBurst remembers a closed burst for the rest of the run and for the baseline.
func (d *BulkRead) noteBurst(principal string, paths []string, end time.Time) {
	hb := d.habits[principal]
	if hb == nil {
		hb = &burstHabit{paths: map[string]struct{}{}}
		d.habits[principal] = hb
	}
	hb.bursts++
	for _, p := range paths {
		hb.paths[p] = struct{}{}
	}
	if lu := d.env.LearnedUntil; !lu.IsZero() && !end.After(lu) {
		return // an earlier run learned it
	}
	lb := d.learned[principal]
	if lb == nil {
		if d.learned == nil {
			d.learned = map[string]*learnedBurst{}
		}
		lb = &learnedBurst{principal: principal}
		d.learned[principal] = lb
		d.learnOrder = append(d.learnOrder, principal)
	}
	lb.n++
	lb.longest = max(lb.longest, len(paths))
	lb.end = end
	// One copy of each path per principal, however many bursts read it: a sorted merge keeps
	// the list free of duplicates without a map per principal.
	lb.paths = mergeSorted(lb.paths, paths)
}

// mergeSorted is the sorted union of two sorted lists without duplicates.
func mergeSorted(a, b []string) []string {
	if len(a) == 0 {
		return slices.Clone(b)
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) && a[i] == b[j] {
		i, j = i+1, j+1
	}
	if i == len(a) && j == len(b) {
		return a // the same set again: the periodic sync's every cycle
	}
	out := make([]string, 0, max(len(a), len(b)))
	i, j = 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// learnedBursts returns, per principal, the bursts closed in this run that the baseline has
// not learned yet, for Run to learn.
func (d *BulkRead) learnedBursts() []learnedBurst {
	out := make([]learnedBurst, 0, len(d.learnOrder))
	for _, p := range d.learnOrder {
		out = append(out, *d.learned[p])
	}
	return out
}

// knownPeriodicSet reports whether a burst only repeats what the identity has done in earlier
// bursts (those in its baseline history h and those of this run, hb, which may be nil): every
// path was part of an earlier burst, and such bursts happened at least twice.
func knownPeriodicSet(h *baseline.History, hb *burstHabit, paths []string) bool {
	bursts, known := h.Bursts, len(h.BurstPaths)
	if hb != nil {
		bursts += hb.bursts
		known += len(hb.paths)
	}
	if bursts < 2 || known == 0 {
		return false
	}
	for _, p := range paths {
		if _, ok := h.BurstPaths[p]; ok {
			continue
		}
		if hb == nil {
			return false
		}
		if _, ok := hb.paths[p]; !ok {
			return false
		}
	}
	return true
}

// Finish closes the open bursts, oldest first: each is judged against the ones before it.
func (d *BulkRead) Finish() []Finding {
	var open []*bulkState
	for _, st := range d.state {
		if st.burst != nil {
			open = append(open, st)
		}
	}
	slices.SortFunc(open, func(a, b *bulkState) int {
		x, y := &a.burst.f, &b.burst.f
		return cmp.Or(x.FirstSeen.Compare(y.FirstSeen), cmp.Compare(x.Credential, y.Credential), cmp.Compare(x.Identity, y.Identity))
	})
	for _, st := range open {
		d.close(st)
	}
	return d.found
}
