package vault

// More shipped shapes (see shipped.go for the design): each is taken apart into the Vault entry
// it holds, detected by its keys, never by the file's name.
//
//   - Splunk search export (search/jobs/export, output_mode=json): one
//     {"preview":false,"offset":N,"result":{"_raw":"<line>","_time":"..."}} per line, and the
//     {"results":[{"_raw":...}]} of search/jobs/<sid>/results?output_mode=json.
//     https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch
//   - Datadog Logs API v2 (GET/POST /api/v2/logs/events[/search]): a page
//     {"data":[{"id","type":"log","attributes":{"timestamp","message","attributes":{...}}}],
//     "links":{"next"},"meta":{...}}; the entry is the parsed attributes.attributes, or the
//     line in attributes.message. https://docs.datadoghq.com/api/latest/logs/
//   - Google Cloud Logging LogEntry (gcloud logging read --format=json, a sink's export): the
//     entry in jsonPayload (the agent moves time into timestamp), a line in textPayload.
//     https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry; the Ops Agent's
//     vault_audit receiver lists jsonPayload.type/auth/request/response and no time
//     (GoogleCloudPlatform/ops-agent docs/vault.md).
//   - journald, journalctl -o json: the line in MESSAGE (a byte array when it is not UTF-8,
//     null when larger than 4096 bytes without --all), __REALTIME_TIMESTAMP in µs.
//     https://systemd.io/JOURNAL_EXPORT_FORMATS/#journal-json-format
//   - Docker's json-file driver: {"log":"<line>\n","stream":"stdout","time":"..."}; a line over
//     16 KiB is split, per stream, into records whose log has no final newline, the last one
//     with it (joined, join.go; moby/moby#36777, elastic/beats#6605).
//   - Kubernetes CRI log lines: "<RFC3339Nano> <stdout|stderr> <F|P> <line>", P parts joined
//     up to the F line (join.go). https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md
//   - CloudWatch Logs, aws logs filter-log-events / get-log-events:
//     {"events":[{"logStreamName","timestamp","message","ingestionTime","eventId"}],...}, or
//     one event per line (jq -c '.events[]'). https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
//   - Vector's file/console sinks with the json codec: the file source's event
//     {"file","host","message":"<line>","source_type":"file","timestamp"}.
//     https://vector.dev/docs/reference/configuration/sources/file/#output-data
//   - A JSON array of any of these on one line ([{...},{...}], jq -c -s).

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
)

func isArray(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '['
}

// shippedMore is shipped's dispatch for the shapes of this file; nil when the line is none.
func shippedMore(top map[string]json.RawMessage) []shippedRec {
	switch {
	case has(top, "result") && isObject(top["result"]) && (has(top, "preview") || has(top, "offset") || has(top, "lastrow")):
		return []shippedRec{splunkResult(top, shapeSplunkExport)}
	case has(top, "results") && isArray(top["results"]):
		return splunkResults(top["results"])
	case has(top, "preview") && !has(top, "result"):
		return []shippedRec{{skip: "splunk-messages"}} // {"preview":false,"messages":[...]}: no event
	case has(top, "data") && isArray(top["data"]):
		return datadogPage(top["data"])
	case has(top, "attributes") && string(bytes.TrimSpace(top["type"])) == `"log"`:
		return []shippedRec{datadogLog(top)}
	case has(top, "jsonPayload") || has(top, "textPayload") && (has(top, "logName") || has(top, "insertId")):
		return []shippedRec{gcpEntry(top)}
	case has(top, "MESSAGE") && (has(top, "__REALTIME_TIMESTAMP") || has(top, "__CURSOR") || has(top, "_SYSTEMD_UNIT")):
		return []shippedRec{journald(top)}
	case has(top, "log") && has(top, "stream"):
		return []shippedRec{dockerRecord(top)}
	case has(top, "events") && isArray(top["events"]):
		return cloudWatchEvents(top["events"])
	case has(top, "message") && (has(top, "eventId") || has(top, "ingestionTime") || has(top, "logStreamName")):
		return []shippedRec{cloudWatchEvent(top)}
	case has(top, "message") && has(top, "source_type"):
		return []shippedRec{vectorEvent(top)}
	}
	return nil
}

