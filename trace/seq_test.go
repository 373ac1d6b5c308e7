package trace

import (
	"fmt"
	"iter"
	"net/netip"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/race"
)

// reusing is what a spilled file's reader offers: each call a new pass, one *event.Event
// reused for every event, its Policies in one reused array, and the event scribbled over once
// the consumer has had it, so that a Trace that kept the pointer or a slice shows garbage.
// passes counts the calls.
func reusing(evs []event.Event, passes *int) func() iter.Seq[*event.Event] {
	return func() iter.Seq[*event.Event] {
		*passes++
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			var pol, newPol []string
			for i := range evs {
				ev = evs[i]
				if evs[i].Policies != nil {
					pol = append(pol[:0], evs[i].Policies...)
					ev.Policies = pol
				}
				if evs[i].NewPolicies != nil {
					newPol = append(newPol[:0], evs[i].NewPolicies...)
					ev.NewPolicies = newPol
				}
				if !yield(&ev) {
					return
				}
				for k := range pol {
					pol[k] = "scribbled"
				}
				for k := range newPol {
					newPol[k] = "scribbled"
				}
				ev = event.Event{Principal: "scribbled", Resource: "scribbled", Time: time.Unix(1, 0)}
			}
		}
	}
}

// seqCase is an input and a query to compare NewSeq, New and the former New on.
type seqCase struct {
	name string
	evs  []event.Event
	q    Query
}

func seqCases() []seqCase {
	inc := incidentEvents()
	for i := range inc {
		inc[i].Policies = []string{"default", fmt.Sprintf("p%d", i%3)}
	}
	inc[4].NewPolicies = []string{"root"}
	inc[4].Grant = &event.Grant{Principals: []string{"*"}, Conditions: []string{"aws:PrincipalOrgID=o-1"}}
	// an unauthenticated request: no principal, matched by display name or credential
	anon := vev(8*time.Second, "fraud", event.OpRead, "kv/data/prod/g", kv, func(e *event.Event) { e.Principal = "" })
	inc = append(inc, anon)
	decoy := func(e *event.Event) bool { return e.Resource == "kv/prod/a" }
	linked := linkedEvents()
	request := []event.Event{
		vev(0, "app", event.OpRead, "kv/data/app/db"),
		vev(time.Minute, "app", event.OpRead, "kv/data/app/cut-short", func(e *event.Event) { e.Flags |= event.FlagRequestOnly }),
	}
	aws := func(region string) func(*event.Event) {
		return func(e *event.Event) {
			e.Kind, e.Namespace, e.Region, e.Mount = event.KindCloudTrail, "428190375562", region, ""
			e.Principal = "arn:aws:iam::428190375562:role/thief"
			e.Resource = "prod/payments/psp-key"
		}
	}
	regions := []event.Event{
		vev(0, "thief", event.OpRead, "prod/payments/psp-key", aws("eu-west-1")),
		vev(time.Second, "thief", event.OpRead, "prod/payments/psp-key", aws("eu-central-1"), from("::ffff:203.0.113.9")),
	}
	// a Vault namespace's mount logged with and without the namespace: one group
	ns := func(mount string) func(*event.Event) {
		return func(e *event.Event) {
			e.Namespace, e.Mount, e.MountType, e.Resource = "team1/", mount, "kv", "team1/kv/db"
		}
	}
	namespaced := []event.Event{
		vev(0, "app", event.OpRead, "team1/kv/data/db", ns("kv/")),
		vev(time.Second, "app", event.OpRead, "team1/kv/data/db", ns("team1/kv/"), from("203.0.113.5")),
	}
	return []seqCase{
		{"display name", inc, Query{Identity: "fraud", Decoy: decoy}},
		{"glob identity", inc, Query{Identity: "*raud*"}},
		{"no match", inc, Query{Identity: "frau"}},
		{"credential glob", inc, Query{Credential: "hmac-sha256:*"}},
		{"address", inc, Query{Addr: netip.MustParsePrefix("203.0.113.0/24")}},
		{"identity and address", inc, Query{Identity: "fraud", Addr: netip.MustParsePrefix("203.0.113.9/32")}},
		{"since and until", inc, Query{Identity: "fraud", Since: t0.Add(2 * time.Second), Until: t0.Add(7 * time.Second)}},
		{"service account", linked, Query{Identity: linkedSA}},
		{"vault identity of the workload", linked, Query{Identity: "k8s-ledger-api"}},
		{"workload glob", linked, Query{Identity: "*ledger-api"}},
		{"request without response", request, Query{Identity: "app"}},
		{"aws regions", regions, Query{Identity: "thief"}},
		{"namespaced mounts", namespaced, Query{Identity: "app"}},
		{"aws mapped address", regions, Query{Addr: netip.MustParsePrefix("203.0.113.9/32")}},
	}
}

