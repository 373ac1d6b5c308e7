package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// CrossStore reports one external address reading secrets in two or more stores (Vault,
// AWS, Kubernetes) within a window, where the address is new to the identities that used it.
//
// Why: an intruder who found one credential uses it to find the next: the Kubernetes secret
// that holds an AWS access key, the Vault token in a CI variable. Each store's log shows one
// odd read; only together do they show one actor moving between stores. Detection rules are
// written per store, so nobody else follows the address across them.
//
// Thresholds: thresholds.cross-store-access window (1h). Only successful reads of secrets count
// (a value or a listing, not the control plane); only external addresses (pods and nodes are
// readdressed all the time and share addresses between workloads); and in each store at least
// one identity must never have used the address before (per the baseline), so an office NAT
// from which people routinely use two stores stays quiet. One finding per address and episode:
// the address must be quiet for a window before it is reported again.
//
// Workloads: the same holds for one workload across stores, whatever its addresses (pods are
// readdressed, so this is how internal traffic is followed): a Vault identity that logged in
// with a Kubernetes service account (auth metadata) is that service account; one that logged in
// with an IAM role (canonical_arn) is that role; the workloads section of the configuration
// links the rest (Config.LinkOf). A workload that reads secrets in two or more stores within the
// window is reported when it is established in one store (its identity there read secrets
// before, per the baseline) and new in another: the service account whose token starts reading
// Kubernetes Secrets next to its usual Vault reads, the IAM role that logs in to Vault for the
// first time. A workload new everywhere is a new deployment, not reported. When the reads of a
// workload's episode are also an address's episode, the address's finding names the workload
// and no second finding is made.
//
// Known false positives: a person working from a new place (hotel, new ISP) in two stores
// within the hour; a new CI provider whose runners read from two stores; a workload given access
// to a second store (a migration from Kubernetes Secrets to Vault).
type CrossStore struct {
	env    Env
	rule   Rule
	addrs  map[netip.Addr]*crossAddr
	works  map[string]*crossWork // link key -> the workload's recent reads
	found  []Finding
	byWork []Finding // workload findings, reconciled with the address ones in Finish
	seen   int       // events since the last sweep of idle addresses
}

// crossAddr is the recent reads from one address.
type crossAddr struct {
	reads    []crossRead
	last     time.Time
	reported time.Time // end of the last reported episode; zero when none
	// fresh: identity -> the address was new to it when it first came from there.
	fresh map[string]bool
	// seenAt is the address's last request of any kind (last is its last secret read).
	seenAt time.Time
	// freshBy counts the fresh reads in reads by kind.
	freshBy [8]int32
}

// crossRead is one secret read; fresh when the address was new to its identity.
type crossRead struct {
	at       time.Time
	kind     event.Kind
	identity string
	display  string
	resource string
	ev       Evidence
	fresh    bool
	addr     netip.Addr // the workload episodes' addresses
}

// crossSweepEvery is how many events pass between sweeps that forget idle addresses.
const crossSweepEvery = 1 << 16

// NewCrossStore builds the cross-store-access detector.
func NewCrossStore(env Env) Detector {
	return &CrossStore{env: env, addrs: map[netip.Addr]*crossAddr{}, works: map[string]*crossWork{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes),
		ID:    "cross-store-access", Name: "One address reads secrets in several stores", Severity: High,
		Group:   GroupIdentity, // the identity is the address: its episodes close in time are one finding
		Summary: "an external address new to its identities, or a workload new to one of the stores, reads secrets in two or more stores (Vault, AWS, Kubernetes) within 1h",
		Help: "Follows each external address across the stores read in one run. Only successful reads of secrets count, and in " +
			"each store the address must be new to at least one identity that used it. Also follows each workload: a Vault identity " +
			"that logged in with a Kubernetes service account or an IAM role (auth metadata) is that account or role, and the " +
			"workloads section links the rest; a workload established in one store that reads in another for the first time is " +
			"reported. Known false positives: a person working from a new place in two stores within the window; a workload " +
			"given access to a second store.",
		Guide: "Trace the address (vaultsentry trace --ip ADDR) over every store's log; each credential it used is " +
			"compromised: revoke them and rotate every secret listed, in every store.",
		MITRE: []string{"T1552", "T1078"},
	}}
}

