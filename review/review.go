// Package review builds the periodic access review and secret-hygiene report an auditor asks
// for (vaultsentry review): who read which secret in the period and whether that was expected,
// and which secrets are due for rotation, were rotated and never picked up, or are not used. It
// reads events and the history learned before the period (the baseline); it never reads a
// source's format, and every age is measured from the end of the period, never the wall clock,
// so a review of last quarter's archive is the same review next year.
package review

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// Config is the review's part of the configuration file.
type Config struct {
	// Production are globs on a secret (its normalised name, or its path as logged) that hold
	// production secrets; default *prod*.
	Production []string
	// CIScopes say which secrets each CI identity may read.
	CIScopes []CIScope
	Hygiene  Hygiene
	// DormantAfter is how long an identity must have been silent before the period for its
	// access to be flagged (default: dormant-identity's 30 days).
	DormantAfter time.Duration
	// InventoryIdentities are globs on the identities that run vaultsentry inventory: their
	// LIST and metadata requests are not accesses (InventoryRequest).
	InventoryIdentities []string
	// Inventory is what --inventory read (nil: none); set by the run, not a file key.
	Inventory *Inventory
}

// CIScope is one CI identity (a glob on the principal or display name) and the secrets it may
// read (globs).
type CIScope struct {
	Identity string
	Secrets  []string
}

// Hygiene holds the ages the verdicts use, with per-glob overrides.
type Hygiene struct {
	MaxAge      time.Duration // rotation-overdue after this long without a write (default 90d)
	UnusedAfter time.Duration // unused after this long without a read (default 90d)
	Overrides   []HygieneOverride
}

// HygieneOverride gives the secrets matching any of Secrets their own ages (zero: the default).
type HygieneOverride struct {
	Secrets     []string
	MaxAge      time.Duration
	UnusedAfter time.Duration
}

// DefaultConfig is the review's configuration without a configuration file.
func DefaultConfig() Config {
	return Config{Production: []string{"*prod*"}, Hygiene: Hygiene{MaxAge: 90 * 24 * time.Hour, UnusedAfter: 90 * 24 * time.Hour},
		DormantAfter: 30 * 24 * time.Hour}
}

// Flag is one reason an access needs a reviewer's look.
type Flag struct {
	Flag   string `json:"flag"`
	Reason string `json:"reason"`
}

// Access flags (a public contract: auditors' scripts key on them).
const (
	FlagPersonProduction = "person-reads-production"
	FlagCIOutsideScope   = "ci-outside-scope"
	FlagNewAccess        = "new-since-last-review"
	FlagDormant          = "dormant-before-period"
)

// Secret verdicts (a public contract).
const (
	VerdictRotationOverdue  = "rotation-overdue"
	VerdictRotatedNeverRead = "rotated-never-read"
	VerdictUnused           = "unused"
	VerdictRarelyRead       = "rarely-read"
	// VerdictNeverRead: inventory.go.
)

// Access is one identity's use of one secret in the period.
type Access struct {
	Identity    string
	DisplayName string
	Class       string // person, workload, ci, unknown
	Secret      string
	Store       string
	Reads       int // value reads that succeeded
	Denied      int
	FirstRead   time.Time
	LastRead    time.Time
	Networks    []string // internal, external (sorted)
	Flags       []Flag
}

// Verdict is one hygiene verdict with the data it rests on.
type Verdict struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

// Secret is one secret's hygiene at the end of the period.
type Secret struct {
	Store     string
	Secret    string
	LastWrite time.Time // zero: no write seen in the history
	LastRead  time.Time
	Reads     int      // value reads in the period
	Readers   []string // who read it since its last write (its consumers), sorted
	AgeDays   int      // days since the last write at the end of the period; -1: unknown
	Verdicts  []Verdict
}

// Review is the whole review.
type Review struct {
	Start, End time.Time
	// HistorySince is how far back what the review knows goes: the baseline's first event, or
	// the period's start.
	HistorySince time.Time
	Access       []Access
	Secrets      []Secret
	// Notes say what the review could not know (no history, no inventory).
	Notes []string
	// Inventory is what the review did with --inventory (nil: none given).
	Inventory *InventorySummary
	// Completeness is the logs' own coverage, gaps and audit changes (BuildCompleteness); nil:
	// not measured.
	Completeness *Completeness
}

