package trace

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

func kv(e *event.Event) {
	e.Mount, e.MountType = "kv/", "kv"
}

// incidentEvents is TestTrace's input: one entity under two tokens, another identity, an
// external address, a dynamic mount, a denied read and a metadata read.
func incidentEvents() []event.Event {
	evs := []event.Event{
		vev(0, "fraud", event.OpRead, "kv/data/prod/a", kv),
		vev(time.Second, "fraud", event.OpRead, "kv/metadata/prod/b", kv),                            // metadata: no value
		vev(2*time.Second, "fraud", event.OpRead, "kv/data/prod/c", kv, from("203.0.113.9"), denied), // refused
		vev(3*time.Second, "fraud", event.OpRead, "database/creds/ro", func(e *event.Event) { e.Mount, e.MountType = "database/", "database" }),
		vev(4*time.Second, "fraud", event.OpWrite, "kv/data/prod/d", kv, from("203.0.113.9")),
		vev(5*time.Second, "other", event.OpRead, "kv/data/prod/e", kv, from("203.0.113.9")),
		vev(6*time.Second, "fraud", event.OpRead, "sys/mounts", func(e *event.Event) { e.Mount, e.MountType = "sys/", "system" }),
		// the same entity under another token and display name (a token it created)
		vev(7*time.Second, "fraud", event.OpRead, "kv/data/prod/f", kv, withCred("hmac-sha256:child"), func(e *event.Event) { e.DisplayName = "token-backup" }),
	}
	for i := range evs {
		evs[i].Resource = vault.NormalizePath(evs[i].Path, evs[i].Mount, evs[i].MountType)
		vault.SetFacts(&evs[i])
	}
	return evs
}

