// Package baseline is what vaultsentry knows about each identity from earlier events: the
// history learned from every event of a run (Learn), the bursts the bulk-read detector judged
// (LearnBurst), pruning, and the locked, atomically written baseline file that carries it from
// one run to the next. It needs only the event model: analyze reads it, it never reads analyze.
package baseline

import (
	"net/netip"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// Baseline is what is known about each principal from earlier events: loaded from a baseline
// file, then learned from every event of the run as it streams past. It is written only by
// Learn and LearnBurst, which analyze.Run calls; detectors only read it. Run lets detectors
// consult it before it learns the current event, so "new" means "not seen before this event".
type Baseline struct {
	// Principals by stable principal (event.Event.Actor).
	Principals map[string]*History
	// First and Last bound the log time the baseline has learned from.
	First, Last time.Time
	// Inputs are the files the baseline was learned from, across runs.
	Inputs []Input
	// Secrets: resource -> its writes and reads (secrets.go), for secret hygiene.
	Secrets map[string]*Secret
	// ToolVersion and Written describe the last write of the file.
	ToolVersion string
	Written     time.Time
	// Alerted: fingerprint of a finding sent by --notify -> when it was delivered (wall clock),
	// so a later run does not send it again. internal/app records it (MarkAlerted) only when
	// every destination took the alert and the baseline is being updated; detectors never
	// read it.
	Alerted map[string]time.Time

	// addrNames caches the text of each address and of its network, which Learn needs for
	// every event: formatting them once per distinct address keeps learning cheap.
	addrNames map[netip.Addr][2]string
	// byFirst indexes Inputs by the first event's time (Covered), built on first use: the
	// inputs do not change while a run reads them (the run adds its own after it is done).
	byFirst map[int64][]int32
	// families caches ClientFamily per user agent (a handful of distinct values).
	families map[string]string
}

// Input is one input file a baseline learned from: its first event and the newest event of it
// that was learned (Last), which is where a later run that reads the file again, or the file
// grown or rotated, picks up (Covered).
type Input struct {
	File   string    `json:"file"`
	Format string    `json:"format,omitempty"` // the format that read it; empty in files written before it was recorded
	SHA256 string    `json:"sha256,omitempty"`
	Bytes  int64     `json:"bytes"`
	First  time.Time `json:"first,omitzero"`
	// Last is the newest event of the file that the baseline learned: the file's last event,
	// or the last before --until.
	Last    time.Time `json:"last,omitzero"`
	Learned time.Time `json:"learned"` // wall-clock time of the run that learned it
}

// Covered returns the newest event time the baseline has learned of the stream that the file
// path (read as format, first event first) continues: zero when it learned none of it. A file is
// the same stream as an input learned before when both start with the same event (to the
// nanosecond, as the log wrote it) and either have the same path (the file read again, or grown
// since) or, when renamed is true, are of the same format: the caller says so for logs that are
// rotated by renaming (rotating puts yesterday's audit.log under a new name, often compressed,
// so neither the path nor the bytes match), never for immutable objects such as CloudTrail
// delivery files, whose first records can share a second with another region's file.
func (b *Baseline) Covered(path, format string, renamed bool, first time.Time) time.Time {
	var c time.Time
	if first.IsZero() {
		return c
	}
	if len(b.byFirst) == 0 && len(b.Inputs) > 0 { // an index, for archives of many thousand files
		b.byFirst = make(map[int64][]int32, len(b.Inputs))
		for i := range b.Inputs {
			k := b.Inputs[i].First.UnixNano()
			b.byFirst[k] = append(b.byFirst[k], int32(i))
		}
	}
	for _, i := range b.byFirst[first.UnixNano()] {
		in := &b.Inputs[i]
		if !in.First.Equal(first) || !in.Last.After(c) {
			continue
		}
		if in.File == path || (renamed && in.Format == format) {
			c = in.Last
		}
	}
	return c
}

// History is one principal's past.
type History struct {
	DisplayName string
	First, Last time.Time
	Events      int64
	// Resources: secret or path -> last use (reads, lists, writes of secrets).
	Resources map[string]time.Time
	// Addrs: source address -> last use; Nets: its /24 (IPv4) or /64 (IPv6) -> last use.
	Addrs map[string]time.Time
	Nets  map[string]time.Time
	// Lists: listed prefixes -> last time (a listing habit is not enumeration).
	Lists map[string]time.Time
	// Clients: user-agent family -> last use.
	Clients map[string]time.Time
	// Interactive is the last use of a person's client (event.FlagInteractive: curl, kubectl,
	// a browser console, CloudShell); zero when the principal only ever used programs.
	Interactive time.Time
	// Rotations: secret -> how this principal's writes of it ended, [0] picked up by a
	// consumer, [1] not (as rotation-without-read judged them): a sync that writes a fixed
	// set every hour and is never followed by a read is a habit, not a missed rotation.
	Rotations map[string][2]int
	// Hours counts events per hour of the week (UTC, Sunday 00:00 = 0).
	Hours [168]uint32
	// Bursts remembers the largest burst of distinct reads seen inside one bulk-read window and
	// how often such bursts happened (the periodic fixed-set pattern of External Secrets).
	MaxBurst   int
	Bursts     int
	LastBurst  time.Time
	BurstPaths map[string]struct{}
}

// New returns an empty baseline.
func New() *Baseline { return &Baseline{Principals: map[string]*History{}} }

// Get returns the history of a principal, or nil when it was never seen.
func (b *Baseline) Get(principal string) *History {
	if principal == "" {
		return nil
	}
	return b.Principals[principal]
}

// Learn adds one event to the baseline: everything any detector reads later (first and last
// seen per identity, per identity and secret, per identity and address or network, listed
// paths, clients, hours of the week). It is the one place where events become history.
func (b *Baseline) Learn(ev *event.Event) {
	if ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) {
		return
	}
	id := ev.Actor()
	if id == "" {
		return
	}
	if b.First.IsZero() || ev.Time.Before(b.First) {
		b.First = ev.Time
	}
	if ev.Time.After(b.Last) {
		b.Last = ev.Time
	}
	h := b.Principals[id]
	if h == nil {
		h = &History{First: ev.Time}
		b.Principals[id] = h
	}
	if ev.DisplayName != "" {
		h.DisplayName = ev.DisplayName
	}
	if ev.Time.After(h.Last) {
		h.Last = ev.Time
	}
	if ev.Time.Before(h.First) {
		h.First = ev.Time
	}
	h.Events++
	h.Hours[hourOfWeek(ev.Time)]++
	b.learnSecret(ev, id)
	if ev.Resource != "" && ev.Outcome == event.OutcomeOK && touchesSecret(ev) {
		setTime(&h.Resources, ev.Resource, ev.Time)
	}
	if IsListing(ev) && ev.Outcome == event.OutcomeOK {
		setTime(&h.Lists, ListKey(ev), ev.Time)
	}
	if ev.RemoteAddr.IsValid() && !ev.Has(event.FlagAWSInternal) {
		names := b.names(ev.RemoteAddr)
		setTime(&h.Addrs, names[0], ev.Time)
		setTime(&h.Nets, names[1], ev.Time)
	}
	if ev.UserAgent != "" {
		setTime(&h.Clients, b.family(ev.UserAgent), ev.Time)
	}
	if ev.Has(event.FlagInteractive) && ev.Time.After(h.Interactive) {
		h.Interactive = ev.Time
	}
}

