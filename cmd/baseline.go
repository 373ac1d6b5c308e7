package cmd

import (
	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/sources"
)

func init() { extraCommands = append(extraCommands, newBaselineCmd) }

func newBaselineCmd(s Streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "baseline",
		Short: "Inspect or learn a baseline file without reporting",
		Args:  cobra.ArbitraryArgs,
		RunE:  unknownSubcommand,
		// A mistyped subcommand comes with the flags of the one meant (baseline lern --baseline F):
		// the name is the mistake to report, not the flags.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
	}
	c.AddCommand(newBaselineShowCmd(s), newBaselineLearnCmd(s))
	return c
}

func newBaselineShowCmd(s Streams) *cobra.Command {
	var identity string
	c := &cobra.Command{
		Use:   "show FILE",
		Short: "Print what a baseline knows, and how old each part is",
		Example: "  vaultsentry baseline show state.vsb\n" +
			"  vaultsentry baseline show state.vsb --identity k8s-eu1-ledger-ledger-api",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("name the baseline file: vaultsentry baseline show FILE", "baseline show: want exactly one FILE, got %d", len(args))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			return app.ShowBaseline(s.Out, args[0], identity)
		},
	}
	c.Flags().StringVar(&identity, "identity", "", "show only identities whose principal or display name contains `TEXT`")
	return c
}

type baselineLearnOptions struct {
	scanOptions
}

func newBaselineLearnCmd(s Streams) *cobra.Command {
	opts := &baselineLearnOptions{scanOptions: scanOptions{analysisOptions: analysisOptions{IO: s}}}
	c := &cobra.Command{
		Use:     "learn --baseline FILE [flags] FILE|DIR|GLOB|- ...",
		Short:   "Learn a baseline from Vault audit logs without reporting findings",
		Example: "  vaultsentry baseline learn --baseline state.vsb /var/log/vault/audit.log.*.gz",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name the logs to learn from", "baseline learn: no input given")
			}
			return nil
		},
		RunE: func(cc *cobra.Command, args []string) error {
			opts.Paths = args
			opts.UpdateBaseline = true
			opts.Quiet = true
			opts.Format = "json"
			if opts.BaselinePath == "" {
				return usagef("add --baseline FILE (created when missing)", "baseline learn needs --baseline")
			}
			if err := opts.validate(); err != nil {
				return err
			}
			opts.discard = true
			return runScan(cc.Context(), &opts.scanOptions)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.BaselinePath, "baseline", "", "baseline `FILE` to update (created when missing)")
	f.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration `FILE`")
	f.StringVar(&opts.Since, "since", "", "learn from events at or after `TIME`")
	f.StringVar(&opts.Until, "until", "", "learn from events before `TIME`")
	f.StringVar(&opts.BaselineMaxAge, "baseline-max-age", "", "drop what was last seen longer ago than `DURATION`")
	f.IntVar(&opts.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read")
	f.Int64Var(&opts.MaxDecompressed, "max-decompressed-bytes", sources.DefaultMaxDecompressedBytes, "stop reading a compressed input (gzip, zstd, bzip2, xz) after this many decompressed bytes (decompression bomb guard)")
	f.IntVar(&opts.MaxGzipRatio, "max-gzip-ratio", sources.DefaultMaxGzipRatio, "stop reading a compressed input that expands more than this many times, checked after 256 MiB (0: no ratio check)")
	opts.Timezone, opts.MinSeverity = "UTC", "info"
	return c
}
