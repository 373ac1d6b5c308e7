package athena

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/athenastub"
)

func TestSQLPartitions(t *testing.T) {
	start := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	end := time.Date(2026, 9, 3, 23, 59, 0, 0, time.UTC)
	q := Query{Database: "db", Table: "t", Start: start, End: end}
	for _, c := range []struct {
		p          Partitioning
		want, nope []string
	}{
		{PartitionsTimestamp, []string{`"timestamp" >= '2026/09/01'`, `"timestamp" <= '2026/09/04'`}, []string{"year"}},
		{PartitionsYMD, []string{"year >= '2026'", "concat(year, '/', month, '/', day) >= '2026/09/01'", "concat(year, '/', month, '/', day) <= '2026/09/04'"}, []string{"timestamp"}},
		{PartitionsNone, nil, []string{"timestamp", "year"}},
	} {
		q.Partitions = c.p
		sql := q.SQL()
		for _, w := range append(c.want, "eventtime >= '2026-09-01T10:00:00Z'", "eventtime < '2026-09-03T23:59:00Z'", `FROM "db"."t"`) {
			if !strings.Contains(sql, w) {
				t.Errorf("%s: lacks %s\n%s", c.p, w, sql)
			}
		}
		for _, n := range c.nope {
			if strings.Contains(sql, n) {
				t.Errorf("%s: has %s\n%s", c.p, n, sql)
			}
		}
	}
	if got := partitioningOf([]string{"region", "year", "month", "day"}); got != PartitionsYMD {
		t.Errorf("region/year/month/day: %s", got)
	}
	if got := partitioningOf([]string{"Timestamp"}); got != PartitionsTimestamp {
		t.Errorf("timestamp: %s", got)
	}
	if got := partitioningOf([]string{"dt"}); got != PartitionsNone {
		t.Errorf("dt: %s", got)
	}
}

