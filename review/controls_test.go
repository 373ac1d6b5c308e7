package review

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// TestFrameworksFile: the embedded mapping parses strictly, every control the issue names is in
// it with a title, evidence and a remediation, and every evidence kind is documented.
func TestFrameworksFile(t *testing.T) {
	fws, err := ParseFrameworks(frameworksYAML)
	if err != nil {
		t.Fatalf("frameworks.yaml: %v", err)
	}
	want := map[string][]string{
		"soc2":     {"CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC7.3"},
		"iso27001": {"A.5.15", "A.5.17", "A.5.18", "A.8.2", "A.8.5", "A.8.15", "A.8.16"},
		"pci4": {"3.6.1", "3.7.4", "7.2.4", "7.2.5.1", "8.6.3", "10.2.1.1", "10.2.1.2", "10.2.1.3", "10.2.1.4", "10.2.1.5", "10.2.1.6",
			"10.2.1.7", "10.2.2", "10.3.2", "10.4.1", "10.4.1.1", "10.7.2"},
		"hipaa": {"164.308(a)(1)(ii)(D)", "164.312(b)"},
		"gdpr":  {"Art. 32", "Art. 33(3)"},
	}
	if got := FrameworkIDs(nil); !slices.Equal(got, []string{"soc2", "iso27001", "pci4", "hipaa", "gdpr"}) {
		t.Errorf("framework ids = %v", got)
	}
	for _, fw := range fws {
		var ids []string
		for _, c := range fw.Controls {
			ids = append(ids, c.ID)
		}
		for _, id := range want[fw.ID] {
			if !slices.Contains(ids, id) {
				t.Errorf("%s: control %s missing", fw.ID, id)
			}
		}
		if fw.Version == "" {
			t.Errorf("%s: no version", fw.ID)
		}
	}
	for _, k := range EvidenceKinds() {
		if EvidenceKindDoc(k) == "" {
			t.Errorf("evidence kind %s has no description", k)
		}
	}
	for k := range kindDoc {
		if _, ok := kinds[k]; !ok {
			t.Errorf("kindDoc describes %s, which is not computed", k)
		}
	}
	// Nearby invalid files are refused, with the reason.
	bad := []struct{ name, yaml, want string }{
		{"unknown key", "frameworks:\n  - id: x\n    nam3: X\n", "unknown field \"nam3\""},
		{"unknown kind", "frameworks:\n  - id: x\n    name: X\n    controls:\n      - {id: C1, title: t, evidence: [vibes], remediation: r}\n", `unknown evidence kind "vibes"`},
		{"no remediation", "frameworks:\n  - id: x\n    name: X\n    controls:\n      - {id: C1, title: t, evidence: [rotation]}\n", "give a remediation"},
		{"bad id", "frameworks:\n  - id: \"a b\"\n    name: X\n    controls:\n      - {id: C1, title: t, evidence: [rotation], remediation: r}\n", "give a short id"},
		{"twice", "frameworks:\n  - id: x\n    name: X\n    controls:\n      - {id: C1, title: t, evidence: [rotation], remediation: r}\n      - {id: C1, title: t, evidence: [rotation], remediation: r}\n", `id "C1" given twice`},
	}
	for _, b := range bad {
		if _, err := ParseFrameworks([]byte(b.yaml)); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want %q", b.name, err, b.want)
		}
	}
}

func TestSelectFrameworks(t *testing.T) {
	user := []Framework{{ID: "acme", Name: "ACME", Controls: []ControlDef{{ID: "K1", Title: "t", Evidence: []string{"rotation"}, Remediation: "r"}}}}
	fws, err := SelectFrameworks([]string{"pci4", "acme", "pci4"}, user)
	if err != nil || len(fws) != 2 || fws[0].ID != "pci4" || fws[1].ID != "acme" {
		t.Fatalf("select = %v, %v", fws, err)
	}
	_, err = SelectFrameworks([]string{"pci5"}, user)
	if err == nil || !strings.Contains(err.Error(), `unknown framework "pci5" (known: soc2, iso27001, pci4, hipaa, gdpr, acme)`) {
		t.Errorf("err = %v", err)
	}
	if fws, err := SelectFrameworks(nil, nil); err != nil || len(fws) != 0 {
		t.Errorf("no --framework: %v, %v", fws, err)
	}
}

