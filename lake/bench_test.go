package lake

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// benchEvents is a day of reads by 300 identities over 3,000 secrets.
func benchEvents(n int) []event.Event {
	t0 := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	evs := make([]event.Event, n)
	for i := range evs {
		ev := sampleEvents()[0]
		ev.Time = t0.Add(time.Duration(i) * 86400 * time.Second / time.Duration(n))
		ev.Principal = fmt.Sprintf("entity-%03d", i%300)
		ev.Resource = fmt.Sprintf("ns1/secret/app%04d", i%3000)
		ev.SetName(len("ns1/secret/"))
		ev.Pos.Line = i + 1
		evs[i] = ev
	}
	return evs
}

func benchmarkWrite(b *testing.B, format string) {
	evs := benchEvents(200_000)
	b.ResetTimer()
	for range b.N {
		w, err := NewWriter(b.TempDir(), format, []string{"bench"}, "bench")
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			if err := w.Write(&evs[i]); err != nil {
				b.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			b.Fatal(err)
		}
		var size int64
		for _, f := range files {
			size += f.Bytes
		}
		b.ReportMetric(float64(size)/float64(len(evs)), "bytes/event")
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkWriteParquet(b *testing.B)     { benchmarkWrite(b, FormatParquet) }
func BenchmarkWriteOCSFParquet(b *testing.B) { benchmarkWrite(b, FormatOCSFParquet) }
func BenchmarkWriteNDJSON(b *testing.B)      { benchmarkWrite(b, FormatNDJSON) }
