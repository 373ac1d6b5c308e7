package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/logstub"
	"github.com/vaultsentry/vaultsentry/sources"
)

var t0 = time.Date(2026, 9, 23, 12, 0, 0, 0, time.UTC)

// entries makes n entries over two streams, in groups of `same` sharing one nanosecond.
func entries(n, same int) []logstub.LokiEntry {
	var out []logstub.LokiEntry
	for i := range n {
		host := []string{"vault-0", "vault-1"}[i%2]
		out = append(out, logstub.LokiEntry{
			Labels: map[string]string{"job": "vault-audit", "host": host, "filename": "/var/log/vault/audit.log"},
			Ts:     t0.Add(time.Duration(i/same) * time.Millisecond).UnixNano(),
			Line:   fmt.Sprintf(`{"time":"x","type":"request","request":{"id":"r%d"}}`, i),
		})
	}
	return out
}

// readSpool returns every line of every stream, by stream name.
func readSpool(t *testing.T, sp *sources.Spool) map[string][]string {
	t.Helper()
	ins, err := sp.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, in := range ins {
		rc, err := in.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[in.Name] = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	return out
}

func newSpool(t *testing.T) *sources.Spool {
	sp, err := sources.NewSpool()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// TestExportPages: many pages, groups of entries sharing a nanosecond across page boundaries,
// a server that caps the page (the client halves from 5000), a range longer than the server's
// max_query_length (refused, then split), tenant and basic auth, a 503 now and then: every entry
// is written exactly once, in its stream, with its labels.
func TestExportPages(t *testing.T) {
	const n = 2000
	stub := &logstub.Loki{Entries: entries(n, 7), MaxEntries: 100, MaxQueryLength: 90 * time.Second,
		OrgID: "tenant-a", Username: "u", Password: "p", FailEvery: 9}
	url := stub.Start()
	defer stub.Close()
	sp := newSpool(t)
	o := Options{URL: url, Query: `{job="vault-audit"}`, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), RetryWait: time.Millisecond}
	o.FromEnv(env{"LOKI_ORG_ID": "tenant-a", "LOKI_USERNAME": "u", "LOKI_PASSWORD": "p"}.get)
	st, err := Export(context.Background(), o, sp)
	if err != nil {
		t.Fatal(err)
	}
	got := readSpool(t, sp)
	if len(got) != 2 {
		t.Fatalf("streams %d, want 2: %v", len(got), keys(got))
	}
	seen := map[string]int{}
	for name, lines := range got {
		if !strings.HasPrefix(name, `loki {host="vault-`) || !strings.HasSuffix(name, `job="vault-audit"} /var/log/vault/audit.log`) {
			t.Errorf("stream name %q", name)
		}
		var prev time.Time
		for _, l := range lines {
			var j struct {
				Labels    map[string]string `json:"labels"`
				Line      string            `json:"line"`
				Timestamp string            `json:"timestamp"`
			}
			if err := json.Unmarshal([]byte(l), &j); err != nil {
				t.Fatalf("spool line %q: %v", l, err)
			}
			if j.Labels["job"] != "vault-audit" || j.Labels["filename"] == "" {
				t.Errorf("labels %v", j.Labels)
			}
			at, err := time.Parse(time.RFC3339Nano, j.Timestamp)
			if err != nil || at.Before(prev) {
				t.Errorf("%s: %s after %s: not in time order (%v)", name, j.Timestamp, prev, err)
			}
			prev = at
			seen[j.Line]++
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct entries, want %d", len(seen), n)
	}
	for l, c := range seen {
		if c != 1 {
			t.Errorf("%s written %d times", l, c)
		}
	}
	if st.Entries != n || st.PageLimit > 100 || st.PageHalvings == 0 || st.RangeSplits == 0 || st.Retries == 0 || st.Overlap == 0 || st.Gap != nil {
		t.Errorf("stats %+v", st)
	}
	if st.Pages < n/100 {
		t.Errorf("%d pages for %d entries at most 100 a page", st.Pages, n)
	}
	for _, l := range stub.Limits {
		if l > 100 {
			t.Errorf("a page of %d was answered", l)
		}
	}
}

type env map[string]string

func (e env) get(k string) string { return e[k] }

func keys(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestExportSameNanosecond: more entries than a page share one nanosecond: a clear error, the
// entries before them kept, the rest named as not read.
func TestExportSameNanosecond(t *testing.T) {
	ents := entries(10, 1)
	for i := range 5000 {
		ents = append(ents, logstub.LokiEntry{Labels: map[string]string{"job": "vault-audit"}, Ts: t0.Add(time.Second).UnixNano(),
			Line: fmt.Sprintf("burst %d", i)})
	}
	stub := &logstub.Loki{Entries: ents}
	url := stub.Start()
	defer stub.Close()
	sp := newSpool(t)
	st, err := Export(context.Background(), Options{URL: url, Query: `{job="vault-audit"}`, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}, sp)
	if !errors.Is(err, ErrSameNanosecond) {
		t.Fatalf("err %v, want ErrSameNanosecond", err)
	}
	if !strings.Contains(err.Error(), "5000 entries at 2026-09-23T12:00:01Z") {
		t.Errorf("error does not say where: %v", err)
	}
	// The first page held the 10 and 4990 of the burst; the second, all at one nanosecond, stops.
	if st.Entries != 5000 || st.Pages != 2 || st.Gap == nil || !st.Gap.From.Equal(t0.Add(time.Second)) || !st.Gap.To.Equal(t0.Add(time.Hour)) {
		t.Errorf("stats %+v gap %+v", st, st.Gap)
	}
	// 4999 at one nanosecond fit in a page of 5000: read.
	stub2 := &logstub.Loki{Entries: ents[:10+4999]}
	url2 := stub2.Start()
	defer stub2.Close()
	st2, err := Export(context.Background(), Options{URL: url2, Query: `{job="vault-audit"}`, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}, newSpool(t))
	if err != nil || st2.Entries != 10+4999 {
		t.Errorf("4999 at one nanosecond: %v, %d entries", err, st2.Entries)
	}
}

// TestNewest: the newest entry, found by a backward query of one entry, window by window.
func TestNewest(t *testing.T) {
	ents := entries(50, 1)
	stub := &logstub.Loki{Entries: ents, MaxQueryLength: 24 * time.Hour}
	url := stub.Start()
	defer stub.Close()
	newest := time.Unix(0, ents[len(ents)-1].Ts).UTC()
	got, ok, err := Newest(context.Background(), Options{URL: url, Query: `{job="vault-audit"}`}, t0.Add(30*24*time.Hour), 60*24*time.Hour)
	if err != nil || !ok || !got.Equal(newest) {
		t.Errorf("Newest = %v, %v, %v; want %v", got, ok, err, newest)
	}
	_, ok, err = Newest(context.Background(), Options{URL: url, Query: `{job="other"}`}, t0.Add(24*time.Hour), 3*24*time.Hour)
	if err != nil || ok {
		t.Errorf("no match: %v, %v", ok, err)
	}
}

// TestExportAuthError: a refused credential is an error that names the environment variables
// and never the secret.
func TestExportAuthError(t *testing.T) {
	stub := &logstub.Loki{Entries: entries(3, 1), Bearer: "right"}
	url := stub.Start()
	defer stub.Close()
	_, err := Export(context.Background(), Options{URL: url, Query: `{job="vault-audit"}`, Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Bearer: "s3cret-token"}, newSpool(t))
	if err == nil || !strings.Contains(err.Error(), "LOKI_BEARER_TOKEN") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"30d1h": 721 * time.Hour, "4w2d1h": 721 * time.Hour, "721h0m0s": 721 * time.Hour, "1m": time.Minute, "90s": 90 * time.Second} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("%s: %v %v", s, got, err)
		}
	}
	if _, err := parseDuration("soon"); err == nil {
		t.Error("soon parsed")
	}
}

