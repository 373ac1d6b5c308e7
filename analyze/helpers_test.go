package analyze

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// t0 is a Wednesday, 10:00 UTC: inside the default maintenance window.
var t0 = time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)

// vev builds a Vault event. Options adjust it.
func vev(at time.Duration, actor string, op event.Op, path string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindVault, Op: op, Path: path,
		Resource:    vault.NormalizePath(path, "", ""),
		Principal:   "entity-" + actor,
		DisplayName: actor,
		Credential:  "hmac-sha256:acc-" + actor,
		RemoteAddr:  netip.MustParseAddr("10.0.0.1"),
		Pos:         event.Pos{File: "audit.log", Line: int(at / time.Second)},
	}
	switch op {
	case event.OpRead:
		ev.Action = "read"
	case event.OpList:
		ev.Action = "list"
	case event.OpWrite:
		ev.Action = "update"
	case event.OpDelete:
		ev.Action = "delete"
	default:
		ev.Action = "update"
	}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func from(addr string) func(*event.Event) {
	return func(e *event.Event) { e.RemoteAddr = netip.MustParseAddr(addr) }
}

func denied(e *event.Event) { e.Outcome = event.OutcomeDenied }

func withCred(c string) func(*event.Event) { return func(e *event.Event) { e.Credential = c } }

func withPolicies(ps ...string) func(*event.Event) {
	return func(e *event.Event) { e.Policies = ps }
}

// runDetector feeds events to one detector the way Run does (only the kinds its rule declares,
// the baseline learning after each event) and returns its findings.
func runDetector(t *testing.T, mk func(Env) Detector, cfg Config, evs []event.Event) []Finding {
	t.Helper()
	env := Env{Config: &cfg, Baseline: baseline.New()}
	d := mk(env)
	sources.SortEvents(evs)
	kinds := d.Rule().Kinds
	for i := range evs {
		if kinds.Has(evs[i].Kind) {
			d.Observe(&evs[i])
		}
		env.Baseline.Learn(&evs[i])
	}
	return d.Finish()
}

func rulesOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

// every returns n events produced by mk(i) for i in [0, n).
func every(n int, mk func(i int) event.Event) []event.Event {
	out := make([]event.Event, 0, n)
	for i := range n {
		out = append(out, mk(i))
	}
	return out
}
