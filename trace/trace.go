// Package trace is the logic of `vaultsentry trace`: the blast radius of one identity, token or
// address, as a timeline of its events and the lists of secrets it read (to rotate) and changed.
// It needs only the event model.
package trace

import (
	"cmp"
	"iter"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// maxListed bounds the display names of an identity and the addresses of a secret, as
// analyze.MaxResources bounds a finding's lists.
const maxListed = 50

// Query selects the events of one identity, credential or address for `vaultsentry trace`.
// Every selector that is set must match (they combine with AND).
type Query struct {
	// Identity matches the principal (Vault entity id, AWS ARN) or the display name, exactly or,
	// when it holds * ? or [, as a glob where * also crosses "/". An identity found by its display
	// name brings every event of the same principal: the entity's other tokens and logins too.
	// It also matches the workload the principal belongs to (Link): a Kubernetes service account
	// brings the Vault identities its pods logged in as, and the other way round, so one trace
	// shows the workload in every store.
	Identity string
	// Link names the workload of an event across stores; nil means event.Event.LinkKey (what
	// the logs say). cmd passes one that adds the configuration's workloads.
	Link func(*event.Event) string
	// Credential matches the token accessor (as logged, usually hmac-sha256:...) or access key id,
	// exactly or as a glob.
	Credential string
	// Addr matches the remote address: a single address or every address of a prefix.
	Addr netip.Prefix
	// Since and Until bound the timeline (Until exclusive); zero means open.
	Since, Until time.Time
	// Decoy reports whether an event touches a configured decoy secret (analyze.Config.IsDecoy);
	// nil: none is configured.
	Decoy func(*event.Event) bool
}

// Empty reports whether no selector is set.
func (q Query) Empty() bool {
	return q.Identity == "" && q.Credential == "" && !q.Addr.IsValid()
}

// Trace is what one principal, token or address did: its timeline and the secrets it read (the
// list to rotate) and changed. It never holds a secret value: events carry none.
type Trace struct {
	Query Query
	// Events is the timeline, in time order: every matched event, or when there were more than
	// TimelineFirst+TimelineLast, the first TimelineFirst and the last TimelineLast, with Cut
	// saying what lies between.
	Events []event.Event
	// Matched counts every event the query matched, exactly (Total for a Trace built by hand).
	Matched int
	Cut     Cut
	// Identities, Credentials and Addresses are everything the matched events involve, or
	// the first MaxValues of each seen, with what the others add up to in the More fields.
	Identities  []Identity
	Credentials []Count
	Addresses   []Address
	// MoreIdentities, MoreCredentials and MoreAddresses: the values past MaxValues.
	MoreIdentities, MoreCredentials, MoreAddresses Rest
	// Read are the secrets read successfully, grouped by mount (the list to rotate).
	Read []SecretGroup
	// Changed are the secrets written or deleted successfully (check their integrity).
	Changed []SecretGroup
	// Unanswered are the secrets of value reads whose response the log does not hold (a
	// request entry alone: the outcome is unknown). Rotate them too when in doubt.
	Unanswered []SecretGroup
	// Denied counts matched requests that were refused; Errors those that failed otherwise.
	Denied, Errors int
	First, Last    time.Time

	// principals are those Query.Identity resolved to, for Filter.
	principals map[string]bool
}

// Identity is one principal seen in a trace, with its display names.
type Identity struct {
	Principal    string
	DisplayNames []string // the first maxListed seen
	Events       int
	// MoreDisplayNames: the principal had more display names than DisplayNames lists.
	MoreDisplayNames bool
}

// Count is a value with how often it was seen and when.
type Count struct {
	Value       string
	Events      int
	First, Last time.Time
}

// Address is a remote address seen in a trace.
type Address struct {
	Count
	// Internal: inside the configured internal networks.
	Internal bool
}

// SecretGroup is the secrets of one mount (Vault), one name prefix (AWS) or one namespace
// (Kubernetes), in one store.
type SecretGroup struct {
	Store string // the event kind: vault, cloudtrail, kubernetes
	Group string
	// Dynamic: the mount issues short-lived credentials (database, aws, ...): revoke the leases
	// rather than rotate a value.
	Dynamic bool
	Secrets []SecretUse
}

// SecretUse is one secret with how often it was touched and when.
type SecretUse struct {
	Resource string
	// Decoy: the secret is a configured decoy (Query.Decoy): nobody has a reason to touch it,
	// so whoever did holds a stolen credential or is exploring.
	Decoy       bool
	Count       int
	First, Last time.Time
	Addresses   []string // the first maxListed seen
	// MoreAddresses: the secret was touched from more addresses than Addresses lists.
	MoreAddresses bool
}

// The bounds of what a Trace keeps, whatever the number of matched events (a token that made
// ten million requests): the timeline keeps its first TimelineFirst and last TimelineLast
// events (how it started, and what it did last), with exact totals of what lies between (Cut);
// Identities, Credentials and Addresses keep the first MaxValues values each, in the order
// they were first seen, with exact totals of the others (MoreIdentities ...). The lists of
// secrets read, changed and requested are never cut: they grow with distinct secrets, not with
// events, and each is one to rotate or check.
const (
	TimelineFirst = 1000
	TimelineLast  = 1000
	MaxValues     = 1000
)

// maxLinkPairs bounds the (workload, principal) pairs the first pass remembers to resolve an
// identity's workloads without a pass of its own; past it (an input with more linked
// identities than that) the workloads' principals take one more pass.
const maxLinkPairs = 1 << 17

// maxMemo bounds a glob matcher's memory of the values it has judged.
const maxMemo = 4096

// Cut is the part of a long timeline left out of Trace.Events: the matched events after the
// first TimelineFirst and before the last TimelineLast.
type Cut struct {
	// At is where they belong in Events: Events[:At] came before them, Events[At:] after.
	At int
	// Events is how many were left out; 0: the timeline is complete.
	Events      int
	First, Last time.Time
}

// Rest is what the values a list leaves out (past MaxValues) add up to.
type Rest struct {
	// Events counts the matched events of the values left out, exactly; 0: the list is
	// complete. The values themselves are not remembered, so how many there are is not known:
	// more than the list holds.
	Events      int
	First, Last time.Time
}

// New selects the events matching q (evs in time order) and summarises them. internal says
// whether an address is inside the configured internal networks (analyze.Config.IsInternal).
// It is NewSeq over the slice.
func New(evs []event.Event, q Query, internal func(netip.Addr) bool) *Trace {
	return NewSeq(func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			for i := range evs {
				if !yield(&evs[i]) {
					return
				}
			}
		}
	}, q, internal)
}

