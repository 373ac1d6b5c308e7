package trace

// referenceNew is trace.New as it was before NewSeq (every matched event kept, several passes
// over a slice), kept to check that NewSeq gives the same Trace on inputs under the caps.

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func referenceNew(evs []event.Event, q Query, internal func(netip.Addr) bool) *Trace {
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
		if !referenceMatches(q, ev, principals) {
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
			refCountInto(creds, ev.Credential, ev.Time)
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
			refUseInto(unanswered, g, ev, q.Decoy)
		case ValueRead(ev):
			refUseInto(read, g, ev, q.Decoy)
			if isDynamicMount(ev.MountType) {
				dynamic[g] = true
			}
		case ev.Op == event.OpWrite || ev.Op == event.OpDelete:
			if !ev.Has(event.FlagControl) { // the source marks the control plane: never a secret
				refUseInto(changed, g, ev, q.Decoy)
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
	t.Read = refGroups(read, dynamic)
	t.Changed = refGroups(changed, nil)
	t.Unanswered = refGroups(unanswered, nil)
	return t
}

func referenceMatches(q Query, ev *event.Event, principals map[string]bool) bool {
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

func refCountInto(m map[string]*Count, v string, t time.Time) {
	c := m[v]
	if c == nil {
		c = &Count{Value: v, First: t}
		m[v] = c
	}
	c.Events++
	c.Last = t
}

func refUseInto(m map[groupKey]map[string]*SecretUse, g groupKey, ev *event.Event, decoy func(*event.Event) bool) {
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

func refGroups(m map[groupKey]map[string]*SecretUse, dynamic map[groupKey]bool) []SecretGroup {
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
