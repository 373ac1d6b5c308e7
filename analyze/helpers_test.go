package analyze

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// t0 is a Wednesday, 10:00 UTC: inside the default maintenance window.
var t0 = time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)

// vev builds a Vault event. Options adjust it.
func vev(at time.Duration, actor string, op event.Op, path string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindVault, Op: op, Path: path,
		Resource:    kvResource(path),
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

// kvResource is the secret a Vault request path names when the log has no mount point, as the
// Vault source normalises it: the KV v2 API paths of one secret ("kv/data/x", "kv/metadata/x",
// ...) fold into "kv/x"; other paths stay as they are.
func kvResource(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	i := strings.IndexByte(path, '/')
	if i <= 0 {
		return path
	}
	mount, rest := path[:i+1], path[i+1:]
	switch mount {
	case "sys/", "auth/", "identity/", "cubbyhole/":
		return path
	}
	for _, p := range []string{"data/", "metadata/", "delete/", "undelete/", "destroy/", "subkeys/"} {
		if strings.HasPrefix(rest, p) {
			return mount + rest[len(p):]
		}
	}
	return path
}

// runDetector runs one detector through Run, with every other rule switched off: the path users
// get (the kinds its rule declares, the baseline learning after each event, the learning period,
// Merge). It returns the findings as Run reports them.
func runDetector(t *testing.T, mk func(Env) Detector, cfg Config, evs []event.Event) []Finding {
	t.Helper()
	env := Env{Config: &cfg, Baseline: baseline.New()}
	id := mk(env).Rule().ID
	env.onlyRules = []string{id}
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	res := Run(evs, env)
	if len(res.Rules) != 1 || res.Rules[0].ID != id {
		t.Fatalf("Run built rules %v, want only %s: is its constructor in the registry?", res.Rules, id)
	}
	return res.Findings
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
