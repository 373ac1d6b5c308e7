// Package athenastub is a loopback stand-in for Amazon Athena over a CloudTrail table, for
// tests. It speaks the API's protocol (AWS JSON 1.1: POST with X-Amz-Target
// AmazonAthena.<Operation>) for StartQueryExecution, GetQueryExecution, GetQueryResults,
// GetTableMetadata and StopQueryExecution, as the Athena API Reference describes them: a query
// is QUEUED, then RUNNING, then SUCCEEDED (or FAILED with a StateChangeReason); results are
// asked for only once it succeeded, at most 1000 rows a page (MaxResults), the first row of
// the first page being the column names, NextToken for the next page; Statistics carry
// DataScannedInBytes.
//
// It checks the statement it receives rather than trusting it: the FROM table, each selected
// expression against the columns of the CloudTrail table of the AWS docs ("Create the table
// for CloudTrail logs in Athena using partition projection"; a struct field the table does not
// declare is COLUMN_NOT_FOUND, as Athena answers), the eventsource IN list, the eventtime
// bounds and the partition predicate, and it executes those predicates over the records it
// holds (their partition is the S3 key's date folder), so a wrong bound loses rows as it would
// on Athena.
package athenastub

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Record is one CloudTrail record of the table and the partition it lies in.
type Record struct {
	Partition string // yyyy/MM/dd of the S3 key (the table's "timestamp" column)
	Fields    map[string]any
	Bytes     int // what a scan of it costs (its share of the compressed object)
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	Database, Table string
	// PartitionKeys are what GetTableMetadata reports (e.g. "timestamp"); nil: unpartitioned.
	PartitionKeys []string
	// Fail makes every query end FAILED with this reason (as Athena reports a bad statement).
	Fail string
	// RunningPolls is how many GetQueryExecution calls see QUEUED/RUNNING before it ends.
	RunningPolls int
	// Exec, when set, executes the checked statement instead of the stand-in's own evaluation
	// (an embedded SQL engine: see the duckdb module beside this package). It gets the records
	// the partition predicate keeps.
	Exec func(sql string, recs []Record) (names []string, rows [][]*string, err error)

	records []Record
	mu      sync.Mutex
	queries map[string]*query
	// SQL is every statement received, in order.
	SQL []string
	// Calls counts requests by operation.
	Calls map[string]int
	// MaxPage is the largest MaxResults seen.
	MaxPage int
}

type query struct {
	sql     string
	polls   int
	err     string // FAILED reason, set at start when the statement does not check
	rows    [][]*string
	names   []string
	scanned int64
	stopped bool
}

// New serves recs as table db.table.
// With runs f under the stand-in's lock: a test changes its settings (PartitionKeys, Fail,
// RunningPolls, Exec) or reads what it recorded (SQL, Calls, MaxPage) there, since the handler
// goroutines serving the binary read and write them.
func (s *Server) With(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

func New(db, table string, recs []Record) *Server {
	s := &Server{Database: db, Table: table, records: recs, queries: map[string]*query{}, Calls: map[string]int{}, RunningPolls: 2}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// ReadTree reads the records of a CloudTrail S3 export (AWSLogs/...): every log file under a
// CloudTrail/ folder (digests and Insights are not the table's), its partition from the key.
func ReadTree(root string) ([]Record, error) {
	var out []Record
	dateRE := regexp.MustCompile(`/CloudTrail/[^/]+/(\d{4}/\d{2}/\d{2})/`)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		m := dateRE.FindStringSubmatch(filepath.ToSlash(p))
		if m == nil {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data := raw
		if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				return err
			}
			if data, err = io.ReadAll(zr); err != nil {
				return err
			}
		}
		var doc struct{ Records []map[string]any }
		if err := json.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, r := range doc.Records {
			out = append(out, Record{Partition: m[1], Fields: r, Bytes: len(raw)/max(len(doc.Records), 1) + 1})
		}
		return nil
	})
	return out, err
}

