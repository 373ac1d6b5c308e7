package cmd

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/inventory"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newInventoryCmd(s, nil) })
}

// inventoryOptions are the flags of `vaultsentry inventory vault|aws`.
type inventoryOptions struct {
	IO      Streams
	Store   string // vault, aws
	Output  string
	Quiet   bool
	Mounts  []string
	Regions []string
}

func newInventoryCmd(s Streams, runF func(context.Context, *inventoryOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:   "inventory",
		Short: "List the secrets a store holds (names and dates, never a value), for review --inventory",
		Long: "inventory writes one JSON line per secret of a store, for `vaultsentry review --inventory`: the secrets no log\n" +
			"line mentions (never-read) and write times older than the logs. It asks for names and metadata only, never a\n" +
			"value. Its own requests appear in the audit logs (a LIST walk is what enumeration looks for): name the identity\n" +
			"that runs it in the configuration's inventory_identities (docs/review.md).",
		Args:               cobra.ArbitraryArgs,
		RunE:               unknownSubcommand,
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
	}
	if runF == nil {
		runF = runInventory
	}
	sub := func(store string, cc *cobra.Command) *cobra.Command {
		opts := &inventoryOptions{IO: s, Store: store}
		f := cc.Flags()
		f.StringVarP(&opts.Output, "output", "o", "", "write to `FILE` (replaced whole when the listing succeeds) instead of standard output")
		f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on standard error")
		if store == "vault" {
			f.StringArrayVar(&opts.Mounts, "mount", nil, "walk only this KV `MOUNT` (e.g. secret/); repeatable (default: every KV mount sys/mounts lists)")
		} else {
			f.StringArrayVar(&opts.Regions, "region", nil, "list this `REGION`; repeatable (default: the configured region, AWS_REGION)")
		}
		cc.Args = func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("the "+store+" inventory takes flags only (see --help)", "inventory %s: unexpected argument %q", store, args[0])
			}
			return nil
		}
		cc.RunE = func(x *cobra.Command, _ []string) error {
			for _, m := range opts.Mounts {
				if strings.Trim(m, "/") == "" {
					return usagef("give a mount path such as secret/", "--mount %q is empty", m)
				}
			}
			for _, r := range opts.Regions {
				if r == "" || strings.ContainsAny(r, " /") {
					return usagef("give a region such as eu-west-1", "--region %q is not a region", r)
				}
			}
			return runF(x.Context(), opts)
		}
		return cc
	}
	c.AddCommand(
		sub("vault", &cobra.Command{
			Use:   "vault [-o FILE] [--mount M ...]",
			Short: "Walk the KV v1/v2 mounts of Vault or OpenBao (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE): LIST and metadata only",
			Long: "inventory vault walks every KV mount (or those --mount names) through the HTTP API of Vault or OpenBao, at\n" +
				"VAULT_ADDR with VAULT_TOKEN, in VAULT_NAMESPACE when set: sys/mounts for the mounts and their KV version, LIST\n" +
				"on each folder, and on KV v2 one metadata read per secret (created_time, updated_time, current_version,\n" +
				"custom_metadata). It never reads a secret: KV v1 has no metadata, so its records have null times. A folder\n" +
				"the token may not list is reported on standard error and counted, and the walk goes on.\n\n" +
				"The token needs: read on sys/mounts (or --mount, which falls back to sys/internal/ui/mounts), list on\n" +
				"MOUNT/metadata/* (v2) or MOUNT/* (v1), read on MOUNT/metadata/* (v2).",
			Example: "  VAULT_ADDR=https://vault.example.com:8200 vaultsentry inventory vault -o inventory.jsonl\n" +
				"  vaultsentry inventory vault --mount secret/ --mount team-kv/ -o inventory.jsonl",
		}),
		sub("aws", &cobra.Command{
			Use:   "aws [--region R ...] [-o FILE]",
			Short: "List AWS Secrets Manager secrets in each region (ListSecrets: names, dates, rotation, tags; never a value)",
			Long: "inventory aws calls Secrets Manager ListSecrets (paginated) in each --region with the usual AWS credential\n" +
				"chain (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, ...) and writes one JSON line per secret:\n" +
				"created_time, updated_time (LastChangedDate), last_accessed_time, last_rotated_time, next_rotation_time,\n" +
				"rotation_enabled, tags, arn, region. It needs secretsmanager:ListSecrets only, and never asks for a value.\n" +
				"`aws secretsmanager list-secrets` output can be given to review --inventory as it is, instead.",
			Example: "  vaultsentry inventory aws --region eu-west-1 --region us-east-1 -o inventory-aws.jsonl",
		}),
	)
	return c
}

func runInventory(ctx context.Context, o *inventoryOptions) error {
	req := app.InventoryRequest{IO: o.IO.app(), Output: o.Output, Quiet: o.Quiet, Regions: o.Regions,
		Vault: inventory.VaultOptions{Addr: os.Getenv("VAULT_ADDR"), Token: os.Getenv("VAULT_TOKEN"), Namespace: os.Getenv("VAULT_NAMESPACE"), Mounts: o.Mounts}}
	if o.Store == "vault" {
		if req.Vault.Addr == "" || req.Vault.Token == "" {
			return usagef("export VAULT_ADDR (https://vault.example.com:8200) and VAULT_TOKEN (a token that may list the KV mounts)",
				"inventory vault: VAULT_ADDR and VAULT_TOKEN must be set")
		}
		return app.InventoryVault(ctx, req)
	}
	return app.InventoryAWS(ctx, req)
}
