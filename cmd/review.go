package cmd

import (
	"context"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newReviewCmd(s, nil) })
}

// reviewOptions are the flags of `vaultsentry review`.
type reviewOptions struct {
	IO           Streams
	Paths        []string
	ConfigPath   string
	BaselinePath string
	Since, Until string
	Format       string
	Output       string
	FailOn       string
	Quiet        bool
	Verbose      bool
	MaxLine      int
	Signatures   string
	PublicKeys   []string
	Inventory    []string
	Signoff      signoffOptions // --sign-key, --reviewer, --verify, ... (review_signoff.go)
	Frameworks   []string

	since, until app.TimeArg
	integrity    integrity.Options
	failOn       analyze.Severity
}

func newReviewCmd(s Streams, runF func(context.Context, *reviewOptions) error) *cobra.Command {
	opts := &reviewOptions{IO: s}
	c := &cobra.Command{
		Use:   "review [flags] FILE|DIR|GLOB|- ...",
		Short: "The periodic access review and secret hygiene: who read which secret, what is due for rotation, what nobody uses",
		Long: "review reads the same inputs as scan and writes the evidence of a periodic review for the period --since ..\n" +
			"--until (default: the whole input): one row per identity and secret (reads, denied attempts, networks, the\n" +
			"identity's class) with flags for a person reading production, CI outside its scope, access new since the\n" +
			"baseline and access after dormancy; one row per secret (last write, last read, readers since the write) with\n" +
			"the verdicts rotation-overdue, rotated-never-read, unused, rarely-read and, with --inventory (the stores' own\n" +
			"lists, from vaultsentry inventory), never-read; the log file integrity of every\n" +
			"CloudTrail tree among the inputs (as vaultsentry verify); and the findings of scan over the period. Ages count from the end of the period, never the wall clock. The configuration's production,\n" +
			"ci_scopes and hygiene keys tune it (docs/review.md); --baseline adds the history a daily run has carried.\n" +
			"--framework soc2,iso27001,pci4,hipaa,gdpr (or a framework of the configuration) adds one row per control with\n" +
			"its status (evidence, exception, gap), the evidence behind it and its remediation.\n" +
			"With -o, a manifest (inputs and report files with their SHA-256, rules, thresholds, suppressed findings, the\n" +
			"reviewer) is written next to the report, signed in the SSH signature format with --sign-key; --verify checks it.",
		Example: "  vaultsentry review --config vaultsentry.yaml --baseline state.vsb --since 90d /var/log/vault/\n" +
			"  vaultsentry review --format json -o review.json --since 2026-07-01T00:00:00Z --until 2026-10-01T00:00:00Z archive/\n" +
			"  vaultsentry review --format csv -o review/ /var/log/vault/\n" +
			"  vaultsentry review --framework pci4,soc2 --format json -o review.json /var/log/vault/\n" +
			"  vaultsentry review --format html -o review.html --reviewer 'A. Auditor' --sign-key ~/.ssh/id_ed25519 /var/log/vault/\n" +
			"  vaultsentry review --verify review.html --allowed-signers allowed_signers",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name the audit logs of the period, as for scan (e.g. vaultsentry review --since 90d /var/log/vault/)", "review: no input given")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration `FILE` (default ./"+DefaultConfigFile+" when it exists)")
	f.StringVar(&opts.BaselinePath, "baseline", "", "history learned before the period, from `FILE` (read, never written)")
	f.StringVar(&opts.Since, "since", "", "the period starts at `TIME` (RFC 3339, or a duration such as 90d counted back from the newest event)")
	f.StringVar(&opts.Until, "until", "", "the period ends before `TIME` (RFC 3339, or a duration counted back from the newest event)")
	f.StringVarP(&opts.Format, "format", "f", "markdown", "output format: "+strings.Join(report.ReviewFormats(), ", ")+" (csv: one file per table into -o DIR)")
	f.StringVarP(&opts.Output, "output", "o", "", "write to `FILE` (for csv: a directory) instead of standard output")
	f.StringVar(&opts.FailOn, "fail-on", "", "exit 1 when a finding at or above this severity exists: "+strings.Join(analyze.Severities(), ", ")+" (default: never)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on standard error")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "more detail on standard error")
	f.StringVar(&opts.Signatures, "signatures", "", "JSON `FILE` of the CloudTrail digests' signatures by S3 key (as vaultsentry verify)")
	f.StringArrayVar(&opts.PublicKeys, "public-key", nil, "CloudTrail public key `FILE` for the digests' signatures; repeatable (as vaultsentry verify)")
	f.StringArrayVar(&opts.Inventory, "inventory", nil, "the secrets the stores hold, from `FILE` (vaultsentry inventory's JSON Lines, or aws secretsmanager list-secrets output): never-read, and write times older than the logs; repeatable")
	f.StringSliceVar(&opts.Frameworks, "framework", nil, "judge the controls of `IDS` (comma-separated or repeated): soc2, iso27001, pci4, hipaa, gdpr, or one of the configuration's frameworks")
	addSignoffFlags(f, &opts.Signoff)
	f.IntVar(&opts.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read; longer lines are skipped and counted")
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Paths = args
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runReview
		}
		return runF(cc.Context(), opts)
	}
	return c
}

func (o *reviewOptions) validate() error {
	if !slices.Contains(report.ReviewFormats(), o.Format) {
		return usagef("pass --format "+strings.Join(report.ReviewFormats(), "|"), "unknown format %q for review (want one of %s)",
			o.Format, strings.Join(report.ReviewFormats(), ", "))
	}
	if err := parseTimeFlags(timeFlag{"--since", o.Since, &o.since}, timeFlag{"--until", o.Until, &o.until}); err != nil {
		return err
	}
	var err error
	o.failOn = analyze.Critical + 1
	if o.FailOn != "" {
		if o.failOn, err = analyze.ParseSeverity(o.FailOn); err != nil {
			return usagef("pass --fail-on "+strings.Join(analyze.Severities(), "|"), "--fail-on: %v", err)
		}
	}
	if o.Quiet && o.Verbose {
		return usagef("pass one of them", "--quiet and --verbose exclude each other")
	}
	if o.MaxLine <= 0 {
		return usagef("give a positive number of bytes", "--max-line-bytes must be positive")
	}
	if err := o.Signoff.validate(o.Paths); err != nil {
		return err
	}
	o.integrity, err = integrityOptions(o.Signatures, o.PublicKeys)
	return err
}

func runReview(ctx context.Context, o *reviewOptions) error {
	if o.Signoff.Verify {
		return runReviewVerify(o)
	}
	start := time.Now()
	cfg, err := loadConfig(o.ConfigPath)
	if err != nil {
		return err
	}
	fws, err := reviewFrameworks(o.Frameworks, cfg)
	if err != nil {
		return err
	}
	out, err := app.Review(ctx, app.ReviewRequest{
		Options: app.Options{IO: o.IO.app(), Config: cfg.app(), Since: o.since, Until: o.until, BaselinePath: o.BaselinePath,
			Quiet: o.Quiet, Verbose: o.Verbose, MaxLineBytes: o.MaxLine, MaxDecompressedBytes: sources.DefaultMaxDecompressedBytes, Start: start},
		Paths: o.Paths, Format: o.Format, Output: o.Output, Command: append([]string{"vaultsentry"}, os.Args[1:]...), Integrity: o.integrity,
		Inventory:  o.Inventory,
		Frameworks: fws,
		Signoff:    o.Signoff.signoff,
	})
	if err != nil {
		return err
	}
	if out.Reaches(o.failOn) {
		return ErrFindings
	}
	return nil
}