// The CloudTrail table of the AWS docs: its struct fields, lower case (the Hive JSON SerDe
// matches the record's keys without case).
var ddlFields = map[string]bool{
	"eventversion": true, "eventtime": true, "eventsource": true, "eventname": true, "awsregion": true,
	"sourceipaddress": true, "useragent": true, "errorcode": true, "errormessage": true, "requestparameters": true,
	"responseelements": true, "additionaleventdata": true, "requestid": true, "eventid": true, "readonly": true,
	"eventtype": true, "apiversion": true, "recipientaccountid": true, "serviceeventdetails": true,
	"sharedeventid": true, "vpcendpointid": true, "vpcendpointaccountid": true, "eventcategory": true,
	"sessioncredentialfromconsole": true, "edgedevicedetails": true,
	"useridentity.type": true, "useridentity.principalid": true, "useridentity.arn": true, "useridentity.accountid": true,
	"useridentity.invokedby": true, "useridentity.accesskeyid": true, "useridentity.username": true,
	"useridentity.onbehalfof.userid": true, "useridentity.onbehalfof.identitystorearn": true,
	"useridentity.sessioncontext.attributes.mfaauthenticated": true, "useridentity.sessioncontext.attributes.creationdate": true,
	"useridentity.sessioncontext.sessionissuer.type": true, "useridentity.sessioncontext.sessionissuer.principalid": true,
	"useridentity.sessioncontext.sessionissuer.arn": true, "useridentity.sessioncontext.sessionissuer.accountid": true,
	"useridentity.sessioncontext.sessionissuer.username": true, "useridentity.sessioncontext.ec2roledelivery": true,
}

// resourcesExpr is the one non-column expression the stand-in evaluates.
const resourcesExpr = "json_format(CAST(transform(resources, r -> map(ARRAY['ARN', 'type'], ARRAY[r.arn, r.type])) AS JSON))"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonAthena.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		apiError(w, 400, "UnknownOperationException", "unknown target "+target)
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
		apiError(w, 400, "MissingAuthenticationTokenException", "request is not signed")
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		apiError(w, 400, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls[op]++
	switch op {
	case "GetTableMetadata":
		if str(in["DatabaseName"]) != s.Database || str(in["TableName"]) != s.Table {
			apiError(w, 400, "MetadataException", "table not found")
			return
		}
		var keys []map[string]string
		for _, k := range s.PartitionKeys {
			keys = append(keys, map[string]string{"Name": k, "Type": "string"})
		}
		reply(w, map[string]any{"TableMetadata": map[string]any{"Name": s.Table, "TableType": "EXTERNAL_TABLE", "PartitionKeys": keys}})
	case "StartQueryExecution":
		sql := str(in["QueryString"])
		s.SQL = append(s.SQL, sql)
		id := fmt.Sprintf("q-%04d", len(s.SQL))
		q := &query{sql: sql}
		if ctx, _ := in["QueryExecutionContext"].(map[string]any); str(ctx["Database"]) != s.Database {
			q.err = "SCHEMA_NOT_FOUND: QueryExecutionContext.Database is not " + s.Database
		} else if s.Fail != "" {
			q.err = s.Fail
		} else if err := s.execute(q); err != nil {
			q.err = err.Error()
		}
		s.queries[id] = q
		reply(w, map[string]any{"QueryExecutionId": id})
	case "GetQueryExecution":
		q, id := s.queries[str(in["QueryExecutionId"])], str(in["QueryExecutionId"])
		if q == nil {
			apiError(w, 400, "InvalidRequestException", "QueryExecution "+id+" was not found")
			return
		}
		q.polls++
		state, reason := "SUCCEEDED", ""
		switch {
		case q.stopped:
			state, reason = "CANCELLED", "Query cancelled by user"
		case q.polls == 1 && s.RunningPolls > 0:
			state = "QUEUED"
		case q.polls <= s.RunningPolls:
			state = "RUNNING"
		case q.err != "":
			state, reason = "FAILED", q.err
		}
		status := map[string]any{"State": state}
		if reason != "" {
			status["StateChangeReason"] = reason
		}
		reply(w, map[string]any{"QueryExecution": map[string]any{
			"QueryExecutionId": id, "Query": q.sql, "Status": status,
			"Statistics": map[string]any{"DataScannedInBytes": q.scanned, "EngineExecutionTimeInMillis": 1200},
		}})
	case "GetQueryResults":
		id := str(in["QueryExecutionId"])
		q := s.queries[id]
		if q == nil {
			apiError(w, 400, "InvalidRequestException", "QueryExecution "+id+" was not found")
			return
		}
		if q.err != "" || q.polls <= s.RunningPolls {
			apiError(w, 400, "InvalidRequestException", "Query has not yet finished. Current state: RUNNING")
			return
		}
		limit := 1000
		if v, ok := in["MaxResults"].(float64); ok {
			if v < 1 || v > 1000 {
				apiError(w, 400, "InvalidRequestException", "MaxResults must be between 1 and 1000")
				return
			}
			limit = int(v)
		}
		s.MaxPage = max(s.MaxPage, limit)
		off := 0
		if t := str(in["NextToken"]); t != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(t, "tok-"))
			if err != nil {
				apiError(w, 400, "InvalidRequestException", "invalid NextToken")
				return
			}
			off = n
		}
		// Row 0 is the header: the rows of the result are 1..len(rows).
		total := len(q.rows) + 1
		end := min(off+limit, total)
		var rows []map[string]any
		for i := off; i < end; i++ {
			var data []map[string]any
			if i == 0 {
				for _, n := range q.names {
					data = append(data, map[string]any{"VarCharValue": n})
				}
			} else {
				for _, v := range q.rows[i-1] {
					if v == nil {
						data = append(data, map[string]any{})
					} else {
						data = append(data, map[string]any{"VarCharValue": *v})
					}
				}
			}
			rows = append(rows, map[string]any{"Data": data})
		}
		var cols []map[string]any
		for _, n := range q.names {
			cols = append(cols, map[string]any{"Name": n, "Label": n, "Type": "varchar", "CatalogName": "hive"})
		}
		out := map[string]any{"ResultSet": map[string]any{"Rows": rows, "ResultSetMetadata": map[string]any{"ColumnInfo": cols}}, "UpdateCount": 0}
		if end < total {
			out["NextToken"] = fmt.Sprintf("tok-%d", end)
		}
		reply(w, out)
	case "StopQueryExecution":
		if q := s.queries[str(in["QueryExecutionId"])]; q != nil {
			q.stopped = true
		}
		reply(w, map[string]any{})
	default:
		apiError(w, 400, "UnknownOperationException", op)
	}
}