// NewSeq selects the events matching q and summarises them. Each call of events starts a new
// pass over the same events, in time order; the *event.Event it yields may be reused between
// iterations (as a spilled file's reader does), so NewSeq copies what it keeps, its Policies,
// NewPolicies and Grant included. Strings are kept as they are (Go strings are immutable; a
// reader that builds them over a reused buffer must clone or intern them).
//
// Passes: one without Query.Identity; with it two, the first to find the principals the
// identity names and every principal of their workloads (Link), the second to select; three
// only when the input links more than maxLinkPairs (workload, principal) pairs, which the
// first pass then cannot remember. Memory is bounded whatever the number of events: see
// TimelineFirst; the principals followed and the secrets listed grow with distinct
// identities and secrets only.
func NewSeq(events func() iter.Seq[*event.Event], q Query, internal func(netip.Addr) bool) *Trace {
	t := &Trace{Query: q, principals: map[string]bool{}}
	if q.Identity != "" {
		resolvePrincipals(events, q, t.principals)
	}
	b := newBuilder(t, internal)
	sel := newSelector(q, t.principals)
	for ev := range events() {
		if sel.match(ev) {
			b.add(ev)
		}
	}
	b.finish()
	return t
}

// resolvePrincipals fills principals with those q.Identity names and the workloads they (or
// it) belong to; then every principal of those workloads, in any store.
func resolvePrincipals(events func() iter.Seq[*event.Event], q Query, principals map[string]bool) {
	link := q.Link
	if link == nil {
		link = (*event.Event).LinkKey
	}
	id := newMatcher(q.Identity)
	workloads := map[string]bool{}
	type pair struct{ link, principal string }
	pairs := map[pair]struct{}{}
	var last pair
	for ev := range events() {
		if ev.Principal == "" {
			continue
		}
		lk := link(ev)
		if id.match(ev.Principal) || id.match(ev.DisplayName) || id.match(lk) {
			principals[ev.Principal] = true
			if lk != "" {
				workloads[lk] = true
			}
		}
		if lk == "" || pairs == nil || lk == last.link && ev.Principal == last.principal {
			continue
		}
		last = pair{lk, ev.Principal}
		if _, ok := pairs[last]; !ok {
			if len(pairs) >= maxLinkPairs {
				pairs = nil // too many to remember: one more pass below
				continue
			}
			pairs[last] = struct{}{}
		}
	}
	if len(workloads) == 0 {
		return
	}
	if pairs != nil {
		for p := range pairs {
			if workloads[p.link] {
				principals[p.principal] = true
			}
		}
		return
	}
	for ev := range events() {
		if ev.Principal != "" && !principals[ev.Principal] && workloads[link(ev)] {
			principals[ev.Principal] = true
		}
	}
}

