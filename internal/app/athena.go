package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources/athena"
)

// This file is the only one that calls the Athena source.

// AthenaRequest is the Athena part of a CloudTrailRequest (Table set: read from Athena).
type AthenaRequest struct {
	Table      string // DATABASE.TABLE
	Workgroup  string
	Output     string // s3:// result location; empty: the workgroup's
	Partitions string // auto, none, timestamp, year-month-day
	PrintSQL   bool   // print the statement and return without running it
}

// ParseAthenaTable checks a --athena-table value (for cmd's validate).
func ParseAthenaTable(s string) error {
	_, _, err := athena.ParseTable(s)
	return err
}

// ParseAthenaPartitions checks a --athena-partitions value.
func ParseAthenaPartitions(s string) error {
	_, err := athena.ParsePartitioning(s)
	return err
}

// cloudTrailAthena runs one query against an Athena CloudTrail table. --since and --until are
// wall-clock times here, as for the LookupEvents API: the table is queried before anything of
// it is known, so there is no newest event to count back from (a trail's table is live; for an
// archived one pass absolute times).
func cloudTrailAthena(ctx context.Context, r *CloudTrailRequest) (Outcome, error) {
	o := &r.Options
	now := o.now().UTC()
	db, table, err := athena.ParseTable(r.Athena.Table)
	if err != nil {
		return Outcome{}, usagef("name the table as DATABASE.TABLE, e.g. --athena-table default.cloudtrail_logs_pp", "--athena-table: %v", err)
	}
	parts, err := athena.ParsePartitioning(r.Athena.Partitions)
	if err != nil {
		return Outcome{}, usagef("use auto, none, timestamp or year-month-day", "--athena-partitions: %v", err)
	}
	start, end := o.Since.Resolve(now), o.Until.Resolve(now)
	if start.IsZero() {
		return Outcome{}, usagef("pass --since (e.g. --since 90d): an unbounded query scans, and bills, the whole table",
			"cloudtrail: --athena-table needs --since")
	}
	if !end.IsZero() && !end.After(start) {
		return Outcome{}, usagef("--until must be later than --since", "cloudtrail: empty time range %s .. %s",
			start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	region := ""
	if len(r.Regions) > 0 {
		region = r.Regions[0]
	}
	src := &athena.Source{Options: athena.Options{
		Profile: r.Profile, Region: region, Database: db, Table: table,
		Workgroup: r.Athena.Workgroup, Output: r.Athena.Output, Start: start, End: end, Partitions: parts,
	}}
	hint := "check the AWS credentials and region (AWS_PROFILE, --profile, AWS_REGION, --region); the caller needs athena:StartQueryExecution, " +
		"athena:GetQueryExecution, athena:GetQueryResults, glue:GetTable and s3:GetObject on the trail's bucket and the result location"
	sql, err := src.Resolve(ctx)
	if err != nil {
		if errors.Is(err, athena.ErrNoRegion) {
			return Outcome{}, usagef("pass --region REGION or set AWS_REGION", "cloudtrail: %v", err)
		}
		return Outcome{}, runtimef(hint, fmt.Errorf("cloudtrail: %w", err))
	}
	if r.Athena.PrintSQL {
		if src.Stats.PartitionNote != "" {
			fmt.Fprintf(o.IO.Out, "-- %s\n", report.Sanitize(src.Stats.PartitionNote))
		}
		fmt.Fprintln(o.IO.Out, sql+";")
		return Outcome{}, nil
	}
	if o.Verbose {
		if src.Stats.PartitionNote != "" {
			fmt.Fprintf(o.IO.Err, "athena: %s\n", report.Sanitize(src.Stats.PartitionNote))
		}
		fmt.Fprintf(o.IO.Err, "athena: query of %s.%s:\n%s\n", db, table, sql)
	}
	prog := newFetchProgress(o.IO)
	src.Options.Progress = func(state string, rows int) { prog.update("athena", state, 0, rows) }
	loaded, err := src.Query(ctx)
	prog.done()
	if ctx.Err() != nil {
		return Outcome{}, interrupted(ctx, "querying Athena")
	}
	if err != nil {
		var qf *athena.QueryFailedError
		if errors.As(err, &qf) {
			return Outcome{}, runtimef("run the statement (--print-sql) in the Athena console to see the error in place; "+
				"check the table's columns against the CloudTrail table of the AWS docs", fmt.Errorf("cloudtrail: %w", err))
		}
		return Outcome{}, runtimef(hint, fmt.Errorf("cloudtrail: %w", err))
	}
	if o.Verbose {
		fmt.Fprintf(o.IO.Err, "athena: query %s: %d rows in %d pages, %d bytes scanned\n",
			src.Stats.QueryID, src.Stats.Rows, src.Stats.Pages, src.Stats.BytesScanned)
	}
	if err := noEvents(o.IO, "cloudtrail", loaded, "check --since/--until and the table (--print-sql shows the query)"); err != nil {
		return Outcome{}, err
	}
	p := &pipeline{ctx: ctx, opts: o, command: "cloudtrail", loaded: loaded, timeRef: now, liveSince: true}
	return p.run()
}
