package metrics

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// counts are what a Collector gathered, without its working state.
func counts(c *Collector) []any {
	return []any{c.events, c.reads, c.fresh, c.readers, c.streams}
}

// TestCollectorStreamed: Add called just before analyze.Runner.Observe, the baseline learning
// each event after Add has seen it, gives Collect's counts over the baseline as loaded. The
// input mixes a loaded history, a learning period, events an earlier run learned, and pairs
// new to the run, over a generated log and a second store.
func TestCollectorStreamed(t *testing.T) {
	data := loggen.Generate(2<<20, loggen.Options{})
	loaded, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}},
		sources.LoadOptions{Formats: formats.Files(), Only: "vault", Stdin: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	all := loaded.Events
	// The first third is the history the baseline file holds; the run reads the rest, the
	// first events of which an earlier run learned, and trains on the events before learnUntil.
	hist, evs := all[:len(all)/3], all[len(all)/3:]
	for i := range len(evs) / 10 {
		evs[i].Flags |= event.FlagLearned
	}
	learnUntil := evs[len(evs)/3].Time
	// A CloudTrail identity reading a secret twice, the second time new to nobody.
	ct := event.Event{Time: learnUntil.Add(time.Minute), Kind: event.KindCloudTrail, Op: event.OpRead,
		Outcome: event.OutcomeOK, Principal: "arn:aws:iam::111122223333:role/sync", Resource: "prod/db",
		Namespace: "111122223333", Region: "eu-west-1", Pos: event.Pos{File: "ct/a.json", Line: 1}}
	ct2 := ct
	ct2.Time, ct2.Pos.Line = ct.Time.Add(time.Second), 2
	// A Vault identity writing a secret, then reading it: not new. Then listing a path, then
	// reading it: not new either (baseline.Learn records both).
	write := event.Event{Time: ct2.Time.Add(time.Second), Kind: event.KindVault, Op: event.OpWrite,
		Outcome: event.OutcomeOK, Principal: "rotator", Resource: "kv/rotated", Pos: event.Pos{File: "audit.log", Line: 3}}
	readBack := write
	readBack.Op, readBack.Time = event.OpRead, write.Time.Add(time.Second)
	list := write
	list.Op, list.Resource, list.Time = event.OpList, "kv/listed", readBack.Time.Add(time.Second)
	readListed := list
	readListed.Op, readListed.Time = event.OpRead, list.Time.Add(time.Second)
	evs = append(evs[:len(evs):len(evs)], ct, ct2, write, readBack, list, readListed)

	loadedBaseline := func() *baseline.Baseline {
		bl := baseline.New()
		for i := range hist {
			bl.Learn(&hist[i])
		}
		return bl
	}

	want := Collect(evs, loadedBaseline(), learnUntil)

	bl := loadedBaseline()
	cfg := analyze.DefaultConfig()
	cfg.LearnUntil = learnUntil
	r := analyze.NewRunner(analyze.Env{Config: &cfg, Baseline: bl})
	c := NewCollector(bl, learnUntil)
	var ev event.Event
	for i := range evs {
		ev = evs[i]
		c.Add(&ev)
		if !r.Observe(&ev) {
			t.Fatal("Observe refused an event")
		}
	}
	r.Finish(nil)

	if !reflect.DeepEqual(counts(c), counts(want)) {
		t.Errorf("streamed:\n %v\nCollect:\n %v", counts(c), counts(want))
	}
	// The comparison proves something only if some reads were new and some known, and the
	// baseline really learned the run's pairs while Add was counting.
	fresh, reads := 0, 0
	for _, n := range want.fresh {
		fresh += n
	}
	for _, n := range want.reads {
		reads += n
	}
	if fresh == 0 || fresh == reads {
		t.Errorf("%d fresh of %d reads: the input does not mix new and known pairs", fresh, reads)
	}
	if want.fresh["vault"] != fresh-1 || want.reads["vault"] != reads-2 {
		t.Fatalf("vault counts %d of %d do not add up", want.fresh["vault"], want.reads["vault"])
	}
	if want.fresh["cloudtrail"] != 1 || want.reads["cloudtrail"] != 2 {
		t.Errorf("cloudtrail: %d fresh of %d reads, want 1 of 2", want.fresh["cloudtrail"], want.reads["cloudtrail"])
	}
	// Streamed, the baseline holds the run's pairs: the Collector keeps no copy of them.
	if !c.follows || c.learned != nil {
		t.Errorf("streamed: follows %v, %d learned pairs kept; want the baseline's alone", c.follows, len(c.learned))
	}
	// Over a baseline that does not learn, it must keep them.
	alone := NewCollector(loadedBaseline(), learnUntil)
	for i := range evs {
		alone.Add(&evs[i])
	}
	if alone.follows || len(alone.learned) == 0 || !reflect.DeepEqual(counts(alone), counts(want)) {
		t.Errorf("without learning: follows %v, %d learned pairs; counts equal to Collect's: %v",
			alone.follows, len(alone.learned), reflect.DeepEqual(counts(alone), counts(want)))
	}
	if h := bl.Get(ct.Principal); h == nil || h.Resources[ct.Resource].IsZero() {
		t.Error("the baseline did not learn the run's events: the streamed pattern was not exercised")
	}
}
