// Package cmd is the command line: cobra commands, their options and validation, the
// configuration file, and errors to exit codes. A run itself is internal/app's; cmd is the only
// package that knows about cobra, exit codes and the process's streams.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
)

// Build information, set with -ldflags "-X github.com/vaultsentry/vaultsentry/cmd.version=...".
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	report.Version = version
	app.Version = version
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return interruptedExit(ctx, s, err)
	}
	return exitCode(s, err)
}

func newRootCmd(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "vaultsentry",
		Short: "Forensic analyzer for secret access in Vault/OpenBao, AWS CloudTrail and Kubernetes audit logs",
		Long: "vaultsentry reads the audit trails of secret stores (HashiCorp Vault / OpenBao audit devices, AWS CloudTrail for\n" +
			"Secrets Manager and Parameter Store, Kubernetes API server audit logs) wherever they live (files, S3, Loki,\n" +
			"Elasticsearch/OpenSearch, Athena, Security Lake) and reports the patterns of stolen credentials: bulk reads, a\n" +
			"token used from two places, first-ever access, privileged work off hours, rotations no consumer picked up,\n" +
			"audit devices switched off. review turns the same logs into the periodic access review an auditor asks for.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetVersionTemplate(versionLine())
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef(fmt.Sprintf("run '%s --help' for the flags", c.CommandPath()), "%v", err)
	})
	root.AddCommand(newScanCmd(s, nil), newVersionCmd(s))
	for _, extra := range extraCommands {
		root.AddCommand(extra(s))
	}
	return root
}

// extraCommands are added by other files of this package (cloudtrail, baseline, rules, trace).
var extraCommands []func(Streams) *cobra.Command

func newVersionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(s.Out, versionLine())
			return err
		},
	}
}

func versionLine() string {
	return fmt.Sprintf("vaultsentry %s (commit %s, built %s)\n", version, commit, date)
}

// unknownSubcommand is the RunE of a command that only groups others (baseline): without
// arguments it prints its help; an argument is a mistyped subcommand, a usage error (exit 2)
// with cobra's suggestions.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	hint := fmt.Sprintf("run '%s --help' for its commands", c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on its own path
	}
	if sug := c.SuggestionsFor(args[0]); len(sug) > 0 {
		hint = fmt.Sprintf("did you mean '%s %s'?", c.CommandPath(), strings.Join(sug, "' or '"+c.CommandPath()+" "))
	}
	return usagef(hint, "unknown command %q for %q", args[0], c.CommandPath())
}
