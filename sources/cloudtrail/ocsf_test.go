package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// toOCSF maps one CloudTrail record to the OCSF 1.1.0 API Activity event Security Lake makes
// of it (the OCSF examples' mapping of CloudTrail API Activity; request and response data and
// unmapped objects as JSON text, as Security Lake stores them).
func toOCSF(t testing.TB, rec map[string]any) map[string]any {
	t.Helper()
	s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	obj := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	text := func(v any) any {
		if v == nil {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tm, err := time.Parse(time.RFC3339, s(rec, "eventTime"))
	if err != nil {
		t.Fatal(err)
	}
	id := obj(rec, "userIdentity")
	user := map[string]any{"type": s(id, "type"), "uid": s(id, "arn"), "uid_alt": s(id, "principalId"), "name": s(id, "userName"),
		"credential_uid": s(id, "accessKeyId"), "account": map[string]any{"uid": s(id, "accountId")}}
	actor := map[string]any{"user": user, "invoked_by": s(id, "invokedBy"), "idp": map[string]any{"name": s(id, "identityProvider")}}
	if obo := obj(id, "onBehalfOf"); obo != nil {
		user["uid_alt"] = s(obo, "userId")
		actor["idp"] = map[string]any{"uid": s(obo, "identityStoreArn")}
	}
	if iss := obj(obj(id, "sessionContext"), "sessionIssuer"); iss != nil {
		actor["session"] = map[string]any{"issuer": s(iss, "arn")}
	}
	src := map[string]any{}
	if ip := s(rec, "sourceIPAddress"); ip != "" {
		if _, err := netip.ParseAddr(ip); err == nil {
			src["ip"] = ip
		} else {
			src["domain"] = ip
		}
	}
	var res []any
	if rs, ok := rec["resources"].([]any); ok {
		for _, r := range rs {
			rm := r.(map[string]any)
			res = append(res, map[string]any{"uid": s(rm, "ARN"), "type": s(rm, "type"), "owner": map[string]any{"account": map[string]any{"uid": s(rm, "accountId")}}})
		}
	}
	unmapped := map[string]any{"recipientAccountId": s(rec, "recipientAccountId")}
	for _, k := range []string{"readOnly", "managementEvent", "sessionCredentialFromConsole", "eventCategory"} {
		if v, ok := rec[k]; ok {
			unmapped[k] = fmt.Sprint(v)
		}
	}
	if v := rec["additionalEventData"]; v != nil {
		unmapped["additionalEventData"] = text(v)
	}
	return map[string]any{
		"class_uid": OCSFClassAPIActivity, "class_name": "API Activity", "category_uid": 6, "severity_id": 1,
		"time": tm.UnixMilli(), "time_dt": s(rec, "eventTime"),
		"metadata": map[string]any{"uid": s(rec, "eventID"), "event_code": s(rec, "eventType"), "version": "1.1.0",
			"product": map[string]any{"name": "CloudTrail", "vendor_name": "AWS", "version": s(rec, "eventVersion")}},
		"api": map[string]any{"operation": s(rec, "eventName"), "service": map[string]any{"name": s(rec, "eventSource")},
			"request":  map[string]any{"uid": s(rec, "requestID"), "data": text(rec["requestParameters"])},
			"response": map[string]any{"error": s(rec, "errorCode"), "message": s(rec, "errorMessage"), "data": text(rec["responseElements"])}},
		"actor": actor, "src_endpoint": src, "http_request": map[string]any{"user_agent": s(rec, "userAgent")},
		"resources": res, "cloud": map[string]any{"provider": "AWS", "region": s(rec, "awsRegion")}, "unmapped": unmapped,
	}
}

// toRow is an OCSF event (as JSON) as the Parquet row Security Lake writes.
func toRow(t testing.TB, ev []byte) ocsfRow {
	t.Helper()
	var e ocsfEvent
	if err := json.Unmarshal(ev, &e); err != nil {
		t.Fatal(err)
	}
	str := func(raw json.RawMessage) string {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if string(raw) == "null" {
			return ""
		}
		return string(raw)
	}
	var r ocsfRow
	c := int32(e.ClassUID)
	r.ClassUID, r.Time = &c, &e.Time
	r.Metadata = &struct {
		UID       string `parquet:"uid,optional"`
		EventCode string `parquet:"event_code,optional"`
		Product   *struct {
			Name    string `parquet:"name,optional"`
			Version string `parquet:"version,optional"`
		} `parquet:"product,optional"`
	}{UID: e.Metadata.UID, EventCode: e.Metadata.EventCode}
	r.Metadata.Product = &struct {
		Name    string `parquet:"name,optional"`
		Version string `parquet:"version,optional"`
	}{e.Metadata.Product.Name, e.Metadata.Product.Version}
	// The nested anonymous structs are filled through JSON, keys without '_' so that they match
	// the Go field names ("credential_uid" as CredentialUID).
	fill := func(dst, src any) {
		b, _ := json.Marshal(src)
		var v any
		json.Unmarshal(b, &v)
		b, _ = json.Marshal(rekey(v))
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	api := map[string]any{"Operation": e.API.Operation, "Service": map[string]any{"Name": e.API.Service.Name},
		"Request":  map[string]any{"Data": str(e.API.Request.Data), "UID": e.API.Request.UID},
		"Response": map[string]any{"Error": e.API.Response.Error, "Message": e.API.Response.Message, "Data": str(e.API.Response.Data)}}
	fill(&r.API, api)
	fill(&r.Actor, e.Actor)
	fill(&r.SrcEndpoint, e.SrcEndpoint)
	fill(&r.HTTPRequest, e.HTTPRequest)
	fill(&r.Cloud, e.Cloud)
	for _, res := range e.Resources {
		var rr ocsfRowResource
		fill(&rr, res)
		r.Resources = append(r.Resources, rr)
	}
	if len(e.Unmapped) > 0 {
		r.Unmapped = map[string]string{}
		for k, v := range e.Unmapped {
			r.Unmapped[k] = str(v)
		}
	}
	return r
}

func rekey(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ReplaceAll(k, "_", "")] = rekey(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = rekey(x[i])
		}
	}
	return v
}

func writeParquet(t testing.TB, path string, rows []ocsfRow) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[ocsfRow](f, parquet.Compression(&parquet.Snappy))
	for len(rows) > 0 { // several row groups, as Security Lake's files have
		n := min(len(rows), 400)
		if _, err := w.Write(rows[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rows = rows[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// practiceRecords are the practice CloudTrail scenario's records (records.ndjson), else the
// corpus's detonation logs.
func practiceRecords(t testing.TB) [][]byte {
	root := os.Getenv("VAULTSENTRY_SCENARIOS")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "scenarios")
	}
	var out [][]byte
	if data, err := os.ReadFile(filepath.Join(root, "cloudtrail", "records.ndjson")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				out = append(out, append([]byte(nil), sc.Bytes()...))
			}
		}
		return out
	}
	for _, f := range []string{"stratus-aws.credential-access.secretsmanager-retrieve-secrets.json", "stratus-aws.defense-evasion.cloudtrail-stop.json"} {
		data, err := os.ReadFile(filepath.Join(ctData, f))
		if err != nil {
			t.Fatal(err)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(data, &arr); err != nil {
			t.Fatal(err)
		}
		for _, r := range arr {
			out = append(out, r)
		}
	}
	return out
}

// TestOCSFParity: the practice records as Security Lake OCSF events, one per line, as an
// array and as Parquet, decode into exactly the events of the records themselves.
func TestOCSFParity(t *testing.T) {
	recs := practiceRecords(t)
	dir := t.TempDir()
	var orig, lines bytes.Buffer
	var arr []json.RawMessage
	var rows []ocsfRow
	for _, raw := range recs {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if s, _ := m["eventType"].(string); s == "AwsCloudTrailInsight" {
			continue
		}
		b, _ := json.Marshal(m)
		orig.Write(b)
		orig.WriteByte('\n')
		ev, _ := json.Marshal(toOCSF(t, m))
		lines.Write(ev)
		lines.WriteByte('\n')
		arr = append(arr, ev)
		rows = append(rows, toRow(t, ev))
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, _ := json.Marshal(arr)
	want := loadCT(t, write("records.ndjson", orig.Bytes()))
	if len(want.Events) < 10 {
		t.Fatalf("only %d events to compare", len(want.Events))
	}
	pq := filepath.Join(dir, "security-lake.parquet")
	writeParquet(t, pq, rows)
	for _, p := range []string{write("ocsf.ndjson", lines.Bytes()), write("ocsf-array.json", a), pq} {
		got := loadCT(t, p)
		st := got.Files[0]
		if st.Format != "cloudtrail" || st.Shapes[ShapeOCSF] != len(rows) || st.Malformed != 0 || st.ReadError != "" {
			t.Errorf("%s: format %q shapes %v malformed %d read error %q problems %v", filepath.Base(p), st.Format, st.Shapes, st.Malformed, st.ReadError, st.Problems)
		}
		if diff := cmp.Diff(want.Events, got.Events, cmp.AllowUnexported(event.Event{}), cmpopts.IgnoreFields(event.Event{}, "Pos"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
			t.Errorf("%s: events differ from the records' (-records +ocsf):\n%s", filepath.Base(p), diff)
		}
	}
	// Parquet's "lines" are row numbers.
	got := loadCT(t, pq)
	maxLine := 0
	for _, ev := range got.Events {
		maxLine = max(maxLine, ev.Pos.Line)
	}
	if maxLine < len(rows)-5 || maxLine > len(rows) || got.Files[0].Lines != len(rows) {
		t.Errorf("parquet positions: largest %d, lines %d, rows %d", maxLine, got.Files[0].Lines, len(rows))
	}
}

// TestOCSFOtherClass: Security Lake's own samples: the API Activity is read as a CloudTrail
// record, the Authentication event (ConsoleLogin, class 3002) is skipped by class; a Parquet
// file of another class says so, one without class_uid is not taken for OCSF.
func TestOCSFOtherClass(t *testing.T) {
	l := loadCT(t, filepath.Join(ctData, "elastic-securitylake-test-api-activity.log"), filepath.Join(ctData, "elastic-securitylake-test-authentication.log"))
	if st := l.Files[0]; st.Parsed != 1 || st.Shapes[ShapeOCSF] != 1 || len(l.Events) != 1 {
		t.Fatalf("api activity: %+v", st)
	}
	ev := l.Events[0]
	if ev.Action != "DescribeDirectConnectGateways" || ev.Principal != "arn:aws:iam::811596193553:user/Level6" || ev.DisplayName != "Level6" ||
		ev.Credential != "AKIA3Z2XBVUDFQ9TU4MD" || ev.RemoteAddr.String() != "1.128.0.0" || ev.Namespace != "811596193553" ||
		!ev.Time.Equal(time.UnixMilli(1600726972000)) || !strings.HasPrefix(ev.UserAgent, "Boto3/1.15.2") {
		t.Errorf("api activity event: %+v", ev)
	}
	if st := l.Files[1]; st.Skipped["ocsf-class-3002"] != 1 || st.Parsed != 0 || st.Malformed != 0 {
		t.Errorf("authentication: %+v", st)
	}

	dir := t.TempDir()
	var authRow ocsfRow
	data, _ := os.ReadFile(filepath.Join(ctData, "elastic-securitylake-test-authentication.log"))
	authRow = toRow(t, bytes.TrimSpace(data))
	pq := filepath.Join(dir, "auth.parquet")
	writeParquet(t, pq, []ocsfRow{authRow, authRow})
	l = loadCT(t, pq)
	if st := l.Files[0]; st.Skipped["ocsf-class-3002"] != 2 || len(l.Events) != 0 || !strings.Contains(st.Note, "OCSF class 3002, not API Activity (6003)") {
		t.Errorf("parquet of class 3002: %+v", st)
	}

	type other struct {
		Name string `parquet:"name"`
	}
	f, _ := os.Create(filepath.Join(dir, "other.parquet"))
	w := parquet.NewGenericWriter[other](f)
	w.Write([]other{{"a"}})
	w.Close()
	f.Close()
	l = loadCT(t, filepath.Join(dir, "other.parquet"))
	if st := l.Files[0]; !strings.Contains(st.ReadError, "without OCSF's class_uid column") || len(l.Events) != 0 {
		t.Errorf("parquet without class_uid: %+v", st)
	}
	// Not Parquet past its magic: a clear read error, no panic.
	l = loadCT(t, func() string {
		p := filepath.Join(dir, "bad.parquet")
		os.WriteFile(p, []byte("PAR1 this is not parquet at all"), 0o600)
		return p
	}())
	if st := l.Files[0]; !strings.Contains(st.ReadError, "Parquet") {
		t.Errorf("damaged parquet: %+v", st)
	}
}

// BenchmarkOCSFParquet measures reading a Security Lake Parquet file (MB/s of the file).
func BenchmarkOCSFParquet(b *testing.B) {
	recs := practiceRecords(b)
	var rows []ocsfRow
	for len(rows) < 20000 {
		for _, raw := range recs {
			var m map[string]any
			json.Unmarshal(raw, &m)
			if s, _ := m["eventType"].(string); s == "AwsCloudTrailInsight" {
				continue
			}
			m["eventID"] = fmt.Sprintf("%v-%d", m["eventID"], len(rows))
			ev, _ := json.Marshal(toOCSF(b, m))
			rows = append(rows, toRow(b, ev))
		}
	}
	p := filepath.Join(b.TempDir(), "bench.parquet")
	writeParquet(b, p, rows)
	fi, _ := os.Stat(p)
	ins, _ := sources.Expand([]string{p})
	b.SetBytes(fi.Size())
	b.ResetTimer()
	for b.Loop() {
		l, err := sources.Load(b.Context(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
		if err != nil || l.Files[0].Parsed != len(rows) {
			b.Fatalf("%v %+v", err, l.Files[0])
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
