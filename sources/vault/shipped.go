package vault

// Vault audit entries as log stores keep them. Responders rarely have the audit device's file:
// the entries were shipped off the host and reshaped on the way. Each shipped shape is taken
// apart here, per line, into the entry Vault wrote (bytes), which then goes through the same
// decoder and pairing as a raw line, so every detector sees the same events whichever way the
// log was stored. A raw line never comes here: only a line the raw decoder found without
// "type" or without "auth" and "request" is asked whether it is a shipped shape.
//
//   - Fluent Bit nest filter, Operation lift, Add_prefix auth_ / request_: the members of
//     auth and request one level up (auth_accessor, request_path; auth_metadata and
//     request_namespace stay maps). https://docs.fluentbit.io/manual/pipeline/filters/nest
//   - Loki: logcli --output raw is the original lines (raw Vault, or lifted); --output jsonl
//     is {"timestamp","line","labels"}, the stream labels merged back into the record (the
//     Loki output moves label_keys such as type or auth_accessor out of the line); logcli's
//     parallel .part files hold either; a saved query_range response is
//     {"data":{"result":[{"stream":{labels},"values":[["ns","line"],...]}]}} on one line.
//   - Elastic's hashicorp_vault integration: a document with the entry in
//     hashicorp_vault.audit (the pipeline removes time after copying it to @timestamp) and,
//     with preserve_original_event, the line itself in event.original; one document per line,
//     a hit ({"_source":...}) per line, or a _search response on one line.
//
// Time: the record's own time first; the store's timestamp (Loki's nanoseconds, @timestamp)
// only when the record has none, counted in FileStats.StoreTime.

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"
)

// Shapes a record can have. The outer shape (how the store framed the line) and whether the
// record itself was lifted by Fluent Bit are kept apart: shapeLifted is a flag on top.
const (
	shapeRaw uint8 = iota
	shapeLokiJSONL
	shapeLokiRange
	shapeElasticSearch
	shapeElasticDoc
	// shipped_more.go
	shapeSplunkExport
	shapeSplunkResults
	shapeDatadog
	shapeGCP
	shapeJournald
	shapeDocker
	shapeCRI
	shapeCloudWatch
	shapeVector
	shapeJSONArray
	shapeOuter // number of outer shapes

	shapeLifted uint8 = 32
	// shapePretty: the record was printed over many lines (jq .) and joined (join.go).
	shapePretty uint8 = 64
	shapeCount        = int(shapePretty) * 2
)

var outerNames = [...]string{"vault", "loki-jsonl", "loki-query-range", "elastic-search", "elastic-doc",
	"splunk-export", "splunk-results", "datadog", "gcp-logging", "journald", "docker-json", "cri",
	"cloudwatch", "vector", "json-array"}

// shapeName is the name FileStats.Shapes uses for a shape.
func shapeName(s uint8) string {
	lifted := s&shapeLifted != 0
	o := s &^ (shapeLifted | shapePretty)
	name := outerNames[o]
	switch {
	case lifted && o == shapeRaw:
		name = "fluent-bit-lift"
	case lifted:
		name += "+fluent-bit-lift"
	}
	if s&shapePretty != 0 {
		if name == "vault" {
			return "pretty-json"
		}
		return "pretty-json+" + name
	}
	return name
}

// liftedPrefixes are the Add_prefix values of the usual Fluent Bit nest/lift configuration,
// with the object each one lifts.
var liftedPrefixes = [...]struct{ prefix, object string }{
	{"auth_", "auth"}, {"request_", "request"}, {"response_", "response"},
}

// isLiftedKey reports whether k is a member Fluent Bit lifted out of auth, request or response.
func isLiftedKey(k string) bool {
	for _, p := range liftedPrefixes {
		if len(k) > len(p.prefix) && strings.HasPrefix(k, p.prefix) {
			return true
		}
	}
	return false
}