func controlOf(t *testing.T, cs []Control, fw, id string) Control {
	t.Helper()
	for _, c := range cs {
		if c.Framework == fw && c.ID == id {
			return c
		}
	}
	t.Fatalf("control %s %s not in %d controls", fw, id, len(cs))
	return Control{}
}

// TestControls judges controls against built reviews: a person reading production is an
// exception, the clean review is evidence, and missing integrity or history evidence is a gap.
func TestControls(t *testing.T) {
	all, _ := SelectFrameworks(FrameworkIDs(nil), nil)
	cfg := DefaultConfig()
	cfg.CIScopes = []CIScope{{Identity: "ci-staging", Secrets: []string{"kv/staging/*"}}}
	prior := baseline.New()
	for _, ev := range []event.Event{read(-10*day, "app", event.ClassWorkload, "kv/prod/app/db"), read(-10*day, "ci-staging", event.ClassWorkload, "kv/staging/app/db"),
		read(-9*day, "alice", event.ClassPerson, "kv/dev/tools")} {
		prior.Learn(&ev)
	}
	// The period: the app and CI read what they always read; alice reads her dev secret; the
	// secrets were written at the start of the period and read after.
	clean := []event.Event{
		write(0, "rotator", "kv/prod/app/db"), write(0, "rotator", "kv/staging/app/db"), write(0, "rotator", "kv/dev/tools"),
		read(time.Hour, "app", event.ClassWorkload, "kv/prod/app/db"),
		read(time.Hour, "ci-staging", event.ClassWorkload, "kv/staging/app/db"),
		read(2*time.Hour, "alice", event.ClassPerson, "kv/dev/tools"),
	}
	input := func(file, format string) InputFact {
		return InputFact{File: file, Format: format, Events: 6, First: t0, Last: t0.Add(2 * time.Hour)}
	}
	facts := func() Facts {
		return Facts{Config: cfg, History: true, Inventory: true, Events: 6, Rules: 22, Version: "test",
			Inputs: []InputFact{input("trail/AWSLogs/1/CloudTrail/us-east-1/2026/01/05/a.json.gz", "cloudtrail")},
			Trees:  []TreeFact{{Tree: "trail", Status: "valid", LogFiles: 1, Digests: 1}}}
	}
	// The logs cover the day up to the last event: the period ends just after it.
	end := t0.Add(2*time.Hour + time.Nanosecond)
	rv := Build(clean, t0, end, cfg, prior, nil)
	cs := Controls(rv, facts(), all)
	if len(cs) != 33 {
		t.Errorf("%d controls, want 33", len(cs))
	}
	for _, c := range cs {
		if c.ID == "10.2.1.3" {
			if c.Status != StatusGap {
				t.Errorf("10.2.1.3 = %s, want gap: access to the logs is never in them", c.Status)
			}
			continue
		}
		if c.Status != StatusEvidence {
			t.Errorf("clean review: %s %s = %s: %s", c.Framework, c.ID, c.Status, c.Evidence)
		}
		if c.Evidence == "" || c.Remediation == "" || c.Title == "" {
			t.Errorf("%s %s: empty field: %+v", c.Framework, c.ID, c)
		}
	}
	if c := controlOf(t, cs, "pci4", "3.6.1"); !strings.Contains(c.Evidence, "no person read a production secret (production: *prod*; 1 access by people to other secrets)") {
		t.Errorf("3.6.1 evidence: %s", c.Evidence)
	}
	if c := controlOf(t, cs, "pci4", "10.3.2"); !strings.Contains(c.Evidence, "1 CloudTrail tree valid (1 log file, 1 digest checked)") {
		t.Errorf("10.3.2 evidence: %s", c.Evidence)
	}

	// A person reads production: an exception where the controls rest on it, naming who.
	prod := append(slices.Clone(clean), read(3*time.Hour, "bob", event.ClassPerson, "kv/prod/app/db"))
	rv = Build(prod, t0, t0.Add(4*time.Hour), cfg, prior, nil)
	f := facts()
	f.Inputs[0].Last = t0.Add(3 * time.Hour)
	cs = Controls(rv, f, all)
	for _, id := range [][2]string{{"pci4", "3.6.1"}, {"soc2", "CC6.1"}, {"soc2", "CC6.3"}, {"iso27001", "A.8.2"}, {"gdpr", "Art. 32"}} {
		c := controlOf(t, cs, id[0], id[1])
		if c.Status != StatusException || !strings.Contains(c.Evidence, "1 person read production secrets in 1 access") ||
			!slices.Contains(c.Resources, "bob read kv/prod/app/db") {
			t.Errorf("%s %s = %s (%s) %v, want an exception naming bob", id[0], id[1], c.Status, c.Evidence, c.Resources)
		}
	}
	// An exception wins over a gap: without ci_scopes the CI part of 3.6.1 cannot be shown, and
	// the person's read still needs a decision.
	noScopes := f
	noScopes.Config.CIScopes = nil
	if c := controlOf(t, Controls(rv, noScopes, all), "pci4", "3.6.1"); c.Status != StatusException || !strings.Contains(c.Evidence, "no ci_scopes in the configuration") {
		t.Errorf("3.6.1 with an exception and a gap = %s: %s", c.Status, c.Evidence)
	}
	if c := controlOf(t, cs, "pci4", "3.7.4"); c.Status != StatusEvidence {
		t.Errorf("3.7.4 does not rest on who reads: %s %s", c.Status, c.Evidence)
	}

	// No digest: the integrity of a Vault audit log cannot be shown; an invalid tree is an
	// exception; no history: new access cannot be told.
	rv = Build(clean, t0, end, cfg, prior, nil)
	f = facts()
	f.Inputs, f.Trees = []InputFact{input("/var/log/vault/audit.log", "vault")}, nil
	f.History = false
	cs = Controls(rv, f, all)
	if c := controlOf(t, cs, "pci4", "10.3.2"); c.Status != StatusGap || !strings.Contains(c.Evidence, "1 input (vault: 1) carry no integrity evidence") {
		t.Errorf("10.3.2 without digests = %s: %s", c.Status, c.Evidence)
	}
	if c := controlOf(t, cs, "soc2", "CC6.2"); c.Status != StatusGap || !strings.Contains(c.Evidence, "cannot be told without a history before the period") {
		t.Errorf("CC6.2 without history = %s: %s", c.Status, c.Evidence)
	}
	f = facts()
	f.Trees[0].Status, f.Trees[0].Problems = "invalid", 2
	cs = Controls(rv, f, all)
	if c := controlOf(t, cs, "pci4", "10.3.2"); c.Status != StatusException || !strings.Contains(c.Evidence, "CloudTrail tree trail is invalid (2 problems)") {
		t.Errorf("10.3.2 invalid tree = %s: %s", c.Status, c.Evidence)
	}
	// A file in the tree that no digest lists (an export next to the S3 layout) has no integrity
	// evidence even when the tree is valid.
	f = facts()
	f.Inputs = append(f.Inputs, input("trail/records.ndjson", "cloudtrail"))
	if c := controlOf(t, Controls(rv, f, all), "pci4", "10.3.2"); c.Status != StatusGap || !slices.Contains(c.Resources, "trail/records.ndjson") ||
		!strings.Contains(c.Evidence, "1 CloudTrail tree valid") {
		t.Errorf("10.3.2 with an unlisted file = %s: %s %v", c.Status, c.Evidence, c.Resources)
	}
	f = facts()
	f.Trees[0].Status, f.Trees[0].Reason = "unverifiable", "no public key"
	if c := controlOf(t, Controls(rv, f, all), "pci4", "10.3.2"); c.Status != StatusGap {
		t.Errorf("10.3.2 unverifiable tree = %s: %s", c.Status, c.Evidence)
	}

	// The logs start two days into a period given by --since: completeness is a gap.
	rv = Build(clean, t0.Add(-2*day), end, cfg, prior, nil)
	if c := controlOf(t, Controls(rv, facts(), all), "pci4", "10.4.1"); c.Status != StatusGap || !strings.Contains(c.Evidence, "less than the period") {
		t.Errorf("10.4.1 short logs = %s: %s", c.Status, c.Evidence)
	}

	// A finding at medium is an exception for the controls on findings; a low one is not.
	rv = Build(clean, t0, end, cfg, prior, nil)
	f = facts()
	f.Findings = []analyze.Finding{{Rule: "new-source-ip", Severity: analyze.Low, Identity: "app"}}
	if c := controlOf(t, Controls(rv, f, all), "soc2", "CC7.3"); c.Status != StatusEvidence {
		t.Errorf("CC7.3 with a low finding = %s: %s", c.Status, c.Evidence)
	}
	f.Findings = append(f.Findings, analyze.Finding{Rule: "audit-disabled", Severity: analyze.Critical, Identity: "root"})
	cs = Controls(rv, f, all)
	for _, id := range [][2]string{{"soc2", "CC7.3"}, {"pci4", "10.2.1.6"}, {"pci4", "10.7.2"}} {
		if c := controlOf(t, cs, id[0], id[1]); c.Status != StatusException || !slices.Contains(c.Resources, "audit-disabled root") {
			t.Errorf("%s %s with audit-disabled = %s: %s %v", id[0], id[1], c.Status, c.Evidence, c.Resources)
		}
	}

	// No read in the period at all (a write-only trail): the access controls are gaps.
	rv = Build([]event.Event{write(0, "rotator", "kv/prod/app/db")}, t0, end, cfg, prior, nil)
	cs = Controls(rv, facts(), all)
	for _, id := range [][2]string{{"pci4", "10.2.1.1"}, {"gdpr", "Art. 33(3)"}, {"hipaa", "164.312(b)"}} {
		if c := controlOf(t, cs, id[0], id[1]); c.Status != StatusGap || !strings.Contains(c.Evidence, "no read of a secret value") {
			t.Errorf("%s %s without reads = %s: %s", id[0], id[1], c.Status, c.Evidence)
		}
	}
	// Without an inventory never-read cannot be known: the unused-secrets evidence is a gap.
	f = facts()
	f.Inventory = false
	if c := controlOf(t, Controls(Build(clean, t0, end, cfg, prior, nil), f, all), "iso27001", "A.5.18"); c.Status != StatusGap ||
		!strings.Contains(c.Evidence, "never-read cannot be known") {
		t.Errorf("A.5.18 without inventory = %s: %s", c.Status, c.Evidence)
	}
}

