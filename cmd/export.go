package cmd

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/lake"
	"github.com/vaultsentry/vaultsentry/sources"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newExportCmd(s, nil) })
}

// exportOptions are the flags of `vaultsentry export`.
type exportOptions struct {
	IO           Streams
	Paths        []string
	Format       string
	Output       string
	Since, Until string
	Quiet        bool
	Verbose      bool
	MaxLine      int
	Region       string
	Account      string

	since, until app.TimeArg
}

func newExportCmd(s Streams, runF func(context.Context, *exportOptions) error) *cobra.Command {
	opts := &exportOptions{IO: s}
	c := &cobra.Command{
		Use:   "export --format parquet|ocsf-parquet|ndjson -o DIR [flags] FILE|DIR|GLOB|- ...",
		Short: "Write the normalised events to a data lake: Parquet (read back by scan), OCSF Parquet for Security Lake, NDJSON",
		Long: "export reads the same inputs as scan (every store) and writes their events, one row per event, in time\n" +
			"order, partitioned by day under -o DIR (DIR/dt=YYYY-MM-DD/part-*.parquet): time, store, principal,\n" +
			"display_name, credential, operation, secret, mount, namespace, source_address, user_agent, outcome,\n" +
			"value_read, file and line, and the typed facts the detectors read. scan, trace and review read a parquet\n" +
			"or ndjson export back as an input, with the same findings as the logs it came from and each event still\n" +
			"citing its original file and line. ocsf-parquet writes OCSF 1.1.0 API Activity (class 6003) records, the\n" +
			"shape Amazon Security Lake takes from a custom source, laid out as it requires (DIR/region=R/accountId=A/\n" +
			"eventDay=YYYYMMDD/; --region and --account for the events that name none). No secret value is written.\n" +
			"Exporting the same inputs again replaces their files; other inputs add files beside them.",
		Example: "  vaultsentry export --format parquet -o lake/vault /var/log/vault/\n" +
			"  vaultsentry scan lake/vault/\n" +
			"  vaultsentry export --format ocsf-parquet --region eu-west-1 --account 111122223333 --since 24h -o ext/vault/ /var/log/vault/audit.log",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name the audit logs to export, as for scan (e.g. vaultsentry export --format parquet -o lake/ /var/log/vault/)",
					"export: no input given")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.Format, "format", "f", "", "what to write: "+strings.Join(lake.Formats(), ", ")+" (required)")
	f.StringVarP(&opts.Output, "output", "o", "", "the `DIR` to write into, created when missing (required)")
	f.StringVar(&opts.Since, "since", "", "only events at or after `TIME` (RFC 3339, or a duration back from the newest event)")
	f.StringVar(&opts.Until, "until", "", "only events before `TIME` (RFC 3339, or a duration back from the newest event)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary on standard error")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "more detail on standard error (every file written)")
	f.IntVar(&opts.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read; longer lines are skipped and counted")
	f.StringVar(&opts.Region, "region", "", "ocsf-parquet: the `REGION` of the Security Lake partition (region=) for events that name none (CloudTrail's keep their own)")
	f.StringVar(&opts.Account, "account", "", "ocsf-parquet: the `ACCOUNT` id of the Security Lake partition (accountId=) for events that name none")
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Paths = args
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runExport
		}
		return runF(cc.Context(), opts)
	}
	return c
}

func (o *exportOptions) validate() error {
	formats := strings.Join(lake.Formats(), "|")
	switch {
	case o.Format == "":
		return usagef("pass --format "+formats, "export: --format is required")
	case !slices.Contains(lake.Formats(), o.Format):
		return usagef("pass --format "+formats, "export: unknown format %q (want one of %s)", o.Format, strings.Join(lake.Formats(), ", "))
	case o.Output == "" || o.Output == "-":
		return usagef("pass -o DIR: an export is a tree of files partitioned by day", "export: -o DIR is required")
	case o.Quiet && o.Verbose:
		return usagef("pass one of them", "--quiet and --verbose exclude each other")
	case o.MaxLine <= 0:
		return usagef("give a positive number of bytes", "--max-line-bytes must be positive")
	case o.Format == lake.FormatOCSFParquet && (o.Region == "" || !accountID.MatchString(o.Account)):
		return usagef("pass --region and --account (12 digits) of the Security Lake the custom source belongs to, e.g. --region eu-west-1 --account 111122223333",
			"export: ocsf-parquet files events under region=/accountId=/eventDay= as Security Lake requires; Vault and Kubernetes events name no region or account")
	case o.Format != lake.FormatOCSFParquet && (o.Region != "" || o.Account != ""):
		return usagef("drop them, or pass --format ocsf-parquet", "export: --region and --account are the Security Lake partition of ocsf-parquet only")
	}
	return parseTimeFlags(timeFlag{"--since", o.Since, &o.since}, timeFlag{"--until", o.Until, &o.until})
}

// accountID is an AWS account id.
var accountID = regexp.MustCompile(`^[0-9]{12}$`)

func runExport(ctx context.Context, o *exportOptions) error {
	_, err := app.Export(ctx, app.ExportRequest{
		Options: app.Options{IO: o.IO.app(), Since: o.since, Until: o.until, Quiet: o.Quiet, Verbose: o.Verbose,
			MaxLineBytes: o.MaxLine, MaxDecompressedBytes: sources.DefaultMaxDecompressedBytes, Start: time.Now()},
		Paths: o.Paths, Format: o.Format, Dir: o.Output, SecurityLake: lake.SecurityLake{Region: o.Region, Account: o.Account},
	})
	return err
}
