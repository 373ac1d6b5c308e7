package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/baseline"
)

// TestLearnInBatches: baseline learn over an archive larger than a batch learns the same
// history as one pass (the same identities, events, secrets and addresses), saves once with
// every input, and reads a batch of files that are not logs without failing the others.
func TestLearnInBatches(t *testing.T) {
	data, err := os.ReadFile(incident)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	dir := t.TempDir()
	arch := filepath.Join(dir, "archive")
	if err := os.Mkdir(arch, 0o700); err != nil {
		t.Fatal(err)
	}
	third := len(lines) / 3
	for i, part := range [][]string{lines[:third], lines[third : 2*third], lines[2*third:]} {
		if err := os.WriteFile(filepath.Join(arch, "audit.log."+string(rune('1'+i))), []byte(strings.Join(part, "")), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(arch, "README.md"), []byte("# not a log\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	learn := func(name string, batch int64) (*baseline.Baseline, string) {
		t.Helper()
		path := filepath.Join(dir, name)
		io, _, errb := testIO()
		if _, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", BaselinePath: path,
			UpdateBaseline: true, LearnOnly: true, LearnBatchBytes: batch}, Paths: []string{arch}}); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, errb)
		}
		st, b, err := baseline.Open(path, false)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		return b, errb.String()
	}
	one, _ := learn("one.vsb", 0)
	many, stderr := learn("many.vsb", 1) // every file a batch of its own
	if !strings.Contains(stderr, "in 4 batches") || !strings.Contains(stderr, "in 3 batches into") {
		t.Errorf("stderr should say 4 batches planned and 3 learned (the README is no log):\n%s", stderr)
	}
	if len(one.Principals) == 0 || len(many.Principals) != len(one.Principals) {
		t.Fatalf("identities: %d in batches, %d in one pass", len(many.Principals), len(one.Principals))
	}
	for id, h := range one.Principals {
		g := many.Principals[id]
		if g == nil || g.Events != h.Events || len(g.Resources) != len(h.Resources) || len(g.Addrs) != len(h.Addrs) ||
			!g.First.Equal(h.First) || !g.Last.Equal(h.Last) {
			t.Errorf("%s: batches learned %+v, one pass %+v", id, g, h)
		}
	}
	if len(many.Inputs) != 3 || len(one.Inputs) != 3 {
		t.Errorf("inputs recorded: %d in batches, %d in one pass; want the 3 logs", len(many.Inputs), len(one.Inputs))
	}

	// A duration cannot be resolved before the last batch: a usage error that says so.
	io, _, _ := testIO()
	_, err = Scan(context.Background(), ScanRequest{Options: Options{IO: io, BaselinePath: filepath.Join(dir, "x.vsb"), UpdateBaseline: true,
		LearnOnly: true, LearnBatchBytes: 1, Until: Ago(3600e9)}, Paths: []string{arch}})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--until") {
		t.Errorf("a duration with batches: %v, want a usage error naming --until", err)
	}
}
