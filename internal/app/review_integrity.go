package app

import (
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/review"
)

// countTreeReads counts, for each CloudTrail tree, the events read from its files and the reads
// among them (review.IsReadEvent): a tree without a single read-only event is a trail that logs
// write-only management events, and the review says so. Every loaded event counts, history
// included: it is the trail's configuration that is judged, not the period's traffic.
func countTreeReads(trees []report.TreeIntegrity, evs []event.Event) {
	if len(trees) == 0 {
		return
	}
	last, lastTree := "", -1 // events of one file come in runs: remember the last file's tree
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != event.KindCloudTrail {
			continue
		}
		if ev.Pos.File != last {
			last, lastTree = ev.Pos.File, -1
			for j, t := range trees {
				if under(t.Tree, ev.Pos.File) {
					lastTree = j
					break
				}
			}
		}
		if lastTree < 0 {
			continue
		}
		trees[lastTree].Events++
		if review.IsReadEvent(ev) {
			trees[lastTree].ReadEvents++
		}
	}
}