// BenchmarkExport measures entries/s through the fake Loki (loopback HTTP, JSON both ways,
// the spool on disk).
func BenchmarkExport(b *testing.B) {
	const n = 50000
	ents := make([]logstub.LokiEntry, n)
	line := `{"time":"2026-09-23T12:00:00.123456789Z","type":"response","auth":{"accessor":"hmac-sha256:0123456789abcdef","display_name":"k8s-eu1-risk-fraud-model","policies":["default","fraud-model"]},"request":{"id":"6f0c8a8e-0000-4000-8000-%012d","operation":"read","path":"kv/data/prod/fraud/model","remote_address":"100.73.2.14"},"response":{"mount_type":"kv"}}`
	for i := range ents {
		ents[i] = logstub.LokiEntry{Labels: map[string]string{"job": "vault-audit", "host": "vault-0"}, Ts: t0.Add(time.Duration(i) * time.Millisecond).UnixNano(), Line: fmt.Sprintf(line, i)}
	}
	stub := &logstub.Loki{Entries: ents}
	url := stub.Start()
	defer stub.Close()
	b.ResetTimer()
	total := 0
	for b.Loop() {
		sp, _ := sources.NewSpool()
		st, err := Export(context.Background(), Options{URL: url, Query: `{job="vault-audit"}`, Start: t0, End: t0.Add(time.Hour)}, sp)
		if err != nil || st.Entries != n {
			b.Fatal(err, st.Entries)
		}
		total += st.Entries
		sp.Close()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "entries/s")
}

