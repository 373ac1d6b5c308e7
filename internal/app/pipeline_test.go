package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

func TestNewestPlausibleIgnoresFutureEvents(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	evs := []event.Event{
		{Time: now.Add(-48 * time.Hour)},
		{Time: now.Add(-time.Hour)},
		{Time: now.AddDate(30, 0, 0), Pos: event.Pos{File: "audit.log", Line: 3}},
	}
	ref, note := newestPlausible(evs, now)
	if !ref.Equal(now.Add(-time.Hour)) || !strings.Contains(note, "audit.log:3") {
		t.Errorf("ref %s, note %q; want the newest event before the far-future one", ref, note)
	}
	if ref, note := newestPlausible(evs[:2], now); !ref.Equal(now.Add(-time.Hour)) || note != "" {
		t.Errorf("no future events: ref %s, note %q", ref, note)
	}
}

// TestSecondPassKeepsWhatItIsFor: a streamed run's copy of the events holds, for values_read
// alone, only the accesses to secrets; with an HTML report (whose charts count every event)
// all of them.
func TestSecondPassKeepsWhatItIsFor(t *testing.T) {
	t0 := time.Date(2026, 9, 21, 6, 0, 0, 0, time.UTC)
	evs := []event.Event{
		{Time: t0, Kind: event.KindVault, Op: event.OpRead, Resource: "kv/data/app/db", Path: "kv/data/app/db", Principal: "app", Pos: event.Pos{File: "a.log", Line: 1}},
		{Time: t0.Add(time.Second), Kind: event.KindVault, Op: event.OpWrite, Resource: "auth/approle/login", Path: "auth/approle/login", Principal: "app", Pos: event.Pos{File: "a.log", Line: 2}},
		{Time: t0.Add(2 * time.Second), Kind: event.KindVault, Op: event.OpRead, Resource: "sys/mounts", Path: "sys/mounts", Principal: "app", Pos: event.Pos{File: "a.log", Line: 3}},
	}
	for _, c := range []struct {
		format string
		want   int
	}{{"json", 1}, {"html", 3}} {
		o := &Options{Format: c.format, Now: func() time.Time { return t0 }}
		p := &pipeline{ctx: context.Background(), opts: o, stream: &streamSource{}, learnedLast: map[string]time.Time{}}
		cfg := analyze.DefaultConfig()
		a, err := p.newAnalysis(&window{p: p, all: true}, baseline.New(), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		batch := slices.Clone(evs)
		if err := a.consume(batch); err != nil {
			t.Fatal(err)
		}
		if a.events != 3 || a.copy.Len() != c.want {
			t.Errorf("%s: %d events analysed, %d in the second pass; want 3 and %d", c.format, a.events, a.copy.Len(), c.want)
		}
		a.close()
	}
}