// shippedRec is one record a shipped line holds, normalised: entry is a raw Vault audit entry,
// or skip / bad say why there is none.
type shippedRec struct {
	entry     []byte
	shape     uint8
	storeTime bool
	skip, bad string
	// partial is the part of an entry a CRI "P" line or a Docker record without its final
	// newline holds, of stream; the next parts are joined to it in order (join.go).
	partial []byte
	stream  string
	store   string // partial: the store's time of the part
}

// shipped takes a line the raw decoder could not use apart as a shipped shape. It returns the
// records the line holds, or nil when the line is no shipped shape.
func shipped(line []byte) []shippedRec {
	var top map[string]json.RawMessage
	if err := sonic.Unmarshal(line, &top); err != nil {
		return nil
	}
	switch {
	case has(top, "line") && (has(top, "timestamp") || has(top, "labels")):
		return []shippedRec{lokiJSONL(top)}
	case has(top, "data") && (has(top, "status") && !isArray(top["data"]) || isObject(top["data"])):
		return lokiRange(top["data"])
	case has(top, "hits"):
		return elasticSearch(top["hits"])
	case has(top, "_source"):
		return []shippedRec{elasticHit(top["_source"], shapeElasticDoc)}
	case has(top, "hashicorp_vault"):
		return []shippedRec{elasticDoc(top, shapeElasticDoc)}
	case liftedRecord(top):
		return []shippedRec{record(top, nil, "", shapeRaw, nil)}
	}
	return shippedMore(top)
}

func has(m map[string]json.RawMessage, k string) bool { _, ok := m[k]; return ok }

func isObject(raw json.RawMessage) bool {
	b := bytes.TrimSpace(raw)
	return len(b) > 0 && b[0] == '{'
}

// liftedMarks are lifted members every Vault entry has some of (request_id is left out: many
// application logs have one). A record with two of them is a lifted Vault entry.
var liftedMarks = map[string]bool{
	"request_path": true, "request_operation": true, "request_mount_type": true, "request_mount_point": true,
	"request_remote_address": true, "request_client_token_accessor": true, "request_namespace": true,
	"auth_accessor": true, "auth_display_name": true, "auth_policies": true, "auth_token_policies": true,
	"auth_entity_id": true, "auth_token_type": true,
}

// liftedMarkCount counts the keys that mark a lifted entry.
func liftedMarkCount(keys []string) int {
	n := 0
	for _, k := range keys {
		if liftedMarks[k] {
			n++
		}
	}
	return n
}

// liftedRecord reports whether m is a record Fluent Bit lifted: members of auth and request at
// the top level, and neither object itself.
func liftedRecord(m map[string]json.RawMessage) bool {
	if has(m, "auth") || has(m, "request") {
		return false
	}
	n := 0
	for k := range m {
		if liftedMarks[k] {
			n++
		}
	}
	return n >= 2
}

// lokiJSONL is one line of logcli --output jsonl.
func lokiJSONL(top map[string]json.RawMessage) shippedRec {
	var line string
	if err := sonic.Unmarshal(top["line"], &line); err != nil {
		return shippedRec{bad: "Loki jsonl line: \"line\" is not a string"}
	}
	var labels map[string]string
	if raw, ok := top["labels"]; ok {
		if err := sonic.Unmarshal(raw, &labels); err != nil {
			return shippedRec{bad: "Loki jsonl line: \"labels\" is not an object of strings"}
		}
	}
	var ts string
	if raw, ok := top["timestamp"]; ok {
		_ = sonic.Unmarshal(raw, &ts) // a bad timestamp is only a missing one
	}
	store := ""
	if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
		store = t.UTC().Format(time.RFC3339Nano)
	}
	return inner([]byte(line), labels, store, shapeLokiJSONL)
}

// lokiData is the data member of a query_range (or query) response.
type lokiData struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Stream map[string]string   `json:"stream"`
		Values [][]json.RawMessage `json:"values"`
	} `json:"result"`
}

