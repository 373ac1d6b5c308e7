package report

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenDir holds the expected renderings (go test ./report -update rewrites them).
const goldenDir = "../testdata/golden"

// t0 is the fixed log time of the fixtures: golden files must not depend on the clock.
var t0 = time.Date(2026, 9, 23, 23, 41, 0, 0, time.UTC)

// testRules are fixed here rather than taken from analyze.Rules(), so a detector's help text
// changing does not churn the golden files of the renderers.
func testRules() []analyze.Rule {
	return []analyze.Rule{
		{ID: "bulk-read", Name: "Bulk secret read", Severity: analyze.High,
			Summary: "One credential read many distinct secrets in a short window.",
			Help:    "Harvesting: 30 reads of 10 distinct paths within 5 minutes by default.",
			Guide:   "List what the credential read; revoke it if the reads are not expected.",
			MITRE:   []string{"T1555"}},
		{ID: "dual-source-ip", Name: "Credential used from two places", Severity: analyze.Medium,
			Summary: "The same credential was used from an internal and an external address.",
			Help:    "A stolen token used from outside while its workload keeps using it inside."},
	}
}

// goldenResult is a small, deterministic run: two findings, two files, one with problems.
func goldenResult() *Result {
	return &Result{
		Tool: "vaultsentry", Version: "v1.2.3", Command: "scan", Rules: testRules(),
		Findings: []analyze.Finding{
			{Rule: "bulk-read", Severity: analyze.High, Title: "Bulk secret read",
				Message: "42 reads of 40 distinct secrets in 0.1s", Source: "vault",
				Identity: "f3d4a1c2-0000-4000-8000-4b7b00000001", DisplayName: "approle",
				Credential: "hmac-sha256:32d654c0e44d0714f8e6908fac8c0a6a5c81907ffe9062c952eb43162f54dee0",
				Resources:  []string{"secret/team-a/db", "secret/team-b/api", "secret/team-c/tls", "secret/team-d/ssh"},
				SourceIPs:  []string{"203.0.113.199"},
				FirstSeen:  t0, LastSeen: t0.Add(100 * time.Millisecond), Count: 42,
				Evidence: []analyze.Evidence{
					{File: "logs/audit.log", Line: 120, Time: t0},
					{File: "logs/audit.log", Line: 121, Time: t0.Add(2 * time.Millisecond)},
				},
				Remediation: "Find the token: vault list auth/token/accessors, then vault token revoke -accessor <accessor>."},
			{Rule: "dual-source-ip", Severity: analyze.Medium, Title: "Credential used from two places",
				Message: "used from 10.0.40.15 and 203.0.113.199 within 60m", Source: "vault",
				Identity: "f3d4a1c2-0000-4000-8000-4b7b00000001", DisplayName: "approle",
				Credential: "hmac-sha256:32d654c0e44d0714f8e6908fac8c0a6a5c81907ffe9062c952eb43162f54dee0",
				Resources:  []string{"secret/team-a/db"}, SourceIPs: []string{"10.0.40.15", "203.0.113.199"},
				FirstSeen: t0.Add(-10 * time.Minute), LastSeen: t0, Count: 2,
				Evidence: []analyze.Evidence{
					{File: "logs/audit.log", Line: 12, Time: t0.Add(-10 * time.Minute)},
					{File: "logs/audit.log", Line: 120, Time: t0},
				},
				Remediation: "Revoke the token and find how it left its workload."},
		},
		Files: []sources.FileStats{
			{File: "logs/audit.log", Format: "vault", Bytes: 362258, Lines: 253, Parsed: 250, Events: 127, Malformed: 2,
				Skipped:    map[string]int{"blank": 1},
				Problems:   []sources.Problem{{Line: 7, Reason: "invalid JSON: truncated entry (unexpected end of line)"}, {Line: 9, Reason: "not a JSON object"}},
				FirstEvent: t0.Add(-time.Hour), LastEvent: t0.Add(time.Minute)},
			{File: "logs/audit.log.1.gz", Format: "vault", Compressed: true, Bytes: 1000, Lines: 4, Parsed: 4, Events: 2,
				ReadError:  "read logs/audit.log.1.gz after line 4 (byte 1000): decompress at compressed byte 310: unexpected EOF (everything before it is kept)",
				FirstEvent: t0.Add(-2 * time.Hour), LastEvent: t0.Add(-2 * time.Hour)},
		},
		Errors: []string{"open logs/missing.log: no such file"},
		Notes:  []string{"203.0.113.5 is the address of 90% of requests: a load balancer may hide the clients"},
		Events: 129, First: t0.Add(-2 * time.Hour), Last: t0.Add(time.Minute),
		Generated: t0.Add(time.Hour),
	}
}

