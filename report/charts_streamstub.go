package report

import (
	"iter"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// TEMPORARY stand-in.
func BuildChartsSeq(events func() iter.Seq[*event.Event], findings []analyze.Finding, from, to time.Time, bulk analyze.BulkReadConfig) *Charts {
	var evs []event.Event
	for ev := range events() {
		evs = append(evs, *ev)
	}
	return BuildChartsFor(evs, findings, from, to, bulk)
}
