package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestGoreleaserConfig checks the structure of .goreleaser.yaml without goreleaser (scripts/test.sh
// also runs `goreleaser check` when goreleaser can be installed): static, trimmed builds for
// linux/darwin/windows on amd64/arm64, version/commit/date set by ldflags, checksums and an SBOM.
func TestGoreleaserConfig(t *testing.T) {
	data, err := os.ReadFile(".goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int `yaml:"version"`
		Builds  []struct {
			Main    string   `yaml:"main"`
			Binary  string   `yaml:"binary"`
			Env     []string `yaml:"env"`
			Flags   []string `yaml:"flags"`
			Ldflags []string `yaml:"ldflags"`
			Goos    []string `yaml:"goos"`
			Goarch  []string `yaml:"goarch"`
		} `yaml:"builds"`
		Archives []struct {
			Formats []string `yaml:"formats"`
			Files   []string `yaml:"files"`
		} `yaml:"archives"`
		Checksum struct {
			Algorithm string `yaml:"algorithm"`
		} `yaml:"checksum"`
		Sboms []struct {
			Artifacts string `yaml:"artifacts"`
		} `yaml:"sboms"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse .goreleaser.yaml: %v", err)
	}
	if cfg.Version != 2 {
		t.Errorf("version = %d, want 2 (goreleaser v2 schema)", cfg.Version)
	}
	if len(cfg.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if b.Main != "." || b.Binary != "vaultsentry" {
		t.Errorf("main %q binary %q", b.Main, b.Binary)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Error("builds must set CGO_ENABLED=0 (static binaries)")
	}
	if !slices.Contains(b.Flags, "-trimpath") {
		t.Error("builds must pass -trimpath")
	}
	ld := strings.Join(b.Ldflags, " ")
	for _, v := range []string{"version={{.Version}}", "commit={{.Commit}}", "date={{.Date}}"} {
		if !strings.Contains(ld, "-X github.com/vaultsentry/vaultsentry/cmd."+v) {
			t.Errorf("ldflags do not set cmd.%s", v)
		}
	}
	slices.Sort(b.Goos)
	slices.Sort(b.Goarch)
	if !slices.Equal(b.Goos, []string{"darwin", "linux", "windows"}) || !slices.Equal(b.Goarch, []string{"amd64", "arm64"}) {
		t.Errorf("targets %v x %v, want darwin/linux/windows x amd64/arm64", b.Goos, b.Goarch)
	}
	if len(cfg.Archives) == 0 || !slices.Contains(cfg.Archives[0].Files, "vaultsentry.example.yaml") {
		t.Error("archives should ship the example configuration")
	}
	if cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm %q, want sha256", cfg.Checksum.Algorithm)
	}
	if len(cfg.Sboms) == 0 || cfg.Sboms[0].Artifacts != "archive" {
		t.Error("an SBOM per archive is expected (sboms: artifacts: archive)")
	}
}

// TestVersionLdflags builds the binary the way the release does (-trimpath, CGO_ENABLED=0, the
// same -X flags) and checks that `vaultsentry version` prints what the flags set.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "vaultsentry")
	const pkg = "github.com/vaultsentry/vaultsentry/cmd."
	build := exec.Command("go", "build", "-trimpath", "-ldflags",
		"-s -w -X "+pkg+"version=9.8.7 -X "+pkg+"commit=abc1234 -X "+pkg+"date=2026-09-24T06:00:00Z", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("vaultsentry version: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "vaultsentry 9.8.7 (commit abc1234, built 2026-09-24T06:00:00Z)"; got != want {
		t.Errorf("version = %q, want %q", got, want)
	}
}