// accessKey is an (identity, secret) pair.
type accessKey struct{ id, res string }

// secretState is a secret's history while the events are read.
type secretState struct {
	store               string
	first               time.Time
	lastWrite, lastRead time.Time
	writer              string
	readers             []string
	reads               int
	days                map[int64]struct{} // the days (Unix day numbers) it was read on in the period
	inv                 *invFacts          // what the inventory says (nil: not in it, or no inventory)
}

// Build reviews the events of the period [start, end) (events in time order; those outside are
// ignored), against prior, what was learned before the period (nil: nothing). internal says
// whether an address is inside the configured networks.
func Build(evs []event.Event, start, end time.Time, cfg Config, prior *baseline.Baseline, internal func(netip.Addr) bool) *Review {
	def := DefaultConfig()
	cfg.Hygiene.MaxAge = cmpDur(cfg.Hygiene.MaxAge, def.Hygiene.MaxAge)
	cfg.Hygiene.UnusedAfter = cmpDur(cfg.Hygiene.UnusedAfter, def.Hygiene.UnusedAfter)
	cfg.DormantAfter = cmpDur(cfg.DormantAfter, def.DormantAfter)
	if len(cfg.Production) == 0 {
		cfg.Production = def.Production
	}
	if prior == nil {
		prior = baseline.New()
	}
	r := &Review{Start: start, End: end, HistorySince: start}
	if !prior.First.IsZero() && prior.First.Before(start) {
		r.HistorySince = prior.First
	}
	access := map[accessKey]*Access{}
	var order []accessKey
	secrets := map[string]*secretState{}
	for k, s := range prior.Secrets {
		secrets[k] = &secretState{store: s.Store, first: s.First, lastWrite: s.LastWrite, lastRead: s.LastRead, writer: s.Writer,
			readers: slices.Clone(s.Readers)}
	}
	var invSum InventorySummary
	addInventory(secrets, cfg.Inventory, end, r.HistorySince, &invSum)
	if cfg.Inventory != nil {
		r.Inventory = &invSum
	}
	for i := range evs {
		ev := &evs[i]
		if InventoryRequest(ev, &cfg) && !ev.Time.Before(start) && ev.Time.Before(end) {
			invSum.Excluded++
			continue
		}
		if ev.Time.Before(start) || !ev.Time.Before(end) || !isSecretUse(ev) {
			continue
		}
		id := ev.Actor()
		valueRead := ev.Op == event.OpRead && ev.Has(event.FlagValueRead)
		if valueRead || ev.Outcome == event.OutcomeDenied {
			k := accessKey{id, ev.Resource}
			a := access[k]
			if a == nil {
				a = &Access{Identity: id, DisplayName: ev.DisplayName, Class: classOf(ev, cfg), Secret: ev.Resource, Store: ev.Kind.String()}
				access[k] = a
				order = append(order, k)
			}
			switch {
			case ev.Outcome == event.OutcomeDenied:
				a.Denied++
			case ev.Outcome == event.OutcomeOK:
				a.Reads++
				if a.FirstRead.IsZero() {
					a.FirstRead = ev.Time
				}
				a.LastRead = ev.Time
			}
			if ev.RemoteAddr.IsValid() {
				nw := "external"
				if internal != nil && internal(ev.RemoteAddr) {
					nw = "internal"
				}
				if !slices.Contains(a.Networks, nw) {
					a.Networks = append(a.Networks, nw)
					slices.Sort(a.Networks)
				}
			}
		}
		if ev.Outcome != event.OutcomeOK || (!valueRead && ev.Op != event.OpWrite) {
			continue
		}
		s := secrets[ev.Resource]
		if s == nil {
			s = &secretState{store: ev.Kind.String(), first: ev.Time}
			secrets[ev.Resource] = s
		}
		if ev.Op == event.OpWrite {
			s.lastWrite, s.writer, s.readers = ev.Time, id, s.readers[:0]
			continue
		}
		s.reads++
		s.lastRead = ev.Time
		if s.days == nil {
			s.days = map[int64]struct{}{}
		}
		s.days[ev.Time.Unix()/86400] = struct{}{}
		if id != s.writer {
			if j, found := slices.BinarySearch(s.readers, id); !found {
				s.readers = slices.Insert(s.readers, j, id)
			}
		}
	}
	countInventory(secrets, &invSum)
	for _, k := range order {
		a := access[k]
		if a.Reads > 0 { // flags are about secrets that were given away, not attempts
			a.Flags = accessFlags(a, cfg, prior, start)
		}
		r.Access = append(r.Access, *a)
	}
	slices.SortStableFunc(r.Access, func(a, b Access) int {
		return cmpStrings(a.Identity+"\x00"+a.Secret, b.Identity+"\x00"+b.Secret)
	})
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		r.Secrets = append(r.Secrets, secretRow(k, secrets[k], cfg, r, end))
	}
	if len(prior.Principals) == 0 {
		r.Notes = append(r.Notes, "no history before the period (no --baseline, or an empty one): new-since-last-review and dormant-before-period cannot be flagged")
	}
	invNote := "never-read needs an inventory of every secret, which this review does not have (--inventory)"
	if cfg.Inventory != nil {
		invNote = "never-read is judged on the inventory's secrets"
	}
	r.Notes = append(r.Notes, fmt.Sprintf("what the review knows goes back to %s (%d days before the end of the period); %s",
		r.HistorySince.UTC().Format(time.RFC3339), int(end.Sub(r.HistorySince).Hours()/24), invNote))
	r.Notes = append(r.Notes, inventoryNotes(&cfg, &invSum)...)
	return r
}