// lokiRange is a saved query_range response: every line of every stream, with its labels.
func lokiRange(raw json.RawMessage) []shippedRec {
	var d lokiData
	if err := sonic.Unmarshal(raw, &d); err != nil {
		return []shippedRec{{bad: "Loki query_range response: invalid data: " + sources.ShortJSONError(err)}}
	}
	if d.ResultType != "" && d.ResultType != "streams" {
		return []shippedRec{{bad: "Loki query_range response of type " + strconv.Quote(sources.Truncate(d.ResultType, 20)) + " holds no log lines (a metric query)"}}
	}
	var out []shippedRec
	for _, s := range d.Result {
		for _, v := range s.Values {
			var ns, line string
			if len(v) < 2 || sonic.Unmarshal(v[0], &ns) != nil || sonic.Unmarshal(v[1], &line) != nil {
				out = append(out, shippedRec{bad: "Loki query_range value is not [\"nanoseconds\", \"line\"]"})
				continue
			}
			store := ""
			if n, err := strconv.ParseInt(ns, 10, 64); err == nil {
				store = time.Unix(0, n).UTC().Format(time.RFC3339Nano)
			}
			out = append(out, inner([]byte(line), s.Stream, store, shapeLokiRange))
		}
	}
	if len(out) == 0 {
		return []shippedRec{{skip: "empty-result"}}
	}
	return out
}

// inner is a line as Loki stored it (a raw entry or a lifted record), with its stream labels
// and the store's timestamp.
func inner(line []byte, labels map[string]string, store string, shape uint8) shippedRec {
	line = bytes.TrimSpace(line)
	if i := bytes.IndexByte(line, '{'); i > 0 && i <= sources.MaxPrefix {
		line = line[i:] // the audit device's "prefix" option, as on a raw line
	}
	var m map[string]json.RawMessage
	if len(line) == 0 || line[0] != '{' {
		return shippedRec{skip: "not-vault-audit", shape: shape} // a text log in the same stream
	}
	if labels == nil && rawEntry(line) {
		return shippedRec{entry: line, shape: shape} // a raw entry with its time: as it was logged
	}
	if err := sonic.Unmarshal(line, &m); err != nil {
		// A JSON line cut or damaged before it was shipped, as it would be in the file.
		return shippedRec{bad: "invalid JSON in the stored line: " + sources.ShortJSONError(err), shape: shape}
	}
	if !vaultish(m) {
		if r, ok := nested(m, shape); ok {
			return r
		}
	}
	return record(m, labels, store, shape, line)
}

var linePool = sync.Pool{New: func() any { return new(vaultLine) }}

// rawEntry reports whether line is a raw entry with its own time, which record would pass on
// unchanged: the fast decoder tells without building a map of it.
func rawEntry(line []byte) bool {
	v := linePool.Get().(*vaultLine)
	ok := decodeVaultFast(line, v) && v.Type != "" && v.Time != "" && (v.HasAuth || v.HasRequest)
	linePool.Put(v)
	return ok
}

