package cloudtrail

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vaultsentry/vaultsentry/sources"
)

// FuzzDecodeCloudTrail: any input is read without panic, every line is accounted for, and the
// fast path (ctFast) reads it as the sonic path does.
func FuzzDecodeCloudTrail(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(ctData, "*.json"))
	logs, _ := filepath.Glob(filepath.Join(ctData, "*.log"))
	for _, p := range append(files, logs...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"Records":[{"eventTime":"x","eventName":"GetSecretValue"}]}`))
	f.Add([]byte("[1,2,{\"eventName\":\"a\"}]\n"))
	for _, r := range ctTestRecords()[:20] {
		f.Add(r)
	}
	f.Add([]byte(`{"Records":[{"eventTime":"2026-09-21T00:00:00Z","eventName":"GetSecretValue","requestParameters":{"secretId":"a"}},1]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 0 && data[0] == '{' {
			checkCTFastMatchesSonic(t, data)
		}
		checkCTDocument(t, data)
		st := &sources.FileStats{}
		evs, _ := readCloudTrail("fuzz.json", bufio.NewReader(bytes.NewReader(data)), 1<<20, st, nil)
		if !st.Balanced() {
			t.Fatalf("lines %d != parsed %d + malformed %d + skipped %v", st.Lines, st.Parsed, st.Malformed, st.Skipped)
		}
		for i := range evs {
			if evs[i].Record == 0 || (i > 0 && evs[i].Record < evs[i-1].Record) {
				t.Fatalf("event %d: record number %d after %d", i, evs[i].Record, evs[max(i-1, 0)].Record)
			}
		}
		for _, p := range st.Problems {
			if p.Line <= 0 {
				t.Fatalf("problem without a position: %+v", p)
			}
		}
	})
}

func BenchmarkDecodeCloudTrail(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(ctData, "stratus-aws.credential-access.secretsmanager-retrieve-secrets.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	events := 0
	for b.Loop() {
		st := &sources.FileStats{}
		evs, _ := readCloudTrail("bench.json", bufio.NewReader(bytes.NewReader(data)), sources.DefaultMaxLineBytes, st, nil)
		events += len(evs)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
