package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/internal/ctgen"
	"github.com/vaultsentry/vaultsentry/internal/race"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// checkCTFastMatchesSonic is the contract of ctFast on one record: when it accepts the record,
// sonic accepts it too and decodes the same fields, the same parameters (when the fast path
// read them), and so the same events.
func checkCTFastMatchesSonic(t testing.TB, raw []byte) (fast bool) {
	t.Helper()
	var f ctFast
	if !f.decodeRecord(raw, false) {
		return false
	}
	var want ctRecord
	if err := sonic.Unmarshal(raw, &want); err != nil {
		t.Fatalf("fast path accepts a record sonic rejects (%v):\n%q", err, raw)
	}
	got := f.rec
	norm := func(r *ctRecord) {
		if len(r.Resources) == 0 {
			r.Resources = nil
		}
		if string(r.RequestParameters) == "null" {
			r.RequestParameters = nil
		}
	}
	norm(&got)
	norm(&want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path and sonic disagree on\n%q\n fast %+v\nsonic %+v", raw, got, want)
	}
	var params *ctParams
	if f.paramsOK {
		params = &f.params
		var wantP ctParams
		if len(want.RequestParameters) > 0 && want.RequestParameters[0] == '{' {
			if err := sonic.Unmarshal(want.RequestParameters, &wantP); err != nil {
				t.Fatalf("fast path reads parameters sonic rejects (%v):\n%q", err, want.RequestParameters)
			}
		}
		gotP := f.params
		normP := func(p *ctParams) {
			if len(p.SecretIDList) == 0 {
				p.SecretIDList = nil
			}
			if len(p.VersionStages) == 0 {
				p.VersionStages = nil
			}
			if len(p.Filters) == 0 {
				p.Filters = nil
			}
			for i := range p.Filters {
				if len(p.Filters[i].Values) == 0 {
					p.Filters[i].Values = nil
				}
			}
		}
		normP(&gotP)
		normP(&wantP)
		if !reflect.DeepEqual(gotP, wantP) {
			t.Fatalf("fast path and sonic disagree on the parameters of\n%q\n fast %+v\nsonic %+v", raw, gotP, wantP)
		}
	}
	tm := time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC)
	in := sources.NewInterner().Local()
	a := appendRecordEvents(nil, &f.rec, tm, event.Pos{File: "x", Line: 1}, in, params)
	b := appendRecordEvents(nil, &want, tm, event.Pos{File: "x", Line: 1}, in, nil)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("fast path and sonic make different events of\n%q\n fast %+v\nsonic %+v", raw, a, b)
	}
	return true
}

// ctTestRecords are the corpus records and generated ones of every kind.
var ctTestRecords = sync.OnceValue(func() [][]byte {
	var out [][]byte
	files, _ := filepath.Glob(filepath.Join(ctData, "*"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil || strings.HasSuffix(p, ".md") {
			continue
		}
		var env ctEnvelope
		if sonic.Unmarshal(data, &env) == nil && len(env.Records) > 0 {
			for _, r := range env.Records {
				out = append(out, r)
			}
			continue
		}
		if len(env.Events) > 0 {
			for _, e := range env.Events {
				out = append(out, []byte(e.CloudTrailEvent))
			}
			continue
		}
		var arr []json.RawMessage
		if sonic.Unmarshal(data, &arr) == nil {
			for _, r := range arr {
				out = append(out, r)
			}
			continue
		}
		if d := bytes.TrimSpace(data); len(d) > 0 && d[0] == '{' && sonic.Valid(d) {
			out = append(out, d)
			continue
		}
		for _, l := range bytes.Split(data, []byte{'\n'}) {
			if l = bytes.TrimSpace(l); len(l) > 0 && l[0] == '{' {
				out = append(out, l)
			}
		}
	}
	n := 3000
	if race.Enabled {
		n = 300
	}
	return append(out, ctgen.Records(n, ctgen.Options{}, nil)...)
})

func TestCTFastMatchesSonic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	recs := ctTestRecords()
	fast, total := 0, 0
	for i, raw := range recs {
		variants := [][]byte{raw}
		if race.Enabled && i%50 == 0 || !race.Enabled && (i%10 == 0 || i < 60) {
			variants = append(variants, testutil.Mutations(r, raw)...)
			variants = append(variants,
				bytes.Replace(raw, []byte(`"eventName"`), []byte(`"EVENTNAME"`), 1),
				bytes.Replace(raw, []byte(`"secretId":"`), []byte(`"secretId":"\u00e9`), 1),
				bytes.Replace(raw, []byte(`"secretId":"`), []byte("\"secretId\":\"\xff"), 1),
				bytes.Replace(raw, []byte(`"secretId":"`), []byte(`"secretId":"a\nb`), 1),
				bytes.Replace(raw, []byte(`"requestParameters":{`), []byte(`"requestParameters":{"resourcePolicy":"{}",`), 1),
				bytes.Replace(raw, []byte(`"requestParameters":{`), []byte(`"requestParameters":{"secretId":7,`), 1),
				bytes.Replace(raw, []byte(`"resources":[`), []byte(`"resources":[null,`), 1),
				bytes.Replace(raw, []byte(`"userIdentity":{`), []byte(`"userIdentity":{"type":null,"x":[{"y":-1.5e3}],`), 1),
				bytes.Replace(raw, []byte(`"eventTime"`), []byte(`"eventTime":"x","eventTime"`), 1))
		}
		for _, v := range variants {
			if len(v) == 0 || v[0] != '{' {
				continue
			}
			total++
			if checkCTFastMatchesSonic(t, v) {
				fast++
			}
		}
	}
	t.Logf("%d of %d records on the fast path", fast, total)
	// The records themselves must all take the fast path, or it is not one.
	for _, raw := range recs {
		if !checkCTFastMatchesSonic(t, raw) {
			t.Errorf("ordinary record not on the fast path: %s", raw)
		}
	}
}

