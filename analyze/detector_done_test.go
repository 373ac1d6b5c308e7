package analyze

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// TestRunDone: an open Env.Done changes nothing in the result; a closed one stops Run with
// Interrupted set and no findings.
func TestRunDone(t *testing.T) {
	data := loggen.Generate(4<<20, loggen.Options{Compact: true})
	loaded, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}},
		sources.LoadOptions{Formats: formats.Files(), Only: "vault", Stdin: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	evs := loaded.Events
	if len(evs) < 2*checkDoneEvery {
		t.Fatalf("%d events: too few to cross a check", len(evs))
	}
	cfg := DefaultConfig()
	want := Run(evs, Env{Config: &cfg, Baseline: baseline.New()})
	if len(want.Findings) == 0 {
		t.Fatal("no finding: the comparison would prove little")
	}
	open := make(chan struct{})
	got := Run(evs, Env{Config: &cfg, Baseline: baseline.New(), Done: open})
	if got.Interrupted {
		t.Error("Interrupted with Done open")
	}
	if !reflect.DeepEqual(want, got) {
		t.Errorf("an open Done changed the result: %d findings without, %d with", len(want.Findings), len(got.Findings))
	}

	closed := make(chan struct{})
	close(closed)
	got = Run(evs, Env{Config: &cfg, Baseline: baseline.New(), Done: closed})
	if !got.Interrupted || len(got.Findings) != 0 || len(got.Rules) != 0 {
		t.Errorf("closed Done: Interrupted %v, %d findings, %d rules; want an empty interrupted result",
			got.Interrupted, len(got.Findings), len(got.Rules))
	}
}
