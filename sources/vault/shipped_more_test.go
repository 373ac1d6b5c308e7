package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
)

// The wrappers of shipped_more.go, written from each API's documentation (the file's header
// names them) around the pair of shipped_test.go.

func splunkExportLine(t testing.TB, off int, line string, ts time.Time) string {
	return jsonStr(t, map[string]any{"preview": false, "offset": off, "result": map[string]any{
		"_raw": line, "_time": ts.Format("2006-01-02T15:04:05.000-07:00"), "host": "vault-0", "source": "/vault/audit/audit.log",
		"sourcetype": "hashicorp_vault_audit_log", "index": "vault", "_indextime": fmt.Sprint(ts.Unix()), "linecount": "1"}})
}

func datadogLogOf(t testing.TB, line string, parsed bool, ts time.Time) map[string]any {
	attrs := map[string]any{"timestamp": ts.UTC().Format("2006-01-02T15:04:05.000Z"), "host": "vault-0", "service": "vault",
		"status": "info", "tags": []string{"source:vault", "env:prod"}}
	if parsed {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		attrs["attributes"] = e
	} else {
		attrs["message"] = line
	}
	return map[string]any{"id": "AQAAAZ" + fmt.Sprint(ts.UnixNano()), "type": "log", "attributes": attrs}
}

func gcpOf(t testing.TB, line string, ts time.Time) map[string]any {
	var e map[string]any
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	delete(e, "time") // the agent takes time as the entry's timestamp
	return map[string]any{"insertId": "1x2y3z", "jsonPayload": e, "logName": "projects/p/logs/vault-audit",
		"receiveTimestamp": ts.Add(time.Second).UTC().Format(time.RFC3339Nano), "resource": map[string]any{"type": "gce_instance", "labels": map[string]string{"instance_id": "1"}},
		"severity": "INFO", "timestamp": ts.UTC().Format(time.RFC3339Nano)}
}

func journaldOf(t testing.TB, line string, ts time.Time, asBytes bool) string {
	m := map[string]any{"__CURSOR": "s=abc;i=1", "__REALTIME_TIMESTAMP": fmt.Sprint(ts.UnixMicro()), "__MONOTONIC_TIMESTAMP": "123",
		"_BOOT_ID": "b", "PRIORITY": "6", "_SYSTEMD_UNIT": "vault.service", "SYSLOG_IDENTIFIER": "vault", "_TRANSPORT": "stdout", "MESSAGE": line}
	if asBytes {
		bs := make([]int, len(line))
		for i := range len(line) {
			bs[i] = int(line[i])
		}
		m["MESSAGE"] = bs
	}
	return jsonStr(t, m)
}

func dockerOf(t testing.TB, line string, ts time.Time) string {
	return jsonStr(t, map[string]any{"log": line + "\n", "stream": "stdout", "time": ts.UTC().Format(time.RFC3339Nano)})
}

func criOf(line string, ts time.Time) string {
	return ts.UTC().Format(time.RFC3339Nano) + " stdout F " + line
}

func cloudWatchEventOf(line string, ts time.Time, i int) map[string]any {
	return map[string]any{"logStreamName": "vault-0/audit", "timestamp": ts.UnixMilli(), "message": line,
		"ingestionTime": ts.UnixMilli() + 40, "eventId": fmt.Sprintf("3758%032d", i)}
}

func vectorOf(t testing.TB, line string, ts time.Time) string {
	return jsonStr(t, map[string]any{"file": "/vault/audit/audit.log", "host": "vault-0", "message": line,
		"source_type": "file", "timestamp": ts.UTC().Format(time.RFC3339Nano)})
}