// Filter yields the events of events that t's query matches (its principals, selectors and
// time range), in their order: the whole timeline, which Events may have cut, in one more
// pass. The yielded event is events' own (never keep it).
func (t *Trace) Filter(events iter.Seq[*event.Event]) iter.Seq[*event.Event] {
	return func(yield func(*event.Event) bool) {
		sel := newSelector(t.Query, t.principals)
		for ev := range events {
			if sel.match(ev) && !yield(ev) {
				return
			}
		}
	}
}

// Total is the number of events the query matched: Matched, or for a Trace built by hand
// without it, the length of its timeline.
func (t *Trace) Total() int { return max(t.Matched, len(t.Events)) }

// selector decides which events a query matches, once the principals are known.
type selector struct {
	q          Query
	principals map[string]bool
	id, cred   *matcher
}

func newSelector(q Query, principals map[string]bool) *selector {
	return &selector{q: q, principals: principals, id: newMatcher(q.Identity), cred: newMatcher(q.Credential)}
}

func (s *selector) match(ev *event.Event) bool {
	q := &s.q
	if !q.Since.IsZero() && ev.Time.Before(q.Since) || !q.Until.IsZero() && !ev.Time.Before(q.Until) {
		return false
	}
	if q.Identity != "" {
		ok := ev.Principal != "" && s.principals[ev.Principal]
		if !ok && ev.Principal == "" {
			ok = s.id.match(ev.DisplayName) || s.id.match(ev.Credential)
		}
		if !ok {
			return false
		}
	}
	if q.Credential != "" && !s.cred.match(ev.Credential) {
		return false
	}
	if q.Addr.IsValid() && (!ev.RemoteAddr.IsValid() || !q.Addr.Contains(ev.RemoteAddr.Unmap())) {
		return false
	}
	return true
}

// matcher is matchValue for one pattern, with a bounded memory of the values a glob judged:
// path.Match and the separators' replacement cost an allocation, and the same few principals
// come back on every event.
type matcher struct {
	pattern string
	memo    map[string]bool // nil: not a glob
}

func newMatcher(pattern string) *matcher {
	m := &matcher{pattern: pattern}
	if strings.ContainsAny(pattern, "*?[") {
		m.memo = map[string]bool{}
	}
	return m
}

func (m *matcher) match(v string) bool {
	if v == "" {
		return false
	}
	if m.memo == nil {
		return m.pattern == v
	}
	ok, seen := m.memo[v]
	if !seen {
		ok = matchValue(m.pattern, v)
		if len(m.memo) >= maxMemo {
			clear(m.memo)
		}
		m.memo[v] = ok
	}
	return ok
}

