package analyze

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// reusedPass yields every event of evs through one reused event, as the on-disk copy of a
// streamed run does, with its strings in one reused buffer (as a zero-copy reader would give
// them) overwritten before each next event, and wipes the event when the pass ends: a caller
// that kept the pointer, or a string, sees garbage, so a test comparing results catches it.
func reusedPass(evs []event.Event) func() iter.Seq[*event.Event] {
	return func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			buf := make([]byte, 0, 1<<16)
			reuse := func(s string) string {
				if s == "" || len(buf)+len(s) > cap(buf) {
					return s // too long for the buffer: the event's own (never here)
				}
				off := len(buf)
				buf = append(buf, s...)
				return unsafe.String(&buf[off], len(s))
			}
			defer func() { ev = event.Event{} }()
			for i := range evs {
				for j := range buf {
					buf[j] = '#'
				}
				buf = buf[:0]
				ev = evs[i]
				ev.Principal, ev.Credential, ev.DisplayName = reuse(ev.Principal), reuse(ev.Credential), reuse(ev.DisplayName)
				ev.Resource, ev.Path, ev.Namespace = reuse(ev.Resource), reuse(ev.Path), reuse(ev.Namespace)
				if !yield(&ev) {
					return
				}
			}
		}
	}
}

// streamRun is what internal/app does with a stream: NewRunner, Observe each event through one
// reused variable (the detectors must copy what they keep), Finish with a second pass.
func streamRun(evs []event.Event, env Env, second func() iter.Seq[*event.Event]) *Result {
	r := NewRunner(env)
	var ev event.Event
	for i := range evs {
		ev = evs[i]
		if !r.Observe(&ev) {
			break
		}
		ev = event.Event{} // what a detector kept a pointer to is gone
	}
	return r.Finish(second)
}

func loadGenerated(t *testing.T, size int64, o loggen.Options) []event.Event {
	t.Helper()
	data := loggen.Generate(size, o)
	res, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}},
		sources.LoadOptions{Formats: formats.Files(), Only: "vault", Stdin: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Events
}

