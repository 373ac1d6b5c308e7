package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportRules holds the layout's import directions: the event model is a leaf that needs
// only the standard library; analysis, the baseline and trace never depend on how a source
// reads its input, on cmd or on the AWS SDK; the baseline does not depend on analyze; each
// input format is a package of its own; the run (internal/app) sits above the library packages,
// which never import it; and only main imports cmd. docs/ARCHITECTURE.md states the rules.
// awsSDKUsers are the only packages that import the AWS SDK: the LookupEvents reader, the
// Athena reader, the S3 reader and the Secrets Manager lister.
var awsSDKUsers = []string{"sources/lookupevents", "sources/athena", "sources/s3store", "inventory/awsinv"}

func TestImportRules(t *testing.T) {
	const mod = "github.com/vaultsentry/vaultsentry/"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, d := range deps("./event") {
		if d != mod+"event" {
			t.Errorf("event imports %s: it may use only the standard library", d)
		}
	}
	for _, pkg := range []string{"./analyze", "./event", "./baseline", "./trace", "./review"} {
		for _, d := range deps(pkg) {
			if strings.HasPrefix(d, "github.com/aws/") || strings.HasPrefix(d, mod+"sources") || strings.HasPrefix(d, mod+"cmd") {
				t.Errorf("%s depends on %s", pkg, d)
			}
		}
	}
	// Sources: one package per input format over a shared root. Only the LookupEvents reader
	// talks to AWS; the root knows no format; a format package knows no other format
	// (lookupevents decodes what it fetches as CloudTrail records, and formats lists them all).
	out, err := exec.Command("go", "list", "./sources/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(pkg, mod)
		for _, d := range deps("./" + rel) {
			switch {
			case strings.HasPrefix(d, "github.com/aws/") && !slices.Contains(awsSDKUsers, rel):
				t.Errorf("%s depends on %s: only %s may use the AWS SDK", rel, d, strings.Join(awsSDKUsers, ", "))
			case rel == "sources" && strings.HasPrefix(d, mod+"sources/") && !strings.HasPrefix(d, mod+"sources/internal/"):
				t.Errorf("sources depends on %s: the shared root must not know a format", d)
			case strings.HasPrefix(d, mod+"sources/") && d != pkg && !strings.HasPrefix(d, mod+"sources/internal/") &&
				rel != "sources/formats" && !((rel == "sources/lookupevents" || rel == "sources/athena") && d == mod+"sources/cloudtrail"):
				t.Errorf("%s depends on %s: a format package must not depend on another", rel, d)
			}
		}
	}
	// The baseline is history only: analyze reads it, never the reverse.
	for _, d := range deps("./baseline") {
		if strings.HasPrefix(d, mod+"analyze") {
			t.Errorf("baseline depends on %s: analyze imports baseline, not the reverse", d)
		}
	}
	// internal/app runs the pipeline; the packages it wires never reach back into it.
	for _, pkg := range []string{"./analyze", "./sources/...", "./report", "./event", "./baseline", "./trace", "./notify", "./metrics", "./review", "./lake"} {
		for _, d := range deps(pkg) {
			if d == mod+"internal/app" || strings.HasPrefix(d, mod+"internal/app/") {
				t.Errorf("%s depends on %s: internal/app imports the library packages, not the reverse", pkg, d)
			}
		}
	}
	// integrity checks files against their digests: no other package of the module, no AWS SDK.
	for _, d := range deps("./lake") {
		if d != mod+"lake" && strings.HasPrefix(d, mod) && d != mod+"event" {
			t.Errorf("lake depends on %s: it knows the event model only, never a source, the analysis or the run", d)
		}
	}
	// spill is the events' on-disk copy: the event model and the standard library only.
	for _, d := range deps("./spill") {
		if d != mod+"spill" && d != mod+"event" {
			t.Errorf("spill depends on %s: it may use only the standard library and event", d)
		}
	}
	for _, d := range deps("./integrity") {
		if d != mod+"integrity" && (strings.HasPrefix(d, mod) || strings.HasPrefix(d, "github.com/aws/")) {
			t.Errorf("integrity depends on %s: it may use only the standard library and klauspost/compress", d)
		}
	}
	// signing is the SSH signature format: the standard library, x/crypto/ssh and sshsig only.
	for _, d := range deps("./signing") {
		if d != mod+"signing" && !strings.HasPrefix(d, "golang.org/x/") && d != "github.com/hiddeco/sshsig" {
			t.Errorf("signing depends on %s: it may use only the standard library, golang.org/x/crypto and hiddeco/sshsig", d)
		}
	}
	// The inventory's records, reader and Vault walker use the standard library and the Vault API
	// client (hashicorp/vault/api); its AWS lister (inventory/awsinv) is one of the awsSDKUsers.
	for _, d := range deps("./inventory") {
		if d != mod+"inventory" && (strings.HasPrefix(d, mod) || strings.HasPrefix(d, "github.com/aws/")) {
			t.Errorf("inventory depends on %s: it may use only the standard library and the Vault API client", d)
		}
	}
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || slices.Contains(awsSDKUsers, strings.TrimPrefix(f[0], mod)) {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/aws/") {
				t.Errorf("%s imports %s: only %s may import the AWS SDK", f[0], imp, strings.Join(awsSDKUsers, ", "))
			}
		}
	}
	// cmd is the command line: main is its only importer (its own external tests aside).
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == strings.TrimSuffix(mod, "/") || f[0] == mod+"cmd" {
			continue
		}
		for _, imp := range f[1:] {
			if imp == mod+"cmd" {
				t.Errorf("%s imports cmd: only main.go may", f[0])
			}
		}
	}
}
