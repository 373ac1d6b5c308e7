package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// Parity of the shipped shapes (sources/vault/shipped.go): the same audit files re-shaped as a
// log store keeps them give exactly the findings of the raw files. The converters below write
// each shape from the real lines, the way the shipper and the store do:
//
//   - Fluent Bit's nest filter (Operation lift, Nested_under auth / request, Add_prefix auth_ /
//     request_): one level of auth and request moved to the top level;
//   - its Loki output with label_keys $type,$auth_accessor and remove_keys: those keys taken out
//     of the line into the stream labels, and the parser's Time_Key (Time_Keep off) taking time
//     out into Loki's timestamp;
//   - logcli query --output jsonl ({"labels","line","timestamp"}), its parallel .part files,
//     and a saved query_range response (data.result[].stream + values [[ns, line]]);
//   - Elastic's hashicorp_vault pipeline: the entry under hashicorp_vault.audit without time,
//     @timestamp at millisecond precision, event.original when preserve_original_event is set;
//     one document per line or _search responses.

// shippedLine is one raw line taken apart: its JSON entry (nil for a line that is not one) and
// the device's prefix.
type shippedLine struct {
	raw    string
	entry  map[string]json.RawMessage
	prefix string
	t      time.Time
}

func splitShipped(t *testing.T, data []byte) []shippedLine {
	t.Helper()
	var out []shippedLine
	for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		l = strings.TrimSuffix(l, "\r")
		sl := shippedLine{raw: l}
		if i := strings.IndexByte(l, '{'); i >= 0 {
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(l[i:]), &m) == nil {
				sl.entry, sl.prefix = m, l[:i]
				var ts string
				_ = json.Unmarshal(m["time"], &ts)
				sl.t, _ = time.Parse(time.RFC3339Nano, ts)
			}
		}
		out = append(out, sl)
	}
	return out
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// lift is Fluent Bit's nest/lift of auth and request; with labels, type and auth_accessor go
// into the returned labels instead of the record and so does time (Time_Keep off).
func lift(t *testing.T, e map[string]json.RawMessage, labels bool) (map[string]json.RawMessage, map[string]string) {
	t.Helper()
	out := map[string]json.RawMessage{}
	for k, v := range e {
		if k != "auth" && k != "request" {
			out[k] = v
			continue
		}
		var o map[string]json.RawMessage
		if json.Unmarshal(v, &o) != nil {
			out[k] = v // null
			continue
		}
		for kk, vv := range o {
			out[k+"_"+kk] = vv
		}
	}
	if !labels {
		return out, nil
	}
	lb := map[string]string{"job": "fluentbit", "service_name": "vault-audit"}
	for _, k := range []string{"type", "auth_accessor"} {
		var s string
		if v, ok := out[k]; ok && json.Unmarshal(v, &s) == nil {
			lb[k] = s
			delete(out, k)
		}
	}
	delete(out, "time")
	return out, lb
}

// lokiJSONLine is what logcli --output jsonl prints for a line.
func lokiJSONLine(t *testing.T, sl shippedLine, line string, labels map[string]string) []byte {
	ts := sl.t
	if ts.IsZero() {
		ts = time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC) // a line without time: Loki's receive time
	}
	if labels == nil {
		labels = map[string]string{"job": "vault-audit"}
	}
	return mustJSON(t, map[string]any{"labels": labels, "line": line, "timestamp": ts.Format(time.RFC3339Nano)})
}

// elasticDoc is a document of the hashicorp_vault.audit data stream; nil for a line the
// pipeline could not parse (its document has no hashicorp_vault.audit, and is not written here).
func elasticDoc(t *testing.T, sl shippedLine, original bool) map[string]any {
	if sl.entry == nil || sl.t.IsZero() {
		return nil
	}
	audit := map[string]json.RawMessage{}
	for k, v := range sl.entry {
		if k != "time" {
			audit[k] = v
		}
	}
	doc := map[string]any{
		"@timestamp":      sl.t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00"),
		"data_stream":     map[string]string{"dataset": "hashicorp_vault.audit", "namespace": "default", "type": "logs"},
		"hashicorp_vault": map[string]any{"audit": audit},
		"event":           map[string]any{"kind": "event", "category": []string{"authentication"}},
		"ecs":             map[string]string{"version": "8.16.0"},
	}
	if original {
		doc["event"].(map[string]any)["original"] = strings.TrimPrefix(sl.raw, sl.prefix)
	}
	return doc
}

