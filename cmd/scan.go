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
	o.logConfig(cfg)
	loaded, inErrs, err := loadInputs(ctx, &o.analysisOptions, "scan", o.Paths, sources.FormatVault,
		"check the paths; directories are read recursively and globs must be quoted for the shell not to expand them")
	if err != nil {
		return err
	}
	p := &pipeline{opts: &o.analysisOptions, command: "scan", cfg: cfg, loaded: loaded, inErrs: inErrs, start: start}
	return p.run(ctx)
}

// loadInputs expands the command-line paths and reads them, with progress on a terminal. Paths
// that match nothing are warnings; nothing readable at all is a runtime error (exit 3).
func loadInputs(ctx context.Context, o *analysisOptions, command string, paths []string, format sources.Format, hint string) (*sources.Loaded, []error, error) {
	ins, inErrs := sources.Expand(paths)
	o.warn(inErrs)
	if len(ins) == 0 {
		return nil, nil, runtimef(hint, fmt.Errorf("%s: %w", command, sources.ErrNothingRead))
	}
	prog := newProgress(o.IO, o.Quiet, o.Verbose, ins)
	lo := o.loadOptions(format)
	lo.Progress = prog.hook()
	loaded, err := sources.Load(ctx, ins, lo)
	prog.finish()
	if errors.Is(err, sources.ErrNothingRead) {
		for _, e := range loaded.Errors {
			fmt.Fprintf(o.IO.Err, "error: %s\n", report.Sanitize(e.Error()))
		}
		return nil, nil, runtimef("check the paths and their permissions", fmt.Errorf("%s: %w", command, err))
	}
	if err != nil {
		return nil, nil, runtimef("", fmt.Errorf("%s: %w", command, err))
	}
	o.warn(loaded.Errors)
	return loaded, inErrs, nil
}

// warn prints non-fatal input problems on standard error unless --quiet.
func (o *analysisOptions) warn(errs []error) {
	if o.Quiet {
		return
	}
	for _, e := range errs {
		fmt.Fprintf(o.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
	}
}
