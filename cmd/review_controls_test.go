package cmd

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestReviewFrameworkFlag: --framework takes a comma list and repeats.
func TestReviewFrameworkFlag(t *testing.T) {
	s, _, _ := TestStreams()
	var got []string
	c := newReviewCmd(s, func(_ context.Context, o *reviewOptions) error { got = o.Frameworks; return nil })
	c.SetArgs([]string{"--framework", "soc2,pci4", "--framework", "gdpr", "audit.log"})
	if err := c.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"soc2", "pci4", "gdpr"}) {
		t.Errorf("frameworks = %v", got)
	}
}

// TestUserFramework: a framework of the configuration is selectable next to the shipped ones
// and named in the unknown-id error; mistakes in it are usage errors that say where.
func TestUserFramework(t *testing.T) {
	lc, err := loadConfig(writeConfig(t, `frameworks:
  - id: acme-sec
    name: ACME security policy
    version: "2026"
    controls:
      - id: SEC-4
        title: Production secrets are read by workloads only.
        evidence: [person-production-access, ci-scope]
        remediation: Revoke the grant.
`))
	if err != nil {
		t.Fatal(err)
	}
	fws, err := reviewFrameworks([]string{"acme-sec", "pci4"}, lc)
	if err != nil || len(fws) != 2 || fws[0].ID != "acme-sec" || !fws[0].User || fws[0].Controls[0].ID != "SEC-4" || fws[1].ID != "pci4" {
		t.Fatalf("frameworks = %+v, %v", fws, err)
	}
	_, err = reviewFrameworks([]string{"soc3"}, lc)
	s, _, errb := TestStreams()
	if code := exitCode(s, err); code != 2 || !strings.Contains(err.Error(), "known: soc2, iso27001, pci4, hipaa, gdpr, acme-sec") {
		t.Errorf("unknown framework: exit %d, %v %s", code, err, errb)
	}

	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown key with its line", "frameworks:\n  - id: x\n    name: X\n    controls:\n      - id: C\n        titel: t\n", "[6:9] unknown field \"titel\""},
		{"unknown kind", "frameworks:\n  - id: x\n    name: X\n    controls:\n      - {id: C, title: t, evidence: [magic], remediation: r}\n", `unknown evidence kind "magic" (known: `},
		{"shipped id", "frameworks:\n  - id: pci4\n    name: X\n    controls:\n      - {id: C, title: t, evidence: [rotation], remediation: r}\n", `id "pci4" is taken`},
		{"no controls", "frameworks:\n  - id: x\n    name: X\n", "x: give controls"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			s, _, _ := TestStreams()
			if code := exitCode(s, err); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
		})
	}
}