// TestNewSeqEqualsNew: over a reused event, NewSeq gives the Trace New gives over the slice,
// and both give what New gave before it streamed (every input here is under the caps), in
// two passes with an identity and one without.
func TestNewSeqEqualsNew(t *testing.T) {
	cfg := analyze.DefaultConfig()
	internal := cfg.IsInternal
	for _, c := range seqCases() {
		t.Run(c.name, func(t *testing.T) {
			passes := 0
			got := NewSeq(reusing(c.evs, &passes), c.q, internal)
			want := New(c.evs, c.q, internal)
			clearFuncs(got, want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("NewSeq over a reused event:\n%+v\nNew:\n%+v", got, want)
			}
			wantPasses := 1
			if c.q.Identity != "" {
				wantPasses = 2
			}
			if passes != wantPasses {
				t.Errorf("%d passes, want %d", passes, wantPasses)
			}
			before := referenceNew(c.evs, c.q, internal)
			clearFuncs(before)
			before.Matched = len(before.Events)
			want.principals = nil
			if !reflect.DeepEqual(want, before) {
				t.Errorf("New:\n%+v\nformer New:\n%+v", want, before)
			}
			if c.name == "namespaced mounts" && (len(got.Read) != 1 || got.Read[0].Group != "team1/kv/" || got.Read[0].Secrets[0].Count != 2) {
				t.Errorf("namespaced mounts: read %+v", got.Read)
			}
			if got.Matched != len(got.Events) || got.Cut != (Cut{}) {
				t.Errorf("matched %d, %d kept, cut %+v: nothing should be cut", got.Matched, len(got.Events), got.Cut)
			}
			n := 0
			for range got.Filter(reusing(c.evs, &passes)()) {
				n++
			}
			if n != got.Matched {
				t.Errorf("Filter yields %d events, want %d", n, got.Matched)
			}
		})
	}
}

// clearFuncs drops the query's functions, which reflect.DeepEqual never finds equal.
func clearFuncs(ts ...*Trace) {
	for _, t := range ts {
		t.Query.Decoy, t.Query.Link = nil, nil
	}
}

// TestNewSeqManyLinkedPairs: an input with more (workload, principal) pairs than the first
// pass remembers resolves the workloads in a third pass, to the same principals.
func TestNewSeqManyLinkedPairs(t *testing.T) {
	evs := linkedEvents()
	for i := range maxLinkPairs + 1 {
		evs = append(evs, event.Event{Time: t0.Add(time.Hour), Kind: event.KindCloudTrail, Op: event.OpRead,
			Principal: fmt.Sprintf("arn:aws:iam::1:role/r%d", i)})
	}
	passes := 0
	got := NewSeq(reusing(evs, &passes), Query{Identity: linkedSA}, func(netip.Addr) bool { return true })
	if passes != 3 {
		t.Errorf("%d passes, want 3", passes)
	}
	if got.Matched != 3 || len(got.Identities) != 2 {
		t.Errorf("%d events of %d identities, want 3 of 2", got.Matched, len(got.Identities))
	}
}

