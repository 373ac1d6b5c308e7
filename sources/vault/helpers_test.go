package vault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// vaultTestdata is where the copied corpus files live (see testdata/vault/ORIGINS.md).
const vaultTestdata = "../../testdata/vault/"

// vaultOnly is the format list of the tests: this package's format alone.
var vaultOnly = []sources.FileFormat{Format{}}

// loadVault reads inputs as Vault audit logs and checks that every file's lines are accounted
// for: Lines = Parsed + Malformed + skipped. Every test that loads goes through it.
func loadVault(t testing.TB, opts sources.LoadOptions, paths ...string) *sources.Loaded {
	t.Helper()
	ins := make([]sources.Input, len(paths))
	for i, p := range paths {
		ins[i] = sources.Input{Name: p}
	}
	opts.Formats, opts.Only = vaultOnly, "vault"
	l, err := sources.Load(context.Background(), ins, opts)
	if l == nil {
		t.Fatalf("Load: %v", err)
	}
	for _, st := range l.Files {
		assertBalanced(t, st)
	}
	return l
}

// assertBalanced fails when a line of st is not accounted for.
func assertBalanced(t testing.TB, st sources.FileStats) {
	t.Helper()
	if !st.Balanced() {
		t.Errorf("%s: lines %d != parsed %d + malformed %d + skipped %d (%v)",
			st.File, st.Lines, st.Parsed, st.Malformed, st.SkippedTotal(), st.Skipped)
	}
}

// loadVaultBytes writes data to a temporary file called name and loads it.
func loadVaultBytes(t testing.TB, name string, data []byte, opts sources.LoadOptions) (*sources.Loaded, sources.FileStats) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	l := loadVault(t, opts, p)
	return l, l.Files[0]
}

// eventAt returns the event whose evidence is at line n, or nil.
func eventAt(evs []event.Event, n int) *event.Event {
	for i := range evs {
		if evs[i].Pos.Line == n {
			return &evs[i]
		}
	}
	return nil
}

// readLines returns the lines of a test data file (without line endings).
func readLines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// synthLine is a small valid Vault request entry; i makes its id and time unique.
func synthLine(i int, path string) string {
	return fmt.Sprintf(`{"time":"2026-09-23T10:%02d:%02d.000Z","type":"request","auth":{"accessor":"hmac-sha256:aa","display_name":"svc","entity_id":"e1","policies":["p"]},"request":{"id":"r%d","operation":"read","path":%q,"mount_point":"kv/","mount_type":"kv","remote_address":"10.0.0.1"}}`,
		(i/60)%60, i%60, i, path)
}