// isSecretUse is a request on a secret by an identity: not the control plane, not upkeep, not
// an AWS service on its own.
func isSecretUse(ev *event.Event) bool {
	if ev.Resource == "" || ev.Has(event.FlagControl) || ev.Has(event.FlagMaintenance) || ev.Has(event.FlagServiceActor) ||
		ev.Has(event.FlagUnauthenticated) {
		return false
	}
	return ev.Op == event.OpRead || ev.Op == event.OpWrite
}

// classOf is the identity's class: ci when a CI scope names it, else what its source said.
func classOf(ev *event.Event, cfg Config) string {
	if ciScope(ev.Actor(), ev.DisplayName, cfg) != nil {
		return "ci"
	}
	return ev.Class.String()
}

func ciScope(id, display string, cfg Config) *CIScope {
	for i := range cfg.CIScopes {
		s := &cfg.CIScopes[i]
		if analyze.GlobMatch(s.Identity, id) || (display != "" && analyze.GlobMatch(s.Identity, display)) {
			return s
		}
	}
	return nil
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if analyze.GlobMatch(g, name) {
			return true
		}
	}
	return false
}

// accessFlags are the reasons a reviewer should look at an access.
func accessFlags(a *Access, cfg Config, prior *baseline.Baseline, start time.Time) []Flag {
	var out []Flag
	if a.Class == "person" && matchAny(cfg.Production, a.Secret) {
		out = append(out, Flag{FlagPersonProduction, fmt.Sprintf("a person (%s) read a production secret (production: %s)",
			a.DisplayName, strings.Join(cfg.Production, ", "))})
	}
	if s := ciScope(a.Identity, a.DisplayName, cfg); s != nil && !matchAny(s.Secrets, a.Secret) {
		out = append(out, Flag{FlagCIOutsideScope, fmt.Sprintf("CI identity %s may read %s only (ci_scopes)", s.Identity, strings.Join(s.Secrets, ", "))})
	}
	h := prior.Get(a.Identity)
	switch {
	case len(prior.Principals) == 0: // no earlier review or history: nothing is known to be new
	case h == nil:
		out = append(out, Flag{FlagNewAccess, fmt.Sprintf("an identity not seen before the period (history since %s)",
			prior.First.UTC().Format("2006-01-02"))})
	default:
		if _, known := h.Resources[a.Secret]; !known {
			out = append(out, Flag{FlagNewAccess, fmt.Sprintf("not read by this identity before the period (its history since %s)",
				h.First.UTC().Format("2006-01-02"))})
		}
	}
	if h != nil {
		if gap := a.FirstRead.Sub(h.Last); !h.Last.IsZero() && h.Last.Before(start) && gap >= cfg.DormantAfter {
			out = append(out, Flag{FlagDormant, fmt.Sprintf("silent for %s before this read (last seen %s)",
				analyze.Span(gap), h.Last.UTC().Format("2006-01-02"))})
		}
	}
	return out
}

