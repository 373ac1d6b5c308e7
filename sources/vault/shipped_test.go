package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// A request/response pair of an approle token reading a KV v2 secret, as the audit device writes
// it; the shipped shapes below are made from it.
const (
	pairReq  = `{"time":"2026-09-23T10:00:00.123456789Z","type":"request","auth":{"accessor":"hmac-sha256:acc1","display_name":"approle-ci","entity_id":"ent-1","policies":["default","ci"],"token_type":"service","metadata":{"role_name":"ci"}},"request":{"id":"11111111-2222-3333-4444-555555555555","operation":"read","mount_point":"kv/","mount_type":"kv","path":"kv/data/prod/db","namespace":{"id":"root"},"remote_address":"203.0.113.7","headers":{"user-agent":["vault/1.17"]}}}`
	pairResp = `{"time":"2026-09-23T10:00:00.124Z","type":"response","auth":{"accessor":"hmac-sha256:acc1","display_name":"approle-ci","entity_id":"ent-1","policies":["default","ci"],"token_type":"service","metadata":{"role_name":"ci"}},"request":{"id":"11111111-2222-3333-4444-555555555555","operation":"read","mount_point":"kv/","mount_type":"kv","path":"kv/data/prod/db","namespace":{"id":"root"},"remote_address":"203.0.113.7"},"response":{"mount_point":"kv/","data":{"data":{"password":"hmac-sha256:v"}}}}`
)

// liftEntry is Fluent Bit's nest filter (Operation lift, Add_prefix auth_ / request_) on a raw
// entry; drop names the keys the Loki output took out of the line (label_keys, remove_keys).
func liftEntry(t testing.TB, line string, drop ...string) (string, map[string]string) {
	t.Helper()
	var e map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	out := map[string]json.RawMessage{}
	for k, v := range e {
		var o map[string]json.RawMessage
		if (k == "auth" || k == "request") && json.Unmarshal(v, &o) == nil {
			for kk, vv := range o {
				out[k+"_"+kk] = vv
			}
			continue
		}
		out[k] = v
	}
	labels := map[string]string{"job": "fluentbit"}
	for _, k := range drop {
		var s string
		_ = json.Unmarshal(out[k], &s)
		if k != "time" {
			labels[k] = s
		}
		delete(out, k)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), labels
}

