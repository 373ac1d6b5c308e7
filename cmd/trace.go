package cmd

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/trace"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newTraceCmd(s, nil) })
}

// traceOptions are the flags of `vaultsentry trace`.
type traceOptions struct {
	IO         Streams
	Paths      []string
	Identity   string
	Credential string
	IP         string
	Source     string
	Format     string
	Output     string
	Since      string
	Until      string
	Timezone   string
	ConfigPath string
	Quiet      bool
	Verbose    bool
	MaxLine    int
	Summary    bool

	query        trace.Query
	loc          *time.Location
	since, until app.TimeArg
}

func newTraceCmd(s Streams, runF func(context.Context, *traceOptions) error) *cobra.Command {
	opts := &traceOptions{IO: s}
	c := &cobra.Command{
		Use:   "trace (--identity X | --credential X | --ip X) [flags] FILE|DIR|GLOB|- ...",
		Short: "Blast radius: everything one identity, token or address did, and the secrets to rotate",
		Long: "trace reads the same inputs as scan and prints the timeline of everything the selected identity, credential\n" +
			"or address did. The table starts with the answer: the identities matched, the secrets read successfully\n" +
			"(grouped by mount: the list to rotate; configured decoys marked DECOY) and the secrets changed; then the\n" +
			"credentials and addresses involved and the timeline (time, operation, path, from where, outcome), which\n" +
			"--summary leaves out. Secret values are never shown; audit logs hold none.\n\n" +
			"--identity matches the principal (Vault entity id, AWS ARN) or the display name exactly; use a glob\n" +
			"('*liam*', where * also crosses /) for a part of a name. A display name brings every event of the\n" +
			"principal behind it, under any token. --credential matches the accessor as logged (hmac-sha256:... unless\n" +
			"the audit device has hmac_accessor=false) or an AWS access key id. --ip takes an address or a CIDR.\n" +
			"Selectors given together must all match.",
		Example: "  vaultsentry trace --identity k8s-eu1-risk-fraud-model /var/log/vault/\n" +
			"  vaultsentry trace --credential hmac-sha256:1b3c... --format csv -o timeline.csv audit.log*\n" +
			"  vaultsentry trace --ip 203.0.113.0/24 --since 2026-09-23T00:00:00Z --format json audit.log",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name the audit logs to search, as for scan (e.g. vaultsentry trace --identity alice /var/log/vault/)",
					"trace: no input given")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Identity, "identity", "", "principal or display name (exact, or a glob such as '*alice*')")
	f.StringVar(&opts.Credential, "credential", "", "token accessor as logged, or AWS access key id (exact or glob)")
	f.StringVar(&opts.IP, "ip", "", "remote address or CIDR")
	f.StringVar(&opts.Source, "source", "", "read only this input kind: vault, cloudtrail (default: each file's kind is detected)")
	f.StringVarP(&opts.Format, "format", "f", "table", "output format: "+strings.Join(report.TraceFormats(), ", "))
	f.StringVarP(&opts.Output, "output", "o", "", "write to `FILE` instead of standard output")
	f.StringVar(&opts.Since, "since", "", "only events at or after `TIME` (RFC 3339, or a duration back from the newest event)")
	f.StringVar(&opts.Until, "until", "", "only events before `TIME` (RFC 3339, or a duration back from the newest event)")
	f.StringVar(&opts.Timezone, "timezone", "UTC", "IANA time zone for times in table output (JSON and CSV stay UTC)")
	f.StringVarP(&opts.ConfigPath, "config", "c", "", "configuration `FILE` for internal_cidrs (default ./"+DefaultConfigFile+" when it exists)")
	f.BoolVar(&opts.Summary, "summary", false, "table output: only the answer (identities, secrets to rotate, secrets changed), no timeline")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no summary or progress on standard error")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "more detail on standard error")
	f.IntVar(&opts.MaxLine, "max-line-bytes", sources.DefaultMaxLineBytes, "longest input line read; longer lines are skipped and counted")
	c.RunE = func(cc *cobra.Command, args []string) error {
		opts.Paths = args
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runTrace
		}
		return runF(cc.Context(), opts)
	}
	return c
}

func (o *traceOptions) validate() error {
	o.query = trace.Query{Identity: strings.TrimSpace(o.Identity), Credential: strings.TrimSpace(o.Credential)}
	if o.IP != "" {
		p, err := parseAddrOrPrefix(o.IP)
		if err != nil {
			return usagef("give an address (203.0.113.9, 2001:db8::1) or a CIDR (203.0.113.0/24)", "--ip: %v", err)
		}
		o.query.Addr = p
	}
	if o.query.Empty() {
		return usagef("say whose activity to trace, e.g. --identity alice, --credential hmac-sha256:..., --ip 203.0.113.9",
			"trace: give --identity, --credential or --ip")
	}
	for _, g := range []struct{ flag, v string }{{"--identity", o.query.Identity}, {"--credential", o.query.Credential}} {
		if g.v != "" {
			if err := analyze.ValidateGlob(g.v); err != nil {
				return usagef("quote the pattern for the shell; * ? and [ ] are glob characters", "%s: %v", g.flag, err)
			}
		}
	}
	if !app.IsTraceSource(o.Source) {
		return usagef("pass --source vault or --source cloudtrail", "--source: unknown source %q", o.Source)
	}
	valid := false
	for _, f := range report.TraceFormats() {
		valid = valid || f == o.Format
	}
	if !valid {
		return usagef("pass --format "+strings.Join(report.TraceFormats(), "|"), "unknown format %q for trace (want one of %s)",
			o.Format, strings.Join(report.TraceFormats(), ", "))
	}
	var err error
	if o.loc, err = time.LoadLocation(o.Timezone); err != nil {
		return usagef("use an IANA zone name such as UTC, Europe/Dublin or America/New_York", "--timezone: unknown time zone %q", o.Timezone)
	}
	if err := parseTimeFlags(timeFlag{"--since", o.Since, &o.since}, timeFlag{"--until", o.Until, &o.until}); err != nil {
		return err
	}
	if o.Quiet && o.Verbose {
		return usagef("pass one of them", "--quiet and --verbose exclude each other")
	}
	if o.MaxLine <= 0 {
		return usagef("give a positive number of bytes", "--max-line-bytes must be positive")
	}
	return nil
}

// parseAddrOrPrefix reads an address (as a single-address prefix) or a CIDR.
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// unmapBits is what an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) loses on Unmap.
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func runTrace(ctx context.Context, o *traceOptions) error {
	cfg, err := loadConfig(o.ConfigPath)
	if err != nil {
		return err
	}
	return app.Trace(ctx, app.TraceRequest{IO: o.IO.app(), Config: cfg.app(), Paths: o.Paths, Query: o.query,
		Source: o.Source, Format: o.Format, Output: o.Output, Since: o.since, Until: o.until, Location: o.loc,
		Quiet: o.Quiet, Verbose: o.Verbose, MaxLineBytes: o.MaxLine, Summary: o.Summary})
}