// Rule describes cross-store-access.
func (d *CrossStore) Rule() Rule { return d.rule }

// Observe remembers secret reads from external addresses and reports an address once its
// window holds reads in two stores.
func (d *CrossStore) Observe(ev *event.Event) {
	if d.seen++; d.seen >= crossSweepEvery {
		d.sweep(ev.Time)
	}
	if ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) {
		return
	}
	d.observeWorkload(ev)
	a := ev.RemoteAddr
	if !a.IsValid() || ev.Has(event.FlagAWSInternal) {
		return
	}
	id := ev.Actor()
	if id == "" || d.env.Config.IsInternal(a) {
		return
	}
	win := d.env.Config.CrossStore.Window
	st := d.addrs[a]
	if st == nil {
		st = &crossAddr{fresh: map[string]bool{}}
		d.addrs[a] = st
	} else if ev.Time.Sub(st.seenAt) > win {
		clear(st.fresh) // quiet for a window: what was new then is judged again
	}
	// Freshness is judged at the identity's first request from the address, whatever it is
	// (a denied listing before the reads teaches the baseline the address too).
	fresh, ok := st.fresh[id]
	if !ok {
		fresh = true
		if h := d.env.Baseline.Get(id); h != nil {
			_, known := h.Addrs[a.String()]
			fresh = !known
		}
		st.fresh[id] = fresh
	}
	st.seenAt = ev.Time
	if ev.Outcome != event.OutcomeOK || ev.Resource == "" || (ev.Op != event.OpRead && ev.Op != event.OpList) || ev.Has(event.FlagControl) {
		return
	}
	if !st.reported.IsZero() && ev.Time.Sub(st.last) <= win {
		st.last = ev.Time // the episode reported goes on
		st.reported = ev.Time
		return
	}
	st.reported = time.Time{}
	st.last = ev.Time
	// Reads arrive in time order: the ones out of the window are at the front.
	for len(st.reads) > 0 && ev.Time.Sub(st.reads[0].at) > win {
		st.drop()
	}
	if len(st.reads) >= maxCrossReads {
		st.drop()
	}
	st.reads = append(st.reads, crossRead{at: ev.Time, kind: ev.Kind, identity: id, display: ev.DisplayName,
		resource: ev.Resource, ev: evidenceOf(ev), fresh: fresh})
	if fresh {
		st.freshBy[ev.Kind&7]++
	}
	stores := 0
	for _, n := range st.freshBy {
		if n > 0 {
			stores++
		}
	}
	if stores < 2 {
		return
	}
	d.report(a, st, ev)
}

// maxCrossReads bounds the reads kept per address: enough for the finding's evidence and
// resources; a busy address forgets its oldest reads first.
const maxCrossReads = 4 * MaxEvidence

// drop forgets the oldest read.
func (st *crossAddr) drop() {
	if r := st.reads[0]; r.fresh {
		st.freshBy[r.kind&7]--
	}
	st.reads = st.reads[1:]
}

