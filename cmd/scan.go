package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

type scanOptions struct {
	analysisOptions
	profileOptions
	storeOptions
	Paths []string
}

func newScanCmd(s Streams, runF func(context.Context, *scanOptions) error) *cobra.Command {
	opts := &scanOptions{analysisOptions: analysisOptions{IO: s}}
	c := &cobra.Command{
		Use:   "scan [flags] FILE|DIR|GLOB|- ...",
		Short: "Analyse Vault / OpenBao, CloudTrail and Kubernetes audit logs (files, S3, Loki, Elasticsearch, OpenSearch)",
		Long: "scan reads Vault / OpenBao file audit device logs and CloudTrail records (S3 export trees,\n" +
			"lookup-events output, arrays, NDJSON), plain or gzip, from files, directories, globs or - for stdin.\n" +
			"Each file's format is detected from its content; files that are not audit logs are skipped\n" +
			"(--verbose lists them). All events are ordered by log time and analysed as one stream.\n" +
			"No event at all in the inputs is an error (exit 3), never \"no findings\".\n" +
			"With --loki, --elasticsearch or --opensearch the audit log is read from the log store instead of files\n" +
			"(docs/sources.md, \"Loki and Elasticsearch live\").",
		Example: "  vaultsentry scan audit.log\n" +
			"  vaultsentry scan --format sarif -o vault.sarif --fail-on high /var/log/vault/\n" +
			"  vaultsentry scan --config vaultsentry.yaml --learn-until 24h audit.log.1.gz audit.log\n" +
			"  vaultsentry scan --loki http://loki:3100 --query '{job=\"vault-audit\"}' --since 24h\n" +
			"  vaultsentry scan --elasticsearch https://es:9200 --index 'logs-hashicorp_vault.audit-*' --since 7d",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 && !opts.storeOptions.given() {
				return usagef("name at least one audit log, directory or glob, or - for standard input (e.g. vaultsentry scan /var/log/vault/audit.log)",
					"scan: no input given")
			}
			return nil
		},
	}
	opts.addFlags(c)
	opts.addProfileFlags(c)
	opts.addStoreFlags(c)
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Paths = args
		if err := opts.validate(); err != nil {
			return err
		}
		if err := opts.validateStore(args, opts.since); err != nil {
			return err
		}
		if runF == nil {
			runF = runScan
		}
		return opts.profile(func() error { return runF(cc.Context(), opts) })
	}
	return c
}

func runScan(ctx context.Context, o *scanOptions) error {
	start := time.Now()
	cfg, err := loadConfig(o.ConfigPath)
	if err != nil {
		return err
	}
	return o.exit(app.Scan(ctx, app.ScanRequest{Options: o.options(cfg, start), Paths: o.Paths, Store: o.store}))
}