// storeStamp reads a store's timestamp: an RFC 3339 string, or a number (or numeric string)
// of seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by size.
// "" when there is none.
func storeStamp(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	s := string(raw)
	if raw[0] == '"' {
		if sonic.Unmarshal(raw, &s) != nil {
			return ""
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return ""
	}
	var t time.Time
	switch {
	case n < 1e11:
		t = time.Unix(n, 0)
	case n < 1e14:
		t = time.UnixMilli(n)
	case n < 1e17:
		t = time.UnixMicro(n)
	default:
		t = time.Unix(0, n)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// str is raw as a string, and whether it is one.
func str(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || sonic.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// payload is a wrapper's member holding the Vault entry: a line in a string, or the entry
// itself as an object (a shipper that parsed the JSON).
func payload(raw json.RawMessage, store string, shape uint8, what string) shippedRec {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return shippedRec{skip: "not-vault-audit", shape: shape}
	case raw[0] == '"':
		s, ok := str(raw)
		if !ok {
			return shippedRec{bad: what + " is not a valid JSON string", shape: shape}
		}
		return inner([]byte(s), nil, store, shape)
	case raw[0] == '{':
		var m map[string]json.RawMessage
		if err := sonic.Unmarshal(raw, &m); err != nil {
			return shippedRec{bad: what + ": invalid JSON: " + sources.ShortJSONError(err), shape: shape}
		}
		return record(m, nil, store, shape, nil)
	}
	return shippedRec{skip: "not-vault-audit", shape: shape}
}

// splunkResult is one result of a Splunk export: _raw is the line as it was indexed.
func splunkResult(top map[string]json.RawMessage, shape uint8) shippedRec {
	if string(bytes.TrimSpace(top["preview"])) == "true" {
		return shippedRec{skip: "splunk-preview", shape: shape} // final results follow: not counted twice
	}
	var res map[string]json.RawMessage
	if err := sonic.Unmarshal(top["result"], &res); err != nil {
		return shippedRec{bad: "Splunk result: invalid JSON: " + sources.ShortJSONError(err), shape: shape}
	}
	return splunkRaw(res, shape)
}

func splunkRaw(res map[string]json.RawMessage, shape uint8) shippedRec {
	raw, ok := res["_raw"]
	if !ok {
		return shippedRec{bad: "Splunk result without _raw (the search dropped it: keep it with | fields _raw _time)", shape: shape}
	}
	return payload(raw, storeStamp(res["_time"]), shape, "Splunk _raw")
}

// splunkResults is the results array of output_mode=json.
func splunkResults(raw json.RawMessage) []shippedRec {
	var rs []map[string]json.RawMessage
	if err := sonic.Unmarshal(raw, &rs); err != nil {
		return []shippedRec{{bad: "Splunk results: invalid JSON: " + sources.ShortJSONError(err), shape: shapeSplunkResults}}
	}
	if len(rs) == 0 {
		return []shippedRec{{skip: "empty-result"}}
	}
	out := make([]shippedRec, 0, len(rs))
	for _, r := range rs {
		out = append(out, splunkRaw(r, shapeSplunkResults))
	}
	return out
}

// datadogPage is the data of a Logs API v2 page.
func datadogPage(raw json.RawMessage) []shippedRec {
	var logs []map[string]json.RawMessage
	if err := sonic.Unmarshal(raw, &logs); err != nil {
		return nil // a data array of something else: no shape of ours
	}
	if len(logs) == 0 {
		return []shippedRec{{skip: "empty-result"}}
	}
	if !has(logs[0], "attributes") {
		return nil
	}
	out := make([]shippedRec, 0, len(logs))
	for _, l := range logs {
		if t, _ := str(l["type"]); t != "log" {
			out = append(out, shippedRec{skip: "not-a-log", shape: shapeDatadog})
			continue
		}
		out = append(out, datadogLog(l))
	}
	return out
}

// datadogLog is one log of a page: the parsed attributes when they are the entry (a JSON log),
// else the message.
func datadogLog(l map[string]json.RawMessage) shippedRec {
	var a map[string]json.RawMessage
	if err := sonic.Unmarshal(l["attributes"], &a); err != nil {
		return shippedRec{bad: "Datadog log: attributes is not an object", shape: shapeDatadog}
	}
	store := storeStamp(a["timestamp"])
	var attrs map[string]json.RawMessage
	if raw, ok := a["attributes"]; ok && sonic.Unmarshal(raw, &attrs) == nil && vaultish(attrs) {
		return record(attrs, nil, store, shapeDatadog, nil)
	}
	return payload(a["message"], store, shapeDatadog, "Datadog message")
}

// vaultish reports whether m has a member of a Vault entry (raw or lifted).
func vaultish(m map[string]json.RawMessage) bool {
	return has(m, "type") || has(m, "auth") || has(m, "request") || has(m, "time") && has(m, "error") || liftedRecord(m)
}

// gcpEntry is a Cloud Logging LogEntry.
func gcpEntry(top map[string]json.RawMessage) shippedRec {
	store := storeStamp(top["timestamp"])
	if store == "" {
		store = storeStamp(top["receiveTimestamp"])
	}
	if raw, ok := top["jsonPayload"]; ok {
		return payload(raw, store, shapeGCP, "GCP jsonPayload")
	}
	return payload(top["textPayload"], store, shapeGCP, "GCP textPayload")
}

// journald is one entry of journalctl -o json.
func journald(top map[string]json.RawMessage) shippedRec {
	store := ""
	if us, ok := str(top["__REALTIME_TIMESTAMP"]); ok {
		if n, err := strconv.ParseInt(us, 10, 64); err == nil {
			store = time.UnixMicro(n).UTC().Format(time.RFC3339Nano)
		}
	}
	msg := bytes.TrimSpace(top["MESSAGE"])
	switch {
	case string(msg) == "null":
		return shippedRec{bad: "journald MESSAGE is null: journalctl leaves out fields over 4096 bytes (export with journalctl -o json --all)", shape: shapeJournald}
	case len(msg) > 0 && msg[0] == '[':
		// Not valid UTF-8 or not printable: its bytes as numbers.
		var bs []int
		if sonic.Unmarshal(msg, &bs) != nil {
			return shippedRec{bad: "journald MESSAGE has several values (one entry expected)", shape: shapeJournald}
		}
		line := make([]byte, len(bs))
		for i, c := range bs {
			if c < 0 || c > 255 {
				return shippedRec{bad: "journald MESSAGE byte array with a value out of 0..255", shape: shapeJournald}
			}
			line[i] = byte(c)
		}
		return inner(line, nil, store, shapeJournald)
	}
	return payload(msg, store, shapeJournald, "journald MESSAGE")
}

// dockerRecord is a record of Docker's json-file driver.
func dockerRecord(top map[string]json.RawMessage) shippedRec {
	l, ok := str(top["log"])
	if !ok {
		return shippedRec{bad: "Docker json-file record: \"log\" is not a string", shape: shapeDocker}
	}
	store := storeStamp(top["time"])
	if !strings.HasSuffix(l, "\n") {
		// Docker splits a line over 16 KiB: every record but the last has no newline.
		stream, _ := str(top["stream"])
		return shippedRec{partial: []byte(l), stream: "docker:" + stream, store: store, shape: shapeDocker}
	}
	return inner([]byte(l), nil, store, shapeDocker)
}

// cloudWatchEvents is the events array of filter-log-events or get-log-events.
func cloudWatchEvents(raw json.RawMessage) []shippedRec {
	var evs []map[string]json.RawMessage
	if err := sonic.Unmarshal(raw, &evs); err != nil {
		return nil
	}
	if len(evs) == 0 {
		return []shippedRec{{skip: "empty-result"}}
	}
	if !has(evs[0], "message") {
		return nil // some other events array
	}
	out := make([]shippedRec, 0, len(evs))
	for _, e := range evs {
		out = append(out, cloudWatchEvent(e))
	}
	return out
}

func cloudWatchEvent(e map[string]json.RawMessage) shippedRec {
	return payload(e["message"], storeStamp(e["timestamp"]), shapeCloudWatch, "CloudWatch message")
}

// vectorEvent is a Vector log event written with the json codec.
func vectorEvent(top map[string]json.RawMessage) shippedRec {
	return payload(top["message"], storeStamp(top["timestamp"]), shapeVector, "Vector message")
}

// jsonArray is a line holding a JSON array: each element an entry or a shipped record.
func jsonArray(line []byte) []shippedRec {
	var elems []json.RawMessage
	if sonic.Unmarshal(line, &elems) != nil || len(elems) == 0 || !isObject(elems[0]) {
		return nil
	}
	out := make([]shippedRec, 0, len(elems))
	for _, e := range elems {
		var m map[string]json.RawMessage
		if sonic.Unmarshal(e, &m) != nil {
			out = append(out, shippedRec{bad: "JSON array element is not an object", shape: shapeJSONArray})
			continue
		}
		if has(m, "type") && (has(m, "auth") || has(m, "request")) {
			out = append(out, shippedRec{entry: bytes.TrimSpace(e), shape: shapeJSONArray})
			continue
		}
		if rs := shipped(e); rs != nil {
			out = append(out, rs...)
			continue
		}
		out = append(out, record(m, nil, "", shapeJSONArray, bytes.TrimSpace(e)))
	}
	return out
}

// criLine takes a CRI log line apart: "<time> <stream> <tag> <content>". ok is false for a
// line that is not one.
func criLine(line []byte) (store, stream string, partial bool, content []byte, ok bool) {
	i := bytes.IndexByte(line, ' ')
	if i < 20 || i > 40 || line[0] < '0' || line[0] > '9' {
		return "", "", false, nil, false
	}
	rest := line[i+1:]
	switch {
	case bytes.HasPrefix(rest, []byte("stdout ")), bytes.HasPrefix(rest, []byte("stderr ")):
	default:
		return "", "", false, nil, false
	}
	stream, rest = string(rest[:6]), rest[7:]
	j := bytes.IndexByte(rest, ' ')
	tag := rest
	if j >= 0 {
		tag, content = rest[:j], rest[j+1:]
	}
	if len(tag) == 0 || tag[0] != 'F' && tag[0] != 'P' || len(tag) > 1 && tag[1] != ':' {
		return "", "", false, nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(line[:i]))
	if err != nil {
		return "", "", false, nil, false
	}
	return t.UTC().Format(time.RFC3339Nano), "cri:" + stream, tag[0] == 'P', content, true
}

// cri decodes a CRI log line into rec; false when the line is none.
func (b *vaultBuilder) cri(line []byte, rec *vaultRec, full bool) bool {
	store, stream, partial, content, ok := criLine(line)
	if !ok {
		return false
	}
	if partial {
		b.applyShipped([]shippedRec{{partial: content, stream: stream, store: store, shape: shapeCRI}}, rec, full)
	} else {
		b.applyShipped([]shippedRec{inner(content, nil, store, shapeCRI)}, rec, full)
	}
	return true
}

// nested is a container runtime's record inside a store's line: a Loki line or a CloudWatch
// message that is a Docker json-file record, or the record of Fluent Bit's cri/docker parser
// ({"log","stream","time","_p"}, as EKS Container Insights ships it), or another wrapper of
// this file. ok is false when m is none; the record keeps the store's shape.
func nested(m map[string]json.RawMessage, shape uint8) (shippedRec, bool) {
	if raw, ok := m["log"]; ok && (has(m, "stream") || has(m, "_p") || has(m, "kubernetes")) {
		if p, _ := str(m["_p"]); p == "P" {
			return shippedRec{bad: "a partial container line (\"_p\":\"P\") inside a stored line: its parts are not joined", shape: shape}, true
		}
		r := payload(raw, storeStamp(m["time"]), shape, "container log")
		return r, true
	}
	rs := shippedMore(m)
	if len(rs) != 1 {
		return shippedRec{}, false
	}
	r := rs[0]
	if r.partial != nil {
		return shippedRec{bad: "a partial container line inside a stored line: its parts are not joined", shape: shape}, true
	}
	r.shape = shape | r.shape&shapeLifted
	return r, true
}