// prettyOf is jq . of v: two spaces, one member per line.
func prettyOf(t testing.TB, v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func rawMap(t testing.TB, line string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestShippedMoreShapes: each shape of shipped_more.go and join.go reads the pair as the pair.
func TestShippedMoreShapes(t *testing.T) {
	tq := time.Date(2026, 9, 23, 10, 0, 0, 123456789, time.UTC)
	tr := time.Date(2026, 9, 23, 10, 0, 0, 124000000, time.UTC)
	const own = "2026-09-23T10:00:00.123456789Z"
	lreq, _ := liftEntry(t, pairReq)
	tests := []struct {
		name      string
		data      string
		shape     string
		storeTime int
		time      string
		lines     int // physical lines, when not 2
	}{
		{"splunk export", splunkExportLine(t, 0, pairReq, tq) + "\n" + splunkExportLine(t, 1, pairResp, tr) + "\n" +
			`{"preview":false,"lastrow":true,"messages":[]}` + "\n", "splunk-export", 0, own, 3},
		{"splunk results output_mode=json", jsonStr(t, map[string]any{"preview": false, "init_offset": 0, "messages": []any{}, "fields": []any{map[string]string{"name": "_raw"}},
			"results": []any{map[string]any{"_raw": pairReq, "_time": "2026-09-23T10:00:00.123+00:00"}, map[string]any{"_raw": pairResp, "_time": "2026-09-23T10:00:00.124+00:00"}}}) + "\n",
			"splunk-results", 0, own, 1},
		{"datadog page, parsed attributes", jsonStr(t, map[string]any{"data": []any{datadogLogOf(t, pairReq, true, tq), datadogLogOf(t, pairResp, true, tr)},
			"links": map[string]string{"next": "https://api.datadoghq.com/api/v2/logs/events?page[cursor]=x"}, "meta": map[string]any{"page": map[string]string{"after": "x"}, "status": "done"}}) + "\n",
			"datadog", 0, own, 1},
		{"datadog page, message", jsonStr(t, map[string]any{"data": []any{datadogLogOf(t, pairReq, false, tq), datadogLogOf(t, pairResp, false, tr)}, "links": map[string]string{}}) + "\n",
			"datadog", 0, own, 1},
		{"datadog logs one per line", jsonStr(t, datadogLogOf(t, pairReq, true, tq)) + "\n" + jsonStr(t, datadogLogOf(t, pairResp, false, tr)) + "\n", "datadog", 0, own, 0},
		{"gcp logging, time in timestamp", jsonStr(t, gcpOf(t, pairReq, tq)) + "\n" + jsonStr(t, gcpOf(t, pairResp, tr)) + "\n", "gcp-logging", 2, own, 0},
		{"journald", journaldOf(t, pairReq, tq, false) + "\n" + journaldOf(t, pairResp, tr, true) + "\n", "journald", 0, own, 0},
		{"docker json-file", dockerOf(t, pairReq, tq) + "\n" + dockerOf(t, pairResp, tr) + "\n", "docker-json", 0, own, 0},
		{"cri", criOf(pairReq, tq) + "\n" + criOf(pairResp, tr) + "\n", "cri", 0, own, 0},
		{"cri partial lines joined", tq.Format(time.RFC3339Nano) + " stdout P " + pairReq[:100] + "\n" +
			tq.Format(time.RFC3339Nano) + " stderr F some text\n" +
			tq.Format(time.RFC3339Nano) + " stdout P " + pairReq[100:300] + "\n" +
			tq.Format(time.RFC3339Nano) + " stdout F " + pairReq[300:] + "\n" + criOf(pairResp, tr) + "\n", "cri", 0, own, 5},
		{"docker partial records joined", jsonStr(t, map[string]any{"log": pairReq[:150], "stream": "stdout", "time": tq.Format(time.RFC3339Nano)}) + "\n" +
			dockerOf(t, pairReq[150:], tq) + "\n" + dockerOf(t, pairResp, tr) + "\n", "docker-json", 0, own, 3},
		{"cloudwatch filter-log-events", jsonStr(t, map[string]any{"events": []any{cloudWatchEventOf(pairReq, tq, 1), cloudWatchEventOf(pairResp, tr, 2)},
			"searchedLogStreams": []any{map[string]any{"logStreamName": "vault-0/audit", "searchedCompletely": true}}, "nextToken": "tok"}) + "\n", "cloudwatch", 0, own, 1},
		{"cloudwatch get-log-events", jsonStr(t, map[string]any{"events": []any{
			map[string]any{"timestamp": tq.UnixMilli(), "message": pairReq, "ingestionTime": tq.UnixMilli() + 5},
			map[string]any{"timestamp": tr.UnixMilli(), "message": pairResp, "ingestionTime": tr.UnixMilli() + 5}},
			"nextForwardToken": "f/1", "nextBackwardToken": "b/1"}) + "\n", "cloudwatch", 0, own, 1},
		{"cloudwatch events one per line", jsonStr(t, cloudWatchEventOf(pairReq, tq, 1)) + "\n" + jsonStr(t, cloudWatchEventOf(pairResp, tr, 2)) + "\n", "cloudwatch", 0, own, 0},
		{"vector json codec", vectorOf(t, pairReq, tq) + "\n" + vectorOf(t, lreq, tr) + "\n" + vectorOf(t, pairResp, tr) + "\n", "", 0, own, 3},
		{"loki jsonl of Docker records (promtail without its docker stage)", jsonStr(t, map[string]any{"labels": map[string]string{"job": "docker"}, "line": dockerOf(t, pairReq, tq), "timestamp": tq.Format(time.RFC3339Nano)}) + "\n" +
			jsonStr(t, map[string]any{"labels": map[string]string{"job": "docker"}, "line": dockerOf(t, pairResp, tr), "timestamp": tr.Format(time.RFC3339Nano)}) + "\n", "loki-jsonl", 0, own, 0},
		{"cloudwatch container insights (Fluent Bit's cri parser record as the message)", jsonStr(t, map[string]any{"events": []any{
			cloudWatchEventOf(jsonStr(t, map[string]any{"time": tq.Format(time.RFC3339Nano), "stream": "stdout", "_p": "F", "log": pairReq, "kubernetes": map[string]string{"pod_name": "vault-0"}}), tq, 1),
			cloudWatchEventOf(jsonStr(t, map[string]any{"time": tr.Format(time.RFC3339Nano), "stream": "stdout", "_p": "F", "log": pairResp, "kubernetes": map[string]string{"pod_name": "vault-0"}}), tr, 2)}}) + "\n",
			"cloudwatch", 0, own, 1},
		{"json array on one line", "[" + pairReq + "," + pairResp + "]\n", "json-array", 0, own, 1},
		{"pretty-printed entries (jq .)", prettyOf(t, rawMap(t, pairReq)) + "\n" + prettyOf(t, rawMap(t, pairResp)) + "\n", "pretty-json", 0, own, -1},
		{"pretty-printed array", prettyOf(t, []any{rawMap(t, pairReq), rawMap(t, pairResp)}) + "\n", "pretty-json", 0, own, -1},
		{"pretty-printed cloudwatch output (aws --output json)", prettyOf(t, map[string]any{"events": []any{cloudWatchEventOf(pairReq, tq, 1), cloudWatchEventOf(pairResp, tr, 2)}, "searchedLogStreams": []any{}}) + "\n",
			"pretty-json+cloudwatch", 0, own, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !sniff(tt.data) {
				t.Error("not claimed by the vault format")
			}
			l, st := loadVaultBytes(t, "shipped.log", []byte(tt.data), sources.LoadOptions{})
			if tt.name == "vector json codec" {
				// The lifted request without its response beside the pair: one more event.
				if len(l.Events) != 2 || st.Shapes["vector"] != 2 || st.Shapes["vector+fluent-bit-lift"] != 1 {
					t.Fatalf("events %d shapes %v", len(l.Events), st.Shapes)
				}
				return
			}
			checkPair(t, l, tt.time)
			want := tt.lines
			switch want {
			case 0:
				want = 2
			case -1:
				want = strings.Count(tt.data, "\n")
			}
			if st.Malformed != 0 || st.Parsed != 2 || st.Lines < want || !st.Balanced() {
				t.Errorf("lines %d (want %d) parsed %d malformed %d skipped %v %v", st.Lines, want, st.Parsed, st.Malformed, st.Skipped, st.Problems)
			}
			if st.Shapes[tt.shape] != 2 || len(st.Shapes) != 1 || st.StoreTime != tt.storeTime {
				t.Errorf("shapes %v store_time %d, want %s 2, store_time %d", st.Shapes, st.StoreTime, tt.shape, tt.storeTime)
			}
			if !strings.Contains(st.Note, tt.shape) {
				t.Errorf("note %q does not name the shape", st.Note)
			}
		})
	}
}

// TestShippedMoreNearMisses: wrappers whose payload is no Vault entry are skipped with a
// reason; broken wrappers are malformed, located; the pair after them is still read.
func TestShippedMoreNearMisses(t *testing.T) {
	ts := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		line      string
		skip, bad string
	}{
		{"docker line of another container", dockerOf(t, `{"level":"info","msg":"GET /healthz 200"}`, ts), "not-vault-audit", ""},
		{"docker JSON line of another program, with its own time", dockerOf(t, `{"time":"2026-09-23T10:00:00Z","level":"info","msg":"ready"}`, ts), "not-vault-audit", ""},
		{"docker text line", dockerOf(t, "nginx: worker started", ts), "not-vault-audit", ""},
		{"cri text line", criOf("I0923 10:00:00.000000 1 main.go:1] started", ts), "not-vault-audit", ""},
		{"splunk result of another sourcetype", splunkExportLine(t, 0, "Sep 23 10:00:00 host sshd[1]: Accepted", ts), "not-vault-audit", ""},
		{"splunk preview result", `{"preview":true,"offset":0,"result":{"_raw":` + jsonStr(t, pairReq) + `}}`, "splunk-preview", ""},
		{"splunk result without _raw", `{"preview":false,"offset":0,"result":{"count":"3"}}`, "", "without _raw"},
		{"datadog log of another service", jsonStr(t, map[string]any{"data": []any{datadogLogOf(t, "GET / 200", false, ts)}}), "not-vault-audit", ""},
		{"gcp audit log (protoPayload)", `{"insertId":"x","logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog"},"textPayload":"hello"}`, "not-vault-audit", ""},
		{"journald MESSAGE null (over 4096 bytes)", `{"__REALTIME_TIMESTAMP":"1758621600000000","_SYSTEMD_UNIT":"vault.service","MESSAGE":null}`, "", "journalctl -o json --all"},
		{"journald of another unit", journaldOf(t, "Started Session 1 of user root.", ts, false), "not-vault-audit", ""},
		{"cloudwatch event of another log", jsonStr(t, cloudWatchEventOf("START RequestId: 1", ts, 1)), "not-vault-audit", ""},
		{"vector event of another file", vectorOf(t, "127.0.0.1 - - GET /", ts), "not-vault-audit", ""},
		{"gcp Vault time/type only", jsonStr(t, map[string]any{"jsonPayload": map[string]any{"type": "request", "request_id": "x"}, "timestamp": "2026-09-23T10:00:00Z"}), "", "without auth or request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.line + "\n" + pairReq + "\n" + pairResp + "\n"
			l, st := loadVaultBytes(t, "near.log", []byte(data), sources.LoadOptions{})
			if len(l.Events) != 1 || l.Events[0].Pos.Line != 2 {
				t.Fatalf("events %d: the pair after the line must still be read", len(l.Events))
			}
			if tt.skip != "" && (st.Skipped[tt.skip] != 1 || st.Malformed != 0) {
				t.Errorf("skipped %v malformed %d %v, want %s", st.Skipped, st.Malformed, st.Problems, tt.skip)
			}
			if tt.bad != "" && (st.Malformed != 1 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, tt.bad)) {
				t.Errorf("malformed %d %v, want line 1: %s", st.Malformed, st.Problems, tt.bad)
			}
			if !st.Balanced() {
				t.Errorf("lines %d != parsed+malformed+skipped %v", st.Lines, st)
			}
		})
	}
}

