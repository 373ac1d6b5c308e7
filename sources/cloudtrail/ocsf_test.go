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
	"github.com/vaultsentry/vaultsentry/internal/ocsfgen"
	"github.com/vaultsentry/vaultsentry/sources"
)

// toOCSF is the OCSF event Security Lake makes of a CloudTrail record.
func toOCSF(t testing.TB, rec map[string]any) map[string]any {
	t.Helper()
	ev, err := ocsfgen.Event(rec)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// toRow is an OCSF event (as JSON) as the Parquet row Security Lake writes.
func toRow(t testing.TB, ev []byte) ocsfgen.Row {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	r, err := ocsfgen.RowOf(m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeParquet(t testing.TB, path string, rows []ocsfgen.Row) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := ocsfgen.WriteParquet(f, rows, 400); err != nil { // several row groups, as Security Lake's files have
		t.Fatal(err)
	}
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
	var rows []ocsfgen.Row
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
	var authRow ocsfgen.Row
	data, _ := os.ReadFile(filepath.Join(ctData, "elastic-securitylake-test-authentication.log"))
	authRow = toRow(t, bytes.TrimSpace(data))
	pq := filepath.Join(dir, "auth.parquet")
	writeParquet(t, pq, []ocsfgen.Row{authRow, authRow})
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
	if st := l.Files[0]; st.Format != "" || st.NotRead == "" || len(l.Events) != 0 {
		t.Errorf("parquet without class_uid: claimed as CloudTrail: %+v", st)
	}
	// Not Parquet past its magic: not claimed, no panic (sources/formats: the export's reader says so).
	l = loadCT(t, func() string {
		p := filepath.Join(dir, "bad.parquet")
		os.WriteFile(p, []byte("PAR1 this is not parquet at all"), 0o600)
		return p
	}())
	if st := l.Files[0]; st.Format != "" || st.NotRead == "" {
		t.Errorf("damaged parquet: %+v", st)
	}
}

// BenchmarkOCSFParquet measures reading a Security Lake Parquet file (MB/s of the file).
func BenchmarkOCSFParquet(b *testing.B) {
	recs := practiceRecords(b)
	var rows []ocsfgen.Row
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

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x01\n\r\t\x1f", "é 日本 \U0001F600", "bad\xff\xfeutf8", "\u2028"} {
		want, _ := json.Marshal(s)
		got := AppendJSONString(nil, s)
		var back, wantBack string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, got, err)
		}
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: %s decodes to %q, encoding/json's to %q", s, got, back, wantBack)
		}
	}
}

// TestOCSFLinesAccounted: in OCSF JSON lines, a broken line is malformed at its line, an
// event of another class or product is skipped by reason, a plain CloudTrail record is read.
func TestOCSFLinesAccounted(t *testing.T) {
	api, _ := os.ReadFile(filepath.Join(ctData, "elastic-securitylake-test-api-activity.log"))
	api = bytes.TrimSpace(api)
	other := bytes.Replace(api, []byte(`"name":"CloudTrail"`), []byte(`"name":"Okta"`), 1)
	finding := []byte(`{"class_uid":2004,"metadata":{"product":{"name":"Security Hub"}},"time":1600726972000}`)
	plain := `{"eventVersion":"1.08","eventTime":"2020-09-21T22:30:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"ListSecrets","awsRegion":"us-east-1","eventID":"e-plain","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::811596193553:user/Level6","accountId":"811596193553"}}`
	data := strings.Join([]string{string(api), `{"class_uid":6003,"metadata":`, "", string(other), string(finding), plain}, "\n") + "\n"
	p := filepath.Join(t.TempDir(), "lake.ndjson")
	os.WriteFile(p, []byte(data), 0o600)
	st := loadCT(t, p).Files[0]
	if st.Parsed != 2 || st.Malformed != 1 || len(st.Problems) != 1 || st.Problems[0].Line != 2 ||
		st.Skipped["ocsf-not-cloudtrail"] != 1 || st.Skipped["ocsf-class-2004"] != 1 || st.Skipped["blank"] != 1 || !st.Balanced() {
		t.Errorf("stats %+v", st)
	}
	if st.Shapes[ShapeOCSF] != 1 {
		t.Errorf("shapes %v, want one OCSF record (the plain record is not one)", st.Shapes)
	}
}
