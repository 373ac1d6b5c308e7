package analyze

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// benchEvents are the events of a realistic generated log (internal/loggen), repeated with
// shifted times until there are n: every detector of the registry sees the same stream, so a
// new detector is measured without touching this file.
func benchEvents(b *testing.B, n int) []event.Event {
	b.Helper()
	base := benchBase()
	if len(base) == 0 {
		b.Fatal("no events in the generated log")
	}
	first, last := sources.Span(base)
	span := last.Sub(first) + time.Second
	out := make([]event.Event, 0, n)
	for k := 0; len(out) < n; k++ {
		for _, ev := range base {
			if len(out) == n {
				break
			}
			ev.Time = ev.Time.Add(time.Duration(k) * span)
			out = append(out, ev)
		}
	}
	return out
}

var benchBase = sync.OnceValue(func() []event.Event {
	data := loggen.Generate(8<<20, loggen.Options{})
	res, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: formats.Files(), Only: "vault", Stdin: bytes.NewReader(data)})
	if err != nil {
		panic(err)
	}
	return res.Events
})

// benchN is the number of events per benchmark; VAULTSENTRY_BENCH_EVENTS raises it for the
// scaling checks of docs/PERFORMANCE.md (CI's smoke runs keep the default).
func benchN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("VAULTSENTRY_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkRun is the whole analysis: every detector, the baseline, merging.
func BenchmarkRun(b *testing.B) {
	evs := benchEvents(b, benchN(50000))
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		Run(evs, Env{Config: &cfg})
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDetectors runs each detector of the registry alone, with the baseline learning as
// Run does it; "learn-only" is that learning alone, to subtract.
func BenchmarkDetectors(b *testing.B) {
	evs := benchEvents(b, benchN(50000))
	cfg := DefaultConfig()
	run := func(b *testing.B, pick func([]Detector) []Detector) {
		b.ReportAllocs()
		for b.Loop() {
			env := Env{Config: &cfg, Baseline: baseline.New()}
			ds := pick(New(env))
			for i := range evs {
				for _, d := range ds {
					d.Observe(&evs[i])
				}
				env.Baseline.Learn(&evs[i])
			}
			for _, d := range ds {
				d.Finish()
			}
		}
		b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	}
	b.Run("learn-only", func(b *testing.B) { run(b, func([]Detector) []Detector { return nil }) })
	for i, r := range Rules() {
		b.Run(r.ID, func(b *testing.B) { run(b, func(ds []Detector) []Detector { return ds[i : i+1] }) })
	}
}

// BenchmarkRunOneIdentity: every event from one credential reading many secrets, the worst
// case for per-identity windows. Events/s must not fall as n grows (no quadratic window).
func BenchmarkRunOneIdentity(b *testing.B) {
	for _, n := range []int{benchN(20000), 10 * benchN(20000)} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			t0 := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
			evs := make([]event.Event, n)
			for i := range evs {
				evs[i] = vev(time.Duration(i)*50*time.Millisecond, "hot", event.OpRead, fmt.Sprintf("kv/data/p/%d", i%5000))
				evs[i].Time = t0.Add(time.Duration(i) * 50 * time.Millisecond)
			}
			cfg := DefaultConfig()
			b.ReportAllocs()
			for b.Loop() {
				Run(evs, Env{Config: &cfg})
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkFillValuesRead is the pass that finds each finding's values read (Run runs it once,
// after merging), over the same stream as BenchmarkRun and Run's own findings: its share of
// Run's time is what values_read costs.
func BenchmarkFillValuesRead(b *testing.B) {
	evs := benchEvents(b, benchN(50000))
	cfg := DefaultConfig()
	fs := Run(evs, Env{Config: &cfg}).Findings
	b.ReportAllocs()
	for b.Loop() {
		fillValuesRead(slicePass(evs), fs, &cfg)
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(fs)), "findings")
}