// TestPrettyLineNumbers: a pretty-printed entry that is malformed is reported at its first
// line; one cut short is malformed at its first line and the next entry is still read.
func TestPrettyLineNumbers(t *testing.T) {
	req := prettyOf(t, rawMap(t, pairReq))
	resp := prettyOf(t, rawMap(t, pairResp))
	bad := prettyOf(t, map[string]any{"time": "2026-09-23T10:00:00Z", "type": "request", "request_id": "x"})
	cut := strings.Join(strings.Split(req, "\n")[:5], "\n") // the first lines of an entry only
	data := bad + "\n" + cut + "\n" + req + "\n" + resp + "\n"
	l, st := loadVaultBytes(t, "pretty.json", []byte(data), sources.LoadOptions{})
	badLines := strings.Count(bad, "\n") + 1
	cutLines := strings.Count(cut, "\n") + 1
	if len(l.Events) != 1 || l.Events[0].Pos.Line != badLines+cutLines+1 {
		t.Fatalf("events %d (line %v), want the pair at line %d", len(l.Events), l.Events, badLines+cutLines+1)
	}
	if st.Malformed != 2 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, "without auth or request") ||
		st.Problems[1].Line != badLines+1 || !strings.Contains(st.Problems[1].Reason, "not closed") {
		t.Errorf("problems %v", st.Problems)
	}
	if st.Lines != strings.Count(data, "\n") || !st.Balanced() {
		t.Errorf("lines %d, want %d; skipped %v", st.Lines, strings.Count(data, "\n"), st.Skipped)
	}
	// A pretty-printed wrapper (aws logs filter-log-events): each event is read on its own and
	// located at its own first line; an empty page is one skipped line.
	tq := time.Date(2026, 9, 23, 10, 0, 0, 123456789, time.UTC)
	cw := prettyOf(t, map[string]any{"events": []any{
		cloudWatchEventOf(`{"time":"2026-09-23T10:00:00Z","type":"request","request_id":"x"}`, tq, 0),
		cloudWatchEventOf(pairReq, tq, 1), cloudWatchEventOf(pairResp, tq, 2)}, "nextToken": "t"})
	empty := prettyOf(t, map[string]any{"events": []any{}, "searchedLogStreams": []any{}})
	data = cw + "\n" + empty + "\n"
	l, st = loadVaultBytes(t, "cw.json", []byte(data), sources.LoadOptions{})
	lines := strings.Split(cw, "\n")
	firstOf := func(k int) int { // the line of the k-th "{" at the events' depth
		for i, ln := range lines {
			if ln == "    {" {
				if k == 0 {
					return i + 1
				}
				k--
			}
		}
		return -1
	}
	if len(l.Events) != 1 || l.Events[0].Pos.Line != firstOf(1) || st.Malformed != 1 || st.Problems[0].Line != firstOf(0) ||
		st.Skipped["empty-result"] != 1 || st.Lines != strings.Count(data, "\n") || !st.Balanced() {
		t.Errorf("events %v, want the pair at line %d; problems %v, want line %d; lines %d skipped %v",
			l.Events, firstOf(1), st.Problems, firstOf(0), st.Lines, st.Skipped)
	}
	// Unclosed at the end of the file; partial CRI line without its F line.
	for _, tail := range []string{cut + "\n", time.Now().UTC().Format(time.RFC3339Nano) + " stdout P {\"time\":\n"} {
		_, st := loadVaultBytes(t, "end.log", []byte(pairReq+"\n"+pairResp+"\n"+tail), sources.LoadOptions{})
		if st.Malformed != 1 || st.Problems[0].Line != 3 || !st.Balanced() {
			t.Errorf("%q: malformed %d %v", tail[:20], st.Malformed, st.Problems)
		}
	}
}

