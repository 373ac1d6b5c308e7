package athena

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
	ctsource "github.com/vaultsentry/vaultsentry/sources/cloudtrail"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
)

// PageSize is the most rows GetQueryResults returns in one page.
const PageSize = 1000

// ErrNoRegion means neither --region nor the SDK's configuration names a region.
var ErrNoRegion = errors.New("no AWS region configured")

// QueryFailedError is a query Athena ended as FAILED or CANCELLED, with its reason.
type QueryFailedError struct {
	ID, State, Reason string
}

func (e *QueryFailedError) Error() string {
	return fmt.Sprintf("athena query %s %s: %s", e.ID, e.State, e.Reason)
}

// Options configure a Source.
type Options struct {
	Profile   string // shared config profile; empty: the SDK's default chain
	Region    string // empty: the SDK's configured region
	Database  string
	Table     string
	Workgroup string // empty: the caller's default (primary)
	Output    string // s3:// result location; empty: the workgroup's
	// Start (inclusive) and End (exclusive) bound eventtime.
	Start, End time.Time
	Partitions Partitioning // PartitionsAuto asks GetTableMetadata
	// Progress, when set, is called after each result page with the rows so far.
	Progress func(state string, rows int)
	// Poll is the first pause between GetQueryExecution calls (default 250ms); it doubles up to
	// MaxPoll (default 5s).
	Poll, MaxPoll time.Duration
}

// Stats is what the run cost and returned.
type Stats struct {
	QueryID      string
	BytesScanned int64 // DataScannedInBytes: what Athena bills
	Rows, Pages  int
	EngineTime   time.Duration
	// PartitionNote says how the partition columns were chosen (or why none were).
	PartitionNote string
}

// Source is an Athena CloudTrail table as a sources.QuerySource.
type Source struct {
	Options Options
	Stats   Stats
	// SQL is the statement Query ran (set by Query, or by Resolve).
	SQL string

	client *athena.Client
}

var _ sources.QuerySource = (*Source)(nil)

// Name is the source's id.
func (*Source) Name() string { return "athena" }

func (s *Source) connect(ctx context.Context) error {
	if s.client != nil {
		return nil
	}
	var loadOpts []func(*config.LoadOptions) error
	if s.Options.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(s.Options.Profile))
	}
	if s.Options.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(s.Options.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return ErrNoRegion
	}
	s.client = athena.NewFromConfig(cfg)
	return nil
}