// builder summarises the matched events into a Trace, in bounded memory.
type builder struct {
	t        *Trace
	internal func(netip.Addr) bool
	// tail is a ring of the last TimelineLast events once the first TimelineFirst are in
	// t.Events; next is its oldest slot when full.
	tail []event.Event
	next int

	ids        map[string]*Identity
	creds      map[string]*Count
	addrs      map[netip.Addr]*Address
	read       map[groupKey]map[string]*use
	changed    map[groupKey]map[string]*use
	unanswered map[groupKey]map[string]*use
	dynamic    map[groupKey]bool
	// names are the groups' names by the parts of the events that make them (groupOf): an
	// event's group is looked up, not concatenated.
	names map[groupParts]groupKey
	// The values of the previous event, looked up again only when they change (a token's
	// events come in runs of the same identity, credential and address). A nil entry (a
	// value past MaxValues) is looked up again each time.
	lastID      *Identity
	lastCred    *Count
	lastAddr    *Address
	lastAddrKey netip.Addr
}

// use is a SecretUse while it is counted: its addresses as values, made strings at the end
// (a string per event otherwise).
type use struct {
	SecretUse
	addrs []netip.Addr
}

func newBuilder(t *Trace, internal func(netip.Addr) bool) *builder {
	return &builder{t: t, internal: internal,
		ids: map[string]*Identity{}, creds: map[string]*Count{}, addrs: map[netip.Addr]*Address{},
		read: map[groupKey]map[string]*use{}, changed: map[groupKey]map[string]*use{},
		unanswered: map[groupKey]map[string]*use{}, dynamic: map[groupKey]bool{}, names: map[groupParts]groupKey{}}
}

func (b *builder) add(ev *event.Event) {
	t := b.t
	t.Matched++
	b.keep(ev)
	if t.First.IsZero() {
		t.First = ev.Time
	}
	t.Last = ev.Time
	switch ev.Outcome {
	case event.OutcomeDenied:
		t.Denied++
	case event.OutcomeError:
		t.Errors++
	}
	id := ev.Actor()
	ti := b.lastID
	if ti == nil || ti.Principal != id {
		ti = b.ids[id]
		if ti == nil && len(b.ids) < MaxValues {
			ti = &Identity{Principal: id}
			b.ids[id] = ti
		}
		b.lastID = ti
	}
	if ti != nil {
		ti.Events++
		if ev.DisplayName != "" && !ti.MoreDisplayNames && !slices.Contains(ti.DisplayNames, ev.DisplayName) {
			if len(ti.DisplayNames) < maxListed {
				ti.DisplayNames = append(ti.DisplayNames, ev.DisplayName)
			} else {
				ti.MoreDisplayNames = true
			}
		}
	} else {
		t.MoreIdentities.add(ev.Time)
	}
	if ev.Credential != "" {
		c := b.lastCred
		if c == nil || c.Value != ev.Credential {
			c = b.creds[ev.Credential]
			if c == nil && len(b.creds) < MaxValues {
				c = &Count{Value: ev.Credential, First: ev.Time}
				b.creds[ev.Credential] = c
			}
			b.lastCred = c
		}
		if c != nil {
			c.Events++
			c.Last = ev.Time
		} else {
			t.MoreCredentials.add(ev.Time)
		}
	}
	if ev.RemoteAddr.IsValid() {
		a := b.lastAddr
		if a == nil || b.lastAddrKey != ev.RemoteAddr {
			a = b.addrs[ev.RemoteAddr]
			if a == nil && len(b.addrs) < MaxValues {
				a = &Address{Count: Count{Value: ev.RemoteAddr.String(), First: ev.Time}, Internal: b.internal(ev.RemoteAddr)}
				b.addrs[ev.RemoteAddr] = a
			}
			b.lastAddr, b.lastAddrKey = a, ev.RemoteAddr
		}
		if a != nil {
			a.Events++
			a.Last = ev.Time
		} else {
			t.MoreAddresses.add(ev.Time)
		}
	}
	if ev.Outcome != event.OutcomeOK || ev.Resource == "" {
		return
	}
	parts := groupOf(ev)
	g, ok := b.names[parts]
	if !ok {
		g = groupKey{ev.Kind, parts.name()}
		b.names[parts] = g
	}
	switch {
	case ValueRead(ev) && ev.Has(event.FlagRequestOnly):
		useInto(b.unanswered, g, ev, t.Query.Decoy)
	case ValueRead(ev):
		useInto(b.read, g, ev, t.Query.Decoy)
		if isDynamicMount(ev.MountType) {
			b.dynamic[g] = true
		}
	case ev.Op == event.OpWrite || ev.Op == event.OpDelete:
		if !ev.Has(event.FlagControl) { // the source marks the control plane: never a secret
			useInto(b.changed, g, ev, t.Query.Decoy)
		}
	}
}