// TestShippedHostileWrappers: terminal escapes and bidi controls in wrapper fields (Docker's
// stream, a Splunk host, a journald unit, a CloudWatch stream name) never reach the reasons
// or the note unescaped.
func TestShippedHostileWrappers(t *testing.T) {
	esc := "\x1b]52;c;aGk=\x07\x1b[2J\u202e"
	lines := []string{
		jsonStr(t, map[string]any{"log": "x" + esc + "\n", "stream": esc, "time": esc}),
		jsonStr(t, map[string]any{"preview": false, "offset": 0, "result": map[string]any{"_raw": "{" + esc, "host": esc}}),
		jsonStr(t, map[string]any{"__REALTIME_TIMESTAMP": esc, "_SYSTEMD_UNIT": esc, "MESSAGE": []int{0x1b, '[', '2', 'J'}}),
		jsonStr(t, map[string]any{"events": []any{map[string]any{"logStreamName": esc, "message": "{\"" + esc + "\":", "timestamp": 1}}}),
		jsonStr(t, map[string]any{"log": "{" + esc, "stream": "stdout" + esc}),
		"2026-09-23T10:00:00Z stdout P " + esc,
		"{",
		`  "` + esc + `": 1`,
		"}",
	}
	data := strings.Join(lines, "\n") + "\n" + pairReq + "\n" + pairResp + "\n"
	l, st := loadVaultBytes(t, "hostile.log", []byte(data), sources.LoadOptions{})
	if len(l.Events) != 1 {
		t.Fatalf("events %d, want the pair", len(l.Events))
	}
	var out bytes.Buffer
	for _, p := range st.Problems {
		out.WriteString(p.Reason + "\n")
	}
	out.WriteString(st.Note)
	for k := range st.Skipped {
		out.WriteString(k)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07\u202e") {
		t.Errorf("a control reached the statistics: %q", out.String())
	}
	if !st.Balanced() {
		t.Errorf("unbalanced: %+v", st)
	}
}

