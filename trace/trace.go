// Package trace is the logic of `vaultsentry trace`: the blast radius of one identity, token or
// address, as a timeline of its events and the lists of secrets it read (to rotate) and changed.
// It needs only the event model.
package trace

import (
	"cmp"
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
	Query  Query
	Events []event.Event // in time order
	// Identities, Credentials and Addresses are everything the matched events involve.
	Identities  []Identity
	Credentials []Count
	Addresses   []Address
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
}

// Identity is one principal seen in a trace, with its display names.
type Identity struct {
	Principal    string
	DisplayNames []string
	Events       int
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
	Addresses   []string
}

// New selects the events matching q (evs in time order) and summarises them. internal says
// whether an address is inside the configured internal networks (analyze.Config.IsInternal).
// Linear in len(evs): one pass to resolve the identity's principals, one to select.
func New(evs []event.Event, q Query, internal func(netip.Addr) bool) *Trace {
	t := &Trace{Query: q}
	principals := map[string]bool{}
	if q.Identity != "" {
		link := q.Link
		if link == nil {
			link = (*event.Event).LinkKey
		}
		// The principals the identity names, and the workloads they (or it) belong to; then
		// every principal of those workloads, in any store.
		workloads := map[string]bool{}
		for i := range evs {
			ev := &evs[i]
			lk := link(ev)
			if ev.Principal != "" && (matchValue(q.Identity, ev.Principal) || matchValue(q.Identity, ev.DisplayName) || matchValue(q.Identity, lk)) {
				principals[ev.Principal] = true
				if lk != "" {
					workloads[lk] = true
				}
			}
		}
		if len(workloads) > 0 {
			for i := range evs {
				ev := &evs[i]
				if ev.Principal != "" && !principals[ev.Principal] && workloads[link(ev)] {
					principals[ev.Principal] = true
				}
			}
		}
	}
	ids := map[string]*Identity{}
	creds := map[string]*Count{}
	addrs := map[netip.Addr]*Address{}
	read := map[groupKey]map[string]*SecretUse{}
	changed := map[groupKey]map[string]*SecretUse{}
	unanswered := map[groupKey]map[string]*SecretUse{}
	dynamic := map[groupKey]bool{}
	for i := range evs {
		ev := &evs[i]
		if !q.Since.IsZero() && ev.Time.Before(q.Since) || !q.Until.IsZero() && !ev.Time.Before(q.Until) {
			continue
		}
		if !q.matches(ev, principals) {
			continue
		}
		t.Events = append(t.Events, *ev)
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
		ti := ids[id]
		if ti == nil {
			ti = &Identity{Principal: id}
			ids[id] = ti
		}
		ti.Events++
		if ev.DisplayName != "" && !slices.Contains(ti.DisplayNames, ev.DisplayName) && len(ti.DisplayNames) < maxListed {
			ti.DisplayNames = append(ti.DisplayNames, ev.DisplayName)
		}
		if ev.Credential != "" {
			countInto(creds, ev.Credential, ev.Time)
		}
		if ev.RemoteAddr.IsValid() {
			a := addrs[ev.RemoteAddr]
			if a == nil {
				a = &Address{Count: Count{Value: ev.RemoteAddr.String(), First: ev.Time}, Internal: internal(ev.RemoteAddr)}
				addrs[ev.RemoteAddr] = a
			}
			a.Events++
			a.Last = ev.Time
		}
		if ev.Outcome != event.OutcomeOK || ev.Resource == "" {
			continue
		}
		g := groupKey{ev.Kind, secretGroup(ev)}
		switch {
		case ValueRead(ev) && ev.Has(event.FlagRequestOnly):
			useInto(unanswered, g, ev, q.Decoy)
		case ValueRead(ev):
			useInto(read, g, ev, q.Decoy)
			if isDynamicMount(ev.MountType) {
				dynamic[g] = true
			}
		case ev.Op == event.OpWrite || ev.Op == event.OpDelete:
			if !ev.Has(event.FlagControl) { // the source marks the control plane: never a secret
				useInto(changed, g, ev, q.Decoy)
			}
		}
	}
	for _, ti := range ids {
		slices.Sort(ti.DisplayNames)
		t.Identities = append(t.Identities, *ti)
	}
	slices.SortFunc(t.Identities, func(a, b Identity) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), cmp.Compare(a.Principal, b.Principal))
	})
	for _, tc := range creds {
		t.Credentials = append(t.Credentials, *tc)
	}
	slices.SortFunc(t.Credentials, func(a, b Count) int { return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Value, b.Value)) })
	for _, a := range addrs {
		t.Addresses = append(t.Addresses, *a)
	}
	slices.SortFunc(t.Addresses, func(a, b Address) int { return cmp.Or(a.First.Compare(b.First), cmp.Compare(a.Value, b.Value)) })
	t.Read = groups(read, dynamic)
	t.Changed = groups(changed, nil)
	t.Unanswered = groups(unanswered, nil)
	return t
}