// shippedShapes writes data (one raw audit file) in every shipped shape under dir, named
// name.<shape>; each shape's value is the files it wrote.
func shippedShapes(t *testing.T, dir, name string, data []byte) map[string][]string {
	t.Helper()
	lines := splitShipped(t, data)
	out := map[string][]string{}
	write := func(shape, file string, recs [][]byte) {
		p := filepath.Join(dir, shape, name+file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(bytes.Join(recs, []byte("\n")), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		out[shape] = append(out[shape], p)
	}
	var lifted, jsonl, jsonlRaw, docs, docsOrig [][]byte
	type stream struct {
		labels map[string]string
		values [][2]string
	}
	var streams []stream
	for _, sl := range lines {
		if sl.entry == nil {
			// Not JSON (a NUL block, a cut line): shipped as text.
			lifted = append(lifted, []byte(sl.raw))
			jsonl = append(jsonl, lokiJSONLine(t, sl, sl.raw, nil))
			jsonlRaw = append(jsonlRaw, lokiJSONLine(t, sl, sl.raw, nil))
			continue
		}
		l, _ := lift(t, sl.entry, false)
		lifted = append(lifted, mustJSON(t, l))
		ll, labels := lift(t, sl.entry, true)
		jsonl = append(jsonl, lokiJSONLine(t, sl, string(mustJSON(t, ll)), labels))
		jsonlRaw = append(jsonlRaw, lokiJSONLine(t, sl, sl.raw, nil))
		if n := len(streams); n == 0 || !sameLabels(streams[n-1].labels, labels) || len(streams[n-1].values) == 50 {
			streams = append(streams, stream{labels: labels})
		}
		s := &streams[len(streams)-1]
		s.values = append(s.values, [2]string{fmt.Sprint(sl.t.UnixNano()), string(mustJSON(t, ll))})
		if d := elasticDoc(t, sl, false); d != nil {
			docs = append(docs, mustJSON(t, d))
		}
		if d := elasticDoc(t, sl, true); d != nil {
			docsOrig = append(docsOrig, mustJSON(t, d))
		}
	}
	write("fluent-bit-lift", "", lifted)
	write("loki-jsonl", ".jsonl", jsonl)
	write("loki-jsonl-raw", ".jsonl", jsonlRaw)
	// logcli --parallel-duration: parts split by time; a request and its response stay in one.
	cut := len(jsonl) / 2
	for cut < len(jsonl)-1 && !lines[cut].t.IsZero() && lines[cut].t.Equal(lines[cut-1].t) {
		cut++
	}
	from, to := "20260922T000000", "20260923T120000"
	write("loki-parts", "_"+from+"_"+to+".part", jsonl[:cut])
	write("loki-parts", "_"+to+"_20260924T060000.part", jsonl[cut:])
	var ranges [][]byte
	for i := 0; i < len(streams); i += 40 {
		var result []map[string]any
		for _, s := range streams[i:min(i+40, len(streams))] {
			result = append(result, map[string]any{"stream": s.labels, "values": s.values})
		}
		ranges = append(ranges, mustJSON(t, map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": result,
			"stats": map[string]any{"summary": map[string]any{"totalLinesProcessed": len(result)}}}}))
	}
	write("loki-query-range", ".json", ranges)
	write("elastic-doc", ".ndjson", docs)
	write("elastic-doc-original", ".ndjson", docsOrig)
	var searches [][]byte
	for i := 0; i < len(docs); i += 200 {
		var hits []map[string]any
		for j, d := range docs[i:min(i+200, len(docs))] {
			hits = append(hits, map[string]any{"_index": ".ds-logs-hashicorp_vault.audit-default-2026.09.23-000001", "_id": fmt.Sprint(i + j), "_source": json.RawMessage(d)})
		}
		searches = append(searches, mustJSON(t, map[string]any{"took": 12, "timed_out": false, "hits": map[string]any{"total": map[string]any{"value": len(hits), "relation": "eq"}, "hits": hits}}))
	}
	write("elastic-search", ".json", searches)
	moreShapes(t, lines, write)
	return out
}

