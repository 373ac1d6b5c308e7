package sources_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// streamAll runs Stream and collects what it gives, checking that every batch continues the
// time order.
func streamAll(t *testing.T, inputs []sources.Input) ([]event.Event, *sources.Loaded) {
	t.Helper()
	var got []event.Event
	res, err := sources.Stream(context.Background(), inputs, sources.LoadOptions{Formats: formats.Files()}, func(evs []event.Event) error {
		got = append(got, evs...)
		return nil
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return got, res
}

func loadAll(t *testing.T, inputs []sources.Input) *sources.Loaded {
	t.Helper()
	res, err := sources.Load(context.Background(), inputs, sources.LoadOptions{Formats: formats.Files()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return res
}

// sameAsLoad checks that Stream gives exactly Load's events, in Load's order, and the same
// statistics.
func sameAsLoad(t *testing.T, inputs []sources.Input) []event.Event {
	t.Helper()
	want := loadAll(t, inputs)
	got, res := streamAll(t, inputs)
	if len(got) != len(want.Events) {
		t.Fatalf("streamed %d events, loaded %d", len(got), len(want.Events))
	}
	for i := range got {
		if !sameEvent(got[i], want.Events[i]) {
			t.Fatalf("event %d differs:\nstreamed %+v\nloaded   %+v", i, got[i], want.Events[i])
		}
	}
	for i := range res.Files {
		g, w := res.Files[i], want.Files[i]
		if g.Late != 0 {
			t.Errorf("%s: %d late events", g.File, g.Late)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("statistics of %s differ:\nstreamed %+v\nloaded   %+v", g.File, g, w)
		}
	}
	return got
}

func sameEvent(a, b event.Event) bool {
	if len(a.Policies) == 0 && len(b.Policies) == 0 {
		a.Policies, b.Policies = nil, nil
	}
	if len(a.NewPolicies) == 0 && len(b.NewPolicies) == 0 {
		a.NewPolicies, b.NewPolicies = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func files(t *testing.T, paths ...string) []sources.Input {
	t.Helper()
	ins := make([]sources.Input, len(paths))
	for i, p := range paths {
		ins[i] = sources.Input{Name: p}
	}
	return ins
}

// TestStreamSameAsLoadTestdata: every Vault and Kubernetes fixture, one at a time and all at
// once, streams to Load's events.
func TestStreamSameAsLoadTestdata(t *testing.T) {
	var all []string
	for _, dir := range []string{"../testdata/vault", "../testdata/k8saudit"} {
		ms, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, m := range ms {
			if strings.HasSuffix(m, ".md") {
				continue
			}
			all = append(all, m)
			t.Run(filepath.Base(m), func(t *testing.T) { sameAsLoad(t, files(t, m)) })
		}
	}
	if len(all) < 5 {
		t.Fatalf("only %d fixtures found", len(all))
	}
	sameAsLoad(t, files(t, all...))
}

// TestStreamSameAsLoadGenerated: a generated log cut the ways real inputs come: rotated files
// named out of time order, two nodes' files interleaved in time, one node's clock ahead, late
// responses (the generator writes some responses behind later requests), and one huge identity.
func TestStreamSameAsLoadGenerated(t *testing.T) {
	dir := t.TempDir()
	data := loggen.Generate(6<<20, loggen.Options{HotShare: 0.3})
	lines := bytes.SplitAfter(data, []byte("\n"))
	write := func(name string, ls [][]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Join(ls, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	third := len(lines) / 3
	// Rotated: audit.log is the newest, audit.log.2 the oldest; named newest first.
	rotated := []string{
		write("audit.log", lines[2*third:]),
		write("audit.log.1", lines[third:2*third]),
		write("audit.log.2", lines[:third]),
	}
	t.Run("rotated", func(t *testing.T) { sameAsLoad(t, files(t, rotated...)) })

	// Two nodes: alternate runs of lines (a request and its response stay together).
	var a, b [][]byte
	for i := 0; i < len(lines); i += 50 {
		end := min(i+50, len(lines))
		if (i/50)%2 == 0 {
			a = append(a, lines[i:end]...)
		} else {
			b = append(b, lines[i:end]...)
		}
	}
	nodes := []string{write("node-b.log", b), write("node-a.log", a)}
	t.Run("interleaved", func(t *testing.T) { sameAsLoad(t, files(t, nodes...)) })

	// One node's clock 40 seconds ahead of the other's.
	skewed := make([][]byte, len(b))
	for i, l := range b {
		skewed[i] = shiftTime(t, l, 40*time.Second)
	}
	skew := []string{write("node-a2.log", a), write("node-b-skewed.log", skewed)}
	t.Run("skew", func(t *testing.T) { sameAsLoad(t, files(t, skew...)) })
}

// shiftTime moves the "time" of one audit entry.
func shiftTime(t *testing.T, line []byte, d time.Duration) []byte {
	const key = `"time":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return line
	}
	j := bytes.IndexByte(line[i+len(key):], '"')
	ts, err := time.Parse(time.RFC3339Nano, string(line[i+len(key):i+len(key)+j]))
	if err != nil {
		t.Fatalf("time %q: %v", line[i+len(key):i+len(key)+j], err)
	}
	out := append([]byte{}, line[:i+len(key)]...)
	out = append(out, ts.Add(d).UTC().Format(time.RFC3339Nano)...)
	return append(out, line[i+len(key)+j:]...)
}

// TestStreamLateEvents: an event more than the reorder bound behind the newest of its file is
// analysed (never dropped) and counted as late; within the bound it takes its place.
func TestStreamLateEvents(t *testing.T) {
	dir := t.TempDir()
	entry := func(ts time.Time, id int) string {
		return fmt.Sprintf(`{"time":%q,"type":"request","auth":{"accessor":"hmac-sha256:a","display_name":"x"},"request":{"id":"r%d","operation":"read","path":"kv/data/p%d"}}`+"\n",
			ts.Format(time.RFC3339Nano), id, id)
	}
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	var sb strings.Builder
	n := 0
	// More entries than the reorder buffer holds, one a second.
	total := 2*sources.ReorderEvents + 5000
	for i := range total {
		sb.WriteString(entry(t0.Add(time.Duration(i)*time.Second), n))
		n++
		if i == total-1000 {
			sb.WriteString(entry(t0.Add(time.Duration(i-30)*time.Second), n)) // 30 seconds behind: within the bound
			sb.WriteString(entry(t0.Add(time.Minute+1), n+1))                 // 18 hours behind: late
			n += 2
		}
	}
	p := filepath.Join(dir, "late.log")
	if err := os.WriteFile(p, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	got, res := streamAll(t, files(t, p))
	if len(got) != n {
		t.Fatalf("%d events, want %d (none dropped)", len(got), n)
	}
	if res.Files[0].Late != 1 {
		t.Errorf("late = %d, want 1", res.Files[0].Late)
	}
	out := 0
	for i := 1; i < len(got); i++ {
		if got[i].Time.Before(got[i-1].Time) {
			out++
		}
	}
	if out != 1 {
		t.Errorf("%d events out of order, want only the late one", out)
	}
	if !sort.SliceIsSorted(got[:len(got)-1], func(i, j int) bool { return got[i].Time.Before(got[j].Time) }) && out == 0 {
		t.Error("not sorted")
	}
}
