package report

import (
	"io"
	"testing"
)

func BenchmarkRenderers(b *testing.B) {
	r, evs := incidentResult(b)
	for _, name := range []string{"html", "markdown", "json"} {
		b.Run(name, func(b *testing.B) {
			rd, err := New(name)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := rd.Render(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("charts", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			BuildCharts(evs, r.Findings, r.First, r.Last)
		}
		b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
