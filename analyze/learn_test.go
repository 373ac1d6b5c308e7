package analyze

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// encoded is b in the baseline file format.
func encoded(t *testing.T, b *baseline.Baseline) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDetectorsOnlyReadBaseline feeds a scenario day to every detector without letting the
// baseline learn: what the baseline holds must not change, since learning happens only in Run.
func TestDetectorsOnlyReadBaseline(t *testing.T) {
	s := newScenario(t)
	cfg := scenConfig(t)
	env := Env{Config: &cfg, Baseline: baseline.New()}
	var rest []event.Event
	for i := range s.evs {
		if s.evs[i].Time.Before(scenDay) {
			env.Baseline.Learn(&s.evs[i])
		} else {
			rest = append(rest, s.evs[i])
		}
	}
	before := encoded(t, env.Baseline)
	for _, d := range New(env) {
		kinds := d.Rule().Kinds
		for i := range rest {
			if kinds.Has(rest[i].Kind) {
				d.Observe(&rest[i])
			}
		}
		d.Finish()
		if after := encoded(t, env.Baseline); !bytes.Equal(before, after) {
			t.Errorf("%s changed the baseline", d.Rule().ID)
			before = after
		}
	}
}

// TestRunLearnsBursts: the bursts bulk-read judged reach the baseline through Run, so a periodic
// set learned in one run keeps the next run quiet.
func TestRunLearnsBursts(t *testing.T) {
	cycle := func(start time.Duration) []event.Event {
		return every(31, func(i int) event.Event {
			return vev(start+time.Duration(i)*100*time.Millisecond, "vso", event.OpRead, fmt.Sprintf("kv/data/prod/app%02d", i))
		})
	}
	cfg := DefaultConfig()
	bl := baseline.New()
	var day1 []event.Event
	for c := range 3 {
		day1 = append(day1, cycle(time.Duration(c)*3*time.Hour)...)
	}
	if got := rulesOf(Run(day1, Env{Config: &cfg, Baseline: bl}).Findings); len(got) != 2 {
		t.Fatalf("first run: %v, want the two cycles before the habit is known", got)
	}
	h := bl.Get("entity-vso")
	if h == nil || h.Bursts != 3 || h.MaxBurst != 31 || len(h.BurstPaths) != 31 || !h.LastBurst.Equal(day1[len(day1)-1].Time) {
		t.Fatalf("baseline after the first run: %+v", h)
	}
	if got := rulesOf(Run(cycle(24*time.Hour), Env{Config: &cfg, Baseline: bl}).Findings); len(got) != 0 {
		t.Errorf("second run: %v, want the learned set to stay quiet", got)
	}
	if h.Bursts != 4 {
		t.Errorf("bursts after the second run = %d, want 4", h.Bursts)
	}
}