func jsonStr(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// elasticOf is the hashicorp_vault.audit document of a raw entry; with original, event.original.
func elasticOf(t testing.TB, line string, original bool) map[string]any {
	t.Helper()
	var e map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	var ts string
	_ = json.Unmarshal(e["time"], &ts)
	at, _ := time.Parse(time.RFC3339Nano, ts)
	delete(e, "time")
	ev := map[string]any{"kind": "event", "outcome": "success"}
	if original {
		ev["original"] = line
	}
	return map[string]any{"@timestamp": at.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z"), "event": ev,
		"hashicorp_vault": map[string]any{"audit": e}, "error": map[string]any{"message": "a pipeline warning"}}
}

// checkPair asserts that l holds the pair as one event, with identity, path and address.
func checkPair(t *testing.T, l *sources.Loaded, wantTime string) {
	t.Helper()
	if len(l.Events) != 1 {
		t.Fatalf("events %d, want 1 (the pair)", len(l.Events))
	}
	ev := l.Events[0]
	if ev.Principal == "" || ev.DisplayName != "approle-ci" || ev.Credential != "hmac-sha256:acc1" || ev.Path != "kv/data/prod/db" ||
		ev.RemoteAddr.String() != "203.0.113.7" || ev.Op != event.OpRead || ev.UserAgent != "vault/1.17" {
		t.Errorf("event lost facts: principal %q display %q credential %q path %q addr %v op %v ua %q",
			ev.Principal, ev.DisplayName, ev.Credential, ev.Path, ev.RemoteAddr, ev.Op, ev.UserAgent)
	}
	if ev.Has(event.FlagRequestOnly) || ev.Has(event.FlagResponseOnly) {
		t.Errorf("request and response not paired: flags %v", ev.Flags)
	}
	if got := ev.Time.UTC().Format(time.RFC3339Nano); got != wantTime {
		t.Errorf("time %s, want %s", got, wantTime)
	}
}

// TestShippedShapes: each shipped shape of the pair is read as the pair itself (one event, the
// same identity, path and address), with its shape and the time used in the file's statistics.
func TestShippedShapes(t *testing.T) {
	lreq, _ := liftEntry(t, pairReq)
	lresp, _ := liftEntry(t, pairResp)
	// The Loki output: type and auth_accessor become labels, time Loki's timestamp.
	dreq, labReq := liftEntry(t, pairReq, "type", "auth_accessor", "time")
	dresp, labResp := liftEntry(t, pairResp, "type", "auth_accessor", "time")
	jsonl := func(line string, labels map[string]string, ts string) string {
		return jsonStr(t, map[string]any{"labels": labels, "line": line, "timestamp": ts})
	}
	const own = "2026-09-23T10:00:00.123456789Z"
	tests := []struct {
		name      string
		data      string
		shape     string
		storeTime int
		time      string
	}{
		{"fluent bit nest/lift", lreq + "\n" + lresp + "\n", "fluent-bit-lift", 0, own},
		{"logcli raw of raw lines", pairReq + "\n" + pairResp + "\n", "", 0, own},
		{"logcli jsonl, raw lines", jsonl(pairReq, map[string]string{"job": "vault"}, "2026-09-23T12:00:00+02:00") + "\n" +
			jsonl(pairResp, map[string]string{"job": "vault"}, "2026-09-23T12:00:00.124+02:00") + "\n", "loki-jsonl", 0, own},
		{"logcli jsonl, lifted, labels merged back, Loki's time", jsonl(dreq, labReq, "2026-09-23T12:00:00.123456789+02:00") + "\n" +
			jsonl(dresp, labResp, "2026-09-23T12:00:00.124+02:00") + "\n", "loki-jsonl+fluent-bit-lift", 2, own},
		{"query_range response", jsonStr(t, map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": []any{
			map[string]any{"stream": labReq, "values": [][]string{{fmt.Sprint(time.Date(2026, 9, 23, 10, 0, 0, 123456789, time.UTC).UnixNano()), dreq}}},
			map[string]any{"stream": labResp, "values": [][]any{{fmt.Sprint(time.Date(2026, 9, 23, 10, 0, 0, 124000000, time.UTC).UnixNano()), dresp, map[string]any{"structuredMetadata": map[string]string{}}}}},
		}}}) + "\n", "loki-query-range+fluent-bit-lift", 2, own},
		{"elastic documents with event.original", jsonStr(t, elasticOf(t, pairReq, true)) + "\n" + jsonStr(t, elasticOf(t, pairResp, true)) + "\n", "elastic-doc", 0, own},
		{"elastic documents, @timestamp only", jsonStr(t, elasticOf(t, pairReq, false)) + "\n" + jsonStr(t, elasticOf(t, pairResp, false)) + "\n", "elastic-doc", 2, "2026-09-23T10:00:00.123Z"},
		{"elastic _search response", jsonStr(t, map[string]any{"took": 3, "hits": map[string]any{"hits": []any{
			map[string]any{"_id": "a", "_source": elasticOf(t, pairReq, false)}, map[string]any{"_id": "b", "_source": elasticOf(t, pairResp, false)}}}}) + "\n",
			"elastic-search", 2, "2026-09-23T10:00:00.123Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !sniff(tt.data) {
				t.Error("not claimed by the vault format")
			}
			l, st := loadVaultBytes(t, "shipped.log", []byte(tt.data), sources.LoadOptions{})
			checkPair(t, l, tt.time)
			if st.Malformed != 0 || st.Parsed != 2 || st.Lines != 2 {
				t.Errorf("lines %d parsed %d malformed %d %v", st.Lines, st.Parsed, st.Malformed, st.Problems)
			}
			if tt.shape == "" {
				if st.Shapes != nil || st.Note != "" {
					t.Errorf("raw lines: shapes %v, note %q", st.Shapes, st.Note)
				}
				return
			}
			if st.Shapes[tt.shape] != 2 || len(st.Shapes) != 1 || st.StoreTime != tt.storeTime {
				t.Errorf("shapes %v store_time %d, want %s 2, store_time %d", st.Shapes, st.StoreTime, tt.shape, tt.storeTime)
			}
			if !strings.Contains(st.Note, tt.shape) || !strings.Contains(st.Note, "time:") {
				t.Errorf("note %q names neither the shape nor the time", st.Note)
			}
		})
	}
}