// readCTBoth reads data as one CloudTrail input with and without the fast path.
func readCTBoth(t testing.TB, data []byte) (fast, slow sources.FileStats, fe, se []event.Event) {
	t.Helper()
	read := func(on bool) (sources.FileStats, []event.Event) {
		ctFastPath = on
		defer func() { ctFastPath = true }()
		var st sources.FileStats
		evs, _ := readCloudTrail("x.json", bufio.NewReader(bytes.NewReader(data)), 1<<20, &st, nil)
		return st, evs
	}
	fast, fe = read(true)
	slow, se = read(false)
	return
}

func checkCTDocument(t testing.TB, data []byte) {
	t.Helper()
	fs, ss, fe, se := readCTBoth(t, data)
	if len(fe) == 0 {
		fe = nil
	}
	if len(se) == 0 {
		se = nil
	}
	if !reflect.DeepEqual(fs, ss) {
		t.Fatalf("statistics differ on\n%.600q\n fast %+v\nsonic %+v", data, fs, ss)
	}
	if !reflect.DeepEqual(fe, se) {
		t.Fatalf("events differ on\n%.600q\n fast %+v\nsonic %+v", data, fe, se)
	}
}

// TestCTFastDocuments: a whole input reads the same with and without the fast path: delivered
// log files, one record per line, arrays, and broken variants of them.
func TestCTFastDocuments(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	recs := ctgen.Records(400, ctgen.Options{}, nil)
	logFile := func(rs [][]byte) []byte {
		return append(append([]byte(`{"Records":[`), bytes.Join(rs, []byte(","))...), `]}`...)
	}
	docs := [][]byte{
		logFile(recs[:300]),
		logFile(recs[300:301]),
		[]byte(`{"Records":[]}`),
		[]byte(`{"Records":null}`),
		[]byte(`{"x":1,"Records":[` + string(recs[0]) + `],"y":{"z":[]}}`),
		[]byte(`{"Records":[` + string(recs[0]) + `],"Records":[]}`),
		[]byte(`{"records":[` + string(recs[0]) + `,1,null,{"eventName":5},{"eventTime":"bad","eventName":"X"}]}`),
		[]byte(`{"Records":[` + string(recs[0]) + `],"eventName":"x"}`),
		[]byte(`{"Records":[` + string(recs[0]) + `],"Events":[]}`),
		append(append(bytes.Join(recs[:50], []byte("\n")), '\n'), logFile(recs[50:60])...),
		append([]byte("\n\n"), logFile(recs[60:70])...),
		[]byte("[" + string(bytes.Join(recs[70:80], []byte(","))) + "]"),
		[]byte(`{"digestPublicKeyFingerprint":"ab","logFiles":[]}`),
		[]byte(`{"eventType":"AwsCloudTrailInsight","eventTime":"2026-09-21T00:00:00Z"}`),
		[]byte(`{"detail":` + string(recs[1]) + `}`),
		[]byte(`{"a":1}`),
	}
	for _, f := range []string{"awsdocs-ct-records-wrapper-errorcode-example.json", "stratus-aws.credential-access.secretsmanager-retrieve-secrets.json",
		"elastic-test-get-secret-value-json.log", "awsdocs-ct-digest-file-example.json", "awsdocs-ct-insight-records-example.json"} {
		data, err := os.ReadFile(filepath.Join(ctData, f))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, data)
	}
	for i, d := range docs {
		checkCTDocument(t, d)
		if i < 2 {
			continue // too long to mutate byte by byte many times
		}
		for _, m := range testutil.Mutations(r, d) {
			checkCTDocument(t, m)
		}
	}
	// One record mutated inside a log file: that record (or the file) goes to sonic.
	rounds := 200
	if race.Enabled {
		rounds = 40
	}
	for range rounds {
		i := r.IntN(40)
		rs := append([][]byte(nil), recs[:40]...)
		ms := testutil.Mutations(r, rs[i])
		rs[i] = ms[r.IntN(len(ms))]
		checkCTDocument(t, logFile(rs))
	}
}

func TestParseCTTimeFast(t *testing.T) {
	for _, s := range []string{"2026-09-21T12:34:56Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-09-21T24:00:00Z", "2026-09-21T23:60:00Z", "2026-09-21T23:59:60Z", "2026-09-21T12:34:5xZ",
		"2026-09-21 12:34:56Z", "0000-01-01T00:00:00Z"} {
		want, werr := time.Parse(time.RFC3339Nano, s)
		got, ok := parseCTTimeFast(s)
		if ok && (werr != nil || !got.Equal(want) || got.Location() != time.UTC) {
			t.Errorf("%s: fast %v, time.Parse %v (%v)", s, got, want, werr)
		}
		if !ok && werr == nil && s[19] == 'Z' && len(s) == 20 && s[10] == 'T' {
			t.Errorf("%s: a plain CloudTrail time left to time.Parse", s)
		}
	}
}

// BenchmarkLoadCloudTrail reads a generated S3 export tree (8 MiB of log files, gzip) the way
// `vaultsentry cloudtrail --from DIR` does; scripts/bench.sh --cloudtrail measures a gigabyte.
func BenchmarkLoadCloudTrail(b *testing.B) {
	dir := b.TempDir()
	st, err := ctgen.Write(dir, 8<<20, ctgen.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ins, errs := sources.Expand([]string{dir})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		res, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
		if err != nil {
			b.Fatal(err)
		}
		events += len(res.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