// record turns a decoded record (raw or lifted) into a raw entry: labels fill the members the
// record lacks, lifted members go back into their objects, and the store's time is used only
// when the record has none. orig, when not nil, is the record's own bytes: an entry nothing
// was changed in is passed on as it was logged.
func record(m map[string]json.RawMessage, labels map[string]string, store string, shape uint8, orig []byte) shippedRec {
	nested := has(m, "auth") || has(m, "request") // a raw entry: lifted labels are not its members
	for k, v := range labels {
		if _, ok := m[k]; !ok && (k == "type" || k == "time" || k == "error" || !nested && isLiftedKey(k)) {
			q, _ := json.Marshal(v)
			m[k] = q
			orig = nil
		}
	}
	if liftedRecord(m) {
		orig = nil
		shape |= shapeLifted
		if !has(m, "type") {
			// The Loki output moved type (and often auth_accessor) into a label: logcli
			// --output raw has lost it, --output jsonl keeps it.
			return shippedRec{shape: shape, bad: "Fluent Bit nest/lift record without \"type\" (the Loki output made it a label; export with logcli --output jsonl to keep the labels)"}
		}
		if !unlift(m) {
			return shippedRec{shape: shape, bad: "Fluent Bit nest/lift record with a lifted member that is not valid JSON"}
		}
	}
	if !has(m, "type") && !has(m, "auth") && !has(m, "request") && (shape != shapeRaw || !has(m, "time")) {
		// In a wrapper, another program's JSON log (its own "time" and "msg", say) beside
		// Vault's in the same stream or container.
		return shippedRec{skip: "not-vault-audit", shape: shape}
	}
	r := shippedRec{shape: shape}
	if t, ok := m["time"]; !ok || string(t) == "null" || string(t) == `""` {
		if store != "" {
			q, _ := json.Marshal(store)
			m["time"] = q
			r.storeTime = true
			orig = nil
		}
	}
	if orig != nil {
		r.entry = orig
		return r
	}
	r.entry = encodeEntry(m)
	return r
}

// unlift puts the members Fluent Bit lifted back into auth, request and response.
func unlift(m map[string]json.RawMessage) bool {
	var objs [len(liftedPrefixes)]map[string]json.RawMessage
	for k, v := range m {
		for i, p := range liftedPrefixes {
			if len(k) > len(p.prefix) && strings.HasPrefix(k, p.prefix) {
				if objs[i] == nil {
					objs[i] = map[string]json.RawMessage{}
				}
				objs[i][k[len(p.prefix):]] = v
				delete(m, k)
				break
			}
		}
	}
	for i, p := range liftedPrefixes {
		if objs[i] == nil {
			continue
		}
		if old, ok := m[p.object]; ok && isObject(old) {
			// A response kept nested beside lifted members: both go in, the lifted ones last.
			var o map[string]json.RawMessage
			if sonic.Unmarshal(old, &o) == nil {
				for k, v := range objs[i] {
					o[k] = v
				}
				objs[i] = o
			}
		}
		b := encodeEntry(objs[i])
		if b == nil {
			return false
		}
		m[p.object] = b
	}
	return true
}

