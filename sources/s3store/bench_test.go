package s3store

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
)

// BenchmarkS3Read lists and reads 256 objects of 8 KiB (a typical CloudTrail log file,
// compressed) or 256 KiB (a busy one) from the fake S3 with 20 ms added to every request, as sources.Load reads them:
// two readers taking the inputs in order. It reports objects/s and MB/s (as stored). With
// 16 in flight the latency is hidden: about 16 / 20 ms = 800 objects/s at most.
func BenchmarkS3Read(b *testing.B) {
	for _, c := range []struct{ size, inFlight int }{{8 << 10, 1}, {8 << 10, 16}, {256 << 10, 1}, {256 << 10, 4}, {256 << 10, 16}, {256 << 10, 32}} {
		size, inFlight := c.size, c.inFlight
		b.Run(fmt.Sprintf("size=%dKiB/inflight=%d", size>>10, inFlight), func(b *testing.B) {
			srv := s3fake.New()
			defer srv.Close()
			const n = 256
			body := make([]byte, size)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range body {
				body[i] = byte(r.IntN(256))
			}
			for i := range n {
				srv.Put("bench", fmt.Sprintf("AWSLogs/1/CloudTrail/eu-west-1/2026/09/%02d/f%04d.json.gz", i%28+1, i), &s3fake.Object{Body: body})
			}
			srv.With(func() { srv.Latency = 20 * time.Millisecond })
			api := client(b, srv)
			b.ResetTimer()
			var bytes int64
			start := time.Now()
			for range b.N {
				var st Stats
				ins, errs := Expand(context.Background(), api, []string{"s3://bench/AWSLogs/"}, Filter{}, inFlight, &st)
				if len(errs) > 0 || len(ins) != n {
					b.Fatal(errs)
				}
				next := make(chan int)
				var wg sync.WaitGroup
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range next {
							rc, err := ins[i].Open()
							if err != nil {
								b.Error(err)
								continue
							}
							io.Copy(io.Discard, rc)
							rc.Close()
						}
					}()
				}
				for i := range ins {
					next <- i
				}
				close(next)
				wg.Wait()
				s := st.Snapshot()
				if s.Fetched != n || s.Failed != 0 {
					b.Fatalf("%+v", s)
				}
				bytes += s.Bytes
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(n*b.N)/secs, "objects/s")
			b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
		})
	}
}