// ages returns the hygiene ages for a secret, its overrides applied.
func ages(cfg Config, secret string) (maxAge, unused time.Duration) {
	maxAge, unused = cfg.Hygiene.MaxAge, cfg.Hygiene.UnusedAfter
	for _, o := range cfg.Hygiene.Overrides {
		if matchAny(o.Secrets, secret) {
			maxAge, unused = cmpDur(o.MaxAge, maxAge), cmpDur(o.UnusedAfter, unused)
			break
		}
	}
	return maxAge, unused
}

// rotatedGrace is how long after a write the secret's consumers have to read it before the
// review says nobody picked it up: the days of a review, not rotation-without-read's minutes.
const rotatedGrace = 24 * time.Hour

// secretRow judges one secret at end.
func secretRow(name string, s *secretState, cfg Config, r *Review, end time.Time) Secret {
	maxAge, unusedAfter := ages(cfg, name)
	// The inventory's write time stands in when the logs do not go back that far.
	lastWrite, written := s.lastWrite, ""
	if s.inv != nil && s.inv.written.After(lastWrite) {
		lastWrite, written = s.inv.written, " per the inventory"
	}
	row := Secret{Store: s.store, Secret: name, LastWrite: lastWrite, LastRead: s.lastRead, Reads: s.reads,
		Readers: nonNil(s.readers), AgeDays: -1, Verdicts: []Verdict{}}
	covered := end.Sub(r.HistorySince)
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	if !lastWrite.IsZero() {
		age := end.Sub(lastWrite)
		row.AgeDays = int(age.Hours() / 24)
		if age > maxAge {
			row.Verdicts = append(row.Verdicts, Verdict{VerdictRotationOverdue, fmt.Sprintf("last written %s%s, %s before the end of the period (max_age %s)",
				day(lastWrite), written, analyze.Span(age), analyze.Span(maxAge))})
		}
		if len(s.readers) == 0 && age >= rotatedGrace && written == "" {
			row.Verdicts = append(row.Verdicts, Verdict{VerdictRotatedNeverRead, fmt.Sprintf("written %s by %s; no other identity read it in the %s since",
				day(s.lastWrite), s.writer, analyze.Span(age))})
		}
	} else if covered > maxAge {
		row.Verdicts = append(row.Verdicts, Verdict{VerdictRotationOverdue, fmt.Sprintf("no write in the %s the logs and the baseline cover (max_age %s)",
			analyze.Span(covered), analyze.Span(maxAge))})
	}
	var never *Verdict
	if s.inv != nil {
		if never = neverRead(s, *s.inv, r, end); never != nil {
			row.Verdicts = append(row.Verdicts, *never)
		}
	}
	switch {
	case never != nil: // never-read says more than unused's "no read since first seen"
	case !s.lastRead.IsZero() && end.Sub(s.lastRead) > unusedAfter:
		row.Verdicts = append(row.Verdicts, Verdict{VerdictUnused, fmt.Sprintf("last read %s, %s before the end of the period (unused_after %s)",
			day(s.lastRead), analyze.Span(end.Sub(s.lastRead)), analyze.Span(unusedAfter))})
	case s.lastRead.IsZero() && end.Sub(s.first) > unusedAfter && covered > unusedAfter:
		row.Verdicts = append(row.Verdicts, Verdict{VerdictUnused, fmt.Sprintf("no read since it was first seen %s (%s of history)",
			day(s.first), analyze.Span(covered))})
	case s.reads > 0 && len(s.days) <= 2 && end.Sub(r.Start) >= 30*24*time.Hour:
		row.Verdicts = append(row.Verdicts, Verdict{VerdictRarelyRead, fmt.Sprintf("read on %d of the %d days of the period",
			len(s.days), int(end.Sub(r.Start).Hours()/24))})
	}
	return row
}

func cmpDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func cmpStrings(a, b string) int { return strings.Compare(a, b) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}