// WasAlerted reports whether the finding with this fingerprint was already delivered by --notify.
func (b *Baseline) WasAlerted(fingerprint string) bool {
	_, ok := b.Alerted[fingerprint]
	return ok
}

// MarkAlerted records that the finding with this fingerprint was delivered at t.
func (b *Baseline) MarkAlerted(fingerprint string, t time.Time) {
	if fingerprint == "" {
		return
	}
	if b.Alerted == nil {
		b.Alerted = map[string]time.Time{}
	}
	if t.After(b.Alerted[fingerprint]) {
		b.Alerted[fingerprint] = t.UTC()
	}
}

// UsedInteractive reports whether the principal ever used a person's client. Baselines
// written before Interactive was kept still show CloudShell and the console in Clients.
func (h *History) UsedInteractive() bool {
	if !h.Interactive.IsZero() {
		return true
	}
	for f := range h.Clients {
		switch strings.ToLower(f) {
		case "cloudshell", "console", "aws", "mozilla", "signin.amazonaws.com":
			return true
		}
	}
	return false
}

// LearnRotation adds how principal's writes of secret ended: picked up by a consumer within
// the grace window, or not (rotation-without-read counts every write it settles, reported or
// not). A principal the baseline never learned an event of is left out.
func (b *Baseline) LearnRotation(principal, secret string, picked, unpicked int) {
	h := b.Get(principal)
	if h == nil || secret == "" || picked+unpicked == 0 {
		return
	}
	if h.Rotations == nil {
		h.Rotations = map[string][2]int{}
	}
	r := h.Rotations[secret]
	h.Rotations[secret] = [2]int{r[0] + picked, r[1] + unpicked}
}

