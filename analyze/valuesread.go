package analyze

import (
	"fmt"
	"iter"
	"net/netip"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// rotateListed is how a remediation asks for the secrets of a finding to be rotated. Run replaces
// it with the secrets whose value was returned (Finding.ValuesRead): a denied read, a listing or
// a KV v2 metadata read gives nothing away, and rotating what was not read costs the owners of
// those secrets a change for nothing.
const rotateListed = "rotate the secrets listed"

// ValuesReadLooksAt reports whether Runner.Finish's second pass (values_read) looks at ev: a
// second pass kept for it alone may leave the other events out.
func ValuesReadLooksAt(ev *event.Event) bool { return isSecretAccess(ev) }

// fillValuesRead sets ValuesRead of each finding that lists resources: those of its Resources
// whose value one of the finding's identities was given (event.FlagValueRead, OutcomeOK) between
// its FirstSeen and LastSeen, in the order of Resources. A finding is about an identity (the
// stable principal), a workload across stores (Config.LinkOf) or an address (cross-store-access
// by address); the events are matched the same way. One pass over the events, with a map lookup
// for each access to a secret. The events may be yielded through one reused *event.Event: no
// pointer to one is kept.
func fillValuesRead(events iter.Seq[*event.Event], fs []Finding, cfg *Config) {
	byID := map[string][]*valueTarget{}
	byAddr := map[netip.Addr][]*valueTarget{}
	links := false
	for i := range fs {
		f := &fs[i]
		if len(f.Resources) == 0 || f.Identity == "" {
			continue
		}
		t := &valueTarget{f: f, res: make(map[string]int, len(f.Resources)), read: make([]bool, len(f.Resources))}
		for j, r := range f.Resources {
			t.res[r] = j
		}
		if a, err := netip.ParseAddr(f.Identity); err == nil {
			byAddr[a] = append(byAddr[a], t)
			continue
		}
		byID[f.Identity] = append(byID[f.Identity], t)
		links = links || f.Rule == "cross-store-access"
	}
	if len(byID) == 0 && len(byAddr) == 0 {
		return
	}
	match := func(ts []*valueTarget, ev *event.Event) {
		for _, t := range ts {
			if ev.Time.Before(t.f.FirstSeen) || ev.Time.After(t.f.LastSeen) {
				continue
			}
			j, ok := t.res[ev.Resource]
			if !ok {
				j, ok = t.res[ev.Path] // rules that list paths as the log wrote them (decoy-access)
			}
			if !ok {
				continue
			}
			t.seen = true
			if ev.Has(event.FlagValueRead) && ev.Outcome == event.OutcomeOK {
				t.read[j] = true
			}
		}
	}
	for ev := range events {
		if !isSecretAccess(ev) {
			continue
		}
		id := ev.Actor()
		match(byID[id], ev)
		if links {
			if lk := cfg.LinkOf(ev); lk != id {
				match(byID[lk], ev)
			}
		}
		if len(byAddr) > 0 && ev.RemoteAddr.IsValid() {
			match(byAddr[ev.RemoteAddr.Unmap()], ev)
		}
	}
	for _, ts := range byID {
		for _, t := range ts {
			t.settle()
		}
	}
	for _, ts := range byAddr {
		for _, t := range ts {
			t.settle()
		}
	}
}

// valueTarget is one finding while fillValuesRead matches events to it.
type valueTarget struct {
	f    *Finding
	res  map[string]int // resource -> index in Resources
	read []bool
	seen bool // one of its resources was accessed as a secret in its span: what was given is known
}

// settle writes ValuesRead and the remediation's rotation advice, which stays general for a
// finding none of whose resources was accessed as a secret in its span (a login, a policy).
func (t *valueTarget) settle() {
	f := t.f
	f.ValuesRead = []string{}
	for j, ok := range t.read {
		if ok {
			f.ValuesRead = append(f.ValuesRead, f.Resources[j])
		}
	}
	if !t.seen && len(f.ValuesRead) == 0 {
		return
	}
	f.Remediation = strings.Replace(f.Remediation, rotateListed, rotateThese(f.ValuesRead), 1)
}

// rotateThese says which secrets to rotate: the ones whose value was returned, the first few by
// name; "" when none was.
func rotateThese(vals []string) string {
	if len(vals) == 0 {
		return "none of the secrets listed had its value returned (denied, listed or metadata only): nothing needs rotating for these requests"
	}
	const shown = 3
	names := strings.Join(vals[:min(shown, len(vals))], ", ")
	if len(vals) > shown {
		names += fmt.Sprintf(" (+%d more, in values_read)", len(vals)-shown)
	}
	if len(vals) == 1 {
		return "rotate the one secret whose value was returned: " + names
	}
	return fmt.Sprintf("rotate these %d, whose values were returned: %s", len(vals), names)
}