// encodeEntry writes m as one JSON object, keys in order (so that a problem's text is the same
// from run to run), values as they were logged; nil when a value is empty. The decoder then
// checks the whole as it checks a raw line.
func encodeEntry(m map[string]json.RawMessage) []byte {
	n := 2
	for k, v := range m {
		n += len(k) + len(v) + 4
	}
	buf := make([]byte, 0, n)
	buf = append(buf, '{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		v := bytes.TrimSpace(m[k])
		if len(v) == 0 {
			return nil
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendKey(buf, k)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	return append(buf, '}')
}

// appendKey appends k as a JSON string: as it is when it needs no escape, else encoded.
func appendKey(buf []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(k)
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, k...)
	return append(buf, '"')
}

// elasticSearch is a _search response: the hits of the hashicorp_vault integration.
func elasticSearch(raw json.RawMessage) []shippedRec {
	var h struct {
		Hits []json.RawMessage `json:"hits"`
	}
	if err := sonic.Unmarshal(raw, &h); err != nil {
		return []shippedRec{{bad: "Elasticsearch response: invalid hits: " + sources.ShortJSONError(err)}}
	}
	if len(h.Hits) == 0 {
		return []shippedRec{{skip: "empty-result"}}
	}
	out := make([]shippedRec, 0, len(h.Hits))
	for _, hit := range h.Hits {
		var w struct {
			Source json.RawMessage `json:"_source"`
		}
		if sonic.Unmarshal(hit, &w) != nil || w.Source == nil {
			out = append(out, shippedRec{bad: "Elasticsearch hit without _source", shape: shapeElasticSearch})
			continue
		}
		out = append(out, elasticHit(w.Source, shapeElasticSearch))
	}
	return out
}

// elasticHit is a hit's _source.
func elasticHit(src json.RawMessage, shape uint8) shippedRec {
	var doc map[string]json.RawMessage
	if err := sonic.Unmarshal(src, &doc); err != nil {
		return shippedRec{bad: "Elasticsearch _source: invalid JSON: " + sources.ShortJSONError(err), shape: shape}
	}
	return elasticDoc(doc, shape)
}

// elasticDoc is a document of the hashicorp_vault integration: event.original when the
// pipeline kept it (the line itself), else hashicorp_vault.audit with @timestamp for its time.
func elasticDoc(doc map[string]json.RawMessage, shape uint8) shippedRec {
	var ev struct {
		Original *string `json:"original"`
	}
	if raw, ok := doc["event"]; ok && sonic.Unmarshal(raw, &ev) == nil && ev.Original != nil {
		if r := inner([]byte(*ev.Original), nil, "", shape); r.entry != nil {
			return r
		}
	}
	var hv struct {
		Audit map[string]json.RawMessage `json:"audit"`
	}
	raw, ok := doc["hashicorp_vault"]
	if !ok {
		return shippedRec{skip: "not-vault-audit", shape: shape} // another dataset's document
	}
	if err := sonic.Unmarshal(raw, &hv); err != nil || hv.Audit == nil {
		return shippedRec{skip: "not-vault-audit", shape: shape} // hashicorp_vault.log, .metrics
	}
	var at string
	if raw, ok := doc["@timestamp"]; ok {
		_ = sonic.Unmarshal(raw, &at)
	}
	store := ""
	if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
		store = t.UTC().Format(time.RFC3339Nano)
	}
	return record(hv.Audit, nil, store, shape, nil)
}

// sniffShipped reports whether one of the head's lines is a shipped shape holding a Vault
// entry. It looks at keys, and inside a Loki line at the keys of the record it holds: the
// head may cut a long line (a query_range response, a _search response), so it walks the
// JSON with the scanner as far as the head goes.
func sniffShipped(b []byte) bool {
	if sniffPretty(b) {
		return true
	}
	for n := 0; len(b) > 0 && n < 32; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] == '{' && sniffLine(line) {
			return true
		}
		if _, _, _, content, ok := criLine(line); ok && vaultBytes(content) {
			return true
		}
	}
	return false
}

func sniffLine(line []byte) bool {
	return sniffObject(&jscan.Scanner{B: line})
}

// sniffObject reports whether the object at s is a shipped shape holding a Vault entry.
func sniffObject(s *jscan.Scanner) bool {
	found := false
	var keys []string
	members(s, func(k string) bool {
		switch k {
		case "line": // Loki jsonl
			found = vaultString(s)
		case "data": // query_range: data.result[0].values[0][1]; Datadog: data[0].attributes
			if s.I < len(s.B) && s.B[s.I] == '[' {
				found = first(s) && seek(s, "attributes") && sniffDatadog(s)
				break
			}
			found = seek(s, "result") && first(s) && seek(s, "values") && first(s) && first(s) && s.Skip(0) && next(s) && vaultString(s)
		case "hits": // _search: hits.hits[0]._source.hashicorp_vault
			found = seek(s, "hits") && first(s) && seek(s, "_source") && seek(s, "hashicorp_vault")
		case "_source":
			found = seek(s, "hashicorp_vault")
		case "hashicorp_vault":
			found = true
		case "result": // Splunk export
			found = seek(s, "_raw") && vaultString(s)
		case "results": // Splunk output_mode=json
			found = first(s) && seek(s, "_raw") && vaultString(s)
		case "attributes": // a Datadog log
			found = sniffDatadog(s)
		case "jsonPayload": // GCP
			found = vaultObject(s)
		case "textPayload", "MESSAGE", "log", "message": // GCP, journald, Docker, CloudWatch, Vector
			found = vaultString(s)
		case "events": // CloudWatch
			found = first(s) && seek(s, "message") && vaultString(s)
		default:
			keys = append(keys, k)
			return s.Skip(0)
		}
		return false // decided: stop
	})
	return found || liftedMarkCount(keys) >= 2 || rawKeys(keys)
}