// family is ClientFamily, cached.
func (b *Baseline) family(ua string) string {
	if b.families == nil {
		b.families = map[string]string{}
	}
	f, ok := b.families[ua]
	if !ok {
		f = ClientFamily(ua)
		if len(b.families) < 1<<16 { // user agents are caller-chosen: bound the cache
			b.families[ua] = f
		}
	}
	return f
}

// names returns the address's text and its network's.
func (b *Baseline) names(a netip.Addr) [2]string {
	if b.addrNames == nil {
		b.addrNames = map[netip.Addr][2]string{}
	}
	n, ok := b.addrNames[a]
	if !ok {
		n = [2]string{a.String(), NetOf(a)}
		if len(b.addrNames) < 1<<20 {
			b.addrNames[a] = n
		}
	}
	return n
}

// LearnBurst records a burst of distinct reads (paths, ending at t) of principal, as the
// bulk-read detector judged it: every burst, reported or not, becomes part of the principal's
// habit, so a periodic set is learned from its repetitions. A principal the baseline never
// learned an event of is left out, as it was when the detector noted bursts itself.
func (b *Baseline) LearnBurst(principal string, paths []string, t time.Time) {
	if h := b.Get(principal); h != nil {
		h.noteBurst(paths, t)
	}
}

// LearnBursts records n bursts of principal at once, as n calls of LearnBurst in the order the
// bursts ended would: the longest read longest distinct paths, together they read paths, and
// the last one ended at last. A detector that meets many bursts (a sync operator's every
// cycle) keeps their sum rather than each one until the run ends.
func (b *Baseline) LearnBursts(principal string, n, longest int, paths []string, last time.Time) {
	h := b.Get(principal)
	if h == nil || n <= 0 {
		return
	}
	h.MaxBurst = max(h.MaxBurst, longest)
	h.Bursts += n
	h.LastBurst = last
	if h.BurstPaths == nil {
		h.BurstPaths = map[string]struct{}{}
	}
	for _, p := range paths {
		h.BurstPaths[p] = struct{}{}
	}
}

func (h *History) noteBurst(paths []string, t time.Time) {
	if len(paths) > h.MaxBurst {
		h.MaxBurst = len(paths)
	}
	h.Bursts++
	h.LastBurst = t
	if h.BurstPaths == nil {
		h.BurstPaths = map[string]struct{}{}
	}
	for _, p := range paths {
		h.BurstPaths[p] = struct{}{}
	}
}

func setTime(m *map[string]time.Time, k string, t time.Time) {
	if k == "" {
		return
	}
	if *m == nil {
		*m = map[string]time.Time{}
	}
	if t.After((*m)[k]) {
		(*m)[k] = t
	}
}

func hourOfWeek(t time.Time) int {
	t = t.UTC()
	return int(t.Weekday())*24 + t.Hour()
}

// NetOf is the /24 of an IPv4 address or the /64 of an IPv6 address.
func NetOf(a netip.Addr) string {
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// touchesSecret reports whether ev reads, lists or writes a secret (not a login or sys/ call).
func touchesSecret(ev *event.Event) bool {
	switch ev.Op {
	case event.OpRead, event.OpList, event.OpWrite, event.OpDelete:
		return true
	}
	return false
}

// ClientFamily reduces a user agent to its product ("curl", "aws-cli", "Go-http-client",
// "vault", "Mozilla"), so version bumps are not new clients.
func ClientFamily(ua string) string {
	ua = strings.TrimSpace(ua)
	if ua == "" {
		return ""
	}
	lower := strings.ToLower(ua)
	switch {
	case strings.Contains(lower, "exec-env/cloudshell"):
		return "cloudshell"
	case strings.Contains(lower, "console.amazonaws.com"), strings.Contains(lower, "aws-internal/"):
		return "console"
	}
	end := strings.IndexAny(ua, "/ (;")
	if end < 0 {
		end = len(ua)
	}
	if end > 40 {
		end = 40
	}
	return ua[:end]
}