func TestParseTable(t *testing.T) {
	if db, tb, err := ParseTable("Security.CloudTrail_Logs"); err != nil || db != "security" || tb != "cloudtrail_logs" {
		t.Errorf("got %q %q %v", db, tb, err)
	}
	for _, bad := range []string{"table", "a.b.c", `a."b"`, "a.b;drop", "a.b c", ".t", "d."} {
		if _, _, err := ParseTable(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRecordFromRow(t *testing.T) {
	s := func(v string) *string { return &v }
	col := map[string]int{}
	for i, c := range Columns {
		col[c.Name] = i
	}
	row := make([]*string, len(Columns))
	set := func(name string, v *string) { row[col[name]] = v }
	set("eventtime", s("2026-09-10T12:00:37Z"))
	set("eventsource", s("sts.amazonaws.com"))
	set("recipientaccountid", s("428190375562"))
	set("readonly", s("false"))
	set("requestparameters", s(`{"roleArn":"arn:aws:iam::428190375562:role/x"}`))
	set("responseelements", s("not json"))
	set("ui_type", s("WebIdentityUser"))
	set("ui_principalid", s("oidc.eks.eu-west-1.amazonaws.com/id/5E1A:sts.amazonaws.com:system:serviceaccount:a:b"))
	set("si_arn", s("arn:aws:iam::1:role/r"))
	set("resources_json", s(`[{"ARN":"arn:aws:secretsmanager:eu-west-1:1:secret:x","type":"AWS::SecretsManager::Secret"}]`))
	rec := recordFromRow(nil, col, row)
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatalf("%v: %s", err, rec)
	}
	id := m["userIdentity"].(map[string]any)
	if id["identityProvider"] != "arn:aws:iam::428190375562:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5E1A" {
		t.Errorf("identityProvider %v", id["identityProvider"])
	}
	if id["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)["arn"] != "arn:aws:iam::1:role/r" {
		t.Errorf("sessionIssuer: %s", rec)
	}
	if _, ok := m["requestParameters"].(map[string]any); !ok || m["responseElements"] != "not json" {
		t.Errorf("JSON columns: %s", rec)
	}
	if rs := m["resources"].([]any); rs[0].(map[string]any)["ARN"] == nil {
		t.Errorf("resources: %s", rec)
	}
	if _, ok := m["errorCode"]; ok {
		t.Errorf("a NULL column became a field: %s", rec)
	}
	if _, ok := id["onBehalfOf"]; ok {
		t.Errorf("an empty onBehalfOf was written: %s", rec)
	}
}

// synthRecords are n Secrets Manager reads over one day, for the paging tests.
func synthRecords(n int) []athenastub.Record {
	out := make([]athenastub.Record, n)
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		out[i] = athenastub.Record{Partition: "2026/09/01", Bytes: 900, Fields: map[string]any{
			"eventVersion": "1.08", "eventTime": t0.Add(time.Duration(i) * time.Second).Format(ctTime),
			"eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue", "awsRegion": "eu-west-1",
			"sourceIPAddress": "10.0.0.1", "userAgent": "aws-sdk-go-v2/1.30.4", "eventID": fmt.Sprintf("id-%d", i),
			"recipientAccountId": "111122223333", "readOnly": true, "eventType": "AwsApiCall",
			"requestParameters": map[string]any{"secretId": fmt.Sprintf("prod/app/db-%d", i%50)},
			"userIdentity": map[string]any{"type": "AssumedRole", "principalId": "AROA:s", "arn": "arn:aws:sts::111122223333:assumed-role/app/s",
				"accountId": "111122223333", "accessKeyId": "ASIAX", "sessionContext": map[string]any{"sessionIssuer": map[string]any{
					"type": "Role", "arn": "arn:aws:iam::111122223333:role/app", "userName": "app", "accountId": "111122223333"}}},
		}}
	}
	return out
}

func TestQueryPagesAndFails(t *testing.T) {
	stub := athenastub.New("db", "t", synthRecords(2500))
	defer stub.Close()
	for _, kv := range stub.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	stub.With(func() { stub.PartitionKeys = []string{"timestamp"} })
	o := Options{Database: "db", Table: "t", Start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), Partitions: PartitionsAuto,
		Poll: time.Millisecond, MaxPoll: 4 * time.Millisecond}
	src := &Source{Options: o}
	loaded, err := src.Query(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if src.Stats.Rows != 2500 || src.Stats.Pages != 3 || len(loaded.Events) != 2500 {
		t.Errorf("rows %d pages %d events %d, want 2500 3 2500", src.Stats.Rows, src.Stats.Pages, len(loaded.Events))
	}
	if src.Stats.BytesScanned != 2500*900 || !strings.Contains(loaded.Files[0].Note, "2.1 MiB scanned") {
		t.Errorf("scanned %d, note %q", src.Stats.BytesScanned, loaded.Files[0].Note)
	}
	if ev := loaded.Events[0]; ev.Action != "GetSecretValue" || ev.Principal != "arn:aws:iam::111122223333:role/app" {
		t.Errorf("first event %+v", ev)
	}
	if !strings.Contains(src.Stats.PartitionNote, "timestamp") || !strings.Contains(src.SQL, `"timestamp" >= '2026/09/01'`) {
		t.Errorf("partition keys not used: %s\n%s", src.Stats.PartitionNote, src.SQL)
	}

	stub.With(func() { stub.Fail = "HIVE_BAD_DATA: Error parsing field value" })
	src = &Source{Options: o}
	_, err = src.Query(context.Background())
	var qf *QueryFailedError
	if !errors.As(err, &qf) || qf.State != "FAILED" || !strings.Contains(err.Error(), "HIVE_BAD_DATA") {
		t.Errorf("failed query: %v", err)
	}

	// A cancelled run stops the query it started.
	stub.With(func() { stub.Fail, stub.RunningPolls = "", 1000 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oc := o
	oc.Progress = func(state string, _ int) {
		if state == "RUNNING" {
			cancel() // the run is interrupted while the query runs
		}
	}
	_, err = (&Source{Options: oc}).Query(ctx)
	var stops int
	stub.With(func() { stops = stub.Calls["StopQueryExecution"] })
	if !errors.Is(err, context.Canceled) || stops != 1 {
		t.Errorf("cancelled: %v, StopQueryExecution %d", err, stops)
	}
}

// BenchmarkAthenaRows measures rows through the stand-in: GetQueryResults pages over loopback
// HTTP, rows back to records, records decoded into events.
func BenchmarkAthenaRows(b *testing.B) {
	const n = 20000
	stub := athenastub.New("db", "t", synthRecords(n))
	defer stub.Close()
	stub.With(func() { stub.RunningPolls = 0 })
	stub.With(func() { stub.PartitionKeys = []string{"timestamp"} })
	for _, kv := range stub.Env() {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	o := Options{Database: "db", Table: "t", Start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), Partitions: PartitionsTimestamp, Poll: time.Millisecond}
	b.ResetTimer()
	for b.Loop() {
		if _, err := (&Source{Options: o}).Query(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}