// report makes the finding of one episode of address a.
func (d *CrossStore) report(a netip.Addr, st *crossAddr, ev *event.Event) {
	var ids, names, res, stores set
	f := newFinding(d.rule, ev)
	f.Identity, f.Credential = a.String(), ""
	f.SourceIPs = []string{a.String()}
	f.FirstSeen = st.reads[0].at
	for _, r := range st.reads {
		stores.add(r.kind.String())
		ids.add(r.identity)
		names.add(cmpOr(r.display, r.identity))
		res.add(r.resource)
		f.addEvidence(r.ev)
	}
	f.Count = len(st.reads)
	f.Source = strings.Join(stores.sorted(0), "+")
	f.DisplayName = strings.Join(names.sorted(10), ", ")
	f.Resources = res.sorted(MaxResources)
	f.Message = fmt.Sprintf("%s read %d secrets in %s within %s, as %s; the address was new to them",
		a, res.len(), strings.Join(stores.sorted(0), " and "), Span(f.LastSeen.Sub(f.FirstSeen)), strings.Join(ids.sorted(10), ", "))
	f.Remediation = "treat every credential used from " + a.String() + " as stolen: revoke them in each store " +
		"and " + rotateListed + "; vaultsentry trace --ip " + a.String() + " over all the logs shows what else it did"
	d.found = append(d.found, f)
	st.reads, st.freshBy = st.reads[:0], [8]int32{}
	st.reported = ev.Time
}

// crossWork is one workload's recent secret reads, per store: O(1) per event and a fixed
// amount of memory per workload, since most workloads read one store all day.
type crossWork struct {
	// stores by event kind, allocated on a store's first read: most workloads live in one store,
	// and a workStore holds a ring of reads (a workload in every slot would cost ~35 KB).
	stores   [8]*workStore
	fresh    map[string]bool // identity -> new in its store, judged at its first read of an episode
	seenAt   time.Time       // the latest read
	reported time.Time       // end of the last reported episode; zero when none
}

// workStore is a workload's reads in one store: when an identity the baseline knew last read
// there, when a new one did, and the latest reads for the finding's evidence.
type workStore struct {
	lastKnown, lastFresh time.Time
	recent               [workRecent]crossRead // a ring of the latest reads
	n                    int                   // reads ever put in the ring
}

// workRecent is how many reads per store a workload's finding can show.
const workRecent = 16

func (w *workStore) add(r crossRead) {
	w.recent[w.n%workRecent] = r
	w.n++
	if r.fresh {
		w.lastFresh = r.at
	} else {
		w.lastKnown = r.at
	}
}

// observeWorkload follows the secret reads of one workload across stores. In each store the
// workload is known when its identity there had read secrets before (per the baseline), judged
// at the identity's first read in an episode.
func (d *CrossStore) observeWorkload(ev *event.Event) {
	if ev.Outcome != event.OutcomeOK || ev.Resource == "" || (ev.Op != event.OpRead && ev.Op != event.OpList) ||
		ev.Has(event.FlagControl) || ev.Has(event.FlagMaintenance) {
		return
	}
	lk := d.env.Config.LinkOf(ev)
	id := ev.Actor()
	if lk == "" || id == "" {
		return
	}
	win := d.env.Config.CrossStore.Window
	w := d.works[lk]
	if w == nil {
		w = &crossWork{fresh: map[string]bool{}}
		d.works[lk] = w
	} else if ev.Time.Sub(w.seenAt) > win {
		clear(w.fresh)
	}
	w.seenAt = ev.Time
	fresh, ok := w.fresh[id]
	if !ok {
		h := d.env.Baseline.Get(id)
		fresh = h == nil || len(h.Resources) == 0
		w.fresh[id] = fresh
	}
	if !w.reported.IsZero() && ev.Time.Sub(w.reported) <= win {
		w.reported = ev.Time // the episode reported goes on
		return
	}
	w.reported = time.Time{}
	k := ev.Kind & 7
	if w.stores[k] == nil {
		w.stores[k] = &workStore{}
	}
	w.stores[k].add(crossRead{at: ev.Time, kind: ev.Kind, identity: id, display: ev.DisplayName,
		resource: ev.Resource, ev: evidenceOf(ev), fresh: fresh, addr: ev.RemoteAddr})
	// Reported when one store is new to the workload and another is its home: a store whose
	// reads in the window are all by identities it knew.
	since := ev.Time.Add(-win)
	var newKinds [8]bool
	stores, fresh1, known := 0, false, false
	for i, st := range w.stores {
		if st == nil {
			continue
		}
		inFresh, inKnown := !st.lastFresh.Before(since) && !st.lastFresh.IsZero(), !st.lastKnown.Before(since) && !st.lastKnown.IsZero()
		if !inFresh && !inKnown {
			continue
		}
		stores++
		newKinds[i] = inFresh
		if inFresh {
			fresh1 = true
		} else {
			known = true
		}
	}
	if stores < 2 || !fresh1 || !known {
		return
	}
	d.reportWorkload(lk, w, ev, newKinds, since)
}

