package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// inFile puts an event in an input file.
func inFile(name string) func(*event.Event) {
	return func(e *event.Event) { e.Pos.File = name }
}

// cadence produces events of one stream from start to end, one every step plus jitter in
// [0, jitter), skipping the holes.
func cadence(file, actor string, start, end time.Time, step, jitter time.Duration, seed uint64, holes ...[2]time.Time) []event.Event {
	r := rand.New(rand.NewPCG(seed, 7))
	var out []event.Event
	for t := start; t.Before(end); {
		inHole := false
		for _, h := range holes {
			if !t.Before(h[0]) && t.Before(h[1]) {
				inHole = true
			}
		}
		if !inHole {
			out = append(out, vev(0, actor, event.OpWrite, "transit/encrypt/k", atTime(t), inFile(file)))
		}
		d := step
		if jitter > 0 {
			d += time.Duration(r.Int64N(int64(jitter)))
		}
		t = t.Add(d)
	}
	return out
}

func TestAuditGap(t *testing.T) {
	day := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	hole := [2]time.Time{day.Add(21*time.Hour + 32*time.Minute), day.Add(22*time.Hour + 2*time.Minute)}
	busy := func(holes ...[2]time.Time) []event.Event {
		return cadence("bao/audit.log", "tokenizer", day, day.Add(24*time.Hour), 37*time.Second, 16*time.Second, 1, holes...)
	}
	tests := []struct {
		name   string
		events []event.Event
		want   []Severity
	}{
		{"30-minute hole in a stream that never pauses for a minute", busy(hole), []Severity{High}},
		{"the same stream without the hole", busy(), nil},
		{"a hole on the second of three busy days is not a rhythm",
			cadence("bao/audit.log", "tokenizer", day.Add(-24*time.Hour), day.Add(48*time.Hour), 37*time.Second, 16*time.Second, 4, hole),
			[]Severity{High}},
		{"a 50-second pause in a 5-second cadence is under the floor",
			cadence("a/audit.log", "agent", day, day.Add(6*time.Hour), 5*time.Second, 0, 2,
				[2]time.Time{day.Add(3 * time.Hour), day.Add(3*time.Hour + 45*time.Second)}), nil},
		{"a two-minute hole in a 5-second cadence",
			cadence("a/audit.log", "agent", day, day.Add(6*time.Hour), 5*time.Second, 0, 3,
				[2]time.Time{day.Add(3 * time.Hour), day.Add(3*time.Hour + 2*time.Minute)}), []Severity{High}},
		{"periodic clients whose largest natural silence is 226 s",
			lattice("main/audit.log", day, day.Add(24*time.Hour)), nil},
		{"a small cluster's quiet nights and weekend", officeHours("bo/audit.log", day, 6, 3, 4, 8), nil},
		{"human-only traffic, a few hundred requests a weekday, over two weeks",
			officeHours("bo/audit.log", day, 15, 10, 30, 15), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewAuditGap, DefaultConfig(), slices.Clone(tt.events))
			var sev []Severity
			for _, f := range got {
				sev = append(sev, f.Severity)
				if f.Rule != "audit-gap" || len(f.Resources) == 0 || f.Identity == "" || !f.LastSeen.After(f.FirstSeen) {
					t.Errorf("finding %+v: want a stream resource, the identity after the gap, a start and an end", f)
				}
			}
			if !slices.Equal(sev, tt.want) {
				t.Fatalf("severities %v, want %v: %+v", sev, tt.want, got)
			}
		})
	}
}

// lattice is a cluster of periodic clients (every 5, 15, 20 and 30 minutes, a few every
// 37.5 s in bursts): its gaps reach 226 s without anything missing.
func lattice(file string, start, end time.Time) []event.Event {
	var out []event.Event
	for i, p := range []time.Duration{5 * time.Minute, 15 * time.Minute, 20 * time.Minute, 30 * time.Minute, 225 * time.Second} {
		for t := start.Add(time.Duration(i) * 7 * time.Second); t.Before(end); t = t.Add(p) {
			out = append(out, vev(0, fmt.Sprintf("client%d", i), event.OpRead, "kv/data/x", atTime(t), inFile(file)))
		}
	}
	return out
}

// officeHours is a back-office cluster: web-UI sessions (minS plus up to spanS a day, up to
// perS requests each) on weekdays between 08:00 and 18:00, nothing at night or at the weekend.
func officeHours(file string, start time.Time, days, minS, spanS, perS int) []event.Event {
	r := rand.New(rand.NewPCG(11, 13))
	var out []event.Event
	for d := range days {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for s := range minS + r.IntN(spanS) { // sessions
			t := day.Add(8*time.Hour + time.Duration(r.Int64N(int64(10*time.Hour))))
			for range 4 + r.IntN(perS) {
				out = append(out, vev(0, fmt.Sprintf("staff%d", s), event.OpRead, "bo/data/x", atTime(t), inFile(file)))
				t = t.Add(time.Duration(5+r.IntN(90)) * time.Second)
			}
		}
	}
	return out
}

// TestAuditGapFinding checks what the finding says: start, end, the first event after the
// hole and its actor.
func TestAuditGapFinding(t *testing.T) {
	day := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	evs := cadence("bao/audit.log", "tokenizer", day, day.Add(24*time.Hour), 40*time.Second, 0, 1,
		[2]time.Time{day.Add(21*time.Hour + 32*time.Minute), day.Add(22*time.Hour + 2*time.Minute)})
	got := runDetector(t, NewAuditGap, DefaultConfig(), evs)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	f := got[0]
	if f.DisplayName != "tokenizer" || f.Identity != "entity-tokenizer" || !slices.Equal(f.Resources, []string{"bao/audit.log"}) {
		t.Errorf("finding %+v: want the tokenizer's identity and the stream", f)
	}
	if f.FirstSeen.After(day.Add(21*time.Hour+32*time.Minute)) || f.LastSeen.Before(day.Add(22*time.Hour+2*time.Minute)) ||
		!f.TriggerTime.Equal(f.LastSeen) || len(f.Evidence) != 1 {
		t.Errorf("gap %s..%s (trigger %s), evidence %v: want the hole's bounds and the event after it", f.FirstSeen, f.LastSeen, f.TriggerTime, f.Evidence)
	}
	if !strings.Contains(f.Message, "transit/encrypt/k") || !strings.Contains(f.Message, "99th-percentile") {
		t.Errorf("message %q: want the first event after the gap and the percentile", f.Message)
	}
}

