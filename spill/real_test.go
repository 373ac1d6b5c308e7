package spill

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// load reads files with every format, as a run does.
func load(t testing.TB, paths ...string) []event.Event {
	t.Helper()
	var ins []sources.Input
	for _, p := range paths {
		ins = append(ins, sources.Input{Name: p})
	}
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: formats.Files()})
	if err != nil {
		t.Fatalf("load %v: %v", paths, err)
	}
	if len(l.Events) == 0 {
		t.Fatalf("no events in %v", paths)
	}
	return l.Events
}

// Real events from the readers: Vault (OpenBao captures, the incident, attacker-written
// strings), CloudTrail (service calls, cross-account calls, the console).
func TestRoundTripRealEvents(t *testing.T) {
	files := []string{
		"../testdata/vault/incident.jsonl",
		"../testdata/vault/openbao-capture1-audit.log",
		"../testdata/vault/openbao-capture4-attacker-strings-audit.log",
	}
	ct, _ := filepath.Glob("../testdata/cloudtrail/*.json")
	for _, set := range [][]string{files, ct} {
		if len(set) == 0 {
			continue
		}
		evs := load(t, set...)
		l := newLog(t)
		grants := 0
		for i := range evs {
			l.Add(&evs[i])
			if evs[i].Grant != nil {
				grants++
			}
		}
		sameEvents(t, collect(t, l), evs)
		t.Logf("%s and %d more: %d events (%d grants), %.1f bytes/event", filepath.Base(set[0]), len(set)-1, len(evs), grants, float64(l.Bytes())/float64(len(evs)))
	}
}

// FuzzDecode reads arbitrary bytes as a spill file: an error or events, never a panic.
func FuzzDecode(f *testing.F) {
	seed := func(evs []event.Event) []byte {
		dir := f.TempDir()
		l, err := New(dir)
		if err != nil {
			f.Fatal(err)
		}
		defer l.Close()
		for i := range evs {
			l.Add(&evs[i])
		}
		l.flush()
		b, err := os.ReadFile(l.Name())
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add([]byte(magic))
	f.Add([]byte{})
	f.Add(seed(realistic(50)))
	edge := realistic(3)
	edge[1].Grant = &event.Grant{Principals: []string{"*"}, Condition: true, BlockPublic: "false", Conditions: []string{}}
	edge[1].NewPolicies = []string{}
	edge[2].Time = edge[2].Time.In(time.FixedZone("X", 3600))
	f.Add(seed(edge))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := decodeAll(data, 10000, func(ev *event.Event) { _ = ev.Name() })
		if err == nil && n == 0 && len(data) > len(magic) {
			t.Fatalf("%d bytes past the header decoded to nothing without an error", len(data)-len(magic))
		}
	})
}

// The seeds decode to the events that made them.
func TestDecodeAllSeeds(t *testing.T) {
	evs := realistic(300)
	l := newLog(t)
	for i := range evs {
		l.Add(&evs[i])
	}
	l.flush()
	b, err := os.ReadFile(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	var got []event.Event
	n, err := decodeAll(b, len(evs)+1, func(ev *event.Event) { got = append(got, *ev) })
	if err != nil || n != len(evs) {
		t.Fatalf("decodeAll: %d events, %v", n, err)
	}
	sameEvents(t, got, evs)
	for cut := len(magic) + 1; cut < len(b); cut += len(b) / 7 {
		if n, err := decodeAll(b[:cut], len(evs)+1, nil); err == nil && n == len(evs) {
			t.Errorf("cut at %d of %d: every event and no error", cut, len(b))
		}
	}
}

var (
	benchOnce   sync.Once
	benchEvents []event.Event
)

// benchmarkEvents are about 200 000 events of a generated Vault log (loggen's defaults: 3000
// identities, 30 000 paths, logins, listings, incidents), read by the real reader.
func benchmarkEvents(b *testing.B) []event.Event {
	benchOnce.Do(func() {
		path := filepath.Join(b.TempDir(), "audit.log")
		if err := os.WriteFile(path, loggen.Generate(96<<20, loggen.Options{}), 0o600); err != nil {
			b.Fatal(err)
		}
		benchEvents = load(b, path)
	})
	return benchEvents
}

func BenchmarkAdd(b *testing.B) {
	evs := benchmarkEvents(b)
	l := newLog(b)
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := 0
	cpu := -threadCPU()
	for b.Loop() {
		l.Add(&evs[n%len(evs)])
		n++
	}
	cpu += threadCPU()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	reportCPU(b, n, cpu)
	b.ReportMetric(float64(l.Bytes())/float64(n), "bytes/event")
	if l.Err() != nil {
		b.Fatal(l.Err())
	}
}

func BenchmarkEvents(b *testing.B) {
	evs := benchmarkEvents(b)
	l := newLog(b)
	for i := range evs {
		l.Add(&evs[i])
	}
	b.ReportAllocs()
	b.SetBytes(l.Bytes())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, ops := 0, 0
	cpu := -threadCPU()
	for b.Loop() {
		for ev := range l.Events() {
			ops += int(ev.Op) // touch it
			n++
		}
	}
	if n%len(evs) != 0 || ops == 0 {
		b.Fatalf("%d events over whole passes of %d", n, len(evs))
	}
	cpu += threadCPU()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	reportCPU(b, n, cpu)
	b.ReportMetric(float64(l.Bytes())/float64(len(evs)), "bytes/event")
	if l.Err() != nil {
		b.Fatal(l.Err())
	}
}

// Random damage to a real file, decoded both on its own and as the log's own file: an error
// or events, never a panic (the fuzz target's check, over a fixed sample, in every go test).
func TestRandomDamage(t *testing.T) {
	evs := realistic(400)
	evs[7].Grant = &event.Grant{Principals: []string{"*"}, Condition: true, BlockPublic: "false", Conditions: []string{"aws:PrincipalOrgID=o-1"}}
	evs[9].Time = evs[9].Time.In(time.FixedZone("X", 3600))
	for _, bound := range []int{maxIdents, 5} { // 5: identities written in full too
		damage(t, evs, bound)
	}
}

func damage(t *testing.T, evs []event.Event, bound int) {
	defer func(n int) { maxIdents = n }(maxIdents)
	maxIdents = bound
	l := newLog(t)
	for i := range evs {
		l.Add(&evs[i])
	}
	l.flush()
	orig, err := os.ReadFile(l.Name())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, len(orig))
	for i := range 2000 {
		b = b[:len(orig)]
		copy(b, orig)
		for range 1 + rng.IntN(4) {
			b[len(magic)+rng.IntN(len(b)-len(magic))] = byte(rng.Uint32())
		}
		if i%3 == 0 {
			b = b[:len(magic)+rng.IntN(len(b)-len(magic))] // cut short too
		}
		_, _ = decodeAll(b, len(evs)+1, func(ev *event.Event) { _ = ev.Name() })
		d := &decoder{br: bufio.NewReaderSize(nil, 4096)}
		d.reset(bytes.NewReader(b), int64(len(b)), &l.d)
		for range len(evs) {
			if !d.next() {
				break
			}
			_ = d.cur.Name()
		}
	}
}

// reportCPU gives events per second of the benchmark thread's CPU time (0 where unknown),
// which a loaded machine does not halve as it does the wall-clock figure.
func reportCPU(b *testing.B, n int, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "events/cpu-s")
	}
}
