package analyze

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// capsN is how many events one identity sends in the memory tests: a million, as a busy
// service token makes in a day (fewer with -short or the race detector).
func capsN() int {
	if testing.Short() || raceEnabled {
		return 1 << 16
	}
	return 1 << 20
}

// names returns n strings made by format from 0..n-1, built once so the generators do not
// allocate per event.
func names(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// capCase is one detector fed by one identity for capsN events, the worst case for what a
// finding accumulates.
type capCase struct {
	rule string
	cfg  func(*Config)
	bl   func() *baseline.Baseline // the history loaded, when the rule needs one
	gen  func(i, n int) event.Event
	// retained measures what the detector holds after the events so far: each slice it keeps
	// per identity, credential or open window, with its cap.
	retained func(t *testing.T, d Detector) map[string][2]int // name -> {length, cap}
	// findings is the number of findings expected, count the exact Count of the first one
	// (-1: not checked: the rule's Count is not a total).
	findings int
	count    func(n int) int
	// growsWithPaths: the events name a new secret each time, which the detector must remember
	// (paths are state the issue allows), so the heap is not compared.
	growsWithPaths bool
	// perEvent is the heap a detector is allowed per event (0: none; audit-gap's times).
	perEvent int
}

// TestCaps: for every detector that accumulates evidence, resources, addresses or window
// entries, a million events of one identity keep what it retains within its caps, the heap
// does not grow between a quarter and the whole of the events, and the finding's Count is
// still the exact total.
func TestCaps(t *testing.T) {
	paths5k := names("kv/data/p/%d", 5000)
	policies := names("sys/policies/acl/p%d", 1000)
	ext := make([]netip.Addr, 200)
	for i := range ext {
		ext[i] = netip.AddrFrom4([4]byte{198, 51, 100, byte(i + 1)})
	}
	ext1k := make([]netip.Addr, 1000)
	for i := range ext1k {
		ext1k[i] = netip.AddrFrom4([4]byte{203, 0, byte(113 + i/250), byte(i%250 + 1)})
	}
	internal := netip.MustParseAddr("10.0.0.1")
	readers := names("reader-%d", 100)
	leaf := func(i int) string { return fmt.Sprintf("kv/data/new/%d", i) }

	cases := []capCase{
		{
			rule: "bulk-read",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*50*time.Millisecond, "hot", event.OpRead, paths5k[i%len(paths5k)], func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				b := d.(*BulkRead)
				st := b.state["hmac-sha256:acc-hot"]
				perWindow := int(b.config.Window/(50*time.Millisecond)) + 1
				out := map[string][2]int{
					"window (live)":   {len(st.win) - st.head, perWindow},
					"window (buffer)": {len(st.win), 2*perWindow + 1025},
				}
				if st.burst != nil {
					out["evidence"] = [2]int{len(st.burst.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(st.burst.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			// A sync operator reading its 22 secrets every 10 minutes: a burst per cycle, which
			// the baseline learns at the end; the detector keeps their sum, not one per burst.
			rule: "bulk-read",
			gen: func(i, _ int) event.Event {
				c, k := i/22, i%22
				return vev(time.Duration(c)*10*time.Minute+time.Duration(k)*100*time.Millisecond, "eso", event.OpRead, paths5k[k])
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				b := d.(*BulkRead)
				out := map[string][2]int{"principals learned": {len(b.learned), 1}, "found": {len(b.found), 2}}
				for _, lb := range b.learned {
					out["paths learned"] = [2]int{len(lb.paths), 22}
				}
				for _, h := range b.habits {
					out["habit paths"] = [2]int{len(h.paths), 22}
				}
				return out
			},
			// The first two bursts are reported; from the third the set is the operator's habit.
			findings: 2, count: func(int) int { return 22 },
		},
		{
			rule: "policy-change",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*10*time.Second, "admin", event.OpWrite, policies[i%len(policies)], func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				c := d.(*controlPlane)
				out := map[string][2]int{}
				for _, r := range c.open {
					out["changes"] = [2]int{len(r.changes), MaxResources}
					out["evidence"] = [2]int{len(r.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(r.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "root-activity",
			gen: func(i, _ int) event.Event {
				return rootCall(time.Duration(i)*10*time.Second, "PutBucketPolicy", func(e *event.Event) {
					e.Resource = paths5k[i%len(paths5k)]
					e.RemoteAddr = ext[i%len(ext)]
				})
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, s := range d.(*RootActivity).open {
					out["resources"] = [2]int{len(s.f.Resources), MaxResources}
					out["evidence"] = [2]int{len(s.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(s.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "dual-source-ip",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "app", event.OpRead, paths5k[i%len(paths5k)], func(e *event.Event) {
					if i%2 == 0 {
						e.RemoteAddr = internal
					} else {
						e.RemoteAddr = ext[i%len(ext)]
					}
				})
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, f := range d.(*DualSourceIP).found {
					out["resources"] = [2]int{len(f.Resources), MaxResources}
					out["evidence"] = [2]int{len(f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n - 1 },
		},
		{
			rule: "many-source-ips",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "roamer", event.OpRead, "kv/data/x", func(e *event.Event) { e.RemoteAddr = ext1k[i%len(ext1k)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				m := d.(*ManySourceIPs)
				st := m.state["entity-roamer"]
				perWindow := int(m.env.Config.ManySourceIPs.Window/time.Second) + 1
				out := map[string][2]int{
					"window": {st.win.Len(), perWindow},
					"addrs":  {len(st.addr), 2*len(ext1k) + 64},
				}
				if st.open != nil {
					out["evidence"] = [2]int{len(st.open.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(st.open.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "new-resource",
			bl: func() *baseline.Baseline {
				bl := baseline.New()
				for i := range 2000 {
					ev := vev(-30*24*time.Hour+time.Duration(i)*time.Minute, "app", event.OpRead, "kv/data/known/x")
					bl.Learn(&ev)
				}
				return bl
			},
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "app", event.OpRead, leaf(i), func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, f := range d.(*NewResource).found {
					out["resources"] = [2]int{len(f.Resources), MaxResources}
					out["evidence"] = [2]int{len(f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n }, growsWithPaths: true,
		},
		{
			rule: "cross-store-access",
			gen: func(i, _ int) event.Event {
				at := time.Duration(i) * time.Second
				addr := func(e *event.Event) { e.RemoteAddr = ext[0] }
				if i%2 == 0 {
					return vev(at, "app", event.OpRead, paths5k[i%len(paths5k)], addr)
				}
				return aev(at, "sync", "s1", "GetSecretValue", event.OpRead, paths5k[i%len(paths5k)], addr)
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, st := range d.(*CrossStore).addrs {
					out["reads"] = [2]int{len(st.reads), maxCrossReads}
				}
				return out
			},
			findings: 1, count: nil, // Count is the reads that made the episode, not a total
		},
		{
			rule: "rotation-without-read",
			gen: func(i, n int) event.Event {
				at := time.Duration(i) * time.Minute
				if i%2 == 1 { // readers that do not pick it up: they read before each new write
					return vev(at, readers[i%len(readers)], event.OpRead, "kv/data/other")
				}
				if i == n-2 { // the last: long after, so the final write is due
					return vev(at+time.Hour, "someone", event.OpRead, "kv/data/other")
				}
				return vev(at, "rotator", event.OpWrite, "kv/data/rot/key", func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				r := d.(*RotationWithoutRead)
				out := map[string][2]int{"queue": {len(r.queue), 2*1024 + 2}}
				for k, rs := range r.readers {
					out["readers of "+k] = [2]int{len(rs), maxRotReaders}
				}
				for _, w := range r.pending {
					out["evidence"] = [2]int{len(w.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(w.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n/2 - 1 },
		},
		{
			rule: "decoy-access",
			cfg:  func(c *Config) { c.Decoys = []string{"kv/data/prod/break-glass/db-root"} },
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "x", event.OpRead, "kv/data/prod/break-glass/db-root", func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, r := range d.(*DecoyAccess).open {
					out["evidence"] = [2]int{len(r.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(r.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "enumeration",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*10*time.Second, "app", event.OpList, "kv/metadata/prod/team"+paths5k[i%len(paths5k)][len("kv/data/p/"):]+"/", mountedAt("kv/"),
					func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				e := d.(*Enumeration)
				out := map[string][2]int{}
				for _, st := range e.state {
					out["window"] = [2]int{st.win.Len(), int(st.cfg.Window/(10*time.Second)) + 1}
					if st.open != nil {
						out["evidence"] = [2]int{len(st.open.f.Evidence), MaxEvidence}
						out["source_ips"] = [2]int{len(st.open.f.SourceIPs), MaxResources}
					}
				}
				return out
			},
			// A listing the baseline has learned is a habit: only each path's first listing counts.
			findings: 1, count: func(n int) int { return min(n, len(paths5k)) },
		},
		{
			rule: "denied-burst",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "probe", event.OpRead, paths5k[i%len(paths5k)], denied, func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, st := range d.(*DeniedBurst).state {
					out["window"] = [2]int{st.win.Len(), int(st.cfg.Window/time.Second) + 1}
					if st.burst != nil {
						out["evidence"] = [2]int{len(st.burst.f.Evidence), MaxEvidence}
						out["source_ips"] = [2]int{len(st.burst.f.SourceIPs), MaxResources}
					}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "admin-off-hours",
			cfg:  func(c *Config) { c.Maintenance = Maintenance{} }, // no window: every hour is off hours
			// The policy list is a new slice for each event, as from a source that does not
			// intern it: the administrator-policy cache must not grow with the events.
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*10*time.Second, "ops", event.OpRead, paths5k[i%len(paths5k)], withPolicies("root"),
					func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for _, s := range d.(*AdminOffHours).open {
					out["evidence"] = [2]int{len(s.f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(s.f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			// The one detector that keeps something per event: each Vault event's time (8 bytes,
			// 16 while the slice doubles) until Finish, for the percentiles around each silence and
			// the rhythm check a day and a week away. Pinned here so that it does not get worse.
			rule: "audit-gap",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "app", event.OpRead, paths5k[i%len(paths5k)])
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				out := map[string][2]int{}
				for name, g := range d.(*AuditGap).files {
					out["silences of "+name] = [2]int{len(g.after), 1}
				}
				return out
			},
			findings: 0, perEvent: 16,
		},
		{
			// One finding per audit change until Finish would be a million findings.
			rule: "audit-disabled",
			gen: func(i, _ int) event.Event {
				ev := vev(time.Duration(i)*10*time.Second, "ops", event.OpAdmin, policies[i%len(policies)], func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
				ev.Path, ev.Resource, ev.Action = "sys/audit/dev"+paths5k[i%len(paths5k)][len("kv/data/p/"):], "", "delete"
				return ev
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				a := d.(*AuditDisabled)
				out := map[string][2]int{"findings": {len(a.found.found), 1}}
				for _, f := range a.found.found {
					out["resources"] = [2]int{len(f.Resources), MaxResources}
					out["evidence"] = [2]int{len(f.Evidence), MaxEvidence}
					out["source_ips"] = [2]int{len(f.SourceIPs), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "resource-policy-change",
			gen: func(i, _ int) event.Event {
				return aev(time.Duration(i)*10*time.Second, "admin", "ciaran", "PutResourcePolicy", event.OpAdmin, paths5k[i%len(paths5k)],
					withGrant("principal=* blockPublicPolicy=false"), func(e *event.Event) { e.RemoteAddr = ext[i%len(ext)] })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				r := d.(*ResourcePolicyChange)
				out := map[string][2]int{"findings": {len(r.found.found), 1}}
				for _, f := range r.found.found {
					out["resources"] = [2]int{len(f.Resources), MaxResources}
					out["evidence"] = [2]int{len(f.Evidence), MaxEvidence}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
		{
			rule: "secret-in-audit-log",
			gen: func(i, _ int) event.Event {
				return vev(time.Duration(i)*time.Second, "app", event.OpRead, paths5k[i%len(paths5k)], withFlags(event.FlagValueLogged),
					func(e *event.Event) { e.Kind = event.KindKubernetes })
			},
			retained: func(t *testing.T, d Detector) map[string][2]int {
				s := d.(*SecretInAuditLog)
				out := map[string][2]int{}
				for file, f := range s.files {
					out["evidence"] = [2]int{len(f.Evidence), MaxEvidence}
					out["resources"] = [2]int{s.res[file].len(), MaxResources}
					out["names"] = [2]int{s.names[file].len(), MaxResources}
					out["lists"] = [2]int{s.lists[file].len(), MaxResources}
				}
				return out
			},
			findings: 1, count: func(n int) int { return n },
		},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i, "-", tc.rule), func(t *testing.T) {
			n := capsN()
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			bl := baseline.New()
			if tc.bl != nil {
				bl = tc.bl()
			}
			r := NewRunner(Env{Config: &cfg, Baseline: bl, onlyRules: []string{tc.rule}})
			if len(r.ds) != 1 {
				t.Fatalf("%d detectors for %s", len(r.ds), tc.rule)
			}
			check := func(at int) {
				t.Helper()
				got := tc.retained(t, r.ds[0])
				if len(got) == 0 {
					t.Fatalf("after %d events the detector holds nothing to measure: the input does not reach it", at)
				}
				for name, lc := range got {
					if lc[0] > lc[1] {
						t.Errorf("after %d events %s holds %d, cap %d", at, name, lc[0], lc[1])
					}
				}
			}
			heap := func() uint64 {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			var quarter uint64
			var ev event.Event
			for i := range n {
				ev = tc.gen(i, n)
				if !r.Observe(&ev) {
					t.Fatal("Observe refused an event")
				}
				if i == n/4 {
					check(i)
					quarter = heap()
				}
			}
			check(n)
			allowed := uint64(2<<20 + tc.perEvent*(n-n/4))
			if end := heap(); !tc.growsWithPaths && end > quarter+allowed {
				t.Errorf("heap grew from %d KB after %d events to %d KB after %d (allowed %d KB)", quarter>>10, n/4, end>>10, n, allowed>>10)
			}
			res := r.Finish(nil)
			if len(res.Findings) != tc.findings {
				t.Fatalf("%d findings, want %d:%s", len(res.Findings), tc.findings, describe(res.Findings))
			}
			if tc.findings == 0 {
				return
			}
			f := res.Findings[0]
			if tc.count != nil && f.Count != tc.count(n) {
				t.Errorf("Count %d, want the exact total %d", f.Count, tc.count(n))
			}
			if len(f.Evidence) > MaxEvidence || len(f.Resources) > MaxResources || len(f.SourceIPs) > MaxResources {
				t.Errorf("finding lists %d evidence, %d resources, %d addresses: over the caps", len(f.Evidence), len(f.Resources), len(f.SourceIPs))
			}
			if len(f.Evidence) != MaxEvidence && tc.rule != "cross-store-access" {
				t.Errorf("%d evidence: the cap was not reached, the test proves nothing", len(f.Evidence))
			}
		})
	}
}
