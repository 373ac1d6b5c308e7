package review

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
)

// VerdictNeverRead is a secret the inventory lists that no one read in the whole observed
// history (the period and the baseline). A public contract, as the other verdicts.
const VerdictNeverRead = "never-read"

// Inventory is what the stores themselves list (vaultsentry inventory, or aws secretsmanager
// list-secrets), under the names the logs give the secrets. It is how the review knows the
// secrets no log line mentions, and a write older than the logs.
type Inventory struct {
	Files   []string // where it was read, for the record
	Secrets []InventorySecret
}

// InventorySecret is one listed secret.
type InventorySecret struct {
	Store  string // the store as the review names it (an event kind: vault, cloudtrail)
	Secret string // as the logs name it: Vault namespace+mount+path, Secrets Manager's name
	// Created, Written: when the store says the secret was created and its value last written
	// (zero: it does not say, as on KV v1). LastAccessed is Secrets Manager's LastAccessedDate.
	Created, Written, LastAccessed time.Time
}

// InventorySummary is what the review did with the inventory.
type InventorySummary struct {
	Files     []string
	Listed    int // secrets in the inventory
	InLogs    int // of which the logs or the baseline saw a read or a write
	NotInLogs int // listed, never read or written in the history
	Future    int // created after the end of the period: left out
	// Excluded counts the LIST and metadata requests of the inventory identities left out of
	// the access rows and the findings.
	Excluded int
}

// invFacts is what the inventory says about a secret.
type invFacts struct {
	created, written, accessed time.Time
}

// InventoryRequest is a request the inventory makes (a LIST, a metadata or sys/mounts read,
// allowed or denied) by one of the identities cfg.InventoryIdentities names: the review does
// not count it as an access, and the detectors (enumeration) do not see it. A value read or a
// write by that identity is not the inventory's and counts as anyone's.
func InventoryRequest(ev *event.Event, cfg *Config) bool {
	if len(cfg.InventoryIdentities) == 0 || !(ev.Op == event.OpList || ev.Op == event.OpRead && !ev.Has(event.FlagValueRead)) {
		return false
	}
	id := ev.Actor()
	for _, g := range cfg.InventoryIdentities {
		if analyze.GlobMatch(g, id) || ev.DisplayName != "" && analyze.GlobMatch(g, ev.DisplayName) {
			return true
		}
	}
	return false
}

// addInventory merges the inventory into the secrets the history knows: listed secrets the
// logs never mention get a state of their own (first seen: created, else since). Each listed
// secret's state holds the inventory's facts.
func addInventory(secrets map[string]*secretState, inv *Inventory, end, since time.Time, sum *InventorySummary) {
	if inv == nil {
		return
	}
	sum.Files = append([]string{}, inv.Files...)
	for _, is := range inv.Secrets {
		sum.Listed++
		if !is.Created.IsZero() && !is.Created.Before(end) {
			sum.Future++ // did not exist in the period
			continue
		}
		s := secrets[is.Secret]
		if s == nil {
			s = &secretState{store: is.Store, first: cmpTime(is.Created, since)}
			secrets[is.Secret] = s
		}
		if s.inv == nil {
			s.inv = &invFacts{}
		}
		// The same name twice (two regions, two files): the earliest creation, the newest write.
		f := s.inv
		f.created = earliest(f.created, is.Created)
		if is.Written.Before(end) && is.Written.After(f.written) {
			f.written = is.Written
		}
		if is.LastAccessed.Before(end) && is.LastAccessed.After(f.accessed) {
			f.accessed = is.LastAccessed
		}
	}
}

// countInventory counts the listed secrets the history read or wrote, once it is read.
func countInventory(secrets map[string]*secretState, sum *InventorySummary) {
	for _, s := range secrets {
		switch {
		case s.inv == nil:
		case s.lastRead.IsZero() && s.lastWrite.IsZero():
			sum.NotInLogs++
		default:
			sum.InLogs++
		}
	}
}

func cmpTime(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// inventoryNotes say what the review could know from the inventory, and what the inventory's
// own requests did to the logs.
func inventoryNotes(cfg *Config, sum *InventorySummary) []string {
	if cfg.Inventory == nil {
		return nil
	}
	out := []string{fmt.Sprintf("inventory (%s): %d secrets listed, %d of them in the logs or the baseline, %d only in the inventory",
		strings.Join(sum.Files, ", "), sum.Listed, sum.InLogs, sum.NotInLogs)}
	if sum.Future > 0 {
		out[0] += fmt.Sprintf(", %d created after the period (left out)", sum.Future)
	}
	ids := "none is named in inventory_identities, so they count against the identity that ran it (name it there)"
	if len(cfg.InventoryIdentities) > 0 {
		ids = fmt.Sprintf("%d LIST and metadata requests by inventory_identities (%s) are not counted as accesses or shown to the detectors",
			sum.Excluded, strings.Join(cfg.InventoryIdentities, ", "))
	}
	out = append(out, "the inventory's own requests (LIST and metadata reads, which is what enumeration looks for) are in the audit logs: "+ids)
	return out
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// neverRead is the never-read verdict of a listed secret without a read in the history, nil
// when it was read or is too new to judge (created within a day of the end).
func neverRead(s *secretState, f invFacts, r *Review, end time.Time) *Verdict {
	if !s.lastRead.IsZero() || !f.created.IsZero() && end.Sub(f.created) < rotatedGrace {
		return nil
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	why := fmt.Sprintf("in the inventory, and no read in the %s the logs and the baseline cover (since %s)",
		analyze.Span(end.Sub(r.HistorySince)), day(r.HistorySince))
	if !f.created.IsZero() {
		why += "; created " + day(f.created)
	}
	if !f.accessed.IsZero() {
		why += fmt.Sprintf("; Secrets Manager says it was last accessed %s, a read these logs do not hold (check that the trail logs read events)", day(f.accessed))
	}
	return &Verdict{VerdictNeverRead, why}
}
