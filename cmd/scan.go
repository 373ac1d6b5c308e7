package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
		Short: "Analyse Vault / OpenBao audit logs and CloudTrail records",
		Long: "scan reads Vault / OpenBao file audit device logs and CloudTrail records (S3 export trees,\n" +
			"lookup-events output, arrays, NDJSON), plain or gzip, from files, directories, globs or - for stdin.\n" +
			"Each file's format is detected from its content; files that are not audit logs are skipped\n" +
			"(--verbose lists them). All events are ordered by log time and analysed as one stream.\n" +
			"No event at all in the inputs is an error (exit 3), never \"no findings\".",
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
	loaded, inErrs, err := loadInputs(ctx, &o.analysisOptions, "scan", o.Paths, "",
		"check the paths; directories are read recursively and globs must be quoted for the shell not to expand them")
	if err != nil {
		return err
	}
	p := &pipeline{opts: &o.analysisOptions, command: "scan", cfg: cfg, loaded: loaded, inErrs: inErrs, start: start}
	return p.run(ctx)
}

// loadInputs expands the command-line paths and reads them, with progress on a terminal. Paths
// that match nothing are warnings; nothing readable at all is a runtime error (exit 3).
func loadInputs(ctx context.Context, o *analysisOptions, command string, paths []string, format string, hint string) (*sources.Loaded, []error, error) {
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
	if err := noEvents(o.IO, command, loaded, hint); err != nil {
		return nil, nil, err
	}
	return loaded, inErrs, nil
}

// noEvents is the error for a load that produced no event, after saying what each file held.
// A CI gate pointed at the wrong path must not pass: nothing read is not "no findings".
func noEvents(s Streams, command string, loaded *sources.Loaded, hint string) error {
	if len(loaded.Events) > 0 {
		return nil
	}
	for _, f := range loaded.Files {
		fmt.Fprintf(s.Err, "  %s: %s\n", report.Sanitize(f.File), report.Sanitize(describeEmpty(f)))
	}
	return runtimef("give Vault / OpenBao audit logs or CloudTrail records (files, directories, globs); "+hint,
		fmt.Errorf("%s: no input produced an event (%s)", command, countFiles(len(loaded.Files))))
}

// describeEmpty says what a file that gave no event held.
func describeEmpty(f sources.FileStats) string {
	switch {
	case f.NotRead != "":
		return f.NotRead
	case f.Lines == 0 && f.ReadError != "":
		return f.ReadError
	case f.Lines == 0:
		return "read as " + f.Format + ": no line"
	}
	parts := []string{fmt.Sprintf("read as %s: %d lines", f.Format, f.Lines)}
	if f.Malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed", f.Malformed))
	}
	keys := make([]string, 0, len(f.Skipped))
	for k := range f.Skipped {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d skipped (%s)", f.Skipped[k], k))
	}
	s := strings.Join(parts, ", ") + ", no event"
	if len(f.Problems) > 0 {
		s += fmt.Sprintf("; line %d: %s", f.Problems[0].Line, f.Problems[0].Reason)
	}
	if f.ReadError != "" {
		s += "; " + f.ReadError
	}
	return s
}

func countFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
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
