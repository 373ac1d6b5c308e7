package cmd

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

// The --athena-* flags of `vaultsentry cloudtrail`: one query of an Athena CloudTrail table
// instead of the LookupEvents API or files.

func (o *cloudtrailOptions) addAthenaFlags(f *pflag.FlagSet) {
	a := &o.Athena
	f.StringVar(&a.Table, "athena-table", "", "query the Athena CloudTrail table `DATABASE.TABLE` instead of the LookupEvents API (needs --since)")
	f.StringVar(&a.Workgroup, "workgroup", "", "Athena `WORKGROUP` to run the query in (default: the caller's, primary)")
	f.StringVar(&a.Output, "athena-output", "", "Athena query result location `s3://bucket/prefix/` (default: the workgroup's)")
	f.StringVar(&a.Partitions, "athena-partitions", "auto", "the table's partition columns the query constrains: auto (GetTableMetadata), none, timestamp, year-month-day")
	f.BoolVar(&a.PrintSQL, "print-sql", false, "print the Athena query and exit without running it")
}

func (o *cloudtrailOptions) validateAthena() error {
	a := &o.Athena
	if a.Table == "" {
		switch {
		case a.PrintSQL:
			return usagef("--print-sql prints the query of --athena-table DATABASE.TABLE", "--print-sql needs --athena-table")
		case a.Workgroup != "" || a.Output != "" || a.Partitions != "auto":
			return usagef("add --athena-table DATABASE.TABLE, or drop the Athena flags", "--workgroup/--athena-output/--athena-partitions need --athena-table")
		}
		return nil
	}
	switch {
	case len(o.From) > 0:
		return usagef("either read files with --from or query Athena with --athena-table", "--athena-table cannot be combined with --from")
	case o.Save != "":
		return usagef("the records stay in the table; drop --save", "--save cannot be combined with --athena-table")
	case len(o.Regions) > 1:
		return usagef("Athena runs in one region: give --region once (the table covers every region the trail logs)", "--athena-table takes one --region")
	case a.Output != "" && !strings.HasPrefix(a.Output, "s3://"):
		return usagef("give an S3 location such as s3://bucket/athena-results/", "--athena-output %q is not an s3:// URL", a.Output)
	}
	if err := app.ParseAthenaTable(a.Table); err != nil {
		return usagef("name the table as DATABASE.TABLE, e.g. --athena-table default.cloudtrail_logs_pp", "--athena-table: %v", err)
	}
	if err := app.ParseAthenaPartitions(a.Partitions); err != nil {
		return usagef("use auto, none, timestamp or year-month-day", "--athena-partitions: %v", err)
	}
	if o.Since == "" {
		return usagef("pass --since (e.g. --since 90d): an unbounded query scans, and bills, the whole table", "--athena-table needs --since")
	}
	return nil
}