// Resolve builds the statement: with PartitionsAuto it asks GetTableMetadata for the table's
// partition keys (a catalog call, not a query: nothing is scanned or billed). When that call
// fails, the statement constrains no partition and Stats.PartitionNote says why.
func (s *Source) Resolve(ctx context.Context) (string, error) {
	o := &s.Options
	q := Query{Database: o.Database, Table: o.Table, Start: o.Start, End: o.End, Partitions: o.Partitions}
	if q.Partitions == PartitionsAuto || q.Partitions == "" {
		if err := s.connect(ctx); err != nil {
			return "", err
		}
		md, err := s.client.GetTableMetadata(ctx, &athena.GetTableMetadataInput{
			CatalogName: aws.String("AwsDataCatalog"), DatabaseName: aws.String(o.Database), TableName: aws.String(o.Table),
			WorkGroup: optional(o.Workgroup),
		})
		if err != nil {
			q.Partitions = PartitionsNone
			s.Stats.PartitionNote = fmt.Sprintf("partition keys unknown (GetTableMetadata: %v): no partition predicate; pass --athena-partitions", err)
		} else {
			var keys []string
			if md.TableMetadata != nil {
				for _, k := range md.TableMetadata.PartitionKeys {
					keys = append(keys, aws.ToString(k.Name))
				}
			}
			q.Partitions = partitioningOf(keys)
			s.Stats.PartitionNote = fmt.Sprintf("partition keys %v: %s", keys, q.Partitions)
		}
	}
	s.SQL = q.SQL()
	return s.SQL, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// Query runs the statement, waits for it, pages through its results and decodes the rows as
// CloudTrail records (duplicates by eventID dropped, in time order). A query ended FAILED or
// CANCELLED is a *QueryFailedError with Athena's reason; a cancelled ctx stops the query.
func (s *Source) Query(ctx context.Context) (*sources.Loaded, error) {
	stream, err := s.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	loaded := ctsource.LoadRecords([]ctsource.RecordStream{stream})
	if len(loaded.Files) == 1 {
		st := &s.Stats
		loaded.Files[0].Note = fmt.Sprintf("query %s: %s scanned (what Athena bills), %d rows in %d pages, engine %s",
			st.QueryID, humanBytes(st.BytesScanned), st.Rows, st.Pages, st.EngineTime.Round(time.Millisecond))
	}
	return loaded, nil
}

// Fetch runs the query and returns the rows as CloudTrail records, in result order.
func (s *Source) Fetch(ctx context.Context) (ctsource.RecordStream, error) {
	o := &s.Options
	stream := ctsource.RecordStream{Name: "athena:" + o.Database + "." + o.Table}
	if err := s.connect(ctx); err != nil {
		return stream, err
	}
	if s.SQL == "" {
		if _, err := s.Resolve(ctx); err != nil {
			return stream, err
		}
	}
	in := &athena.StartQueryExecutionInput{
		QueryString:           aws.String(s.SQL),
		QueryExecutionContext: &types.QueryExecutionContext{Catalog: aws.String("AwsDataCatalog"), Database: aws.String(o.Database)},
		WorkGroup:             optional(o.Workgroup),
	}
	if o.Output != "" {
		in.ResultConfiguration = &types.ResultConfiguration{OutputLocation: aws.String(o.Output)}
	}
	start, err := s.client.StartQueryExecution(ctx, in)
	if err != nil {
		return stream, fmt.Errorf("start athena query: %w", err)
	}
	id := aws.ToString(start.QueryExecutionId)
	s.Stats.QueryID = id
	if err := s.wait(ctx, id); err != nil {
		if ctx.Err() != nil {
			// Stop what would otherwise go on scanning (and billing); the run's context is over.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.client.StopQueryExecution(stopCtx, &athena.StopQueryExecutionInput{QueryExecutionId: aws.String(id)})
			cancel()
		}
		return stream, err
	}
	var col map[string]int
	var token *string
	for {
		page, err := s.client.GetQueryResults(ctx, &athena.GetQueryResultsInput{
			QueryExecutionId: aws.String(id), MaxResults: aws.Int32(PageSize), NextToken: token,
		})
		if err != nil {
			return stream, fmt.Errorf("athena query %s results (page %d): %w", id, s.Stats.Pages+1, err)
		}
		s.Stats.Pages++
		rows := []types.Row(nil)
		if page.ResultSet != nil {
			rows = page.ResultSet.Rows
			if col == nil {
				col = columnIndex(page.ResultSet.ResultSetMetadata)
				// The first row of the first page is the header (the column names).
				if len(rows) > 0 && isHeader(rows[0], col) {
					rows = rows[1:]
				}
			}
		}
		vals := make([]*string, 0, len(Columns))
		for _, r := range rows {
			vals = vals[:0]
			for _, d := range r.Data {
				vals = append(vals, d.VarCharValue)
			}
			stream.Records = append(stream.Records, recordFromRow(nil, col, vals))
		}
		s.Stats.Rows += len(rows)
		if o.Progress != nil {
			o.Progress("results", s.Stats.Rows)
		}
		if page.NextToken == nil || *page.NextToken == "" {
			break
		}
		token = page.NextToken
	}
	return stream, nil
}

// wait polls GetQueryExecution until the query ends, with a pause that doubles from Poll to
// MaxPoll (Athena's own guidance: poll, do not hammer; a query of an organisation trail runs
// for minutes).
func (s *Source) wait(ctx context.Context, id string) error {
	pause, maxPause := s.Options.Poll, s.Options.MaxPoll
	if pause <= 0 {
		pause = 250 * time.Millisecond
	}
	if maxPause <= 0 {
		maxPause = 5 * time.Second
	}
	for {
		out, err := s.client.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
		if err != nil {
			return fmt.Errorf("athena query %s: %w", id, err)
		}
		qe := out.QueryExecution
		if qe == nil || qe.Status == nil {
			return fmt.Errorf("athena query %s: no status in GetQueryExecution's answer", id)
		}
		if st := qe.Statistics; st != nil {
			s.Stats.BytesScanned = aws.ToInt64(st.DataScannedInBytes)
			s.Stats.EngineTime = time.Duration(aws.ToInt64(st.EngineExecutionTimeInMillis)) * time.Millisecond
		}
		state := qe.Status.State
		if s.Options.Progress != nil {
			s.Options.Progress(string(state), 0)
		}
		switch state {
		case types.QueryExecutionStateSucceeded:
			return nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			reason := aws.ToString(qe.Status.StateChangeReason)
			if ae := qe.Status.AthenaError; ae != nil && reason == "" {
				reason = aws.ToString(ae.ErrorMessage)
			}
			if reason == "" {
				reason = "no reason given"
			}
			return &QueryFailedError{ID: id, State: string(state), Reason: reason}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, maxPause)
	}
}

func columnIndex(md *types.ResultSetMetadata) map[string]int {
	col := make(map[string]int, len(Columns))
	if md != nil {
		for i, c := range md.ColumnInfo {
			col[aws.ToString(c.Name)] = i
		}
	}
	if len(col) == 0 { // no metadata: the order of the SELECT
		for i, c := range Columns {
			col[c.Name] = i
		}
	}
	return col
}

// isHeader reports whether row holds the column names (GetQueryResults' first row).
func isHeader(row types.Row, col map[string]int) bool {
	if len(row.Data) == 0 {
		return false
	}
	for name, i := range col {
		if i >= len(row.Data) || aws.ToString(row.Data[i].VarCharValue) != name {
			return false
		}
	}
	return true
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
