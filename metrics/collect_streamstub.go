package metrics

import (
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// TEMPORARY stand-in.
type StreamCollector struct {
	bl    *baseline.Baseline
	until time.Time
	evs   []event.Event
}

func NewCollector(bl *baseline.Baseline, learnUntil time.Time) *StreamCollector {
	return &StreamCollector{bl: bl, until: learnUntil}
}
func (c *StreamCollector) Add(ev *event.Event) { c.evs = append(c.evs, *ev) }
func (c *StreamCollector) Collector() *Collector { return Collect(c.evs, c.bl, c.until) }