// TestShippedFixtures: the fixtures in testdata/shipped (ORIGINS.md) read with their shapes.
func TestShippedFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/shipped/*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".md") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !sniff(string(data)) {
				t.Error("not claimed by the vault format")
			}
			l, st := loadVaultBytes(t, filepath.Base(f), data, sources.LoadOptions{})
			if len(l.Events) == 0 || len(st.Shapes) == 0 || !st.Balanced() {
				t.Errorf("events %d shapes %v malformed %d %v", len(l.Events), st.Shapes, st.Malformed, st.Problems)
			}
			for _, ev := range l.Events {
				if ev.Path == "" || ev.Principal == "" {
					t.Errorf("event without path or principal at line %d", ev.Pos.Line)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no fixture")
	}
}

// TestJoinBounds: an entry joined from more lines than the bounds allow is one malformed
// line at its start, in bounded memory, and what follows is still read.
func TestJoinBounds(t *testing.T) {
	big := rawMap(t, pairReq)
	big["request"].(map[string]any)["path"] = "kv/data/" + strings.Repeat("a", 3000)
	ts := "2026-09-23T10:00:00Z"
	var parts strings.Builder
	for range maxParts + 1 {
		parts.WriteString(ts + " stdout P {\"a\":\n")
	}
	for _, tt := range []struct{ name, head, reason string }{
		{"pretty entry over the line limit", prettyOf(t, big) + "\n", "pretty-printed JSON entry longer than 2048 bytes"},
		{"more CRI parts than the bound", parts.String() + ts + " stdout F 1}\n", "more than 100 parts"},
		{"CRI parts over the line limit", ts + " stdout P " + strings.Repeat("x", 1500) + "\n" + ts + " stdout P " + strings.Repeat("x", 1500) + "\n" + ts + " stdout F }\n", "or 2048 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.head + pairReq + "\n" + pairResp + "\n"
			l, st := loadVaultBytes(t, "bounds.log", []byte(data), sources.LoadOptions{MaxLineBytes: 2048})
			if len(l.Events) != 1 || st.Malformed != 1 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, tt.reason) {
				t.Errorf("events %d malformed %d %v", len(l.Events), st.Malformed, st.Problems)
			}
			if st.Lines != strings.Count(data, "\n") || !st.Balanced() {
				t.Errorf("lines %d of %d, skipped %v", st.Lines, strings.Count(data, "\n"), st.Skipped)
			}
		})
	}
}

// TestJoinStreamsBound: partial Docker records of made-up streams hold at most maxStreams
// buffers; the one more is malformed at once, the others at the end of the file.
func TestJoinStreamsBound(t *testing.T) {
	var b strings.Builder
	for i := range maxStreams + 1 {
		b.WriteString(jsonStr(t, map[string]any{"log": "{", "stream": fmt.Sprint("s", i), "time": "2026-09-23T10:00:00Z"}) + "\n")
	}
	data := b.String() + pairReq + "\n" + pairResp + "\n"
	l, st := loadVaultBytes(t, "streams.log", []byte(data), sources.LoadOptions{})
	if len(l.Events) != 1 || st.Malformed != maxStreams+1 || st.Problems[0].Line != maxStreams+1 ||
		!strings.Contains(st.Problems[0].Reason, "one more stream than the 4") || !st.Balanced() {
		t.Errorf("events %d malformed %d %v", len(l.Events), st.Malformed, st.Problems)
	}
}
