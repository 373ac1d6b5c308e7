package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/invstub"
)

func testVault() *invstub.Vault {
	return &invstub.Vault{
		Token: "s.inventory",
		Mounts: map[string]map[string]invstub.Mount{
			"": {
				"secret/": {Version: 2, Secrets: map[string]map[string]any{
					"production/stripe/api-key": invstub.Meta("2025-01-10T09:00:00Z", "2026-09-01T10:00:00.5Z", "2026-08-30T08:00:00Z", 3, map[string]string{"owner": "payments"}),
					"production/db/password":    invstub.Meta("2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z", 1, nil),
					"staging/db/password":       invstub.Meta("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", 2, nil),
					"hr/payroll/token":          invstub.Meta("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 1, nil),
				}},
				"legacy/": {Version: 1, Secrets: map[string]map[string]any{"app/key": nil, "top": nil}},
			},
			"team-a/": {
				"kv/": {Version: 2, Secrets: map[string]map[string]any{
					"svc/db": invstub.Meta("2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", 1, nil),
				}},
			},
		},
		Denied:       map[string][]string{"": {"secret/metadata/hr/"}},
		MountsDenied: map[string]bool{"team-a/": true},
	}
}

func walk(t *testing.T, o VaultOptions) ([]Record, VaultStats, []string, error) {
	t.Helper()
	var recs []Record
	var warns []string
	o.Warn = func(s string) { warns = append(warns, s) }
	st, err := WalkVault(context.Background(), o, func(r *Record) error { recs = append(recs, *r); return nil })
	return recs, st, warns, err
}

func TestWalkVaultNestedFoldersAndDeniedSubtree(t *testing.T) {
	fv := testVault()
	srv := serve(t, fv)
	recs, st, warns, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range recs {
		keys = append(keys, r.Key())
	}
	want := "legacy/app/key legacy/top secret/production/db/password secret/production/stripe/api-key secret/staging/db/password"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("keys:\n got %s\nwant %s", got, want)
	}
	if st.Denied != 1 || st.Mounts != 2 || st.Secrets != 5 {
		t.Errorf("stats %+v: want 1 denied subtree, 2 mounts, 5 secrets", st)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "secret/hr/: permission denied to list") {
		t.Errorf("warnings %q: want the denied hr/ subtree", warns)
	}
	stripe := recs[3]
	if stripe.Mount != "secret/" || stripe.Path != "production/stripe/api-key" || stripe.KVVersion != 2 ||
		stripe.CurrentVersion == nil || *stripe.CurrentVersion != 3 || stripe.CustomMetadata["owner"] != "payments" {
		t.Errorf("stripe record %+v", stripe)
	}
	if w := stripe.LastWrite(); !w.Equal(time.Date(2026, 8, 30, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("LastWrite %v: want the current version's created_time, not updated_time", w)
	}
	// KV v1 keeps no metadata: the record says the times are unknown (null), not zero.
	b, _ := json.Marshal(recs[0])
	for _, s := range []string{`"store":"vault"`, `"mount":"legacy/"`, `"path":"app/key"`, `"created_time":null`, `"updated_time":null`, `"current_version":null`, `"kv_version":1`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("KV v1 record %s lacks %s", b, s)
		}
	}
	for _, req := range fv.Requests() {
		if !strings.HasPrefix(req, "LIST ") && !strings.Contains(req, "|sys/mounts") && !strings.Contains(req, "|secret/metadata/") {
			t.Errorf("request %s: neither a LIST, sys/mounts nor a metadata read", req)
		}
	}
}

// A namespace whose token may not read sys/mounts: the named mount is found through
// sys/internal/ui/mounts, every request carries X-Vault-Namespace, and the records the namespace.
func TestWalkVaultNamespaceNamedMount(t *testing.T) {
	fv := testVault()
	srv := serve(t, fv)
	recs, st, warns, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Namespace: "team-a", Mounts: []string{"kv"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Key() != "team-a/kv/svc/db" || recs[0].Namespace != "team-a/" || st.Denied != 0 {
		t.Fatalf("records %+v stats %+v", recs, st)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "sys/internal/ui/mounts") {
		t.Errorf("warnings %q", warns)
	}
	for _, req := range fv.Requests() {
		if !strings.Contains(req, " team-a/|") {
			t.Errorf("request %s without the namespace header", req)
		}
	}
	// Without --mount, a token that may not read sys/mounts cannot find the mounts: a clear error.
	if _, _, _, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Namespace: "team-a/"}); err == nil || !strings.Contains(err.Error(), "--mount") {
		t.Errorf("err %v: want the way out (--mount)", err)
	}
}

