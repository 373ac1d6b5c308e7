package report

import (
	"context"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// incidentFile is the synthetic incident (testdata/gen/incident.py): routine reads, a harvest by a
// stolen token from outside, and an identity whose names and paths carry markup and escapes.
const incidentFile = "../testdata/vault/incident.jsonl"

// incidentResult runs the real pipeline (load, analyse) over the incident and fills a Result the
// way cmd does, with one suppressed finding and a fixed generation time.
func incidentResult(t testing.TB) (*Result, []event.Event) {
	t.Helper()
	loaded, err := sources.Load(context.Background(), []sources.Input{{Name: incidentFile}}, sources.LoadOptions{Formats: formats.Files(), Only: "vault"})
	if err != nil {
		t.Fatalf("load %s: %v", incidentFile, err)
	}
	cfg := analyze.DefaultConfig()
	res := analyze.Run(loaded.Events, analyze.Env{Config: &cfg})
	if len(res.Findings) < 2 {
		t.Fatalf("the incident should produce findings, got %d", len(res.Findings))
	}
	r := &Result{
		Tool: "vaultsentry", Version: "v1.2.3", Command: "scan", Rules: res.Rules, Files: loaded.Files,
		Events: len(loaded.Events), Location: time.UTC, Generated: time.Date(2026, 9, 24, 6, 0, 0, 0, time.UTC),
		Findings: res.Findings[1:], Notes: []string{"a note with <b>markup</b> | pipes"},
		Suppressed:      []SuppressedFinding{{Finding: res.Findings[0], Reason: "known <nightly> job", Expires: "2027-01-31"}},
		SuppressedCount: 1, Previous: 2, Hidden: 1,
	}
	r.First, r.Last = sources.Span(loaded.Events)
	r.Charts = BuildCharts(loaded.Events, r.Findings, r.First, r.Last)
	return r, loaded.Events
}

// fixedResult is a hand-made Result for golden files: it does not change when detectors do.
func fixedResult() *Result {
	t0 := time.Date(2026, 9, 23, 23, 41, 7, 0, time.UTC)
	evil := "evil<script>alert(1)</script>|*_`[x](http://e.test)\n::warning::owned\x1b[31m"
	fs := []analyze.Finding{
		{Rule: "bulk-read", Severity: analyze.Critical, Title: "Bulk secret read (harvesting)",
			Message: "60 reads of 25 distinct secrets between 2026-09-23T23:41:07Z and 2026-09-23T23:44:02Z (2m55s)",
			Source:  "vault", Identity: "0b7a-entity", DisplayName: "k8s-eu1-risk-fraud-model", Credential: "hmac-sha256:1b3c",
			Resources: []string{"kv/prod/a", "kv/prod/b", "database/creds/ledger-rw"}, SourceIPs: []string{"2a0e:97c0:5c6:11::2f"},
			FirstSeen: t0, LastSeen: t0.Add(175 * time.Second), Count: 60,
			Evidence:    []analyze.Evidence{{File: "vault-main/audit.log", Line: 1201, Time: t0}, {File: "vault-main/audit.log", Line: 1203, Time: t0.Add(time.Second)}},
			Remediation: "vault token revoke -accessor <accessor>; rotate the secrets listed"},
		{Rule: "dual-source-ip", Severity: analyze.High, Title: "Credential used from internal and external addresses",
			Message: "credential used from internal and external addresses", Source: "vault", Identity: "e-evil", DisplayName: evil,
			Credential: "hmac-sha256:ev|il", Resources: []string{"kv/x<img src=x onerror=alert(2)>|`*_[]/s0\r\n::error::pwned"},
			SourceIPs: []string{"10.0.0.1", "198.51.100.20"}, FirstSeen: t0.Add(time.Hour), LastSeen: t0.Add(time.Hour), Count: 2,
			Evidence: []analyze.Evidence{{File: "a|b.log", Line: 7, Time: t0.Add(time.Hour)}}},
	}
	rules := []analyze.Rule{
		{ID: "bulk-read", Name: "Bulk secret read", Severity: analyze.Critical, Summary: "one credential reads many secrets",
			Help: "Fires at 30 reads over 10 secrets in 5 minutes.", Guide: "Trace the credential, revoke it, rotate what it read.", MITRE: []string{"T1555.006"}},
		{ID: "dual-source-ip", Name: "Credential used from two networks", Severity: analyze.Critical, Summary: "one credential, internal and external addresses",
			Help: "Within an hour.", Guide: "Revoke the credential; trace the external address.", MITRE: []string{"T1078", "T9999"}},
	}
	return &Result{Tool: "vaultsentry", Version: "v1.2.3", Command: "scan", Findings: fs, Rules: rules, Location: time.UTC,
		Files:  []sources.FileStats{{File: "vault-main/audit.log", Format: "vault", Lines: 5000, Parsed: 4998, Malformed: 2, Events: 2400}},
		Events: 2400, First: t0.Add(-24 * time.Hour), Last: t0.Add(2 * time.Hour), Notes: []string{"note with <b>markup</b> | pipe"},
		SuppressedCount: 1, Previous: 3,
		Suppressed: []SuppressedFinding{{Finding: analyze.Finding{Rule: "bulk-read", Identity: "backup", DisplayName: "backup-nightly"},
			Reason: "nightly backup | reads everything", Expires: "2027-01-31"}},
	}
}