// moreShapes writes the shapes of sources/vault/shipped_more.go and join.go, each from its
// documentation (that file's header names it):
//
//   - Splunk search export lines ({"preview":false,"offset":N,"result":{"_raw","_time",...}})
//     and output_mode=json results pages;
//   - Datadog Logs API v2 pages, the entry parsed into attributes.attributes (a JSON log) or
//     kept in attributes.message, every other page each way;
//   - GCP Logging LogEntry with the entry in jsonPayload, time moved to timestamp by the agent
//     (a line that is no JSON entry in textPayload);
//   - journalctl -o json (MESSAGE; a byte array for a line with bytes journald does not print);
//   - Docker json-file, lines over 1 KiB split into records without their newline (Docker
//     splits at 16 KiB: a lower cut makes the scenario's lines exercise the joining);
//   - CRI lines, split the same way into P lines and a final F line;
//   - aws logs filter-log-events output, pretty-printed as the CLI writes it (indent 4), and
//     one event per line (jq -c '.events[]');
//   - Vector's file source event through a json codec sink;
//   - jq . of each entry (pretty-json) and jq -s . of them all (a pretty-printed array).
func moreShapes(t *testing.T, lines []shippedLine, write func(shape, file string, recs [][]byte)) {
	t.Helper()
	base := time.Date(2026, 9, 23, 0, 0, 0, 0, time.UTC)
	stamp := func(sl shippedLine, i int) time.Time {
		if sl.t.IsZero() {
			return base.Add(time.Duration(i) * time.Millisecond) // the store's receive time
		}
		return sl.t
	}
	entryOf := func(sl shippedLine) json.RawMessage { return mustJSON(t, sl.entry) }
	var splunk, ddLines, gcp, journal, docker, cri, cwLines, vector, pretty [][]byte
	var results, ddData, cwEvents, all []any
	var splunkPages, ddPages, cwPages [][]byte
	flush := func(last bool) {
		if len(results) == 200 || last && len(results) > 0 {
			splunkPages = append(splunkPages, mustJSON(t, map[string]any{"preview": false, "init_offset": 0, "messages": []any{}, "fields": []any{map[string]string{"name": "_raw"}}, "results": results}))
			results = nil
		}
		if len(ddData) == 100 || last && len(ddData) > 0 {
			ddPages = append(ddPages, mustJSON(t, map[string]any{"data": ddData, "links": map[string]string{"next": "https://api.datadoghq.com/api/v2/logs/events?page%5Bcursor%5D=x"},
				"meta": map[string]any{"page": map[string]string{"after": "x"}, "status": "done", "elapsed": 12}}))
			ddData = nil
		}
	}
	for i, sl := range lines {
		at := stamp(sl, i)
		splunkRes := map[string]any{"_raw": sl.raw, "_time": at.Format("2006-01-02T15:04:05.000-07:00"), "host": "vault-0", "sourcetype": "hashicorp_vault_audit_log", "index": "vault"}
		splunk = append(splunk, mustJSON(t, map[string]any{"preview": false, "offset": i, "result": splunkRes}))
		results = append(results, splunkRes)
		dd := map[string]any{"timestamp": at.UTC().Format("2006-01-02T15:04:05.000Z"), "host": "vault-0", "service": "vault", "status": "info", "tags": []string{"source:vault"}}
		if sl.entry != nil && len(ddData)%2 == 0 {
			dd["attributes"] = sl.entry
		} else {
			dd["message"] = sl.raw
		}
		ddLog := map[string]any{"id": fmt.Sprint("AQAAAZ", i), "type": "log", "attributes": dd}
		ddData = append(ddData, ddLog)
		ddLines = append(ddLines, mustJSON(t, ddLog))
		ge := map[string]any{"insertId": fmt.Sprint("i", i), "logName": "projects/p/logs/vault-audit", "resource": map[string]any{"type": "gce_instance"},
			"timestamp": at.UTC().Format(time.RFC3339Nano), "receiveTimestamp": at.Add(time.Second).UTC().Format(time.RFC3339Nano)}
		if sl.entry != nil && !sl.t.IsZero() {
			p := map[string]json.RawMessage{}
			for k, v := range sl.entry {
				if k != "time" {
					p[k] = v
				}
			}
			ge["jsonPayload"] = p
		} else {
			ge["textPayload"] = sl.raw
		}
		gcp = append(gcp, mustJSON(t, ge))
		jm := map[string]any{"__CURSOR": fmt.Sprint("s=1;i=", i), "__REALTIME_TIMESTAMP": fmt.Sprint(at.UnixMicro()), "_SYSTEMD_UNIT": "vault.service", "MESSAGE": sl.raw}
		if !printable(sl.raw) {
			bs := make([]int, len(sl.raw))
			for j := range len(sl.raw) {
				bs[j] = int(sl.raw[j])
			}
			jm["MESSAGE"] = bs
		}
		journal = append(journal, mustJSON(t, jm))
		ts := at.UTC().Format(time.RFC3339Nano)
		for j := 0; j < len(sl.raw) || j == 0; {
			k := min(j+1024, len(sl.raw))
			for k < len(sl.raw) && !utf8.RuneStart(sl.raw[k]) {
				k-- // Docker's record is a JSON string: a part ends between two characters
			}
			part, end := sl.raw[j:k], k == len(sl.raw)
			j = k
			if j == 0 {
				j = 1 // an empty line: one F record
			}
			tag, nl := "P", ""
			if end {
				tag, nl = "F", "\n"
			}
			docker = append(docker, mustJSON(t, map[string]any{"log": part + nl, "stream": "stdout", "time": ts}))
			cri = append(cri, []byte(ts+" stdout "+tag+" "+part))
		}
		ev := map[string]any{"logStreamName": "vault-0/audit", "timestamp": at.UnixMilli(), "message": sl.raw, "ingestionTime": at.UnixMilli() + 40, "eventId": fmt.Sprintf("3758%032d", i)}
		cwEvents = append(cwEvents, ev)
		cwLines = append(cwLines, mustJSON(t, ev))
		if len(cwEvents) == 300 || i == len(lines)-1 {
			b, err := json.MarshalIndent(map[string]any{"events": cwEvents, "searchedLogStreams": []any{map[string]any{"logStreamName": "vault-0/audit", "searchedCompletely": true}}}, "", "    ")
			if err != nil {
				t.Fatal(err)
			}
			cwPages, cwEvents = append(cwPages, b), nil
		}
		vector = append(vector, mustJSON(t, map[string]any{"file": "/vault/audit/audit.log", "host": "vault-0", "message": sl.raw, "source_type": "file", "timestamp": at.UTC().Format(time.RFC3339Nano)}))
		if sl.entry != nil {
			b, err := json.MarshalIndent(sl.entry, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			pretty = append(pretty, b)
			all = append(all, json.RawMessage(entryOf(sl)))
		} else {
			pretty = append(pretty, []byte(sl.raw))
		}
		flush(i == len(lines)-1)
	}
	write("splunk-export", ".json", splunk)
	write("splunk-results", ".json", splunkPages)
	write("datadog-pages", ".json", ddPages)
	write("datadog-lines", ".json", ddLines)
	write("gcp-logging", ".json", gcp)
	write("journald", ".json", journal)
	write("docker-json", ".log", docker)
	write("cri", ".log", cri)
	write("cloudwatch-pretty", ".json", cwPages)
	write("cloudwatch-events", ".json", cwLines)
	write("vector", ".json", vector)
	write("pretty-json", ".json", pretty)
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	write("pretty-json-array", ".json", [][]byte{b})
}

// printable: journald writes MESSAGE as a string only when it is UTF-8 without controls.
func printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scanFindings runs the binary and returns the report's findings as comparable keys
// (rule, identity, resources, first_seen), and its files' statistics.
// labels names the inputs (a resource of audit-gap is its file) and ms cuts first_seen to the
// millisecond (what @timestamp keeps of a time).
func scanFindings(t *testing.T, dir string, labels map[string]string, ms bool, args ...string) ([]string, []map[string]any) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), append([]string{"scan", "--format", "json"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 1 { // 1: findings
		t.Fatalf("vaultsentry %v: %v\n%s", args, err, stderr.String())
	}
	var rep struct {
		Findings []struct {
			Rule      string   `json:"rule"`
			Identity  string   `json:"identity"`
			Resources []string `json:"resources"`
			FirstSeen string   `json:"first_seen"`
		} `json:"findings"`
		Stats struct {
			Files []map[string]any `json:"files"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	var keys []string
	for _, f := range rep.Findings {
		res := slices.Clone(f.Resources)
		for i, r := range res {
			if l, ok := labels[r]; ok {
				res[i] = l
			}
		}
		first := f.FirstSeen
		if ms {
			at, err := time.Parse(time.RFC3339Nano, first)
			if err != nil {
				t.Fatal(err)
			}
			first = at.Truncate(time.Millisecond).Format(time.RFC3339Nano)
		}
		keys = append(keys, f.Rule+" | "+f.Identity+" | "+strings.Join(res, ",")+" | "+first)
	}
	slices.Sort(keys)
	return keys, rep.Stats.Files
}

func readMaybeGzip(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	return data
}

// shippedParity converts files (relative to base) into every shape and compares the findings
// of each shape with those of the raw files.
func shippedParity(t *testing.T, base string, files []string, args []string, wantFindings bool) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"vaultsentry.yaml", "k8s-events.json"} {
		if b, err := os.ReadFile(filepath.Join(base, name)); err == nil {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rawPaths []string
	shapes := map[string][]string{}
	labels := map[string]string{}
	for i, f := range files {
		p, err := filepath.Abs(filepath.Join(base, f))
		if err != nil {
			t.Fatal(err)
		}
		rawPaths = append(rawPaths, p)
		labels[p] = fmt.Sprint("input ", i)
		for shape, ps := range shippedShapes(t, dir, strings.NewReplacer("/", "_").Replace(f), readMaybeGzip(t, p)) {
			shapes[shape] = append(shapes[shape], ps...)
			for _, sp := range ps {
				labels[sp] = fmt.Sprint("input ", i)
			}
		}
	}
	want, _ := scanFindings(t, dir, labels, false, append(args, rawPaths...)...)
	wantMS, _ := scanFindings(t, dir, labels, true, append(args, rawPaths...)...)
	if wantFindings && len(want) == 0 {
		t.Fatal("the raw files give no finding: nothing is compared")
	}
	names := make([]string, 0, len(shapes))
	for s := range shapes {
		names = append(names, s)
	}
	slices.Sort(names)
	for _, shape := range names {
		t.Run(shape, func(t *testing.T) {
			// Without event.original, a document's time is @timestamp: milliseconds.
			ms := shape == "elastic-doc" || shape == "elastic-search"
			got, stats := scanFindings(t, dir, labels, ms, append(args, shapes[shape]...)...)
			want := want
			if ms {
				want = wantMS
			}
			if d := diffKeys(want, got); d != "" {
				t.Errorf("%s: findings differ from the raw files' (-raw +shipped):\n%s", shape, d)
			}
			for _, st := range stats {
				if st["format"] != "vault" {
					t.Errorf("%s: format %v", st["file"], st["format"])
				}
				if _, ok := st["shapes"]; !ok {
					t.Errorf("%s: no shapes in its statistics: %v", st["file"], st)
				}
			}
		})
	}
}

func diffKeys(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			b.WriteString("- " + w + "\n")
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			b.WriteString("+ " + g + "\n")
		}
	}
	return b.String()
}

// TestShippedParityScenario: the practice Vault scenario (four files, three devices) in every
// shipped shape gives exactly the raw files' findings.
func TestShippedParityScenario(t *testing.T) {
	base := "../shared/scenarios/vault"
	truth, err := os.ReadFile(filepath.Join(base, "truth.json"))
	if err != nil {
		t.Skipf("practice scenario not found (%v): TestShippedParityFixture still runs", err)
	}
	var tr struct {
		Files      []string `json:"files"`
		Since      string   `json:"since"`
		Until      string   `json:"until"`
		LearnUntil string   `json:"learn_until"`
	}
	if err := json.Unmarshal(truth, &tr); err != nil {
		t.Fatal(err)
	}
	shippedParity(t, base, tr.Files, []string{"--config", "vaultsentry.yaml", "--since", tr.Since, "--until", tr.Until, "--learn-until", tr.LearnUntil}, true)
}

// TestShippedParityFixture: the same on the repository's own captures, so that the parity never
// goes untested where the scenario is absent (a clean clone in CI).
func TestShippedParityFixture(t *testing.T) {
	shippedParity(t, "testdata/vault", []string{"openbao-capture2-audit.log", "openbao-capture1-audit.log", "elastic-hashicorp_vault-test-audit.log"}, nil, true)
}