// reportWorkload makes the finding of one episode of workload lk: the recent reads of each
// store inside the window.
func (d *CrossStore) reportWorkload(lk string, w *crossWork, ev *event.Event, newKinds [8]bool, since time.Time) {
	var reads []crossRead
	for _, st := range w.stores {
		if st == nil {
			continue
		}
		for j := max(0, st.n-workRecent); j < st.n; j++ {
			if r := st.recent[j%workRecent]; !r.at.Before(since) {
				reads = append(reads, r)
			}
		}
	}
	slices.SortFunc(reads, func(a, b crossRead) int { return a.at.Compare(b.at) })
	var ids, names, res, stores, fresh, addrs set
	f := newFinding(d.rule, ev)
	f.Identity, f.Credential = lk, ""
	f.FirstSeen = reads[0].at
	for _, r := range reads {
		stores.add(r.kind.String())
		if newKinds[r.kind&7] {
			fresh.add(r.kind.String())
		}
		ids.add(r.identity)
		names.add(cmpOr(r.display, r.identity))
		res.add(r.resource)
		if r.addr.IsValid() {
			addrs.add(r.addr.String())
		}
		f.addEvidence(r.ev)
	}
	f.Count = len(reads)
	f.Source = strings.Join(stores.sorted(0), "+")
	f.DisplayName = strings.Join(names.sorted(10), ", ")
	f.Resources = res.sorted(MaxResources)
	f.SourceIPs = addrs.sorted(MaxResources)
	f.Message = fmt.Sprintf("workload %s read %d secrets in %s within %s, as %s; new for it in %s", lk, res.len(),
		strings.Join(stores.sorted(0), " and "), Span(f.LastSeen.Sub(f.FirstSeen)), strings.Join(ids.sorted(10), ", "),
		strings.Join(fresh.sorted(0), " and "))
	f.Remediation = "ask the owner of " + lk + " whether it was given access to the new store; if not, revoke its credentials " +
		"in every store and " + rotateListed + "; vaultsentry trace --identity " + lk + " shows the workload in every store"
	d.byWork = append(d.byWork, f)
	w.stores = [8]*workStore{}
	w.reported = ev.Time
}

// sweep forgets addresses and workloads idle for longer than the window.
func (d *CrossStore) sweep(now time.Time) {
	d.seen = 0
	for a, st := range d.addrs {
		if now.Sub(st.seenAt) > d.env.Config.CrossStore.Window {
			delete(d.addrs, a)
		}
	}
	for k, st := range d.works {
		if now.Sub(st.seenAt) > d.env.Config.CrossStore.Window {
			delete(d.works, k)
		}
	}
}

// Finish returns the findings: an address's episode that shares a secret with a workload's
// overlapping episode names the workload, and the workload's finding is not made twice.
func (d *CrossStore) Finish() []Finding {
	win := d.env.Config.CrossStore.Window
	out := d.found
next:
	for _, w := range d.byWork {
		for i := range d.found {
			a := &d.found[i]
			if w.FirstSeen.After(a.LastSeen.Add(win)) || a.FirstSeen.After(w.LastSeen.Add(win)) || !shareAny(a.Resources, w.Resources) {
				continue
			}
			a.Message += "; the reads belong to workload " + w.Identity
			continue next
		}
		out = append(out, w)
	}
	return out
}

// shareAny reports whether two sorted lists have an element in common.
func shareAny(a, b []string) bool {
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch strings.Compare(a[i], b[j]) {
		case 0:
			return true
		case -1:
			i++
		default:
			j++
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