// rawKeys reports whether keys are those of a raw entry (an element of a JSON array).
func rawKeys(keys []string) bool {
	return slices.Contains(keys, "time") && slices.Contains(keys, "type") && (slices.Contains(keys, "auth") || slices.Contains(keys, "request"))
}

// vaultObject reports whether the object at s is a Vault entry, raw or lifted.
func vaultObject(s *jscan.Scanner) bool {
	var keys []string
	members(s, func(k string) bool {
		keys = append(keys, k)
		return s.Skip(0)
	})
	// time may be gone: a shipper's parser took it as the record's timestamp.
	return slices.Contains(keys, "type") && (slices.Contains(keys, "auth") || slices.Contains(keys, "request")) || liftedMarkCount(keys) >= 2
}

// sniffDatadog: a Datadog log's attributes, whose attributes are the entry or whose message is.
func sniffDatadog(s *jscan.Scanner) bool {
	found := false
	members(s, func(k string) bool {
		switch k {
		case "attributes":
			found = vaultObject(s)
		case "message":
			found = vaultString(s)
		default:
			return s.Skip(0)
		}
		return !found
	})
	return found
}

// sniffPretty: a head that starts with "{" or "[" alone on its line, pretty-printed JSON
// (join.go): its first object, as far as the head goes.
func sniffPretty(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(b) < 2 || b[0] != '{' && b[0] != '[' {
		return false
	}
	if i := bytes.IndexByte(b, '\n'); i < 0 || len(bytes.TrimSpace(b[1:i])) > 0 {
		return false
	}
	s := &jscan.Scanner{B: b}
	if b[0] == '[' && !first(s) {
		return false
	}
	return sniffObject(s)
}

// members calls fn at each member of the object at s (s is then at its value); fn returns
// whether to go on (it must have passed over the value).
func members(s *jscan.Scanner, fn func(k string) bool) {
	empty, null, ok := s.ObjectStart()
	if !ok || null || empty {
		return
	}
	for {
		k, _, ok := s.Key()
		if !ok || !fn(string(k)) {
			return
		}
		if done, ok := s.Next('}'); !ok || done {
			return
		}
	}
}

// seek moves s to the value of member k of the object at s.
func seek(s *jscan.Scanner, k string) bool {
	found := false
	members(s, func(key string) bool {
		if key == k {
			found = true
			return false
		}
		return s.Skip(0)
	})
	return found
}

// first moves s to the first element of the array at s.
func first(s *jscan.Scanner) bool {
	if s.I >= len(s.B) || s.B[s.I] != '[' {
		return false
	}
	s.I++
	s.WS()
	return s.I < len(s.B) && s.B[s.I] != ']'
}

// next passes over the ',' between array elements.
func next(s *jscan.Scanner) bool {
	done, ok := s.Next(']')
	return ok && !done
}

// vaultString reports whether the string at s holds a Vault entry or a lifted record.
func vaultString(s *jscan.Scanner) bool {
	start := s.I
	if _, _, ok := s.Str(); !ok {
		return false
	}
	var line string
	if json.Unmarshal(s.B[start:s.I], &line) != nil {
		return false
	}
	return vaultBytes([]byte(line))
}

// vaultBytes reports whether line holds a Vault entry or a lifted record.
func vaultBytes(line []byte) bool {
	if vaultHead(line) {
		return true
	}
	// A container runtime's record in the store's line (shipped_more.go's nested): one level.
	t := bytes.TrimSpace(line)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	s := &jscan.Scanner{B: t}
	found := false
	members(s, func(k string) bool {
		if k != "log" && k != "message" && k != "MESSAGE" && k != "line" {
			return s.Skip(0)
		}
		start := s.I
		if _, _, ok := s.Str(); !ok {
			return false
		}
		var inner string
		found = json.Unmarshal(s.B[start:s.I], &inner) == nil && vaultHead([]byte(inner))
		return !found
	})
	return found
}

