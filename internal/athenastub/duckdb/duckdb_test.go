//go:build duckdb

package duckdb

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/athenastub"
	"github.com/vaultsentry/vaultsentry/sources/athena"
)

// columns is the CloudTrail table of the AWS docs ("Create the table for CloudTrail logs in
// Athena using partition projection") in DuckDB's types, with its partition column.
const columns = `{
 eventversion: 'VARCHAR', eventtime: 'VARCHAR', eventsource: 'VARCHAR', eventname: 'VARCHAR', awsregion: 'VARCHAR',
 sourceipaddress: 'VARCHAR', useragent: 'VARCHAR', errorcode: 'VARCHAR', errormessage: 'VARCHAR',
 requestparameters: 'VARCHAR', responseelements: 'VARCHAR', additionaleventdata: 'VARCHAR', requestid: 'VARCHAR',
 eventid: 'VARCHAR', readonly: 'VARCHAR', eventtype: 'VARCHAR', apiversion: 'VARCHAR', recipientaccountid: 'VARCHAR',
 sharedeventid: 'VARCHAR', vpcendpointid: 'VARCHAR', eventcategory: 'VARCHAR', sessioncredentialfromconsole: 'VARCHAR',
 useridentity: 'STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, invokedby VARCHAR,
   accesskeyid VARCHAR, username VARCHAR, onbehalfof STRUCT(userid VARCHAR, identitystorearn VARCHAR),
   sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, creationdate VARCHAR),
     sessionissuer STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, username VARCHAR),
     ec2roledelivery VARCHAR))',
 resources: 'STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]',
 "timestamp": 'VARCHAR'
}`

// dialect is what DuckDB spells differently from Athena's Trino: transform is list_transform,
// and json_format(json) is the JSON's text (a macro below). Nothing else of the statement is
// touched.
func dialect(sql string) string {
	return strings.ReplaceAll(sql, "transform(resources,", "list_transform(resources,")
}

// exec loads recs into security.<table> and runs the statement.
func exec(t *testing.T, table string) func(string, []athenastub.Record) ([]string, [][]*string, error) {
	return func(stmt string, recs []athenastub.Record) ([]string, [][]*string, error) {
		dir := t.TempDir()
		p := filepath.Join(dir, "table.ndjson")
		f, err := os.Create(p)
		if err != nil {
			return nil, nil, err
		}
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for _, r := range recs {
			enc.Encode(athenastub.TableRow(r))
		}
		w.Flush()
		f.Close()
		db, err := sql.Open("duckdb", "")
		if err != nil {
			return nil, nil, err
		}
		defer db.Close()
		db.SetMaxOpenConns(1) // one connection: the settings and macros below are per connection
		for _, s := range []string{
			"SET lambda_syntax='ENABLE_SINGLE_ARROW'",
			"CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)",
			"CREATE SCHEMA security",
			"CREATE TABLE security." + table + " AS SELECT * FROM read_json('" + p + "', format='newline_delimited', columns=" + columns + ")",
		} {
			if _, err := db.Exec(s); err != nil {
				return nil, nil, err
			}
		}
		rows, err := db.Query(dialect(stmt))
		if err != nil {
			return nil, nil, err
		}
		defer rows.Close()
		names, err := rows.Columns()
		if err != nil {
			return nil, nil, err
		}
		var out [][]*string
		for rows.Next() {
			vals := make([]sql.NullString, len(names))
			ptrs := make([]any, len(names))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, nil, err
			}
			row := make([]*string, len(names))
			for i, v := range vals {
				if v.Valid {
					s := v.String
					row[i] = &s
				}
			}
			out = append(out, row)
		}
		return names, out, rows.Err()
	}
}

func scenario(t *testing.T) []athenastub.Record {
	root := os.Getenv("VAULTSENTRY_SCENARIOS")
	if root == "" {
		root = filepath.Join("..", "..", "..", "..", "shared", "scenarios") // beside the checkout
	}
	recs, err := athenastub.ReadTree(filepath.Join(root, "cloudtrail", "AWSLogs"))
	if err != nil || len(recs) == 0 {
		t.Skipf("no practice CloudTrail tree: %v", err)
	}
	return recs
}

func query(t *testing.T, stub *athenastub.Server, start, end time.Time) *athena.Source {
	t.Helper()
	for _, kv := range stub.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	src := &athena.Source{Options: athena.Options{Database: "security", Table: "cloudtrail_logs_pp", Start: start, End: end,
		Partitions: athena.PartitionsAuto, Poll: time.Millisecond}}
	return src
}

// TestDuckDBExecutesTheQuery: the statement vaultsentry sends, executed by DuckDB over the
// practice tree loaded as the CloudTrail table, returns the same rows as the stand-in's own
// evaluation, so the events (and so the findings, which the main module's TestAthenaParity
// compares with the tree's) are the same; a narrower range returns fewer rows from fewer
// partitions.
func TestDuckDBExecutesTheQuery(t *testing.T) {
	recs := scenario(t)
	start, end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 13, 0, 0, 0, 0, time.UTC)
	load := func(withDuck bool, start, end time.Time) (*athena.Source, []event.Event) {
		stub := athenastub.New("security", "cloudtrail_logs_pp", recs)
		defer stub.Close()
		stub.With(func() { stub.PartitionKeys = []string{"timestamp"} })
		if withDuck {
			e := exec(t, "cloudtrail_logs_pp")
			stub.With(func() { stub.Exec = e })
		}
		src := query(t, stub, start, end)
		l, err := src.Query(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return src, l.Events
	}
	goSrc, want := load(false, start, end)
	duckSrc, got := load(true, start, end)
	if len(want) < 1000 || duckSrc.Stats.Rows != goSrc.Stats.Rows {
		t.Fatalf("rows: duckdb %d, stand-in %d; events %d", duckSrc.Stats.Rows, goSrc.Stats.Rows, len(want))
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(event.Event{}), cmpopts.EquateComparable(netipAddr)); diff != "" {
		t.Errorf("events from DuckDB's rows differ (-stand-in +duckdb):\n%s", diff)
	}
	narrow, _ := load(true, time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC), end)
	if narrow.Stats.Rows == 0 || narrow.Stats.Rows >= duckSrc.Stats.Rows || narrow.Stats.BytesScanned >= duckSrc.Stats.BytesScanned {
		t.Errorf("narrow range: %d rows, %d bytes scanned; full: %d rows, %d bytes", narrow.Stats.Rows, narrow.Stats.BytesScanned,
			duckSrc.Stats.Rows, duckSrc.Stats.BytesScanned)
	}
	t.Logf("duckdb: %d rows, %d events, %d pages; narrow: %d rows", duckSrc.Stats.Rows, len(got), duckSrc.Stats.Pages, narrow.Stats.Rows)
}

// TestDuckDBRejectsWhatAthenaWould: a struct field the table does not declare is an error in
// DuckDB as in Athena (the reason the query selects no identityprovider).
func TestDuckDBRejectsWhatAthenaWould(t *testing.T) {
	recs := scenario(t)[:10]
	_, _, err := exec(t, "cloudtrail_logs_pp")(`SELECT useridentity.identityprovider FROM "security"."cloudtrail_logs_pp"`, recs)
	if err == nil {
		t.Fatal("a field the table does not have was selected")
	}
	names, rows, err := exec(t, "cloudtrail_logs_pp")(`SELECT eventid FROM "security"."cloudtrail_logs_pp" WHERE "timestamp" >= '2099/01/01'`, recs)
	if err != nil || len(rows) != 0 || len(names) != 1 {
		t.Errorf("future partition: %v %d rows", err, len(rows))
	}
}