// hugeIdentity yields n events of one token, from 3,000 addresses, under 5,000 credentials
// (the entity's tokens), reading 40 secrets, a denied request in seven: one reused event and
// no per-event allocation, as a spilled file's reader.
func hugeIdentity(n int) func() iter.Seq[*event.Event] {
	creds := make([]string, 5000)
	for i := range creds {
		creds[i] = fmt.Sprintf("hmac-sha256:tok-%04d", i)
	}
	addrs := make([]netip.Addr, 3000)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)})
	}
	paths := make([]event.Event, 40)
	for i := range paths {
		paths[i] = vev(0, "harvester", event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i), kv)
	}
	return func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			for i := range n {
				ev = paths[i%len(paths)]
				ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
				ev.Credential = creds[i%len(creds)]
				ev.RemoteAddr = addrs[i%len(addrs)]
				ev.Pos.Line = i + 1
				if i%7 == 6 {
					ev.Outcome = event.OutcomeDenied
				}
				if !yield(&ev) {
					return
				}
			}
		}
	}
}

// TestNewSeqHugeIdentity: two million requests of one identity keep TimelineFirst +
// TimelineLast events, MaxValues credentials and addresses, every secret read, and exact
// totals of everything; the heap the Trace holds does not depend on the number of events.
func TestNewSeqHugeIdentity(t *testing.T) {
	n := 2_000_000
	if race.Enabled || testing.Short() {
		n = 200_000
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := NewSeq(hugeIdentity(n), Query{Identity: "harvester"}, func(netip.Addr) bool { return false })
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tr.Matched != n || tr.Total() != n {
		t.Fatalf("matched %d, want %d", tr.Matched, n)
	}
	if len(tr.Events) != TimelineFirst+TimelineLast || tr.Cut.Events != n-len(tr.Events) || tr.Cut.At != TimelineFirst {
		t.Fatalf("%d events kept, cut %+v", len(tr.Events), tr.Cut)
	}
	ms := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	if !tr.Cut.First.Equal(ms(TimelineFirst)) || !tr.Cut.Last.Equal(ms(n-TimelineLast-1)) ||
		!tr.Events[TimelineFirst-1].Time.Equal(ms(TimelineFirst-1)) || !tr.Events[TimelineFirst].Time.Equal(ms(n-TimelineLast)) ||
		tr.Events[len(tr.Events)-1].Pos.Line != n || !tr.Last.Equal(ms(n-1)) || !tr.First.Equal(t0) {
		t.Errorf("cut %+v, kept %s %s | %s %s (line %d)", tr.Cut, tr.Events[TimelineFirst-1].Time, tr.Events[TimelineFirst].Time,
			tr.Events[len(tr.Events)-1].Time, tr.Last, tr.Events[len(tr.Events)-1].Pos.Line)
	}
	for i := 1; i < len(tr.Events); i++ {
		if tr.Events[i].Time.Before(tr.Events[i-1].Time) {
			t.Fatalf("timeline out of order at %d", i)
		}
	}
	if tr.Denied != (n+1)/7 {
		t.Errorf("denied %d, want %d", tr.Denied, (n+1)/7)
	}
	if len(tr.Identities) != 1 || tr.Identities[0].Events != n || tr.MoreIdentities != (Rest{}) {
		t.Errorf("identities %+v, more %+v", tr.Identities, tr.MoreIdentities)
	}
	sum := func(l int, c func(int) int, more Rest) int {
		s := more.Events
		for i := range l {
			s += c(i)
		}
		return s
	}
	if len(tr.Credentials) != MaxValues || tr.MoreCredentials.Events == 0 ||
		sum(len(tr.Credentials), func(i int) int { return tr.Credentials[i].Events }, tr.MoreCredentials) != n {
		t.Errorf("%d credentials, %+v more", len(tr.Credentials), tr.MoreCredentials)
	}
	if len(tr.Addresses) != MaxValues || sum(len(tr.Addresses), func(i int) int { return tr.Addresses[i].Events }, tr.MoreAddresses) != n {
		t.Errorf("%d addresses, %+v more", len(tr.Addresses), tr.MoreAddresses)
	}
	// The list to rotate is never cut: every secret, with its exact count of successful reads.
	if len(tr.Read) != 1 || len(tr.Read[0].Secrets) != 40 {
		t.Fatalf("read %d groups", len(tr.Read))
	}
	reads := 0
	for _, s := range tr.Read[0].Secrets {
		reads += s.Count
		if len(s.Addresses) != maxListed || !s.MoreAddresses {
			t.Errorf("%s: %d addresses listed, more %v", s.Resource, len(s.Addresses), s.MoreAddresses)
		}
	}
	if reads != n-(n+1)/7 {
		t.Errorf("%d reads, want %d", reads, n-(n+1)/7)
	}
	if held := int64(after.HeapAlloc) - int64(before.HeapAlloc); held > 16<<20 {
		t.Errorf("the trace holds %d MiB", held>>20)
	}
	runtime.KeepAlive(tr)
}

// TestNewSeqJustUnderCut: TimelineFirst+TimelineLast events are all kept, one more is cut.
func TestNewSeqJustUnderCut(t *testing.T) {
	for _, n := range []int{TimelineFirst + TimelineLast, TimelineFirst + TimelineLast + 1} {
		tr := NewSeq(hugeIdentity(n), Query{Credential: "hmac-sha256:*"}, func(netip.Addr) bool { return false })
		wantCut := n - TimelineFirst - TimelineLast
		if tr.Matched != n || tr.Cut.Events != wantCut || len(tr.Events) != n-wantCut {
			t.Errorf("%d events: %d kept, cut %+v", n, len(tr.Events), tr.Cut)
		}
		if wantCut == 1 && !tr.Cut.First.Equal(t0.Add(TimelineFirst*time.Millisecond)) {
			t.Errorf("cut %+v", tr.Cut)
		}
	}
}

// TestNewSeqGlobMemo: a glob judged over more distinct values than its matcher remembers
// still matches exactly those it should.
func TestNewSeqGlobMemo(t *testing.T) {
	const n = 20000 // 5,000 credentials, each four times: more than maxMemo
	tr := NewSeq(hugeIdentity(n), Query{Credential: "hmac-sha256:tok-0*"}, func(netip.Addr) bool { return false })
	if want := n / 5000 * 1000; tr.Matched != want || len(tr.Credentials) != 1000 || tr.MoreCredentials.Events != 0 {
		t.Errorf("matched %d (want %d) under %d credentials, more %+v", tr.Matched, want, len(tr.Credentials), tr.MoreCredentials)
	}
}

// BenchmarkTraceSeq: a trace over a million events, over a reused event (what a spilled
// file's reader offers): one identity of twenty (two passes, a tenth of the events selected),
// and an address every event comes from (one pass, every event selected: the timeline's ring
// turns on each).
func BenchmarkTraceSeq(b *testing.B) {
	const n = 1_000_000
	whos := make([]string, 20)
	for i := range whos {
		whos[i] = fmt.Sprintf("app%02d", i)
	}
	evs := make([]event.Event, 0, 64)
	for i := range 60 {
		evs = append(evs, vev(0, whos[i%len(whos)], event.OpRead, fmt.Sprintf("kv/data/prod/s%02d", i%26), kv,
			func(e *event.Event) { e.Policies = []string{"default", "app"} }))
	}
	events := func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			for i := range n {
				ev = evs[i%len(evs)]
				ev.Time = t0.Add(time.Duration(i) * time.Millisecond)
				if !yield(&ev) {
					return
				}
			}
		}
	}
	cfg := analyze.DefaultConfig()
	internal := cfg.IsInternal
	for _, bc := range []struct {
		name string
		q    Query
		want int
	}{
		{"identity", Query{Identity: "app03"}, n / len(whos)},
		{"every-event", Query{Addr: netip.MustParsePrefix("10.0.0.0/8")}, n},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tr := NewSeq(events, bc.q, internal); tr.Matched != bc.want {
					b.Fatalf("matched %d", tr.Matched)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
