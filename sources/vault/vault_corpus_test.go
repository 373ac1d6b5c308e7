package vault

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestVaultCorpusAccounting reads every copied corpus file and checks what each line became.
func TestVaultCorpusAccounting(t *testing.T) {
	tests := []struct {
		file                             string
		lines, parsed, malformed, events int
		compressed                       bool
	}{
		// 107 requests + 105 responses; the response that created the device has no request,
		// the failed unwrap and sys/seal have no response: 107 + 1 events.
		{"openbao-capture1-audit.log", 212, 212, 0, 108, false},
		{"openbao-capture1-audit-lograw.log", 210, 210, 0, 107, false},
		{"openbao-capture1-sorted-keys.log", 6, 6, 0, 3, false},
		{"openbao-capture2-audit.log", 251, 251, 0, 127, false},
		{"openbao-capture2-audit-prefixed.log", 91, 91, 0, 47, false},
		{"openbao-capture4-attacker-strings-audit.log", 32, 32, 0, 17, false},
		{"openbao-capture4-multimegabyte-line-audit.log.gz", 2, 2, 0, 1, true},
		// The last line has no newline; a help entry has no request id.
		{"elastic-hashicorp_vault-test-audit.log", 9, 9, 0, 5, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			l := loadVault(t, sources.LoadOptions{}, vaultTestdata+tt.file)
			st := l.Files[0]
			if st.Lines != tt.lines || st.Parsed != tt.parsed || st.Malformed != tt.malformed || st.Events != tt.events {
				t.Errorf("lines %d parsed %d malformed %d events %d, want %d %d %d %d (problems %v)",
					st.Lines, st.Parsed, st.Malformed, st.Events, tt.lines, tt.parsed, tt.malformed, tt.events, st.Problems)
			}
			if st.Compressed != tt.compressed {
				t.Errorf("compressed = %v, want %v", st.Compressed, tt.compressed)
			}
			if st.ReadError != "" || len(l.Errors) > 0 {
				t.Errorf("read error %q, errors %v", st.ReadError, l.Errors)
			}
			if len(l.Events) != tt.events {
				t.Errorf("%d events returned, stats say %d", len(l.Events), tt.events)
			}
			for i := 1; i < len(l.Events); i++ {
				if l.Events[i].Time.Before(l.Events[i-1].Time) {
					t.Fatalf("events not in time order at %d", i)
				}
			}
		})
	}
}