var (
	selectRE  = regexp.MustCompile(`(?s)^SELECT\n(.*)\nFROM "([^"]+)"\."([^"]+)"\nWHERE eventsource IN \(([^)]*)\)\n?(.*)$`)
	sinceRE   = regexp.MustCompile(`eventtime >= '([^']+)'`)
	untilRE   = regexp.MustCompile(`eventtime < '([^']+)'`)
	tsLoRE    = regexp.MustCompile(`"timestamp" >= '(\d{4}/\d{2}/\d{2})'`)
	tsHiRE    = regexp.MustCompile(`"timestamp" <= '(\d{4}/\d{2}/\d{2})'`)
	itemAsRE  = regexp.MustCompile(`^(.*) AS ([a-z_]+)$`)
	sourcesRE = regexp.MustCompile(`^'([a-z0-9.-]+)'$`)
)

// execute checks q's statement and computes its rows, as Athena would over the stored records.
func (s *Server) execute(q *query) error {
	m := selectRE.FindStringSubmatch(q.sql)
	if m == nil {
		return errors.New("SYNTAX_ERROR: the stand-in reads SELECT <columns> FROM \"db\".\"table\" WHERE eventsource IN (...) and predicates")
	}
	if m[2] != s.Database || m[3] != s.Table {
		return fmt.Errorf("TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.%s.%s' does not exist", m[2], m[3])
	}
	var exprs []string
	for item := range strings.SplitSeq(m[1], ",\n") {
		item = strings.TrimSpace(item)
		expr, name := item, item
		if am := itemAsRE.FindStringSubmatch(item); am != nil {
			expr, name = am[1], am[2]
		}
		if expr != resourcesExpr && !ddlFields[expr] {
			return fmt.Errorf("COLUMN_NOT_FOUND: line 1:8: Column '%s' cannot be resolved or requester is not authorized to access requested resources", expr)
		}
		exprs = append(exprs, expr)
		q.names = append(q.names, name)
	}
	inList := map[string]bool{}
	for p := range strings.SplitSeq(m[4], ", ") {
		sm := sourcesRE.FindStringSubmatch(p)
		if sm == nil {
			return fmt.Errorf("SYNTAX_ERROR: IN list item %q", p)
		}
		inList[sm[1]] = true
	}
	rest := m[5]
	get := func(re *regexp.Regexp) string {
		if v := re.FindStringSubmatch(rest); v != nil {
			return v[1]
		}
		return ""
	}
	since, until, tsLo, tsHi := get(sinceRE), get(untilRE), get(tsLoRE), get(tsHiRE)
	partitioned := len(s.PartitionKeys) > 0
	if !partitioned && (tsLo != "" || tsHi != "") {
		return fmt.Errorf("COLUMN_NOT_FOUND: Column 'timestamp' cannot be resolved")
	}
	var kept []Record
	for _, r := range s.records {
		if partitioned && ((tsLo != "" && r.Partition < tsLo) || (tsHi != "" && r.Partition > tsHi)) {
			continue // pruned: not scanned, not billed
		}
		q.scanned += int64(r.Bytes)
		kept = append(kept, r)
	}
	if s.Exec != nil {
		names, rows, err := s.Exec(q.sql, kept)
		if err != nil {
			return err
		}
		q.names, q.rows = names, rows
		return nil
	}
	for _, r := range kept {
		if !inList[str(lookup(r.Fields, "eventsource"))] {
			continue
		}
		t := str(lookup(r.Fields, "eventtime"))
		if (since != "" && t < since) || (until != "" && t >= until) {
			continue
		}
		row := make([]*string, len(exprs))
		for i, e := range exprs {
			row[i] = value(r.Fields, e)
		}
		q.rows = append(q.rows, row)
	}
	return nil
}

