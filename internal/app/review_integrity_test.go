package app

import (
	"path/filepath"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
)

// TestCountTreeReads: each CloudTrail tree counts the events of its own files and the reads among
// them; a file outside every tree, a tree whose name is a prefix of another's and other stores'
// events are not counted.
func TestCountTreeReads(t *testing.T) {
	a, ab := filepath.Join("in", "a"), filepath.Join("in", "ab")
	ct := func(file string, op event.Op, flags event.Flags) event.Event {
		return event.Event{Kind: event.KindCloudTrail, Op: op, Flags: flags, Pos: event.Pos{File: file}}
	}
	evs := []event.Event{
		ct(filepath.Join(a, "AWSLogs", "1.json"), event.OpWrite, 0),
		ct(filepath.Join(a, "AWSLogs", "1.json"), event.OpOther, 0),
		ct(filepath.Join(ab, "AWSLogs", "2.json"), event.OpRead, event.FlagValueRead|event.FlagReadOnly),
		ct(filepath.Join(ab, "AWSLogs", "2.json"), event.OpOther, event.FlagReadOnly),
		ct(filepath.Join("elsewhere", "3.json"), event.OpRead, event.FlagReadOnly),
		{Kind: event.KindVault, Op: event.OpRead, Pos: event.Pos{File: filepath.Join(a, "audit.log")}},
	}
	trees := []report.TreeIntegrity{{Tree: a}, {Tree: ab + string(filepath.Separator)}}
	countTreeReads(trees, evs)
	if trees[0].Events != 2 || trees[0].ReadEvents != 0 {
		t.Errorf("%s: %d events, %d reads; want 2, 0 (a write-only trail)", a, trees[0].Events, trees[0].ReadEvents)
	}
	if trees[1].Events != 2 || trees[1].ReadEvents != 2 {
		t.Errorf("%s: %d events, %d reads; want 2, 2", ab, trees[1].Events, trees[1].ReadEvents)
	}
}
