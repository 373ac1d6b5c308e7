package report

import (
	"bytes"
	"context"
	"iter"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// TestBuildChartsSeq: the charts from two passes of an iterator that reuses one event are the
// charts from the slice, on the incident and on a generated log with a hot token (more
// identities than MaxSeries, a window long enough to be compacted); each pass calls events.
func TestBuildChartsSeq(t *testing.T) {
	r, incident := incidentResult(t)
	data := loggen.Generate(2<<20, loggen.Options{HotShare: 0.3})
	loaded, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}},
		sources.LoadOptions{Formats: formats.Files(), Only: "vault", Stdin: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	gen := loaded.Events
	cfg := analyze.DefaultConfig()
	genFindings := analyze.Run(gen, analyze.Env{Config: &cfg}).Findings
	genFrom, genTo := sources.Span(gen)
	wide := analyze.BulkReadConfig{Window: time.Hour, MinCount: 500, MinDistinct: 100}

	for _, tt := range []struct {
		name     string
		evs      []event.Event
		findings []analyze.Finding
		from, to time.Time
		bulk     analyze.BulkReadConfig
	}{
		{"incident", incident, r.Findings, r.First, r.Last, cfg.BulkRead},
		{"generated", gen, genFindings, genFrom, genTo, cfg.BulkRead},
		{"generated-hour-window", gen, genFindings, genFrom, genTo, wide},
		{"generated-part", gen, nil, genFrom.Add(genTo.Sub(genFrom) / 4), genTo.Add(-genTo.Sub(genFrom) / 4), cfg.BulkRead},
		{"empty-period", gen, genFindings, genTo, genFrom, cfg.BulkRead},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := BuildChartsFor(tt.evs, tt.findings, tt.from, tt.to, tt.bulk)
			passes := 0
			// One reused event whose strings live in one reused buffer, as a zero-copy reader of
			// a spill file could give them: a string kept past its iteration is overwritten.
			events := func() iter.Seq[*event.Event] {
				passes++
				return func(yield func(*event.Event) bool) {
					var ev event.Event
					var buf []byte
					reuse := func(s string) string {
						if s == "" {
							return ""
						}
						off := len(buf)
						buf = append(buf, s...)
						return unsafe.String(&buf[off], len(s))
					}
					defer func() { ev = event.Event{} }()
					for i := range tt.evs {
						for j := range buf {
							buf[j] = '#'
						}
						buf = buf[:0]
						if cap(buf) < 4096 {
							buf = make([]byte, 0, 4096) // never grown below: one buffer for the pass
						}
						ev = tt.evs[i]
						ev.Principal, ev.Credential, ev.DisplayName = reuse(ev.Principal), reuse(ev.Credential), reuse(ev.DisplayName)
						ev.Resource, ev.Path = reuse(ev.Resource), reuse(ev.Path)
						if !yield(&ev) {
							return
						}
					}
				}
			}
			got := BuildChartsSeq(events, tt.findings, tt.from, tt.to, tt.bulk)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("BuildChartsSeq:\n %+v\nBuildChartsFor:\n %+v", got, want)
			}
			if tt.name != "empty-period" {
				if passes != 2 {
					t.Errorf("%d passes, want 2", passes)
				}
				if len(want.Reads) == 0 {
					t.Error("no series: the comparison proves little")
				}
			}
			if tt.name == "generated" && len(want.Reads) != MaxSeries {
				t.Errorf("%d series, want MaxSeries (%d): the generated log should have more readers", len(want.Reads), MaxSeries)
			}
		})
	}
}
