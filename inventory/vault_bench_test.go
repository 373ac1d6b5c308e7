package inventory

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/invstub"
)

// BenchmarkWalkVault walks 5 000 KV v2 secrets in 100 folders of the loopback fake: one LIST per
// folder and one metadata read per secret (5 100 folders: the fake's LIST, a scan of every secret, dominates).
func BenchmarkWalkVault(b *testing.B) {
	secrets := map[string]map[string]any{}
	for i := range 5000 {
		secrets[fmt.Sprintf("team%02d/app%02d/key", i%100, i/100)] = invstub.Meta("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", 1, nil)
	}
	fv := &invstub.Vault{Token: "t", Mounts: map[string]map[string]invstub.Mount{"": {"secret/": {Version: 2, Secrets: secrets}}}}
	srv := httptest.NewServer(fv)
	defer srv.Close()
	for b.Loop() {
		n := 0
		if _, err := WalkVault(context.Background(), VaultOptions{Addr: srv.URL, Token: "t"}, func(*Record) error { n++; return nil }); err != nil || n != 5000 {
			b.Fatal(n, err)
		}
	}
}