func (r *Rest) add(at time.Time) {
	if r.Events == 0 {
		r.First = at
	}
	r.Events++
	r.Last = at
}

// keep puts a copy of ev in the timeline: among the first TimelineFirst, else in the ring of
// the last TimelineLast, whose oldest event then joins the cut.
func (b *builder) keep(ev *event.Event) {
	t := b.t
	if len(t.Events) < TimelineFirst {
		t.Events = append(t.Events, event.Event{})
		copyEvent(&t.Events[len(t.Events)-1], ev)
		return
	}
	if len(b.tail) < TimelineLast {
		b.tail = append(b.tail, event.Event{})
		copyEvent(&b.tail[len(b.tail)-1], ev)
		return
	}
	old := &b.tail[b.next]
	if t.Cut.Events == 0 {
		t.Cut.First = old.Time
	}
	t.Cut.Events++
	t.Cut.Last = old.Time
	copyEvent(old, ev) // reuses the slot's slices: no allocation per event
	b.next = (b.next + 1) % len(b.tail)
}

// copyEvent makes dst a copy of src that shares nothing src's reader may reuse, reusing dst's
// own slices.
func copyEvent(dst, src *event.Event) {
	pol, newPol := dst.Policies, dst.NewPolicies
	*dst = *src
	dst.Policies = copyStrings(pol, src.Policies)
	dst.NewPolicies = copyStrings(newPol, src.NewPolicies)
	if src.Grant != nil {
		g := *src.Grant
		g.Principals = slices.Clone(g.Principals)
		g.Conditions = slices.Clone(g.Conditions)
		dst.Grant = &g
	}
}

// copyStrings copies src into buf's array (nil stays nil, empty stays empty).
func copyStrings(buf, src []string) []string {
	if len(src) == 0 {
		return src[:0:0]
	}
	return append(buf[:0], src...)
}

func (b *builder) finish() {
	t := b.t
	if t.Cut.Events > 0 {
		t.Cut.At = len(t.Events)
	}
	t.Events = append(t.Events, b.tail[b.next:]...)
	t.Events = append(t.Events, b.tail[:b.next]...)
	for _, ti := range b.ids {
		slices.Sort(ti.DisplayNames)
		t.Identities = append(t.Identities, *ti)
	}
	slices.SortFunc(t.Identities, func(a, b Identity) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Principal, b.Principal))
	})
	for _, tc := range b.creds {
		t.Credentials = append(t.Credentials, *tc)
	}
	slices.SortFunc(t.Credentials, func(a, b Count) int { return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Value, b.Value)) })
	for _, a := range b.addrs {
		t.Addresses = append(t.Addresses, *a)
	}
	slices.SortFunc(t.Addresses, func(a, b Address) int { return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Value, b.Value)) })
	t.Read = groups(b.read, b.dynamic)
	t.Changed = groups(b.changed, nil)
	t.Unanswered = groups(b.unanswered, nil)
}

// matchValue: exact, or a glob when pattern has glob characters, where * also crosses "/" (the
// rule of the configuration's globs, analyze.GlobMatch). An empty value never matches.
func matchValue(pattern, v string) bool {
	if v == "" {
		return false
	}
	if !strings.ContainsAny(pattern, "*?[") {
		return pattern == v
	}
	// path.Match stops * at '/'; replace separators so * spans them.
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x01"), strings.ReplaceAll(v, "/", "\x01"))
	return err == nil && ok
}

