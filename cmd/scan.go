package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

type scanOptions struct {
	analysisOptions
	profileOptions
	Paths []string
}

func newScanCmd(s Streams, runF func(context.Context, *scanOptions) error) *cobra.Command {
	opts := &scanOptions{analysisOptions: analysisOptions{IO: s}}
	c := &cobra.Command{
		Use:   "scan [flags] FILE|DIR|GLOB|- ...",
		Short: "Analyse Vault / OpenBao file audit logs",
		Long: "scan reads Vault / OpenBao file audit device logs (NDJSON, gzip, directories, globs, - for stdin),\n" +
			"orders all entries by log time and reports findings.",
		Example: "  vaultsentry scan audit.log\n" +
			"  vaultsentry scan --format sarif -o vault.sarif --fail-on high /var/log/vault/\n" +
			"  vaultsentry scan --config vaultsentry.yaml --learn-until 24h audit.log.1.gz audit.log",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name at least one audit log, directory or glob, or - for standard input (e.g. vaultsentry scan /var/log/vault/audit.log)",
					"scan: no input given")
			}
			return nil
		},
	}
	opts.addFlags(c)
	opts.addProfileFlags(c)
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Paths = args
		if err := opts.validate(); err != nil {
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
	ins, inErrs := sources.Expand(o.Paths)
	for _, e := range inErrs {
		if !o.Quiet {
			fmt.Fprintf(o.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
		}
	}
	if len(ins) == 0 {
		return runtimef("check the paths; directories are read recursively and globs must be quoted for the shell not to expand them",
			fmt.Errorf("scan: %w", sources.ErrNothingRead))
	}
	loaded, err := sources.Load(ctx, ins, sources.LoadOptions{Format: sources.FormatVault, MaxLineBytes: o.MaxLine, Stdin: o.IO.In})
	if errors.Is(err, sources.ErrNothingRead) {
		for _, e := range loaded.Errors {
			fmt.Fprintf(o.IO.Err, "error: %s\n", report.Sanitize(e.Error()))
		}
		return runtimef("check the paths and their permissions", fmt.Errorf("scan: %w", err))
	}
	if err != nil {
		return runtimef("", fmt.Errorf("scan: %w", err))
	}
	for _, e := range loaded.Errors {
		if !o.Quiet {
			fmt.Fprintf(o.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
		}
	}
	p := &pipeline{opts: &o.analysisOptions, command: "scan", cfg: cfg, loaded: loaded, inErrs: inErrs, start: start}
	return p.run(ctx)
}
