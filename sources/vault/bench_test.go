package vault

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
)

// The benchmarks read a realistic log generated in-process (internal/loggen): 8 MiB, so a
// smoke run (-benchtime=1x, as CI does) stays well under a second. scripts/bench.sh measures
// gigabytes.

var benchLog = sync.OnceValue(func() []byte { return loggen.Generate(8<<20, loggen.Options{}) })

func benchLines(b *testing.B) [][]byte {
	b.Helper()
	return bytes.Split(bytes.TrimSuffix(benchLog(), []byte{'\n'}), []byte{'\n'})
}

// BenchmarkDecodeVault is the field decoder alone, line by line.
func BenchmarkDecodeVault(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	var v vaultLine
	fast := 0
	for b.Loop() {
		for _, l := range lines {
			if decodeVaultFast(l, &v) {
				fast++
			}
		}
	}
	b.ReportMetric(float64(fast)/float64(b.N*len(lines)), "fast/line")
}

// BenchmarkDecodeVaultSonic is what the field decoder replaces: sonic into vaultEntry.
func BenchmarkDecodeVaultSonic(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var e vaultEntry
			if err := sonic.Unmarshal(l, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadVault is one file through the pipeline: cut, decode on every core, pair.
func BenchmarkReadVault(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		var st sources.FileStats
		es := readVault(context.Background(), "bench.log", bytes.NewReader(data), int64(len(data)), sources.DefaultMaxLineBytes, &st, sources.NewInterner(), nil)
		events += es.Len()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoad adds what Load does around it: the merge into one time-ordered slice.
func BenchmarkLoad(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		res, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault", Stdin: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		events += len(res.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkValidStrings is the check of every line's strings against encoding/json's rules,
// which decodeLine adds to either decoder.
func BenchmarkValidStrings(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if !validStrings(l) {
				b.Fatalf("rejected %q", l)
			}
		}
	}
}
