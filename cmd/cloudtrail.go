package cmd

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newCloudTrailCmd(s, nil) })
}

type cloudtrailOptions struct {
	analysisOptions
	profileOptions
	From    []string
	Regions []string
	// Accounts (--account) keep only these accounts' files of CloudTrail trees (--from).
	Accounts []string
	Profile  string
	Save     string
	RPS      float64
	Athena   app.AthenaRequest

	// now is the wall clock of an online run (tests set it).
	now func() time.Time
}

func newCloudTrailCmd(s Streams, runF func(context.Context, *cloudtrailOptions) error) *cobra.Command {
	opts := &cloudtrailOptions{analysisOptions: analysisOptions{IO: s}, now: time.Now}
	c := &cobra.Command{
		Use:   "cloudtrail [flags] [--from PATH...]",
		Short: "Analyse AWS Secrets Manager and Parameter Store activity from CloudTrail (LookupEvents, files, S3, Athena, Security Lake)",
		Long: "cloudtrail analyses AWS Secrets Manager activity recorded by CloudTrail.\n\n" +
			"Online (no --from): the CloudTrail LookupEvents API is queried for Secrets Manager and CloudTrail events,\n" +
			"regions concurrently, with the AWS SDK's usual configuration (AWS_PROFILE / --profile, AWS_REGION / --region,\n" +
			"credentials, AWS_ENDPOINT_URL). --since and --until are then wall-clock times: a duration counts back from now.\n" +
			"LookupEvents keeps 90 days of management events.\n\n" +
			"Athena (--athena-table DATABASE.TABLE): one query of the trail's Athena table for the event sources the\n" +
			"detectors read, in the --since/--until range (wall-clock times) and its partitions; --print-sql shows it.\n\n" +
			"Offline (--from): CloudTrail S3 export trees (AWSLogs/...; digests and Insights files are skipped),\n" +
			"'aws cloudtrail lookup-events' output, JSON arrays of records, and one-record-per-line exports\n" +
			"(CloudTrail Lake, EventBridge, and files written by --save), Amazon Security Lake's OCSF events (JSON or\n" +
			"Parquet). Records delivered twice are counted once.",
		Example: "  vaultsentry cloudtrail --since 24h --region eu-west-1 --region eu-central-1\n" +
			"  vaultsentry cloudtrail --since 7d --save sm-events.ndjson --format json -o findings.json\n" +
			"  vaultsentry cloudtrail --from s3-export/AWSLogs --learn-until 2026-09-11T12:00:00Z\n" +
			"  vaultsentry cloudtrail --athena-table default.cloudtrail_logs_pp --since 90d --region eu-west-1\n" +
			"  vaultsentry cloudtrail --from sm-events.ndjson --config vaultsentry.yaml",
	}
	opts.addFlags(c)
	opts.addProfileFlags(c)
	f := c.Flags()
	opts.addAthenaFlags(f)
	f.StringArrayVar(&opts.From, "from", nil, "read CloudTrail records from `PATH` (file, directory, glob; repeatable) instead of the API")
	f.StringArrayVar(&opts.Regions, "region", nil, "AWS `REGION` to query (repeatable; default: the SDK's configured region); with --from, read only this region's folders of CloudTrail trees")
	f.StringArrayVar(&opts.Accounts, "account", nil, "with --from, read only this AWS `ACCOUNT`'s folders of CloudTrail trees (AWSLogs/[o-.../]ACCOUNT/; repeatable; s3:// trees are pruned before listing)")
	f.StringVar(&opts.Profile, "profile", "", "AWS shared configuration `PROFILE`")
	f.StringVar(&opts.Save, "save", "", "write the fetched records to `FILE` as NDJSON (re-run later with --from FILE)")
	f.Float64Var(&opts.RPS, "max-rps", app.DefaultLookupRPS, "LookupEvents requests per second and region (the API allows 2)")
	c.RunE = func(cc *cobra.Command, args []string) error {
		// "--from a b c": paths after the first --from arrive as arguments.
		if len(args) > 0 && len(opts.From) == 0 {
			return usagef("name the inputs with --from PATH, or give no path to query the LookupEvents API",
				"cloudtrail: unexpected argument %q", args[0])
		}
		opts.From = append(opts.From, args...)
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runCloudTrail
		}
		return opts.profile(func() error { return runF(cc.Context(), opts) })
	}
	return c
}

func (o *cloudtrailOptions) validate() error {
	if err := o.analysisOptions.validate(); err != nil {
		return err
	}
	if len(o.From) > 0 {
		switch {
		case o.Save != "":
			return usagef("--save records what the API returned; with --from the files are already saved", "--save cannot be combined with --from")
		case o.Profile != "":
			return usagef("--profile selects what the API is asked for; with --from set AWS_PROFILE for s3:// paths", "--profile cannot be combined with --from")
		}
	} else if len(o.Accounts) > 0 {
		return usagef("--account filters the CloudTrail trees given with --from; the API reads the caller's account", "--account needs --from")
	}
	if err := o.validateAthena(); err != nil {
		return err
	}
	if o.RPS <= 0 {
		return usagef("give a positive rate such as 2", "--max-rps must be positive")
	}
	return nil
}

func runCloudTrail(ctx context.Context, o *cloudtrailOptions) error {
	start := time.Now()
	cfg, err := loadConfig(o.ConfigPath)
	if err != nil {
		return err
	}
	opts := o.options(cfg, start)
	opts.Now = o.now
	regions := o.Regions
	if len(o.From) > 0 { // --region and --account prune the trees' paths
		opts.PathAccounts, opts.PathRegions, regions = o.Accounts, o.Regions, nil
	}
	return o.exit(app.CloudTrail(ctx, app.CloudTrailRequest{Options: opts, From: o.From,
		Regions: regions, Profile: o.Profile, Save: o.Save, RPS: o.RPS, Athena: o.Athena}))
}