func TestWalkVaultErrors(t *testing.T) {
	fv := testVault()
	srv := serve(t, fv)
	if _, _, _, err := walk(t, VaultOptions{Token: "x"}); err == nil || !strings.Contains(err.Error(), "VAULT_ADDR") {
		t.Errorf("no address: %v", err)
	}
	if _, _, _, err := walk(t, VaultOptions{Addr: srv.URL}); err == nil || !strings.Contains(err.Error(), "VAULT_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	if _, _, _, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Mounts: []string{"transit/"}}); err == nil || !strings.Contains(err.Error(), "not a KV mount") {
		t.Errorf("a transit mount: %v", err)
	}
	if _, _, _, err := walk(t, VaultOptions{Addr: "http://127.0.0.1:1", Token: "x"}); err == nil {
		t.Error("an unreachable server: no error")
	}
	// An empty KV v2 mount: LIST answers 404, which is "nothing here", not a failure.
	fv.Mounts[""]["empty/"] = invstub.Mount{Version: 2, Secrets: map[string]map[string]any{}}
	recs, st, warns, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Mounts: []string{"empty"}})
	if err != nil || len(recs) != 0 || st.Mounts != 1 || st.Denied+st.Errors != 0 || len(warns) != 0 {
		t.Errorf("empty mount: %d records, %+v, %q, %v", len(recs), st, warns, err)
	}
	// A wrong token: sys/mounts refused, and the error says how to go on.
	if _, _, _, err := walk(t, VaultOptions{Addr: srv.URL, Token: "s.wrong"}); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("a wrong token: %v", err)
	}
	// Only the named mount is walked.
	recs, _, _, err = walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Mounts: []string{"legacy/"}})
	if err != nil || len(recs) != 2 {
		t.Errorf("--mount legacy/: %d records, %v", len(recs), err)
	}
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if v, ok := h.(*invstub.Vault); ok {
			for _, s := range v.Violations() {
				t.Errorf("the fake Vault saw a forbidden request: %s", s)
			}
		}
	})
	return srv
}

// A 503 (a standby, a sealed node behind the balancer) is retried; a subtree that keeps failing
// is reported and counted, and the walk goes on.
func TestWalkVaultRetries(t *testing.T) {
	fv := testVault()
	calls := 0
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 || strings.HasPrefix(r.URL.Path, "/v1/legacy/app") {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"errors":["Vault is sealed"]}`))
			return
		}
		fv.ServeHTTP(w, r)
	}))
	recs, st, warns, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || st.Errors != 1 || len(warns) != 2 || !strings.Contains(warns[0], "legacy/app/: HTTP 503: Vault is sealed") {
		t.Errorf("%d records, %+v, %q", len(recs), st, warns)
	}
}

// A secret the token may list but whose metadata it may not read is in the inventory without
// times, reported and counted; the parallel metadata reads keep the key order.
func TestWalkVaultMetadataDenied(t *testing.T) {
	fv := testVault()
	fv.Denied[""] = append(fv.Denied[""], "secret/metadata/production/db/password")
	for i := range 40 {
		fv.Mounts[""]["secret/"].Secrets[fmt.Sprintf("bulk/s%02d", i)] = invstub.Meta("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 1, nil)
	}
	srv := serve(t, fv)
	recs, st, warns, err := walk(t, VaultOptions{Addr: srv.URL, Token: fv.Token, Mounts: []string{"secret/"}, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 43 || st.Denied != 2 || len(warns) != 2 {
		t.Fatalf("%d records, %+v, %q", len(recs), st, warns)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i-1].Path >= recs[i].Path {
			t.Errorf("order: %s before %s", recs[i-1].Path, recs[i].Path)
		}
	}
	for _, r := range recs {
		if r.Path == "production/db/password" && (r.CreatedTime != nil || r.CurrentVersion != nil) {
			t.Errorf("denied metadata, yet times: %+v", r)
		}
		if r.Path == "bulk/s07" && r.CreatedTime == nil {
			t.Errorf("bulk/s07 without its metadata")
		}
	}
}
