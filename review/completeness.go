package review

import (
	"fmt"
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// Completeness is what the review says of the logs themselves: the time each stream covers,
// the gaps in the period, the changes to the audit configuration made in it, and whether each
// store's logs hold reads at all.
type Completeness struct {
	Streams      []analyze.StreamCoverage
	Gaps         []analyze.StreamGap
	AuditChanges []AuditChange
	// ReadEvents says, per store with events in the period, whether any of them is a read (a
	// read or listing, or a call the store marks read-only).
	ReadEvents map[string]bool
	Notes      []string
}

// AuditChange is one change to the audit configuration in the period.
type AuditChange struct {
	Time        time.Time
	Store       string
	Identity    string
	DisplayName string
	Action      string
	Target      string
	Detail      string
	Outcome     string // ok, denied, error: a denied attempt changed nothing but is on the record
	Pos         event.Pos
}

// NoReadsNote is what the review says of CloudTrail logs without a single read-only event.
const NoReadsNote = "the trail logs write-only management events: every GetSecretValue is omitted"

// BuildCompleteness measures the period [start, end) of evs (in time order): streams and gaps
// with audit-gap's notion and thresholds (gap), audit configuration changes as audit-disabled
// recognises them.
func BuildCompleteness(evs []event.Event, start, end time.Time, gap analyze.AuditGapConfig) *Completeness {
	c := &Completeness{ReadEvents: map[string]bool{}, AuditChanges: []AuditChange{}}
	c.Streams, c.Gaps = analyze.StreamGaps(evs, start, end, gap)
	for i := range evs {
		ev := &evs[i]
		if ev.Time.Before(start) || !ev.Time.Before(end) {
			continue
		}
		store := ev.Kind.String()
		if IsReadEvent(ev) {
			c.ReadEvents[store] = true
		} else if _, ok := c.ReadEvents[store]; !ok {
			c.ReadEvents[store] = false
		}
		if ch, ok := analyze.AuditChangeOf(ev); ok {
			c.AuditChanges = append(c.AuditChanges, AuditChange{Time: ev.Time, Store: store, Identity: ev.Actor(), DisplayName: ev.DisplayName,
				Action: ch.Action, Target: ch.Target, Detail: ch.Detail, Outcome: ev.Outcome.String(), Pos: ev.Pos})
		}
	}
	stores := make([]string, 0, len(c.ReadEvents))
	for s := range c.ReadEvents {
		stores = append(stores, s)
	}
	slices.Sort(stores)
	for _, s := range stores {
		if c.ReadEvents[s] {
			continue
		}
		if s == event.KindCloudTrail.String() {
			c.Notes = append(c.Notes, "no read-only CloudTrail event in the period: "+NoReadsNote+
				" (or the inputs hold only the writes); reads of Secrets Manager and SSM cannot be reviewed from these logs")
		} else {
			c.Notes = append(c.Notes, fmt.Sprintf("no read event from %s in the period: the access review of that store is empty because its logs hold none", s))
		}
	}
	if _, ok := c.ReadEvents[event.KindKubernetes.String()]; ok {
		c.Notes = append(c.Notes, "Kubernetes audit policy changes are not in the audit log (the policy is a file on the API server): "+
			"a restart with another policy shows only as a gap or as requests no longer logged")
	}
	return c
}

// IsReadEvent is an event that only a log configured to keep reads holds: a read or a listing,
// or a call the store marks read-only (CloudTrail readOnly).
func IsReadEvent(ev *event.Event) bool {
	return ev.Op == event.OpRead || ev.Op == event.OpList || ev.Has(event.FlagReadOnly)
}
