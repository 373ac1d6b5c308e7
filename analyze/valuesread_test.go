package analyze

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestValuesRead: a harvest of 22 secrets whose values were returned, 3 denied reads and 2 KV v2
// metadata reads inside the burst: resources keep all 27, values_read and the remediation's
// "rotate these" only the 22. A credential that only tried decoys and was denied is told that
// nothing needs rotating.
func TestValuesRead(t *testing.T) {
	var evs []event.Event
	var want []string
	for i := range 22 {
		p := fmt.Sprintf("kv/data/prod/s%02d", i)
		evs = append(evs, vev(time.Duration(i)*2*time.Second, "fraud", event.OpRead, p, withFlags(event.FlagValueRead)))
		want = append(want, kvResource(p))
	}
	for i := range 3 {
		evs = append(evs, vev(50*time.Second+time.Duration(i)*time.Second, "fraud", event.OpRead,
			fmt.Sprintf("kv/data/prod/denied%d", i), withFlags(event.FlagValueRead), denied))
	}
	for i := range 2 {
		evs = append(evs, vev(55*time.Second+time.Duration(i)*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/metadata/prod/meta%d", i)))
	}
	// The same identity's value read an hour later is outside the finding's span.
	evs = append(evs, vev(2*time.Hour, "fraud", event.OpRead, "kv/data/prod/s00", withFlags(event.FlagValueRead)))
	fs := runDetector(t, NewBulkRead, DefaultConfig(), evs)
	if len(fs) != 1 {
		t.Fatalf("want one bulk-read, got %d: %v", len(fs), rulesOf(fs))
	}
	f := fs[0]
	if len(f.Resources) != 27 {
		t.Errorf("resources: %d, want all 27 involved: %q", len(f.Resources), f.Resources)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(f.ValuesRead))
	if !slices.Equal(got, want) {
		t.Errorf("values_read:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(f.Remediation, "rotate these 22, whose values were returned") || strings.Contains(f.Remediation, "denied") ||
		strings.Contains(f.Remediation, rotateListed) {
		t.Errorf("remediation should ask to rotate the 22 returned only: %s", f.Remediation)
	}

	// Nearby negative: only denied reads of decoys: nothing was given away.
	cfg := DefaultConfig()
	cfg.Decoys = []string{"kv/data/prod/break-glass/*"}
	dfs := runDetector(t, NewDecoyAccess, cfg, []event.Event{
		vev(0, "kyc", event.OpRead, "kv/data/prod/break-glass/db-root", withFlags(event.FlagValueRead), denied),
	})
	if len(dfs) != 1 {
		t.Fatalf("want one decoy-access, got %v", rulesOf(dfs))
	}
	if len(dfs[0].ValuesRead) != 0 || dfs[0].ValuesRead == nil {
		t.Errorf("denied decoy read: values_read %q, want an empty list", dfs[0].ValuesRead)
	}
	if dfs[0].Remediation != "" && strings.Contains(dfs[0].Remediation, rotateListed) {
		t.Errorf("remediation still asks to rotate the secrets listed: %s", dfs[0].Remediation)
	}
}