func useInto(m map[groupKey]map[string]*use, g groupKey, ev *event.Event, decoy func(*event.Event) bool) {
	sm := m[g]
	if sm == nil {
		sm = map[string]*use{}
		m[g] = sm
	}
	u := sm[ev.Resource]
	if u == nil {
		u = &use{SecretUse: SecretUse{Resource: ev.Resource, First: ev.Time, Decoy: decoy != nil && decoy(ev)}}
		sm[ev.Resource] = u
	}
	u.Count++
	u.Last = ev.Time
	if ev.RemoteAddr.IsValid() && !u.MoreAddresses && !slices.Contains(u.addrs, ev.RemoteAddr) {
		if len(u.addrs) < maxListed {
			u.addrs = append(u.addrs, ev.RemoteAddr)
		} else {
			u.MoreAddresses = true
		}
	}
}

func groups(m map[groupKey]map[string]*use, dynamic map[groupKey]bool) []SecretGroup {
	out := make([]SecretGroup, 0, len(m))
	for g, sm := range m {
		sg := SecretGroup{Store: g.kind.String(), Group: g.group, Dynamic: dynamic[g]}
		for _, u := range sm {
			for _, a := range u.addrs {
				u.Addresses = append(u.Addresses, a.String())
			}
			sg.Secrets = append(sg.Secrets, u.SecretUse)
		}
		slices.SortFunc(sg.Secrets, func(a, b SecretUse) int { return cmp.Compare(a.Resource, b.Resource) })
		out = append(out, sg)
	}
	slices.SortFunc(out, func(a, b SecretGroup) int {
		return cmp.Or(cmp.Compare(a.Store, b.Store), cmp.Compare(a.Group, b.Group))
	})
	return out
}

// secretGroup is the mount of a Vault secret (with its namespace), or for AWS the account and
// the first segment of the secret's name ("prod/db/main" -> "prod/").
func secretGroup(ev *event.Event) string { return groupOf(ev).name() }

// groupKey is a SecretGroup's store and group.
type groupKey struct {
	kind  event.Kind
	group string
}

// groupParts is a SecretGroup's store and group as the parts of the event that make its name
// (two groupParts may make one name: a Vault mount logged with or without its namespace).
type groupParts struct {
	kind event.Kind
	n    uint8  // parts used
	sep  string // between them
	p    [3]string
}

func (g groupParts) name() string { return strings.Join(g.p[:g.n], g.sep) }

func groupOf(ev *event.Event) groupParts {
	g := groupParts{kind: ev.Kind, n: 1}
	if ev.Mount != "" {
		if ev.Namespace != "" && ev.Kind == event.KindVault && !strings.HasPrefix(ev.Mount, ev.Namespace) {
			g.n, g.p = 2, [3]string{ev.Namespace, ev.Mount}
			return g
		}
		g.p[0] = ev.Mount
		return g
	}
	r := ev.Resource
	if i := strings.Index(r, ":secret:"); i >= 0 { // an ARN: keep the name after it
		r = r[i+len(":secret:"):]
	}
	first := r
	if i := strings.IndexByte(r, '/'); i > 0 {
		first = r[:i+1]
	}
	if ev.Kind == event.KindCloudTrail && ev.Namespace != "" {
		// A secret is its name in one account and one region, as in its ARN
		// (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME): the same name in two regions is
		// two secrets, each to rotate with --region.
		g.sep = ":"
		if ev.Region != "" {
			g.n, g.p = 3, [3]string{ev.Region, ev.Namespace, first}
			return g
		}
		g.n, g.p = 2, [3]string{ev.Namespace, first}
		return g
	}
	g.p[0] = first
	return g
}

// dynamicMounts issue short-lived credentials on read.
var dynamicMounts = map[string]bool{"database": true, "aws": true, "azure": true, "gcp": true, "consul": true,
	"nomad": true, "rabbitmq": true, "mongodbatlas": true, "ldap": true, "kubernetes": true, "alicloud": true, "terraform": true}

func isDynamicMount(t string) bool { return dynamicMounts[t] }

// ValueRead reports whether ev is a successful read that returned a secret value (the source
// marks such reads with FlagValueRead: a Vault read of KV data or a dynamic credential, an AWS
// GetSecretValue). Such secrets must be rotated when the reader is compromised.
func ValueRead(ev *event.Event) bool {
	return ev.Op == event.OpRead && ev.Outcome == event.OutcomeOK && ev.Resource != "" && ev.Has(event.FlagValueRead)
}
