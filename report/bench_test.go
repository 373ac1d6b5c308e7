package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

// benchResult is a report of n findings, each with the most evidence and resources a finding
// lists, like a bad day on a large log.
func benchResult(n int) *Result {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	r := &Result{Tool: "vaultsentry", Version: "bench", Command: "scan", Rules: analyze.Rules(), Generated: t0,
		Files: []sources.FileStats{{File: "audit.log", Format: "vault", Lines: 1 << 20, Parsed: 1 << 20, Events: 1 << 19}}}
	for i := range n {
		f := analyze.Finding{Rule: r.Rules[i%len(r.Rules)].ID, Severity: analyze.Severity(i % 5), Title: "Bulk secret read",
			Message: fmt.Sprintf("%d reads of %d distinct secrets", 100+i, 50), Source: "vault",
			Identity: fmt.Sprintf("entity-%d", i), DisplayName: fmt.Sprintf("k8s-eu1-app-%d", i),
			Credential: "hmac-sha256:6ba2266790bda77a3ca25c4c65c99043a24d789cc8c4a2098ed41aa325f49c19",
			FirstSeen:  t0.Add(time.Duration(i) * time.Minute), LastSeen: t0.Add(time.Duration(i)*time.Minute + 4*time.Minute),
			Count: 100 + i, Remediation: "vault token revoke -accessor ..."}
		for j := range analyze.MaxResources {
			f.Resources = append(f.Resources, fmt.Sprintf("kv/prod/app-%d/secret-%d", i, j))
		}
		f.SourceIPs = []string{"10.0.0.1", "203.0.113.7"}
		for j := range analyze.MaxEvidence {
			f.Evidence = append(f.Evidence, analyze.Evidence{File: "audit.log", Line: i*100 + j, Time: f.FirstSeen.Add(time.Duration(j) * time.Second)})
		}
		r.Findings = append(r.Findings, f)
	}
	return r
}

// countingWriter counts what a renderer writes.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkRender renders 1,000 findings in each format (MB/s of output).
func BenchmarkRender(b *testing.B) {
	res := benchResult(1000)
	for _, format := range Formats() {
		b.Run(format, func(b *testing.B) {
			r, err := New(format)
			if err != nil {
				b.Fatal(err)
			}
			var cw countingWriter
			if err := r.Render(&cw, res); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(cw.n)
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Render(io.Discard, res); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBuildCharts builds the HTML report's charts from the incident's events.
func BenchmarkBuildCharts(b *testing.B) {
	r, evs := incidentResult(b)
	b.ReportAllocs()
	for b.Loop() {
		BuildCharts(evs, r.Findings, r.First, r.Last)
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
