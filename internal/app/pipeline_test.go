package app

import (
	"strings"
	"testing"
	"time"

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
