package cmd_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaultsentry/vaultsentry/cmd"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
)

// BenchmarkScan is the whole pipeline as the command runs it: read and parse a realistic 16 MiB
// log on every core, every detector, the JSON report. scripts/bench.sh does the same on
// gigabytes, against cat, a plain sonic decode, jq and the Python seed.
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	log := filepath.Join(dir, "audit.log")
	f, err := os.Create(log)
	if err != nil {
		b.Fatal(err)
	}
	st, err := loggen.Write(f, 16<<20, loggen.Options{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "report.json")
	streams := cmd.Streams{In: nil, Out: io.Discard, Err: io.Discard}
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	for b.Loop() {
		if code := cmd.Main(context.Background(), []string{"scan", "-q", "--format", "json", "-o", out, log}, streams); code != 0 {
			b.Fatalf("exit code %d", code)
		}
	}
	b.ReportMetric(float64(b.N)*float64(st.Requests)/b.Elapsed().Seconds(), "events/s")
}