func sniff(data string) bool {
	b := []byte(data)[:min(len(data), sources.HeadBytes)]
	return Format{}.Sniff("x", sources.ScanHead(b, len(b) == len(data)))
}

// TestShippedNearMisses: lines that look like a shipped shape but hold no Vault entry are
// skipped or malformed with a reason, never an event; a lifted record whose labels the Loki
// output removed is a located problem and the rest of the file is still read.
func TestShippedNearMisses(t *testing.T) {
	noType, _ := liftEntry(t, pairReq, "type", "auth_accessor") // logcli --output raw: labels lost
	k8s := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","verb":"get"}`
	tests := []struct {
		name      string
		line      string
		skip, bad string
	}{
		{"lifted without its type label", noType, "", "without \"type\" (the Loki output made it a label"},
		{"loki jsonl of a Kubernetes audit event", jsonStr(t, map[string]any{"labels": map[string]string{"job": "k8s"}, "line": k8s, "timestamp": "2026-09-23T10:00:00Z"}), "not-vault-audit", ""},
		{"loki jsonl of a text line", jsonStr(t, map[string]any{"labels": map[string]string{}, "line": "2026-09-23T10:00:00Z [INFO] core: vault is unsealed", "timestamp": "2026-09-23T10:00:00Z"}), "not-vault-audit", ""},
		{"loki jsonl, line not a string", `{"labels":{},"line":{"a":1},"timestamp":"2026-09-23T10:00:00Z"}`, "", "\"line\" is not a string"},
		{"query_range of a metric query", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1758621600,"3"]]}]}}`, "", "holds no log lines"},
		{"query_range without lines", `{"status":"success","data":{"resultType":"streams","result":[]}}`, "empty-result", ""},
		{"_search hit of another dataset", `{"hits":{"hits":[{"_source":{"@timestamp":"2026-09-23T10:00:00Z","message":"hello"}}]}}`, "not-vault-audit", ""},
		{"hashicorp_vault.log document", `{"@timestamp":"2026-09-23T10:00:00Z","hashicorp_vault":{"log":{"level":"info"}}}`, "not-vault-audit", ""},
		{"elastic document, audit without auth or request", `{"@timestamp":"2026-09-23T10:00:00Z","hashicorp_vault":{"audit":{"type":"request"}}}`, "", "without auth or request"},
		{"Vault time and type only", `{"time":"2026-09-23T10:00:00Z","type":"request","request_id":"x"}`, "", "without auth or request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.line + "\n" + pairReq + "\n" + pairResp + "\n"
			l, st := loadVaultBytes(t, "near.log", []byte(data), sources.LoadOptions{})
			if len(l.Events) != 1 || l.Events[0].Pos.Line != 2 {
				t.Fatalf("events %d: the pair after the line must still be read", len(l.Events))
			}
			switch {
			case tt.skip != "":
				if st.Skipped[tt.skip] != 1 || st.Malformed != 0 {
					t.Errorf("skipped %v malformed %d %v, want %s", st.Skipped, st.Malformed, st.Problems, tt.skip)
				}
			default:
				if st.Malformed != 1 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, tt.bad) {
					t.Errorf("malformed %d %v, want line 1 %q", st.Malformed, st.Problems, tt.bad)
				}
			}
		})
	}
}

// TestShippedSniffNegatives: JSON logs that share a key with a shipped shape are not claimed.
func TestShippedSniffNegatives(t *testing.T) {
	for name, data := range map[string]string{
		"app log with request_id": `{"time":"2026-09-23T10:00:00Z","level":"info","request_id":"abc","msg":"hi"}` + "\n",
		"loki jsonl of an app":    `{"labels":{"job":"web"},"line":"{\"level\":\"info\",\"request_id\":\"x\"}","timestamp":"2026-09-23T10:00:00Z"}` + "\n",
		"_search of other logs":   `{"took":1,"hits":{"hits":[{"_source":{"message":"x"}}]}}` + "\n",
		"query_range of an app":   `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"web"},"values":[["1","GET /"]]}]}}` + "\n",
	} {
		if sniff(data) {
			t.Errorf("%s: claimed by the vault format", name)
		}
	}
}

// TestShippedMixedFile: raw lines and shipped lines in one file are each read by what they
// are (a responder concatenating an export and a copied file); the note counts both.
func TestShippedMixedFile(t *testing.T) {
	lreq, _ := liftEntry(t, pairReq)
	other := strings.ReplaceAll(strings.ReplaceAll(pairReq, "11111111-2222", "99999999-2222"), "10:00:00.123456789", "10:05:00")
	data := lreq + "\n" + pairResp + "\n" + other + "\n"
	l, st := loadVaultBytes(t, "mixed.log", []byte(data), sources.LoadOptions{})
	if len(l.Events) != 2 || st.Shapes["fluent-bit-lift"] != 1 || st.Shapes["vault"] != 2 {
		t.Errorf("events %d shapes %v", len(l.Events), st.Shapes)
	}
}

// TestShippedElasticFixture: Elastic's own sample document (testdata/vault/ORIGINS.md), one
// per line and as a _search hit, is the entry event.original holds.
func TestShippedElasticFixture(t *testing.T) {
	doc, err := os.ReadFile(vaultTestdata + "elastic-hashicorp_vault-sample_event.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	search := fmt.Sprintf(`{"took":2,"timed_out":false,"hits":{"total":{"value":1},"hits":[{"_index":"logs","_id":"1","_source":%s}]}}`, bytes.TrimSpace(doc))
	for name, data := range map[string][]byte{"document": doc, "_search": []byte(search + "\n")} {
		t.Run(name, func(t *testing.T) {
			if !sniff(string(data)) {
				t.Error("not claimed")
			}
			l, st := loadVaultBytes(t, "es.json", data, sources.LoadOptions{})
			if len(l.Events) != 1 || st.StoreTime != 0 {
				t.Fatalf("events %d store_time %d %v", len(l.Events), st.StoreTime, st.Problems)
			}
			ev := l.Events[0]
			if ev.Path != "sys/audit/test" || ev.Time.Format(time.RFC3339Nano) != "2023-09-26T13:07:49.743284857Z" || !ev.Has(event.FlagRequestOnly) {
				t.Errorf("path %q time %v flags %v", ev.Path, ev.Time, ev.Flags)
			}
		})
	}
}

// FuzzShipped: no shipped line makes the reader panic or lose the accounting of a line.
func FuzzShipped(f *testing.F) {
	lreq, _ := liftEntry(f, pairReq)
	f.Add(lreq)
	f.Add(jsonStr(f, map[string]any{"labels": map[string]string{"type": "request"}, "line": lreq, "timestamp": "2026-09-23T10:00:00Z"}))
	f.Add(`{"status":"success","data":{"resultType":"streams","result":[{"stream":{},"values":[["1","{}"],["2"]]}]}}`)
	f.Add(jsonStr(f, map[string]any{"hits": map[string]any{"hits": []any{map[string]any{"_source": elasticOf(f, pairReq, false)}, 1}}}))
	f.Add(jsonStr(f, elasticOf(f, pairResp, true)))
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return
		}
		b := &vaultBuilder{file: "f", in: sources.NewInterner().Local()}
		c := &vaultChunk{data: []byte(line + "\n")}
		b.chunk(c, 1<<20)
		if len(c.recs) == 0 || c.recs[0].cont {
			t.Fatalf("records %d", len(c.recs))
		}
		for i, r := range c.recs {
			if r.cont != (i > 0) {
				t.Fatalf("record %d: cont %v", i, r.cont)
			}
			if (r.kind == recBad || r.kind == recSkip) && r.reason == "" {
				t.Fatalf("record %d: no reason", i)
			}
		}
	})
}

// TestShippedChunks: shipped lines, some holding many records, give the same events and
// statistics whatever the chunk size, and a line of many records keeps its one line number.
func TestShippedChunks(t *testing.T) {
	lreq, _ := liftEntry(t, pairReq)
	dreq, labReq := liftEntry(t, pairReq, "type", "auth_accessor", "time")
	dresp, labResp := liftEntry(t, pairResp, "type", "auth_accessor", "time")
	var b strings.Builder
	for i := range 40 {
		id := fmt.Sprintf("%08d-2222-3333-4444-555555555555", i)
		rq, rs := strings.ReplaceAll(dreq, "11111111-2222-3333-4444-555555555555", id), strings.ReplaceAll(dresp, "11111111-2222-3333-4444-555555555555", id)
		ns := time.Date(2026, 9, 23, 10, i, 0, 0, time.UTC).UnixNano()
		b.WriteString(jsonStr(t, map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": []any{
			map[string]any{"stream": labReq, "values": [][]string{{fmt.Sprint(ns), rq}}},
			map[string]any{"stream": labResp, "values": [][]string{{fmt.Sprint(ns + 1e6), rs}, {"x"}}}}}}) + "\n")
		b.WriteString(strings.ReplaceAll(lreq, "11111111-2222", fmt.Sprintf("a%07d-2222", i)) + "\n")
		b.WriteString(pairReq + "\n")
	}
	data := []byte(b.String())
	var want sources.FileStats
	wantEvs := readWithPipeline(data, nil, sources.DefaultMaxLineBytes, 1<<20, &want)
	if want.Lines != 40*5 || want.Malformed != 40 || len(wantEvs) != 40*3 || len(want.Problems) == 0 || want.Problems[0].Line != 1 || !strings.HasPrefix(want.Problems[0].Reason, "record 3: ") {
		t.Fatalf("lines %d malformed %d events %d problems %v", want.Lines, want.Malformed, len(wantEvs), want.Problems[:1])
	}
	if ev := wantEvs[1]; ev.Pos.Line != 2 { // the lifted line after the first response
		t.Errorf("second event at line %d, want 2", ev.Pos.Line)
	}
	for _, chunk := range []int{64, 333, 4096} {
		var got sources.FileStats
		gotEvs := readWithPipeline(data, nil, sources.DefaultMaxLineBytes, chunk, &got)
		diffStats(t, fmt.Sprint("chunk ", chunk), want, got)
		diffEvents(t, fmt.Sprint("chunk ", chunk), wantEvs, gotEvs)
	}
}

// TestShippedDamagedLine: a JSON line cut before it was shipped is malformed inside its Loki
// record, as it is in the file; a text line of the same stream is skipped.
func TestShippedDamagedLine(t *testing.T) {
	cut := pairReq[:len(pairReq)/2]
	data := jsonStr(t, map[string]any{"labels": map[string]string{}, "line": cut, "timestamp": "2026-09-23T10:00:00Z"}) + "\n" +
		jsonStr(t, map[string]any{"labels": map[string]string{}, "line": "\x00\x00\x00", "timestamp": "2026-09-23T10:00:00Z"}) + "\n" + pairReq + "\n"
	l, st := loadVaultBytes(t, "cut.jsonl", []byte(data), sources.LoadOptions{})
	if len(l.Events) != 1 || st.Malformed != 1 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, "invalid JSON in the stored line") || st.Skipped["not-vault-audit"] != 1 {
		t.Errorf("events %d malformed %d %v skipped %v", len(l.Events), st.Malformed, st.Problems, st.Skipped)
	}
}