func TestTrace(t *testing.T) {
	cfg := analyze.DefaultConfig()
	evs := incidentEvents()
	resources := func(gs []SecretGroup) []string {
		var out []string
		for _, g := range gs {
			for _, s := range g.Secrets {
				out = append(out, g.Group+"|"+s.Resource)
			}
		}
		return out
	}
	tests := []struct {
		name     string
		q        Query
		events   int
		read     []string
		changed  []string
		internal map[string]bool
	}{
		{"display name brings the whole entity", Query{Identity: "fraud"}, 7,
			[]string{"database/|database/creds/ro", "kv/|kv/prod/a", "kv/|kv/prod/f"}, []string{"kv/|kv/prod/d"},
			map[string]bool{"10.0.0.1": true, "203.0.113.9": false}},
		{"exact name is not a substring", Query{Identity: "frau"}, 0, nil, nil, nil},
		{"glob", Query{Identity: "*raud*"}, 7, []string{"database/|database/creds/ro", "kv/|kv/prod/a", "kv/|kv/prod/f"}, []string{"kv/|kv/prod/d"}, nil},
		{"credential only", Query{Credential: "hmac-sha256:child"}, 1, []string{"kv/|kv/prod/f"}, nil, nil},
		{"address across identities", Query{Addr: netip.MustParsePrefix("203.0.113.0/24")}, 3, []string{"kv/|kv/prod/e"}, []string{"kv/|kv/prod/d"}, nil},
		{"identity and address", Query{Identity: "fraud", Addr: netip.MustParsePrefix("203.0.113.9/32")}, 2, nil, []string{"kv/|kv/prod/d"}, nil},
		{"since bounds the timeline", Query{Identity: "fraud", Since: t0.Add(4 * time.Second)}, 3, []string{"kv/|kv/prod/f"}, []string{"kv/|kv/prod/d"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(evs, tt.q, cfg.IsInternal)
			if len(tr.Events) != tt.events {
				t.Fatalf("events = %d, want %d", len(tr.Events), tt.events)
			}
			if got := resources(tr.Read); !equalStrings(got, tt.read) {
				t.Errorf("read = %v, want %v", got, tt.read)
			}
			if got := resources(tr.Changed); !equalStrings(got, tt.changed) {
				t.Errorf("changed = %v, want %v", got, tt.changed)
			}
			for _, a := range tr.Addresses {
				if want, ok := tt.internal[a.Value]; ok && a.Internal != want {
					t.Errorf("address %s internal = %v, want %v", a.Value, a.Internal, want)
				}
			}
		})
	}
	tr := New(evs, Query{Identity: "fraud"}, cfg.IsInternal)
	if tr.Denied != 1 || !tr.Read[0].Dynamic || tr.Read[1].Dynamic {
		t.Errorf("denied = %d, dynamic = %v/%v", tr.Denied, tr.Read[0].Dynamic, tr.Read[1].Dynamic)
	}
	if len(tr.Identities) != 1 || len(tr.Identities[0].DisplayNames) != 2 || len(tr.Credentials) != 2 {
		t.Errorf("identities = %+v, credentials = %+v", tr.Identities, tr.Credentials)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func BenchmarkNewTrace(b *testing.B) {
	cfg := analyze.DefaultConfig()
	var evs []event.Event
	for i := range 100000 {
		who := "app" + string(rune('a'+i%20))
		evs = append(evs, vev(time.Duration(i)*time.Second, who, event.OpRead, "kv/data/prod/s"+string(rune('a'+i%26)), kv))
	}
	q := Query{Identity: "appc"}
	b.ReportAllocs()
	for b.Loop() {
		New(evs, q, cfg.IsInternal)
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// linkedSA is the service account of linkedEvents.
const linkedSA = "system:serviceaccount:ledger:ledger-api"

// linkedEvents is TestTraceLinkedWorkload's input: a service account's Kubernetes reads, the
// Vault identity its pods log in as, and an unrelated identity.
func linkedEvents() []event.Event {
	const sa = linkedSA
	linked := func(e *event.Event) { e.Workload = sa }
	k8s := func(at time.Duration, secret string) event.Event {
		ev := event.Event{Time: t0.Add(at), Kind: event.KindKubernetes, Op: event.OpRead, Action: "get", Principal: sa, DisplayName: sa,
			Resource: "k8s:" + secret, Flags: event.FlagValueRead, RemoteAddr: netip.MustParseAddr("100.96.3.7")}
		ev.SetName(len("k8s:"))
		return ev
	}
	evs := []event.Event{
		vev(0, "k8s-ledger-api", event.OpRead, "kv/data/ledger/db", linked),
		k8s(time.Minute, "ledger/ledger-db"),
		vev(2*time.Minute, "someone-else", event.OpRead, "kv/data/other"),
		k8s(3*time.Minute, "issuing/issuing-db"),
	}
	return evs
}

// TestTraceLinkedWorkload: a service account and the Vault identity its pods log in as
// (kubernetes auth metadata) are one workload: tracing either shows both stores in one
// timeline, and the secrets to rotate per store. An unrelated identity stays out.
func TestTraceLinkedWorkload(t *testing.T) {
	const sa = linkedSA
	evs := linkedEvents()
	for _, q := range []string{sa, "k8s-ledger-api", "*ledger-api"} {
		tr := New(evs, Query{Identity: q}, func(netip.Addr) bool { return true })
		if len(tr.Events) != 3 || len(tr.Identities) != 2 {
			t.Errorf("--identity %s: %d events of %d identities, want 3 of 2", q, len(tr.Events), len(tr.Identities))
			continue
		}
		var stores []string
		for _, g := range tr.Read {
			stores = append(stores, g.Store+" "+g.Group)
		}
		if want := []string{"kubernetes k8s:issuing/", "kubernetes k8s:ledger/", "vault kv/"}; !slices.Equal(stores, want) {
			t.Errorf("--identity %s: groups %q, want %q", q, stores, want)
		}
	}
}

// TestTraceRequestWithoutResponse: a value read whose response never reached the log has an
// unknown outcome: it is not in the list of secrets read successfully, but in its own.
func TestTraceRequestWithoutResponse(t *testing.T) {
	evs := []event.Event{
		vev(0, "app", event.OpRead, "kv/data/app/db"),
		vev(time.Minute, "app", event.OpRead, "kv/data/app/cut-short", func(e *event.Event) { e.Flags |= event.FlagRequestOnly }),
	}
	tr := New(evs, Query{Identity: "app"}, func(netip.Addr) bool { return true })
	if len(tr.Read) != 1 || len(tr.Read[0].Secrets) != 1 || tr.Read[0].Secrets[0].Resource != "kv/app/db" {
		t.Errorf("read %+v", tr.Read)
	}
	if len(tr.Unanswered) != 1 || tr.Unanswered[0].Secrets[0].Resource != "kv/app/cut-short" {
		t.Errorf("unanswered %+v", tr.Unanswered)
	}
}

// TestTraceAWSRegions: a Secrets Manager secret is its name in one account and one region; the
// same name read in two regions is two secrets to rotate, each listed under its region.
func TestTraceAWSRegions(t *testing.T) {
	aws := func(region string) func(*event.Event) {
		return func(e *event.Event) {
			e.Kind, e.Namespace, e.Region, e.Mount = event.KindCloudTrail, "428190375562", region, ""
			e.Resource = "prod/payments/psp-key"
		}
	}
	evs := []event.Event{
		vev(0, "thief", event.OpRead, "prod/payments/psp-key", aws("eu-west-1")),
		vev(time.Second, "thief", event.OpRead, "prod/payments/psp-key", aws("eu-central-1")),
	}
	tr := New(evs, Query{Identity: "thief"}, func(netip.Addr) bool { return false })
	var groups []string
	for _, g := range tr.Read {
		groups = append(groups, g.Group)
	}
	slices.Sort(groups)
	if want := []string{"eu-central-1:428190375562:prod/", "eu-west-1:428190375562:prod/"}; !slices.Equal(groups, want) {
		t.Errorf("groups %q, want %q", groups, want)
	}
}
