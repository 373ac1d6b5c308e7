package vault

import (
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestPathFacts: what the path of a request tells the detectors, as typed facts, so that no
// detector parses a Vault path.
func TestPathFacts(t *testing.T) {
	const none event.Flags = 0
	for _, c := range []struct {
		path, ns, mount, mtype string
		op                     event.Op
		flags                  event.Flags
		name                   string
	}{
		{"kv/data/prod/db", "", "kv/", "kv", event.OpRead, event.FlagValueRead, "prod/db"},
		{"kv/metadata/prod/db", "", "kv/", "kv", event.OpRead, none, "prod/db"},
		{"kv/subkeys/prod/db", "", "kv/", "kv", event.OpRead, none, "prod/db"},
		{"kv/data/prod/db", "", "kv/", "kv", event.OpWrite, none, "prod/db"},
		{"kv/metadata/prod/", "", "kv/", "kv", event.OpList, none, "prod/"},
		{"secret/app/key", "", "secret/", "kv", event.OpRead, event.FlagValueRead, "app/key"}, // KV v1
		{"secret/data/x?version=2", "", "", "", event.OpRead, event.FlagValueRead, "x"},       // no mount_point in old logs
		{"secret/metadata/x", "", "", "", event.OpRead, none, "x"},
		{"database/creds/app", "", "database/", "database", event.OpRead, event.FlagValueRead, "creds/app"},
		{"aws/creds/deploy", "", "aws/", "aws", event.OpRead, event.FlagValueRead, "creds/deploy"},
		{"transit/keys/payments", "", "transit/", "transit", event.OpRead, none, "keys/payments"},
		{"ns1/kv/data/a", "ns1/", "ns1/kv/", "kv", event.OpRead, event.FlagValueRead, "a"},
		{"sys/audit/file", "", "sys/", "system", event.OpAdmin, event.FlagControl, ""},
		{"ns1/sys/policies/acl/x", "ns1/", "", "", event.OpAdmin, event.FlagControl, ""},
		{"auth/token/renew-self", "", "auth/token/", "token", event.OpOther, event.FlagControl | event.FlagMaintenance, ""},
		{"auth/token/lookup-self", "", "auth/token/", "token", event.OpRead, event.FlagControl | event.FlagMaintenance, ""},
		{"sys/leases/renew", "", "sys/", "system", event.OpOther, event.FlagControl | event.FlagMaintenance, ""},
		{"identity/entity/id/x", "", "identity/", "identity", event.OpRead, event.FlagControl, ""},
		{"cubbyhole/wrapped", "", "cubbyhole/", "cubbyhole", event.OpRead, event.FlagControl | event.FlagValueRead, ""},
		{"pki/cert/ca", "", "pki/", "pki", event.OpRead, none, "cert/ca"},
	} {
		ev := event.Event{Path: c.path, Namespace: c.ns, Mount: c.mount, MountType: c.mtype, Op: c.op}
		ev.Resource = NormalizePath(stripQuery(c.path), c.mount, c.mtype)
		setPathFacts(&ev)
		if got := ev.Flags & pathFactFlags; got != c.flags {
			t.Errorf("%s (%s, %v): flags %b, want %b", c.path, c.mtype, c.op, got, c.flags)
		}
		if ev.Name() != c.name {
			t.Errorf("%s: name %q, want %q", c.path, ev.Name(), c.name)
		}
	}
}

// TestPathFactsFromResponse: a request entry without mount_point gets it from its response;
// the facts follow the mount.
func TestPathFactsFromResponse(t *testing.T) {
	req := `{"time":"2026-09-23T10:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:aa","display_name":"svc","entity_id":"e1","policies":["p"]},"request":{"id":"r1","operation":"read","path":"db/creds/app","remote_address":"10.0.0.1"}}`
	resp := `{"time":"2026-09-23T10:00:00Z","type":"response","auth":{"accessor":"hmac-sha256:aa","display_name":"svc","entity_id":"e1","policies":["p"]},"request":{"id":"r1","operation":"read","path":"db/creds/app","mount_point":"db/","mount_type":"database","remote_address":"10.0.0.1"},"response":{"data":{"username":"hmac-sha256:bb"}}}`
	l, _ := loadVaultBytes(t, "audit.log", []byte(req+"\n"+resp+"\n"), sources.LoadOptions{})
	if len(l.Events) != 1 {
		t.Fatalf("%d events", len(l.Events))
	}
	ev := l.Events[0]
	if !ev.Has(event.FlagValueRead) || ev.Name() != "creds/app" || ev.Mount != "db/" {
		t.Errorf("event %+v", ev)
	}
}