// lookup is a dotted path over a record, matching keys without case as the SerDe does.
func lookup(rec map[string]any, path string) any {
	var cur any = rec
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = nil
		for k, v := range m {
			if strings.EqualFold(k, part) {
				cur = v
				break
			}
		}
	}
	return cur
}

// value is a column's value as GetQueryResults renders it: a string, or nil for NULL. A
// STRING column over a JSON object holds the object's JSON text.
func value(rec map[string]any, expr string) *string {
	if expr == resourcesExpr {
		rs, _ := lookup(rec, "resources").([]any)
		if rs == nil {
			return nil
		}
		out := make([]map[string]any, 0, len(rs))
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			out = append(out, map[string]any{"ARN": lookup(rm, "arn"), "type": lookup(rm, "type")})
		}
		b, _ := json.Marshal(out)
		v := string(b)
		return &v
	}
	switch v := lookup(rec, expr).(type) {
	case nil:
		return nil
	case string:
		return &v
	case bool:
		s := strconv.FormatBool(v)
		return &s
	default:
		b, _ := json.Marshal(v)
		s := string(b)
		return &s
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}

// TableRow is a record as the CloudTrail table's SerDe sees it: keys in lower case, the STRING
// columns that hold JSON (requestparameters, ...) as their JSON text, booleans as strings, and
// the partition column "timestamp" (for loading the records into an SQL engine).
func TableRow(r Record) map[string]any {
	var lower func(v any, top bool) any
	lower = func(v any, top bool) any {
		switch x := v.(type) {
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				k = strings.ToLower(k)
				if top && (k == "requestparameters" || k == "responseelements" || k == "additionaleventdata" || k == "serviceeventdetails") {
					if e != nil {
						b, _ := json.Marshal(e)
						out[k] = string(b)
					}
					continue
				}
				out[k] = lower(e, false)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = lower(e, false)
			}
			return out
		case bool:
			return strconv.FormatBool(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return v
	}
	row := lower(r.Fields, true).(map[string]any)
	row["timestamp"] = r.Partition
	return row
}

// Env is the environment that points the AWS SDK at the stand-in.
func (s *Server) Env() []string {
	return []string{"AWS_ENDPOINT_URL_ATHENA=" + s.URL, "AWS_REGION=eu-west-1",
		"AWS_ACCESS_KEY_ID=AKIDSTANDIN", "AWS_SECRET_ACCESS_KEY=standin-secret",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
}

// Sorted is recs in eventtime order (the order a test compares in).
func Sorted(recs []Record) []Record {
	out := append([]Record(nil), recs...)
	sort.SliceStable(out, func(i, j int) bool {
		return str(lookup(out[i].Fields, "eventtime")) < str(lookup(out[j].Fields, "eventtime"))
	})
	return out
}