// TestVaultCapture1 checks the events of the broad OpenBao walk-through, line by line.
func TestVaultCapture1(t *testing.T) {
	l := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture1-audit.log")
	evs := l.Events
	type want struct {
		op          event.Op
		outcome     event.Outcome
		path        string
		resource    string
		display     string
		namespace   string
		addr        string
		flags       event.Flags // must be set
		noFlags     event.Flags // must not be set
		credential  bool        // a credential is known
		principalID bool        // the principal is an entity id, not the display name
	}
	tests := []struct {
		name string
		line int
		w    want
	}{
		{"response without its request (device creation)", 2,
			want{op: event.OpAdmin, path: "sys/audit/file", resource: "sys/audit/file", display: "root", addr: "127.0.0.1", flags: event.FlagResponseOnly | event.FlagRootToken, credential: true}},
		{"probe without token or address", 1,
			want{op: event.OpOther, path: "sys/audit/test", resource: "sys/audit/test", flags: event.FlagUnauthenticated}},
		{"KV v1 path kept as is", 27,
			want{op: event.OpWrite, path: "kv1/app/db", resource: "kv1/app/db", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 data path folded", 39,
			want{op: event.OpRead, path: "secret/data/app/config", resource: "secret/app/config", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 metadata list folded", 43,
			want{op: event.OpList, path: "secret/metadata/app/", resource: "secret/app/", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 metadata read folded", 45,
			want{op: event.OpRead, path: "secret/metadata/app/config", resource: "secret/app/config", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 undelete folded", 192,
			want{op: event.OpWrite, path: "secret/undelete/app/config", resource: "secret/app/config", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 destroy folded", 194,
			want{op: event.OpWrite, path: "secret/destroy/app/config", resource: "secret/app/config", display: "root", addr: "127.0.0.1", credential: true}},
		{"KV v2 write that failed", 53,
			want{op: event.OpWrite, outcome: event.OutcomeError, path: "secret/data/app/config", resource: "secret/app/config", display: "root", addr: "127.0.0.1", credential: true}},
		{"login: identity from response.auth", 61,
			want{op: event.OpLogin, path: "auth/userpass/login/alice", resource: "auth/userpass/login/alice", display: "userpass-alice", addr: "203.0.113.10", noFlags: event.FlagUnauthenticated, credential: true, principalID: true}},
		{"login with a wrong password", 63,
			want{op: event.OpLogin, outcome: event.OutcomeDenied, path: "auth/userpass/login/bob", resource: "auth/userpass/login/bob", addr: "198.51.100.23", flags: event.FlagUnauthenticated}},
		{"login for an unknown user: no error field, only response.data.error", 65,
			want{op: event.OpLogin, outcome: event.OutcomeDenied, path: "auth/userpass/login/mallory", resource: "auth/userpass/login/mallory", addr: "198.51.100.23", flags: event.FlagUnauthenticated}},
		{"ACL denial: multierror text", 79,
			want{op: event.OpRead, outcome: event.OutcomeDenied, path: "secret/data/ci/deploy-key", resource: "secret/ci/deploy-key", display: "userpass-alice", addr: "192.0.2.200", credential: true, principalID: true}},
		{"ACL denial of a sys path", 85,
			want{op: event.OpAdmin, outcome: event.OutcomeDenied, path: "sys/audit/file", resource: "sys/audit/file", display: "userpass-alice", addr: "192.0.2.200", credential: true, principalID: true}},
		{"IPv6 loopback", 89,
			want{op: event.OpRead, path: "secret/data/app/other", resource: "secret/app/other", display: "userpass-alice", addr: "::1", credential: true, principalID: true}},
		{"unknown token: plain 'permission denied', no auth", 93,
			want{op: event.OpRead, outcome: event.OutcomeDenied, path: "secret/data/app/config", resource: "secret/app/config", addr: "192.0.2.201", flags: event.FlagUnauthenticated}},
		{"AppRole login", 105,
			want{op: event.OpLogin, path: "auth/approle/login", resource: "auth/approle/login", display: "approle", addr: "10.20.30.40", credential: true, principalID: true}},
		{"batch token: no accessor", 137,
			want{op: event.OpRead, path: "secret/data/app/config", resource: "secret/app/config", display: "token", addr: "127.0.0.1", flags: event.FlagBatchToken}},
		{"orphan token creation", 139,
			want{op: event.OpAdmin, path: "auth/token/create-orphan", resource: "auth/token/create-orphan", display: "root", addr: "127.0.0.1", flags: event.FlagOrphan | event.FlagRootToken, credential: true}},
		{"failed unwrap: request without response", 155,
			want{op: event.OpOther, outcome: event.OutcomeDenied, path: "sys/wrapping/unwrap", resource: "sys/wrapping/unwrap", addr: "127.0.0.1", flags: event.FlagRequestOnly | event.FlagUnauthenticated}},
		{"namespace: path and resource carry the namespace", 162,
			want{op: event.OpWrite, path: "team-a/secret/data/svc/db", resource: "team-a/secret/svc/db", display: "root", namespace: "team-a/", addr: "127.0.0.1", credential: true}},
		{"login inside a namespace", 172,
			want{op: event.OpLogin, path: "team-a/auth/userpass/login/carol", resource: "team-a/auth/userpass/login/carol", display: "team-a-auth-userpass-carol", namespace: "team-a/", addr: "203.0.113.77", credential: true, principalID: true}},
		{"sys/seal: the server sealed before the response", 212,
			want{op: event.OpAdmin, path: "sys/seal", resource: "sys/seal", display: "root", addr: "127.0.0.1", flags: event.FlagRequestOnly, credential: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := eventAt(evs, tt.line)
			if ev == nil {
				t.Fatalf("no event at line %d", tt.line)
			}
			w := tt.w
			if ev.Op != w.op || ev.Outcome != w.outcome {
				t.Errorf("op %s outcome %s, want %s %s", ev.Op, ev.Outcome, w.op, w.outcome)
			}
			if ev.Path != w.path || ev.Resource != w.resource {
				t.Errorf("path %q resource %q, want %q %q", ev.Path, ev.Resource, w.path, w.resource)
			}
			if ev.DisplayName != w.display || ev.Namespace != w.namespace {
				t.Errorf("display %q namespace %q, want %q %q", ev.DisplayName, ev.Namespace, w.display, w.namespace)
			}
			if got := addrString(ev.RemoteAddr); got != w.addr {
				t.Errorf("remote address %q, want %q", got, w.addr)
			}
			if !ev.Has(w.flags) || ev.Flags&w.noFlags != 0 {
				t.Errorf("flags %b, want set %b and unset %b", ev.Flags, w.flags, w.noFlags)
			}
			if (ev.Credential != "") != w.credential {
				t.Errorf("credential %q, want present=%v", ev.Credential, w.credential)
			}
			if w.credential && !strings.HasPrefix(ev.Credential, "hmac-sha256:") {
				t.Errorf("credential %q: this device HMACs accessors", ev.Credential)
			}
			if w.principalID && (ev.Principal == "" || ev.Principal == ev.DisplayName) {
				t.Errorf("principal %q: want the entity id", ev.Principal)
			}
			if ev.Kind != event.KindVault || ev.Pos.File != vaultTestdata+"openbao-capture1-audit.log" {
				t.Errorf("kind %s file %q", ev.Kind, ev.Pos.File)
			}
		})
	}
}

// TestVaultPairing checks that a request and its response make one event at the request's line.
func TestVaultPairing(t *testing.T) {
	path := vaultTestdata + "openbao-capture1-audit.log"
	l := loadVault(t, sources.LoadOptions{}, path)
	lines := readLines(t, path)
	byLine := map[int]bool{}
	for _, ev := range l.Events {
		if byLine[ev.Pos.Line] {
			t.Errorf("two events at line %d", ev.Pos.Line)
		}
		byLine[ev.Pos.Line] = true
	}
	for i, s := range lines {
		n := i + 1
		isReq := strings.Contains(s, `"type":"request"`)
		if isReq != byLine[n] && n != 2 { // line 2 is the response without a request
			t.Errorf("line %d (request=%v): event=%v", n, isReq, byLine[n])
		}
	}
	// One token, one HMAC'd accessor: every event of alice carries the same credential.
	creds := map[string]bool{}
	for _, ev := range l.Events {
		if ev.DisplayName == "userpass-alice" {
			creds[ev.Credential] = true
		}
	}
	if len(creds) != 1 {
		t.Errorf("alice's events carry %d credentials, want 1: %v", len(creds), creds)
	}
}

// TestVaultKeyOrder: alphabetical key order (Vault 1.17) gives the same events as time-first.
func TestVaultKeyOrder(t *testing.T) {
	orig := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture1-audit.log").Events
	sorted := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture1-sorted-keys.log").Events
	for i, line := range []int{61, 79, 93} {
		a, b := *eventAt(orig, line), sorted[i]
		a.Pos, b.Pos = event.Pos{}, event.Pos{}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("line %d re-serialised with sorted keys:\n got %+v\nwant %+v", line, b, a)
		}
	}
}

// TestVaultPrefixed: a device with prefix="bao-audit: " writes text before each object.
func TestVaultPrefixed(t *testing.T) {
	l := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture2-audit-prefixed.log")
	st := l.Files[0]
	if st.Malformed != 0 || st.Parsed != st.Lines {
		t.Fatalf("prefixed lines: %d parsed of %d, problems %v", st.Parsed, st.Lines, st.Problems)
	}
	if ev := eventAt(l.Events, 1); ev == nil || ev.Path != "sys/audit/test" {
		t.Errorf("first event %+v", ev)
	}
	// A prefix is only accepted when short: a long run of text before '{' is not a prefix.
	_, st = loadVaultBytes(t, "long-prefix.log", []byte(strings.Repeat("x", 2000)+synthLine(1, "kv/data/a")+"\n"), sources.LoadOptions{})
	if st.Malformed != 1 {
		t.Errorf("a 2000-byte prefix: malformed %d, want 1", st.Malformed)
	}
}

// TestVaultLogRaw: with hmac_accessor=false the accessor is plain (it can be revoked directly).
func TestVaultLogRaw(t *testing.T) {
	l := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture1-audit-lograw.log")
	n := 0
	for _, ev := range l.Events {
		if ev.DisplayName == "userpass-alice" && ev.Credential != "" {
			n++
			if strings.HasPrefix(ev.Credential, "hmac-sha256:") {
				t.Fatalf("credential %q is HMAC'd in a hmac_accessor=false log", ev.Credential)
			}
		}
	}
	if n == 0 {
		t.Fatal("no event of alice")
	}
}

// TestVaultMultiMegabyteLine reads the real 3 MB response line (gzip-compressed in testdata).
func TestVaultMultiMegabyteLine(t *testing.T) {
	l := loadVault(t, sources.LoadOptions{}, vaultTestdata+"openbao-capture4-multimegabyte-line-audit.log.gz")
	st := l.Files[0]
	if st.Bytes < 3_000_000 || st.Parsed != 2 || len(l.Events) != 1 {
		t.Fatalf("bytes %d parsed %d events %d", st.Bytes, st.Parsed, len(l.Events))
	}
	if ev := l.Events[0]; ev.Has(event.FlagRequestOnly) || ev.Op != event.OpRead {
		t.Errorf("event %+v: want a read joined with its 3 MB response", ev)
	}
	// Below the line's size, the limit skips it and counts it.
	l = loadVault(t, sources.LoadOptions{MaxLineBytes: 1 << 20}, vaultTestdata+"openbao-capture4-multimegabyte-line-audit.log.gz")
	if st := l.Files[0]; st.Skipped["too-long"] != 1 || st.Parsed != 1 || len(st.Problems) != 1 || st.Problems[0].Line != 2 {
		t.Errorf("with a 1 MiB limit: %+v", st)
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
