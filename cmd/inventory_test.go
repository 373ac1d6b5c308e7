package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestInventoryFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		usage string // substring of the usage error, "" for none
		check func(*inventoryOptions) bool
	}{
		{"vault", []string{"vault", "-o", "inv.jsonl", "--mount", "secret/", "--mount", "team/"}, "",
			func(o *inventoryOptions) bool {
				return o.Store == "vault" && o.Output == "inv.jsonl" && slices.Equal(o.Mounts, []string{"secret/", "team/"})
			}},
		{"aws", []string{"aws", "--region", "eu-west-1", "--region", "us-east-1"}, "",
			func(o *inventoryOptions) bool {
				return o.Store == "aws" && slices.Equal(o.Regions, []string{"eu-west-1", "us-east-1"})
			}},
		{"empty mount", []string{"vault", "--mount", "/"}, "--mount \"/\" is empty", nil},
		{"bad region", []string{"aws", "--region", "eu west"}, "is not a region", nil},
		{"an argument", []string{"vault", "secret/"}, "unexpected argument \"secret/\"", nil},
		{"mount is vault's", []string{"aws", "--mount", "secret/"}, "unknown flag", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := TestStreams()
			var got *inventoryOptions
			c := newInventoryCmd(s, func(_ context.Context, o *inventoryOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			c.SilenceErrors, c.SilenceUsage = true, true
			err := c.ExecuteContext(context.Background())
			if tt.usage != "" {
				if err == nil || !strings.Contains(err.Error(), tt.usage) {
					t.Fatalf("err %v, want an error about %q", err, tt.usage)
				}
				return
			}
			if err != nil || got == nil || !tt.check(got) {
				t.Fatalf("err %v, options %+v", err, got)
			}
		})
	}
}

// vaultsentry inventory vault without VAULT_ADDR or VAULT_TOKEN is a usage error that says what to set.
func TestInventoryVaultNeedsEnv(t *testing.T) {
	t.Setenv("VAULT_ADDR", "")
	t.Setenv("VAULT_TOKEN", "")
	s, _, _ := TestStreams()
	c := newInventoryCmd(s, nil)
	c.SetArgs([]string{"vault"})
	c.SilenceErrors, c.SilenceUsage = true, true
	err := c.ExecuteContext(context.Background())
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "VAULT_ADDR and VAULT_TOKEN") {
		t.Fatalf("err %v", err)
	}
}

func TestReviewInventoryFlagAndConfig(t *testing.T) {
	s, _, _ := TestStreams()
	var got *reviewOptions
	c := newReviewCmd(s, func(_ context.Context, o *reviewOptions) error { got = o; return nil })
	c.SetArgs([]string{"--inventory", "a.jsonl", "--inventory", "b.json", "audit.log"})
	if err := c.ExecuteContext(context.Background()); err != nil || got == nil || !slices.Equal(got.Inventory, []string{"a.jsonl", "b.json"}) {
		t.Fatalf("err %v, options %+v", err, got)
	}
	p := filepath.Join(t.TempDir(), "vaultsentry.yaml")
	os.WriteFile(p, []byte("inventory_identities: [\"approle-inventory*\", \"arn:aws:sts::*:assumed-role/inventory/*\"]\n"), 0o600)
	lc, err := loadConfig(p)
	if err != nil || !slices.Equal(lc.Review.InventoryIdentities, []string{"approle-inventory*", "arn:aws:sts::*:assumed-role/inventory/*"}) {
		t.Fatalf("config %+v, %v", lc.Review, err)
	}
	os.WriteFile(p, []byte("inventory_identities: [\"[\"]\n"), 0o600)
	if _, err := loadConfig(p); err == nil || !strings.Contains(err.Error(), "inventory_identities") {
		t.Errorf("a bad glob: %v", err)
	}
}