// TestAuditGapStreams: clusters interleaved in one run are separate streams, and rotated files
// of one device are one.
func TestAuditGapStreams(t *testing.T) {
	day := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	hole := [2]time.Time{day.Add(10 * time.Hour), day.Add(10*time.Hour + 20*time.Minute)}
	t.Run("a hole in one cluster while another keeps logging", func(t *testing.T) {
		evs := append(cadence("a/audit.log", "a", day, day.Add(24*time.Hour), 10*time.Second, 0, 1, hole),
			cadence("b/audit.log", "b", day, day.Add(24*time.Hour), 3*time.Minute, 0, 2)...)
		got := runDetector(t, NewAuditGap, DefaultConfig(), evs)
		if len(got) != 1 || got[0].Resources[0] != "a/audit.log" {
			t.Fatalf("got %+v, want one gap in a/audit.log", got)
		}
	})
	t.Run("rotated files that continue each other", func(t *testing.T) {
		evs := append(cadence("m/audit.log-20260923.gz", "a", day, day.Add(10*time.Hour), 30*time.Second, 0, 1),
			cadence("m/audit.log", "a", day.Add(10*time.Hour+time.Minute), day.Add(24*time.Hour), 30*time.Second, 0, 2)...)
		if got := runDetector(t, NewAuditGap, DefaultConfig(), evs); len(got) != 0 {
			t.Fatalf("got %+v, want no gap at the rotation", got)
		}
	})
	t.Run("rotated files with a retention hole between them", func(t *testing.T) {
		evs := append(cadence("m/audit.log.1", "a", day, day.Add(10*time.Hour), 30*time.Second, 0, 1),
			cadence("m/audit.log", "b", day.Add(12*time.Hour), day.Add(24*time.Hour), 30*time.Second, 0, 2)...)
		got := runDetector(t, NewAuditGap, DefaultConfig(), evs)
		if len(got) != 1 || got[0].Severity != Low || !slices.Equal(got[0].Resources, []string{"m/audit.log.1", "m/audit.log"}) ||
			got[0].DisplayName != "b" || !strings.Contains(got[0].Message, "rotation") {
			t.Fatalf("got %+v, want one low finding naming both files", got)
		}
	})
	t.Run("files in different directories are different devices", func(t *testing.T) {
		evs := append(cadence("x/audit.log", "a", day, day.Add(10*time.Hour), 30*time.Second, 0, 1),
			cadence("y/audit.log", "b", day.Add(12*time.Hour), day.Add(24*time.Hour), 30*time.Second, 0, 2)...)
		if got := runDetector(t, NewAuditGap, DefaultConfig(), evs); len(got) != 0 {
			t.Fatalf("got %+v, want nothing: the silence is between two devices", got)
		}
	})
	t.Run("two devices side by side in one directory", func(t *testing.T) {
		evs := append(cadence("d/audit.log", "a", day, day.Add(24*time.Hour), 30*time.Second, 0, 1),
			cadence("d/audit-2.log", "b", day, day.Add(24*time.Hour), 30*time.Second, 0, 2, hole)...)
		got := runDetector(t, NewAuditGap, DefaultConfig(), evs)
		if len(got) != 1 || got[0].Resources[0] != "d/audit-2.log" || got[0].Severity != High {
			t.Fatalf("got %+v, want one gap in d/audit-2.log", got)
		}
	})
}

func TestRotationStem(t *testing.T) {
	for _, name := range []string{"audit.log", "audit.log-20260923.gz", "audit.log.1", "audit.log.2.gz",
		"audit-2026-09-23T10-00-00.000.log", "AUDIT.LOG"} {
		if got := rotationStem(name); got != "audit" {
			t.Errorf("rotationStem(%q) = %q, want audit", name, got)
		}
	}
	if rotationStem("vault-audit.log") == rotationStem("audit.log") {
		t.Error("vault-audit.log and audit.log must not be one stream")
	}
}

// TestGapPercentile compares the bucketed percentile with an exact one.
func TestGapPercentile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	var f fenwick
	var exact []time.Duration
	for range 5000 {
		d := time.Duration(math.Exp(r.Float64()*20)) * time.Microsecond
		exact = append(exact, d)
		f.add(gapBucket(int64(d)), 1)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		rank := int(math.Ceil(q * float64(len(exact))))
		want := exact[rank-1]
		got := bucketUpper(f.search(rank))
		if got < want || float64(got) > float64(want)*1.011+float64(time.Millisecond) {
			t.Errorf("p%.0f: bucketed %s, exact %s: want within 1%% above", q*100, got, want)
		}
	}
}

func BenchmarkAuditGap(b *testing.B) {
	day := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	evs := cadence("a/audit.log", "a", day, day.Add(7*24*time.Hour), 2*time.Second, 60*time.Second, 1)
	b.ReportAllocs()
	for b.Loop() {
		env := Env{Config: ptr(DefaultConfig()), Baseline: baseline.New()}
		d := NewAuditGap(env)
		for i := range evs {
			d.Observe(&evs[i])
		}
		d.Finish()
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