// vaultHead reports whether line is a Vault entry or a lifted record, by the keys of its head.
func vaultHead(line []byte) bool {
	h := sources.ScanHead(line, true)
	for _, v := range h.Values {
		if v.Has("time", "type") && v.HasAny("request", "auth") || liftedMarkCount(v.Keys) >= 2 {
			return true
		}
	}
	return false
}

// shipped decodes line as a shipped shape into rec (and, for a line holding several records,
// into b.extra). It reports false when the line is no shipped shape: the raw reading's reason
// for it then stands.
func (b *vaultBuilder) shipped(line []byte, rec *vaultRec, full bool) bool {
	recs := shipped(line)
	if recs == nil {
		return false
	}
	b.applyShipped(recs, rec, full)
	return true
}

// applyShipped decodes the records of one shipped line into rec and b.extra.
func (b *vaultBuilder) applyShipped(recs []shippedRec, rec *vaultRec, full bool) {
	b.extra = b.extra[:0]
	for i := range recs {
		r := rec
		if i > 0 {
			b.extra = append(b.extra, vaultRec{})
			r = &b.extra[len(b.extra)-1]
		}
		sr := &recs[i]
		*r = vaultRec{cont: i > 0, shape: sr.shape, storeTime: sr.storeTime}
		prefix := ""
		if len(recs) > 1 {
			prefix = "record " + strconv.Itoa(i+1) + ": "
		}
		switch {
		case sr.bad != "":
			r.kind, r.reason = recBad, prefix+sr.bad
		case sr.skip != "":
			r.kind, r.reason = recSkip, sr.skip
		case sr.partial != nil:
			r.kind, r.line, r.reason = recPartial, sr.partial, sr.stream+"\x00"+sr.store
		default:
			b.decodeEntry(sr.entry, sr.entry, r, full, false)
			if r.kind == recBad {
				r.reason = prefix + shapeName(sr.shape) + " record: " + r.reason
			} else if r.kind == recEntry && r.line == nil {
				r.line = sr.entry // a response decoded in full: its line if its request is missing
			}
		}
	}
}

// noteShapes records in the file's statistics the shapes its records had and where their
// times came from, when any was shipped (a plain audit file says nothing more than before).
func (p *vaultPairer) noteShapes() {
	shippedAny := false
	for s, n := range p.shapes {
		if s != int(shapeRaw) && n > 0 {
			shippedAny = true
		}
	}
	if !shippedAny {
		return
	}
	st := p.st
	st.Shapes = map[string]int{}
	var parts []string
	for s, n := range p.shapes {
		if n > 0 {
			name := shapeName(uint8(s))
			st.Shapes[name] += n
			parts = append(parts, name+" "+strconv.Itoa(n))
		}
	}
	st.StoreTime = p.storeTime
	when := "each record's own time"
	switch {
	case p.shippedParsed == 0:
		when = "none (no shipped record read)"
	case p.storeTime == p.shippedParsed:
		when = "the log store's timestamp (the records had none of their own)"
	case p.storeTime > 0:
		when = "the log store's timestamp for " + strconv.Itoa(p.storeTime) + " records without their own time, the record's own for the others"
	}
	note := "shipped: " + strings.Join(parts, ", ") + "; time: " + when
	if c := st.Skipped[continuation]; c > 0 {
		// Counted as skipped so that every line is accounted for; nothing in them is lost.
		noun := " more lines"
		if c == 1 {
			noun = " more line"
		}
		note += "; " + strconv.Itoa(c) + noun + " joined into the records they continue (skipped as " + continuation + ")"
	}
	st.Note = strings.TrimPrefix(st.Note+"; "+note, "; ")
}