// render renders r in format.
func render(t testing.TB, format string, r *Result) []byte {
	t.Helper()
	rd, err := New(format)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rd.Render(&b, r); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return b.Bytes()
}

// attackerStrings are what a hostile client can put in a path, a display name or a user agent
// (the real Vault refuses some of them at the HTTP layer, but a file can hold anything).
var attackerStrings = []string{
	"\x1b[31mRED\x1b[0m \x1b[2J\x1b[H",                                                 // colours, clear screen, cursor home
	"\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07",                            // OSC 8 hyperlink, BEL-terminated
	"\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",                            // OSC 8 hyperlink, ST-terminated
	"\x1b]0;pwned title\x07\x1b]2;other title\x1b\\",                                   // window title
	"\x1bP+q544e\x1b\\ \x1b[6n \x1b[?1049h",                                            // DCS query, cursor report, alt screen
	"\u009b31m C1 CSI \u009d0;t\u009c \x9b raw C1 byte",                                // C1 controls, as UTF-8 and as a raw byte
	"invoice\u202egnp.exe \u2066iso\u2069 \u202a\u202b\u202c\u202d",                    // bidi overrides and isolates
	"zero\u200bwidth\u200c\u200d\u2060\ufeff\u00adsoft \u3164 \u115f",                  // invisible characters
	"line1\nline2\rline3\r\n\u2028\u2029\u0085end",                                     // line breaks of every kind
	"::error file=app.go::forged\n::set-output name=x::y\n##[error]forged",             // CI workflow commands
	"tab\there nul\x00 bell\a del\x7f bs\b ff\f vt\v",                                  // C0 controls
	"bad utf8 \xff\xfe \xc0\xaf \xe2\x82",                                              // invalid UTF-8
	`\x1b[31m \u202e already-escaped look-alikes \\`,                                   // must not pass for our escapes
	"| fake | column | row |\n+---+---+",                                               // table look-alikes
	"tags\U000E0041\U000E007F variation\ufe0f",                                         // tag characters
	`"}, {"rule":"x","severity":"critical","identity":"forged`,                         // JSON injection
	"</script><script>alert(1)</script> [link](javascript:alert(1)) **bold** <b>x</b>", // markup
	strings.Repeat("A", 300) + "-END",                                                  // a very long value
}

// corpusAttackerEvents returns the events of the real capture with attacker strings that
// OpenBao accepted and logged.
func corpusAttackerEvents(t testing.TB) []event.Event {
	t.Helper()
	l, err := sources.Load(context.Background(), []sources.Input{{Name: "../testdata/vault/openbao-capture4-attacker-strings-audit.log"}},
		sources.LoadOptions{Formats: formats.Files(), Only: "vault"})
	if err != nil || len(l.Events) == 0 {
		t.Fatalf("load capture 4: %v", err)
	}
	return l.Events
}

// hostileResult puts each attacker string in every log-derived field of one finding.
func hostileResult(t testing.TB) (*Result, []string) {
	t.Helper()
	strs := append([]string(nil), attackerStrings...)
	for _, ev := range corpusAttackerEvents(t) {
		for _, s := range []string{ev.Path, ev.UserAgent} {
			if s != "" && !slices.Contains(strs, s) {
				strs = append(strs, s)
			}
		}
	}
	r := goldenResult()
	r.Findings = nil
	for i, s := range strs {
		r.Findings = append(r.Findings, analyze.Finding{
			Rule: "bulk-read", Severity: analyze.High, Title: "Bulk secret read",
			Message: "read " + s, Source: "vault", Identity: "entity " + s, DisplayName: s, Credential: "hmac-sha256:" + s,
			Resources: []string{s, "secret/plain"}, SourceIPs: []string{"203.0.113.9"},
			FirstSeen: t0.Add(time.Duration(i) * time.Second), LastSeen: t0.Add(time.Duration(i) * time.Second), Count: 30,
			Evidence:    []analyze.Evidence{{File: "logs/" + s, Line: i + 1, Time: t0}},
			Remediation: "revoke " + s,
		})
	}
	r.Files = append(r.Files, sources.FileStats{File: "logs/" + strings.Join(attackerStrings[:3], ""), Format: "vault",
		Lines: 1, Malformed: 1, Problems: []sources.Problem{{Line: 1, Reason: "reason " + attackerStrings[5]}},
		ReadError: "read " + attackerStrings[0]})
	r.Errors = append(r.Errors, "open "+attackerStrings[1]+": no such file")
	r.Notes = append(r.Notes, "note "+attackerStrings[6])
	return r, strs
}

// golden compares got with testdata/golden/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run go test ./report -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it; review the diff):\n--- got\n%s", name, got)
	}
}

func loadZone(name string) (*time.Location, error) { return time.LoadLocation(name) }