// TestAppendJSONL: the spool's lines decode to the labels, line and time they were written
// from, whatever the line holds (quotes, control characters, invalid UTF-8, a terminal escape).
func TestAppendJSONL(t *testing.T) {
	for _, line := range []string{`{"time":"2026-09-23T12:00:00Z","type":"request"}`, "a\"b\\c\n\r\t\x00\x1b[31m", "bad \xff utf-8 é 漢", ""} {
		labels := map[string]string{"job": "vault\"audit", "host": "h\n1"}
		b := appendJSONL(nil, labels, line, t0.UnixNano()+7)
		var j struct {
			Labels    map[string]string `json:"labels"`
			Line      string            `json:"line"`
			Timestamp string            `json:"timestamp"`
		}
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatalf("%q: %v: %s", line, err, b)
		}
		want := strings.ToValidUTF8(line, "\ufffd")
		if j.Line != want || j.Labels["job"] != labels["job"] || j.Labels["host"] != labels["host"] || j.Timestamp != "2026-09-23T12:00:00.000000007Z" {
			t.Errorf("%q: got %+v", line, j)
		}
	}
}

// TestDecodeStructuredMetadata: a value with a third element (structured metadata) is read.
func TestDecodeStructuredMetadata(t *testing.T) {
	body := []byte(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"v"},"values":[["1","a",{"structuredMetadata":{"trace_id":"x"}}],["2","b"]]}]}}`)
	r, err := decodeTolerant(body)
	if err != nil || len(r.Data.Result) != 1 || len(r.Data.Result[0].Values) != 2 || r.Data.Result[0].Values[0][1] != "a" || r.Data.Result[0].Values[1][0] != "2" {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestExportRecordLabels: Fluent Bit's Loki output made type and auth_accessor labels, so one
// device is many Loki streams: they are one input again (a request pairs with its response
// within one input), each line keeping its own labels.
func TestExportRecordLabels(t *testing.T) {
	var ents []logstub.LokiEntry
	for i := range 40 {
		ents = append(ents, logstub.LokiEntry{
			Labels: map[string]string{"job": "fluentbit", "host": "vault-0", "type": []string{"request", "response"}[i%2], "auth_accessor": fmt.Sprint("acc", i%3)},
			Ts:     t0.Add(time.Duration(i) * time.Second).UnixNano(), Line: fmt.Sprintf(`{"request_id":"r%d"}`, i/2),
		})
	}
	stub := &logstub.Loki{Entries: ents}
	url := stub.Start()
	defer stub.Close()
	sp := newSpool(t)
	st, err := Export(context.Background(), Options{URL: url, Query: `{job="fluentbit"}`, Start: t0, End: t0.Add(time.Hour), PageLimit: 7}, sp)
	if err != nil {
		t.Fatal(err)
	}
	got := readSpool(t, sp)
	lines := got[`loki {host="vault-0",job="fluentbit"}`]
	if len(got) != 1 || len(lines) != 40 || st.Streams != 1 || !strings.Contains(lines[1], `"type":"response"`) {
		t.Fatalf("inputs %v, stats %+v", keys(got), st)
	}
}