func loadTestdata(t *testing.T) []event.Event {
	t.Helper()
	var in []sources.Input
	for _, dir := range []string{"vault", "cloudtrail", "k8saudit"} {
		names, err := filepath.Glob(filepath.Join("..", "testdata", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !strings.HasSuffix(n, ".md") {
				in = append(in, sources.Input{Name: n, Found: true})
			}
		}
	}
	res, err := sources.Load(context.Background(), in, sources.LoadOptions{Formats: formats.Files()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Events
}

// TestRunnerSameAsRun: Run and the streaming Runner (events through a reused variable, values_read
// from a second pass through another) give the same Result and leave the same baseline, on the
// generated logs and scenario the other tests use and on every fixture of testdata.
func TestRunnerSameAsRun(t *testing.T) {
	type input struct {
		name string
		evs  func(t *testing.T) []event.Event
		cfg  func(t *testing.T) Config
	}
	def := func(*testing.T) Config { return DefaultConfig() }
	inputs := []input{
		{"loggen", func(t *testing.T) []event.Event { return loadGenerated(t, 4<<20, loggen.Options{}) }, def},
		{"loggen-compact", func(t *testing.T) []event.Event { return loadGenerated(t, 4<<20, loggen.Options{Compact: true}) }, def},
		{"loggen-hot-unique", func(t *testing.T) []event.Event {
			return loadGenerated(t, 2<<20, loggen.Options{Seed: 11, HotShare: 0.3, UniqueShare: 0.1})
		}, def},
		{"scenario", func(t *testing.T) []event.Event { return newScenario(t).evs }, scenConfig},
		{"testdata", loadTestdata, def},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			evs := in.evs(t)
			cfg := in.cfg(t)
			blWant, blGot := baseline.New(), baseline.New()
			want := Run(evs, Env{Config: &cfg, Baseline: blWant})
			got := streamRun(evs, Env{Config: &cfg, Baseline: blGot}, reusedPass(evs))
			if len(evs) == 0 {
				t.Fatal("no events")
			}
			if in.name != "scenario" && len(want.Findings) == 0 {
				t.Fatal("no finding: the comparison would prove little")
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("Runner differs from Run: %d findings vs %d, training %d vs %d",
					len(got.Findings), len(want.Findings), got.Training, want.Training)
				for i := range min(len(want.Findings), len(got.Findings)) {
					if !reflect.DeepEqual(want.Findings[i], got.Findings[i]) {
						t.Errorf("first difference, finding %d:\n got %+v\nwant %+v", i, got.Findings[i], want.Findings[i])
						break
					}
				}
			}
			if !reflect.DeepEqual(blWant, blGot) {
				t.Error("the Runner left a baseline different from Run's")
			}
		})
	}
}

// TestRunnerFinishWithoutSecondPass: with no second pass, findings are Run's but ValuesRead is
// nil and the remediation keeps its general advice.
func TestRunnerFinishWithoutSecondPass(t *testing.T) {
	evs := loadGenerated(t, 2<<20, loggen.Options{})
	cfg := DefaultConfig()
	want := Run(evs, Env{Config: &cfg})
	got := streamRun(evs, Env{Config: &cfg}, nil)
	if len(got.Findings) != len(want.Findings) {
		t.Fatalf("%d findings, Run has %d", len(got.Findings), len(want.Findings))
	}
	general := 0
	for i, f := range got.Findings {
		w := want.Findings[i]
		if f.ValuesRead != nil {
			t.Errorf("%s %s: ValuesRead %q without a second pass", f.Rule, f.Identity, f.ValuesRead)
		}
		if w.ValuesRead != nil && strings.Contains(f.Remediation, rotateListed) && !strings.Contains(w.Remediation, rotateListed) {
			general++
		}
		f.ValuesRead, f.Remediation = w.ValuesRead, w.Remediation
		if !reflect.DeepEqual(f, w) {
			t.Errorf("finding %d differs beyond values_read:\n got %+v\nwant %+v", i, f, w)
		}
	}
	if general == 0 {
		t.Error("no finding kept the general remediation that Run made specific: the test proves nothing")
	}
}

// TestRunnerDone: a closed Done makes Observe refuse the first event, and every later one, and
// Finish return an empty interrupted Result; one closed midway stops Observe at the next check.
func TestRunnerDone(t *testing.T) {
	evs := loadGenerated(t, 2<<20, loggen.Options{Compact: true})
	if len(evs) < 3*checkDoneEvery {
		t.Fatalf("%d events: too few", len(evs))
	}
	cfg := DefaultConfig()
	closed := make(chan struct{})
	close(closed)
	r := NewRunner(Env{Config: &cfg, Done: closed})
	if r.Observe(&evs[0]) || r.Observe(&evs[1]) {
		t.Error("Observe accepted an event with Done closed")
	}
	if res := r.Finish(reusedPass(evs)); !res.Interrupted || res.Findings != nil || res.Rules != nil {
		t.Errorf("Finish after an interrupt: %+v, want only Interrupted", res)
	}

	done := make(chan struct{})
	r = NewRunner(Env{Config: &cfg, Done: done})
	n := 0
	for i := range evs {
		if i == checkDoneEvery+5 {
			close(done)
		}
		if !r.Observe(&evs[i]) {
			break
		}
		n++
	}
	if n != 2*checkDoneEvery {
		t.Errorf("Observe took %d events after Done closed at %d, want it to stop at the check at %d", n, checkDoneEvery+5, 2*checkDoneEvery)
	}
	if res := r.Finish(reusedPass(evs)); !res.Interrupted {
		t.Error("Finish after an interrupted Observe: not Interrupted")
	}
}

// TestNoteCounterSameAsNotes: the load-balancer note from a NoteCounter fed one event at a time
// is Notes' over the slice, and a near miss (the address behind too few identities) gives none.
func TestNoteCounterSameAsNotes(t *testing.T) {
	cfg := DefaultConfig()
	var evs []event.Event
	for i := range 200 {
		ev := vev(0, "id-"+string(rune('a'+i%10)), event.OpRead, "kv/data/x")
		ev.RemoteAddr = netip.MustParseAddr("10.0.0.1")
		evs = append(evs, ev)
	}
	want := Notes(evs, &cfg)
	if len(want) != 1 {
		t.Fatalf("Notes: %q, want the load-balancer note", want)
	}
	n := NewNoteCounter(&cfg)
	var ev event.Event
	for i := range evs {
		ev = evs[i]
		n.Add(&ev)
	}
	if got := n.Notes(); !reflect.DeepEqual(got, want) {
		t.Errorf("NoteCounter: %q, Notes: %q", got, want)
	}
	// Near miss: 5 of the 10 identities use other addresses for most requests.
	n = NewNoteCounter(&cfg)
	for i := range evs {
		ev = evs[i]
		if i%10 < 5 {
			ev.RemoteAddr = netip.MustParseAddr("10.0.0.2")
		}
		n.Add(&ev)
	}
	if got := n.Notes(); len(got) != 0 {
		t.Errorf("near miss: %q, want no note", got)
	}
}

// BenchmarkRunner is BenchmarkRun's stream through the streaming form, as internal/app feeds
// it: each event copied into one reused variable, Observe, then Finish with a second pass
// through another for values_read. Against BenchmarkRun, the difference is the two copies of
// each event (the Runner itself adds no per-event cost).
func BenchmarkRunner(b *testing.B) {
	evs := benchEvents(b, benchN(50000))
	cfg := DefaultConfig()
	second := func() iter.Seq[*event.Event] { // one reused event, as a spill file's reader decodes into
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			for i := range evs {
				ev = evs[i]
				if !yield(&ev) {
					return
				}
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		streamRun(evs, Env{Config: &cfg}, second)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// TestLinkOfCacheKeepsCopies: LinkOf's cache holds copies of the strings of the events it was
// asked about, so an event from a reused buffer (values_read's pass over a spill file) cannot
// change an entry once the buffer holds the next event.
func TestLinkOfCacheKeepsCopies(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Workloads = []Workload{{Name: "payments-api", Identities: []string{"payments-api-vault"}}}
	const principal, display = "payments-api-vault", "arn:aws:iam::111122223333:role/other"
	buf := []byte(principal + "|" + display)
	ev := event.Event{Kind: event.KindCloudTrail, Principal: unsafe.String(&buf[0], len(principal)),
		DisplayName: unsafe.String(&buf[len(principal)+1], len(display))}
	if got := cfg.LinkOf(&ev); got != "payments-api" {
		t.Fatalf("LinkOf = %q, want payments-api", got)
	}
	for i := range buf {
		buf[i] = 'x'
	}
	for k, v := range cfg.cache().links {
		if k.principal != principal || k.display != display || k.link != principal || v != "payments-api" {
			t.Errorf("cache entry %+v -> %q changed with the buffer", k, v)
		}
	}
}

// TestNoteCounterIdentitiesOverManyAddresses: identities seen first from more addresses than
// are listed per identity are still counted once each behind the address most come through.
func TestNoteCounterIdentitiesOverManyAddresses(t *testing.T) {
	cfg := DefaultConfig()
	n := NewNoteCounter(&cfg)
	lb := netip.MustParseAddr("10.0.0.1")
	for id := range 10 {
		name := fmt.Sprintf("id-%d", id)
		for k := range 12 { // one request each from 12 addresses of its own
			ev := vev(0, name, event.OpRead, "kv/data/x")
			ev.RemoteAddr = netip.AddrFrom4([4]byte{192, 0, 2, byte(id*12 + k)})
			n.Add(&ev)
		}
		for range 200 { // then through the load balancer, twice over
			ev := vev(0, name, event.OpRead, "kv/data/x")
			ev.RemoteAddr = lb
			n.Add(&ev)
			n.Add(&ev)
		}
	}
	got := n.Notes()
	if len(got) != 1 || !strings.Contains(got[0], "10.0.0.1 is the remote address of 97% of Vault requests from 10 identities") {
		t.Errorf("notes %q, want 10.0.0.1 behind 97%% of requests from 10 identities", got)
	}
}
