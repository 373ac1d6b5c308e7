package vault

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Fuzz targets for everything in sources that reads attacker-controlled bytes. Plain `go test`
// runs their seeds (corpus lines and the cases below) and any crasher kept under
// testdata/fuzz/; scripts/fuzz.sh runs each for a bounded time.

// seedFiles are the corpus copies whose lines seed the fuzzers.
var seedFiles = []string{
	"openbao-capture1-audit.log",
	"openbao-capture1-sorted-keys.log",
	"openbao-capture2-audit-prefixed.log",
	"openbao-capture4-attacker-strings-audit.log",
	"elastic-hashicorp_vault-test-audit.log",
}

func seedLines(f *testing.F) []string {
	var out []string
	for _, name := range seedFiles {
		b, err := os.ReadFile(vaultTestdata + name)
		if err != nil {
			f.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		if len(lines) > 40 { // enough shapes; every seed runs in each plain `go test`
			lines = lines[:40]
		}
		out = append(out, lines...)
	}
	return out
}

// reasonShapes are the only forms a problem's reason may take once numbers are replaced by N:
// fixed words, never text from the line (with log_raw the line holds secret values).
var reasonShapes = regexp.MustCompile(`^(record N: )?([a-z0-9-]+(\+[a-z0-9-]+)* record: )?(` +
	`invalid JSON: (syntax error|wrong JSON type for a field|JSON nested too deeply|invalid JSON)( at offset N)?(: [a-z ]{1,40})?` +
	`|invalid JSON: truncated entry \(unexpected end of line\)` +
	`|invalid JSON: wrong JSON type at offset N \(field [A-Za-z0-9_.?-]* wants [a-z0-9.\[\]*]+\)` +
	`|invalid time: (missing|not RFC N \(N bytes\)|year -?N out of range in UTC|year -?N outside N-N)` +
	`|not a Vault audit entry: no "type"` +
	`|Vault audit entry without auth or request \(reshaped by a log shipper\? flattened keys such as request_path are not read\)` +
	`|not a JSON object` +
	`|N NUL bytes \(lost file system block\?\)` +
	`|line longer than N bytes, skipped` +
	// shipped.go, shipped_more.go, join.go
	`|invalid JSON in the stored line: .{1,120}` +
	`|(Splunk (result|results)|Splunk _raw|Datadog message|GCP (jsonPayload|textPayload)|journald MESSAGE|CloudWatch message|Vector message|Loki query_range response|Elasticsearch response|Elasticsearch _source): invalid( JSON| data| hits)?: .{1,120}` +
	`|(Splunk _raw|Datadog message|GCP (jsonPayload|textPayload)|journald MESSAGE|CloudWatch message|Vector message) is not a valid JSON string` +
	`|Splunk result without _raw \(the search dropped it: keep it with \| fields _raw _time\)` +
	`|Datadog log: attributes is not an object` +
	`|journald MESSAGE is null: journalctl leaves out fields over N bytes \(export with journalctl -o json --all\)` +
	`|journald MESSAGE has several values \(one entry expected\)` +
	`|journald MESSAGE byte array with a value out of N..N` +
	`|Docker json-file record: "log" is not a string` +
	`|JSON array element is not an object` +
	`|pretty-printed JSON not closed: line N starts another value` +
	`|pretty-printed JSON not closed at the end of the file` +
	`|pretty-printed JSON: a closing bracket without its opening one` +
	`|pretty-printed JSON: a string not closed at the end of line N` +
	`|element of a pretty-printed JSON array is not an object` +
	`|pretty-printed JSON entry longer than N bytes, skipped` +
	`|partial lines of one entry: more than N parts or N bytes, skipped` +
	`|partial line of one more stream than the N followed at once, skipped` +
	`|partial line \((cri|docker)\) without its final part at the end of the file` +
	`|Fluent Bit nest/lift record (without "type" \(the Loki output made it a label; export with logcli --output jsonl to keep the labels\)|with a lifted member that is not valid JSON)` +
	`|Loki jsonl line: "(line" is not a string|labels" is not an object of strings)` +
	`|Loki query_range (value is not \["nanoseconds", "line"\]|response of type ".{0,40}" holds no log lines \(a metric query\))` +
	`|Elasticsearch hit without _source` +
	`)$`)

var digits = regexp.MustCompile(`[0-9]+`)

// FuzzDecodeVault feeds arbitrary bytes through the real reading path (gzip sniffing, line
// splitting, the Vault decoder) as standard input. Properties: no panic; every line accounted
// for; every problem and every event at a line that exists; reasons in a fixed vocabulary.
func FuzzDecodeVault(f *testing.F) {
	lines := seedLines(f)
	for _, l := range lines {
		f.Add([]byte(l + "\n"))
	}
	f.Add([]byte(strings.Join(lines[:6], "\n")))
	f.Add([]byte(strings.Join(lines[:6], "\r\n")))
	f.Add([]byte("bao-audit: " + lines[1] + "\n\x00\x00\x00\n"))
	f.Add([]byte(`{"time":"2026-09-23T10:00:01Z","type":"response","request":{"id":"a"},"response":{"auth":{"accessor":"x"},"data":{"error":[1]}}}`))
	f.Add([]byte(`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"path":"kv/data/a\u202e\u001b[31m","namespace":{"path":"ns"}}}`))
	f.Add([]byte(strings.Repeat("[", 5000)))
	// A crasher found by fuzzing: a 36-byte id with a fifth dash made parseUUID read past the end.
	f.Add([]byte(`{"time":"2026-09-23T10:00:01Z","type":"response","request":{"id":"00000000-0000-0000-0000-0000000000-0"}}` + "\n"))
	f.Add(testutil.Gzip(f, []byte(lines[0]+"\n"+lines[1]+"\n")))
	// Shipped shapes (shipped_more.go, join.go): the fixtures, and joins cut or broken.
	shipped, _ := filepath.Glob("testdata/shipped/*")
	for _, p := range shipped {
		if b, err := os.ReadFile(p); err == nil && !strings.HasSuffix(p, ".md") {
			f.Add(b)
		}
	}
	f.Add([]byte("{\n  \"time\": \"2026-09-23T10:00:01Z\",\n  \"type\": \"request\",\n  \"request\": {\n    \"path\": \"kv/\"\n  }\n}\n[\n  {\n  }\n,3\n]\n{\n  \"a\n"))
	f.Add([]byte("2026-09-23T10:00:00Z stdout P {\"time\":\n2026-09-23T10:00:00Z stderr F x\n2026-09-23T10:00:00Z stdout F \"2026-09-23T10:00:00Z\",\"type\":\"request\",\"request\":{}}\n2026-09-23T10:00:00Z stdout P {\n"))
	f.Add([]byte(`{"log":"{\"time\":","stream":"stdout"}` + "\n" + `{"MESSAGE":null,"__CURSOR":"c"}` + "\n" + `{"preview":false,"result":{}}` + "\n" + `{"data":[{"type":"log","attributes":3}]}` + "\n" + `[{"a":1},2]` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault", Stdin: bytes.NewReader(data), MaxLineBytes: 1 << 16})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		st := l.Files[0]
		assertBalanced(t, st)
		if st.Bytes > int64(len(data)) && !st.Compressed {
			t.Errorf("counted %d bytes of %d", st.Bytes, len(data))
		}
		for _, p := range st.Problems {
			if p.Line < 1 || p.Line > st.Lines {
				t.Errorf("problem at line %d of %d", p.Line, st.Lines)
			}
			if !reasonShapes.MatchString(digits.ReplaceAllString(p.Reason, "N")) {
				t.Errorf("line %d: reason %q is not one of the fixed forms", p.Line, p.Reason)
			}
		}
		for _, ev := range l.Events {
			if ev.Pos.Line < 1 || ev.Pos.Line > st.Lines || ev.Pos.File != "-" {
				t.Errorf("event at %s:%d of %d lines", ev.Pos.File, ev.Pos.Line, st.Lines)
			}
			if ev.Time.Location() != time.UTC {
				t.Errorf("event time %v not in UTC", ev.Time)
			}
		}
		if len(l.Events) != st.Events || st.Events > st.Parsed {
			t.Errorf("%d events, stats %d, parsed %d", len(l.Events), st.Events, st.Parsed)
		}
	})
}

// FuzzNormalizeVaultPath: no panic; the result is never longer than the path without its query,
// has no query, keeps valid UTF-8 valid and keeps the path's last segment.
func FuzzNormalizeVaultPath(f *testing.F) {
	for _, s := range []struct{ p, m, t string }{
		{"secret/data/app/config", "secret/", "kv"},
		{"secret/metadata/app/", "secret/", "kv"},
		{"secret/metadata", "secret/", "kv"},
		{"team-a/secret/data/svc/db", "team-a/secret/", "kv"},
		{"kv1/app/db", "kv1/", "kv"},
		{"database/creds/ro", "database/", "database"},
		{"secret/data/x?version=1", "", ""},
		{"sys/audit/file", "sys/", "system"},
		{"data/", "", ""},
		{"/data/x", "", ""},
		{"secret/data/app/<script>alert(1)</script>", "secret/", "kv"},
		{"secret/data/app/été-日本", "", "kv"},
	} {
		f.Add(s.p, s.m, s.t)
	}
	f.Fuzz(func(t *testing.T, path, mount, mountType string) {
		got := NormalizePath(path, mount, mountType)
		in := stripQuery(path)
		if len(got) > len(in) {
			t.Errorf("NormalizePath(%q, %q, %q) = %q: longer than the path", path, mount, mountType, got)
		}
		if strings.Contains(got, "?") {
			t.Errorf("NormalizePath(%q, %q, %q) = %q: query kept", path, mount, mountType, got)
		}
		if utf8.ValidString(path) && !utf8.ValidString(got) {
			t.Errorf("NormalizePath(%q, %q, %q) = %q: broke UTF-8", path, mount, mountType, got)
		}
		if got != in && !removedOneVerb(in, got) {
			t.Errorf("NormalizePath(%q, %q, %q) = %q: more changed than one KV v2 verb", path, mount, mountType, got)
		}
	})
}

// removedOneVerb reports whether got is in with one KV v2 sub-path ("data/", "metadata/", ...)
// taken out, or with a final verb without its slash ("kv/metadata" listed) cut off.
func removedOneVerb(in, got string) bool {
	for k := 0; k < len(in); k++ {
		for _, v := range kvV2Prefixes {
			if strings.HasPrefix(in[k:], v) && got == in[:k]+in[k+len(v):] {
				return true
			}
			if in[k:]+"/" == v && got == in[:k] {
				return true
			}
		}
	}
	return false
}

// FuzzParseVaultTime: no panic; a parsed time is UTC and survives a round trip; an error never
// repeats the value.
func FuzzParseVaultTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-25T09:23:59.883772889Z", "2018-06-12T09:32:23.5310425Z", "2026-09-23T23:41:00Z",
		"2026-11-25T09:24:06-05:00", "2024-10-17 21:48:45.000000000", "", "yesterday",
		"2026-13-45T99:99:99Z", "9999-12-31T23:59:59.999999999+14:00", "0000-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := parseVaultTime(s)
		if err != nil {
			// A value that is part of the message's own words ("ytes" of "4 bytes") is no echo:
			// the message for a neutral value of the same length holds it too.
			if len(s) >= 4 && strings.Contains(err.Error(), s) {
				if _, en := parseVaultTime(strings.Repeat("\x01", len(s))); en == nil || !strings.Contains(en.Error(), s) {
					t.Errorf("error %q repeats the value", err)
				}
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Errorf("parseVaultTime(%q) = %v, not UTC", s, tm)
		}
		back, err := parseVaultTime(tm.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(tm) {
			t.Errorf("round trip of %q: %v, %v", s, back, err)
		}
	})
}
