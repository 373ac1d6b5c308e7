package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/ctgen"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/internal/race"
)

// scanJSON runs one scan and returns its findings as JSON, streamed or (VAULTSENTRY_IN_MEMORY=1)
// with every event held as before streaming.
func scanJSON(t *testing.T, inMemory bool, cmd string, paths ...string) []byte {
	t.Helper()
	if inMemory {
		t.Setenv(inMemoryEnv, "1")
	} else {
		t.Setenv(inMemoryEnv, "")
	}
	var out, errb bytes.Buffer
	o := Options{IO: IO{Out: &out, Err: &errb}, Format: "json", Quiet: true}
	var err error
	if cmd == "cloudtrail" {
		_, err = CloudTrail(context.Background(), CloudTrailRequest{Options: o, From: paths})
	} else {
		_, err = Scan(context.Background(), ScanRequest{Options: o, Paths: paths})
	}
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", cmd, paths, err, errb.String())
	}
	var doc struct {
		Findings json.RawMessage `json:"findings"`
		Stats    struct {
			Events int `json:"events"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Findings
}

// TestStreamedSameFindings: the streamed run and the run that holds every event (the analysis
// before streaming) report the same findings, byte for byte, on generated inputs of several
// shapes: rotated files named out of order, two nodes interleaved in time with one clock 40 s
// ahead, one huge identity, CloudTrail delivery files that overlap and repeat records.
func TestStreamedSameFindings(t *testing.T) {
	dir := t.TempDir()
	size := int64(24 << 20)
	if race.Enabled || testing.Short() {
		size = 4 << 20
	}
	write := func(name string, ls [][]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Join(ls, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	realistic := bytes.SplitAfter(loggen.Generate(size, loggen.Options{}), []byte("\n"))
	hot := bytes.SplitAfter(loggen.Generate(size, loggen.Options{HotShare: 0.5, Seed: 3}), []byte("\n"))
	third := len(realistic) / 3
	var a, b [][]byte
	for i := 0; i < len(hot); i += 40 {
		end := min(i+40, len(hot))
		if (i/40)%2 == 0 {
			a = append(a, hot[i:end]...)
		} else {
			for _, l := range hot[i:end] {
				b = append(b, shiftEntryTime(l, 40*time.Second))
			}
		}
	}
	ct := filepath.Join(dir, "ct")
	if _, err := ctgen.Write(ct, 8<<20, ctgen.Options{DuplicateShare: 0.03, LateShare: 0.05}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		cmd   string
		paths []string
	}{
		"rotated": {"scan", []string{
			write("audit.log", realistic[2*third:]), write("audit.log.1", realistic[third:2*third]), write("audit.log.2", realistic[:third])}},
		"nodes-skewed-hot": {"scan", []string{write("node-b.log", b), write("node-a.log", a)}},
		"cloudtrail":       {"cloudtrail", []string{ct}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			want := scanJSON(t, true, c.cmd, c.paths...)
			got := scanJSON(t, false, c.cmd, c.paths...)
			if len(want) < 10 {
				t.Fatalf("no findings to compare: %s", want)
			}
			t.Logf("%d bytes of findings", len(want))
			if !bytes.Equal(got, want) {
				t.Errorf("streamed findings differ from the in-memory run's:\nstreamed %.2000s\nin memory %.2000s", got, want)
			}
		})
	}
}

// shiftEntryTime moves the "time" of one Vault audit entry by d.
func shiftEntryTime(line []byte, d time.Duration) []byte {
	const key = `"time":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return line
	}
	j := bytes.IndexByte(line[i+len(key):], '"')
	ts, err := time.Parse(time.RFC3339Nano, string(line[i+len(key):i+len(key)+j]))
	if err != nil {
		return line
	}
	out := append([]byte{}, line[:i+len(key)]...)
	out = append(out, ts.Add(d).UTC().Format(time.RFC3339Nano)...)
	return append(out, line[i+len(key)+j:]...)
}

// TestStreamedScanMemory: a scan of a log streamed from the generator through standard input
// keeps the live heap under a bound that does not depend on the input's size (runtime/metrics,
// sampled while it runs): it holds what the detectors remember, never the events.
func TestStreamedScanMemory(t *testing.T) {
	if race.Enabled || testing.Short() {
		t.Skip("generates and scans gigabytes; run without -race and -short")
	}
	const size = 3 << 30
	const bound = 400 << 20
	pr, pw := io.Pipe()
	go func() {
		_, err := loggen.Write(pw, size, loggen.Options{})
		pw.CloseWithError(err)
	}()
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	var peakLive, peakObjects uint64
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			metrics.Read(samples)
			mu.Lock()
			peakLive = max(peakLive, samples[0].Value.Uint64())
			peakObjects = max(peakObjects, samples[1].Value.Uint64())
			mu.Unlock()
		}
	}()
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	var out, errb bytes.Buffer
	res, err := Scan(context.Background(), ScanRequest{Options: Options{IO: IO{In: pr, Out: &out, Err: &errb}, Format: "json", Quiet: true}, Paths: []string{"-"}})
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errb.String())
	}
	var doc struct {
		Stats struct {
			Events int `json:"events"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if res.Findings == 0 {
		t.Fatal("no findings: the planted incidents were not seen")
	}
	t.Logf("%d events of a %d MiB log: peak live heap %d MiB, peak heap objects %d MiB (bound %d MiB)",
		doc.Stats.Events, size>>20, peakLive>>20, peakObjects>>20, bound>>20)
	if peakLive > bound {
		t.Errorf("peak live heap %d MiB over the bound of %d MiB", peakLive>>20, bound>>20)
	}
}