func (q Query) matches(ev *event.Event, principals map[string]bool) bool {
	if q.Identity != "" {
		ok := ev.Principal != "" && principals[ev.Principal]
		if !ok && ev.Principal == "" {
			ok = matchValue(q.Identity, ev.DisplayName) || matchValue(q.Identity, ev.Credential)
		}
		if !ok {
			return false
		}
	}
	if q.Credential != "" && !matchValue(q.Credential, ev.Credential) {
		return false
	}
	if q.Addr.IsValid() && (!ev.RemoteAddr.IsValid() || !q.Addr.Contains(ev.RemoteAddr.Unmap())) {
		return false
	}
	return true
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

func countInto(m map[string]*Count, v string, t time.Time) {
	c := m[v]
	if c == nil {
		c = &Count{Value: v, First: t}
		m[v] = c
	}
	c.Events++
	c.Last = t
}

// groupKey is a SecretGroup's store and group.
type groupKey struct {
	kind  event.Kind
	group string
}

func useInto(m map[groupKey]map[string]*SecretUse, g groupKey, ev *event.Event, decoy func(*event.Event) bool) {
	sm := m[g]
	if sm == nil {
		sm = map[string]*SecretUse{}
		m[g] = sm
	}
	u := sm[ev.Resource]
	if u == nil {
		u = &SecretUse{Resource: ev.Resource, First: ev.Time, Decoy: decoy != nil && decoy(ev)}
		sm[ev.Resource] = u
	}
	u.Count++
	u.Last = ev.Time
	if ev.RemoteAddr.IsValid() && len(u.Addresses) < maxListed {
		if a := ev.RemoteAddr.String(); !slices.Contains(u.Addresses, a) {
			u.Addresses = append(u.Addresses, a)
		}
	}
}

func groups(m map[groupKey]map[string]*SecretUse, dynamic map[groupKey]bool) []SecretGroup {
	out := make([]SecretGroup, 0, len(m))
	for g, sm := range m {
		sg := SecretGroup{Store: g.kind.String(), Group: g.group, Dynamic: dynamic[g]}
		for _, u := range sm {
			sg.Secrets = append(sg.Secrets, *u)
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
func secretGroup(ev *event.Event) string {
	if ev.Mount != "" {
		if ev.Namespace != "" && ev.Kind == event.KindVault && !strings.HasPrefix(ev.Mount, ev.Namespace) {
			return ev.Namespace + ev.Mount
		}
		return ev.Mount
	}
	r := ev.Resource
	if i := strings.Index(r, ":secret:"); i >= 0 { // an ARN: keep the name after it
		r = r[i+len(":secret:"):]
	}
	g := r
	if i := strings.IndexByte(r, '/'); i > 0 {
		g = r[:i+1]
	}
	if ev.Kind == event.KindCloudTrail && ev.Namespace != "" {
		// A secret is its name in one account and one region, as in its ARN
		// (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME): the same name in two regions is
		// two secrets, each to rotate with --region.
		if ev.Region != "" {
			return ev.Region + ":" + ev.Namespace + ":" + g
		}
		return ev.Namespace + ":" + g
	}
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
