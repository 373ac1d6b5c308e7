package app

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

func TestIgnoreMatching(t *testing.T) {
	entries, err := NewIgnoreList([]IgnoreRule{
		{Rule: "bulk-read", Identity: "backup-*", Reason: "nightly backup"},
		{Rule: "bulk-read", Resource: "kv/reports/*", Reason: "report exports", Expires: "2030-01-31"},
		{Rule: "dual-*", Identity: "vpn-user", Reason: "VPN egress", Expires: "2020-01-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 9, 24, 0, 0, 0, 0, time.UTC)
	f := func(rule, id, display string, res ...string) analyze.Finding {
		return analyze.Finding{Rule: rule, Identity: id, DisplayName: display, Resources: res}
	}
	tests := []struct {
		name string
		f    analyze.Finding
		want bool // suppressed
	}{
		{"identity glob on the display name", f("bulk-read", "e-1", "backup-nightly", "kv/a"), true},
		{"same identity, other rule", f("dual-source-ip", "e-1", "backup-nightly"), false},
		{"identity glob near miss", f("bulk-read", "e-2", "nightly-backup", "kv/a"), false},
		{"every resource inside the glob", f("bulk-read", "e-3", "bi", "kv/reports/a", "kv/reports/b"), true},
		{"one resource outside the glob", f("bulk-read", "e-3", "bi", "kv/reports/a", "kv/prod/db"), false},
		{"resource glob and no resources", f("bulk-read", "e-3", "bi"), false},
		{"expired entry suppresses nothing", f("dual-source-ip", "e-4", "vpn-user"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, sup, expired := applyIgnore([]analyze.Finding{tt.f}, entries, now)
			if got := len(sup) == 1; got != tt.want || len(kept)+len(sup) != 1 {
				t.Errorf("suppressed = %v, want %v", got, tt.want)
			}
			if len(expired) != 1 || expired[0].Index != 2 {
				t.Errorf("expired = %+v, want entry 2", expired)
			}
		})
	}
	// The expiry day itself still counts; the day after does not.
	e := entries[1]
	if e.expired(time.Date(2030, 1, 31, 23, 59, 0, 0, time.UTC)) || !e.expired(time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("an entry expires at the end of its expiry day")
	}
}

func TestPreviousReport(t *testing.T) {
	a := analyze.Finding{Rule: "bulk-read", Identity: "e-1", Resources: []string{"kv/a", "kv/b"}}
	b := analyze.Finding{Rule: "bulk-read", Identity: "e-1", Resources: []string{"kv/a", "kv/c"}} // one secret differs
	gone := analyze.Finding{Rule: "decoy-access", Identity: "e-2", Resources: []string{"kv/decoy"}}
	dir := t.TempDir()
	prev := filepath.Join(dir, "yesterday.json")
	doc, _ := json.Marshal(map[string]any{"tool": "vaultsentry", "findings": []map[string]string{
		{"fingerprint": a.Fingerprint(), "rule": "bulk-read", "severity": "critical", "title": "Bulk secret read"},
		{"fingerprint": gone.Fingerprint(), "rule": "decoy-access", "severity": "high", "title": "Decoy touched",
			"identity": "e-2", "first_seen": "2026-09-22T10:00:00Z"},
	}})
	if err := os.WriteFile(prev, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	pr, err := ReadPreviousReport(prev)
	if err != nil || !pr.Found || len(pr.Findings) != 2 {
		t.Fatalf("read previous report: %+v %v", pr, err)
	}
	kept, dropped := dropPrevious([]analyze.Finding{a, b}, pr.Fingerprints)
	if len(dropped) != 1 || len(kept) != 1 || kept[0].Fingerprint() != b.Fingerprint() {
		t.Errorf("kept %d, dropped %d: only the finding with a new secret should remain", len(kept), len(dropped))
	}
	ch := changesSince(pr, []analyze.Finding{a, b}, dropped)
	if len(ch.Recurring) != 1 || ch.Recurring[0].Fingerprint != a.Fingerprint() {
		t.Errorf("recurring = %+v, want the finding both reports have", ch.Recurring)
	}
	if len(ch.Resolved) != 1 || ch.Resolved[0].Fingerprint != gone.Fingerprint() || ch.Resolved[0].Severity != analyze.High ||
		ch.Resolved[0].Title != "Decoy touched" || ch.Resolved[0].FirstSeen.IsZero() {
		t.Errorf("resolved = %+v, want the previous report's finding this run lacks", ch.Resolved)
	}
	if pr, err := ReadPreviousReport(filepath.Join(dir, "missing.json")); err != nil || pr.Found || len(pr.Fingerprints) != 0 {
		t.Errorf("a missing previous report counts as empty: %+v err=%v", pr, err)
	}
	bad := filepath.Join(dir, "sarif.json")
	os.WriteFile(bad, []byte(`{"version":"2.1.0","runs":[]}`), 0o644)
	var ue *UsageError
	if _, err := ReadPreviousReport(bad); !errors.As(err, &ue) {
		t.Errorf("a file that is not a vaultsentry report is a usage error, got %v", err)
	}
}