var update = flag.Bool("update", false, "rewrite the controls table in docs/review.md")

const (
	docBegin = "<!-- controls table: generated from review/frameworks.yaml by go test ./review -run TestControlsDoc -update -->\n"
	docEnd   = "<!-- end of controls table -->\n"
)

// controlsTable is docs/review.md's mapping table: every control of frameworks.yaml with the
// evidence kinds it rests on, then the kinds.
func controlsTable() string {
	var b strings.Builder
	b.WriteString("| `--framework` | framework | version | controls |\n|---|---|---|---:|\n")
	for _, fw := range Frameworks() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d |\n", fw.ID, fw.Name, fw.Version, len(fw.Controls))
	}
	b.WriteString("\n| framework | control | requirement (paraphrased) | evidence kinds |\n|---|---|---|---|\n")
	for _, fw := range Frameworks() {
		for _, c := range fw.Controls {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", fw.ID, c.ID, c.Title, "`"+strings.Join(c.Evidence, "`, `")+"`")
		}
	}
	b.WriteString("\n| evidence kind | rests on |\n|---|---|\n")
	for _, k := range EvidenceKinds() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k, EvidenceKindDoc(k))
	}
	return b.String()
}

// TestControlsDoc: the table in docs/review.md is the mapping file's, so it cannot go stale.
func TestControlsDoc(t *testing.T) {
	const path = "../docs/review.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, docBegin), strings.Index(doc, docEnd)
	if i < 0 || j < i {
		t.Fatalf("docs/review.md has no controls table between %q and %q", docBegin, docEnd)
	}
	want := doc[:i+len(docBegin)] + controlsTable() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("docs/review.md's controls table differs from review/frameworks.yaml: run go test ./review -run TestControlsDoc -update")
}
