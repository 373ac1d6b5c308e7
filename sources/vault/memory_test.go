package vault

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/internal/race"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestPipelineMemoryPerEvent bounds the heap that reading and analysing takes per event when
// every event names a distinct path (the 10-million-paths case, at 1/100 the size and
// the same structure: one principal, distinct paths, a few source addresses). The statement in
// docs/SECURITY-section.md rests on it: memory is linear in events, about this many bytes each.
func TestPipelineMemoryPerEvent(t *testing.T) {
	n := 100_000
	if testing.Short() || race.Enabled {
		n = 20_000
	}
	start := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	gen := &gen{n: n, line: func(i int) string {
		ts := start.Add(time.Duration(i) * 250 * time.Millisecond).Format(time.RFC3339Nano)
		return fmt.Sprintf(`{"time":%q,"type":"request","auth":{"accessor":"hmac-sha256:a%d","display_name":"svc-%d","entity_id":"e%d","policies":["p"]},"request":{"id":"r%d","operation":"read","path":"kv/data/team-%d/app-%d/s-%d","mount_point":"kv/","mount_type":"kv","remote_address":"10.0.%d.%d"}}`,
			ts, i%3, i%3, i%3, i, i%97, i, i*7, i%4, i%250)
	}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault", Stdin: gen})
	if err != nil || len(l.Events) != n {
		t.Fatalf("load: %v, %d events", err, len(l.Events))
	}
	cfg := analyze.DefaultConfig()
	bl := baseline.New() // kept alive below: what it learned is part of the cost
	res := analyze.Run(l.Events, analyze.Env{Config: &cfg, Baseline: bl})
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEvent := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(n)
	const maxPerEvent = 2048
	if perEvent > maxPerEvent {
		t.Errorf("%d bytes of heap per event (events, strings, baseline), want <= %d", perEvent, maxPerEvent)
	}
	t.Logf("%d events, %d distinct paths: %d bytes of heap per event, %d findings", n, n, perEvent, len(res.Findings))
	runtime.KeepAlive(l)
	runtime.KeepAlive(res)
	runtime.KeepAlive(bl)
}

// gen yields n lines made by line(i), one at a time, so the input itself takes no memory.
type gen struct {
	n, i int
	line func(int) string
	buf  []byte
}

func (g *gen) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i >= g.n {
			return 0, io.EOF
		}
		g.buf = append(append(g.buf[:0], g.line(g.i)...), '\n')
		g.i++
	}
	c := copy(p, g.buf)
	g.buf = g.buf[c:]
	return c, nil
}

// TestShortLinesMemory: blank and one-byte lines cost the reader no memory per line. A Load of
// 8 million blank lines (generated, so the input takes none) allocates a bounded amount: the
// chunks in flight hold at most vaultChunkLines records each, whatever the lines' length.
func TestShortLinesMemory(t *testing.T) {
	n := 8 << 20
	if testing.Short() || race.Enabled {
		n = 1 << 20
	}
	head := `{"time":"2026-09-23T00:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:a","display_name":"svc","policies":["p"]},"request":{"id":"r1","operation":"read","path":"kv/data/x","mount_point":"kv/","mount_type":"kv","remote_address":"10.0.0.1"}}`
	for _, tc := range []struct {
		name string
		line string
		n    int
	}{{"blank", "", n}, {"one byte", "x", 1_000_000}} {
		t.Run(tc.name, func(t *testing.T) {
			in := &gen{n: tc.n + 1, line: func(i int) string {
				if i == 0 {
					return head
				}
				return tc.line
			}}
			s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
			runtime.GC()
			metrics.Read(s)
			before := s[0].Value.Uint64()
			l, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: vaultOnly, Stdin: in})
			metrics.Read(s)
			alloc := s[0].Value.Uint64() - before
			if err != nil || l.Files[0].Lines != tc.n+1 || l.Files[0].Parsed != 1 {
				t.Fatalf("load: %v, %+v", err, l.Files[0])
			}
			t.Logf("%d lines of %q: %.1f MiB allocated", tc.n, tc.line, float64(alloc)/(1<<20))
			// For each chunk in flight, its buffer (up to twice a chunk while short lines are cut)
			// and its records growing to vaultChunkLines (about 9 MiB of appends, once): not a
			// kilobyte a line.
			if limit := uint64(32<<20) + uint64(2*runtime.GOMAXPROCS(0)+2)*(16<<20); alloc > limit {
				t.Errorf("%d bytes allocated, want <= %d", alloc, limit)
			}
		})
	}
}
