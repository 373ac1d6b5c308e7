package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/logstub"
)

// Parity of the live log-store readers (scan --loki, --elasticsearch, --opensearch): the
// practice Vault scenario loaded into the loopback Loki and Elasticsearch stand-ins
// (internal/logstub, written from the APIs' documentation) and read back by the real binary
// gives exactly the raw files' findings. The pages are forced small and timestamps are shared
// across page boundaries: Loki's timestamps are the entries' times cut to the second (as a
// shipper that parses time to the second writes them; the record keeps its own), and the stub
// caps a page at 80 entries (the client halves 5000 down to 78) and a range at 10 days (the
// scenario's 66 days are split); Elasticsearch's @timestamp is cut to the millisecond and pages
// are 97 documents.

// storeFile is one raw audit file of the scenario as a log store keeps it: its lines, the host
// and file they were shipped from.
type storeFile struct {
	host, path string
	lines      []shippedLine
}

func loadStoreFiles(t *testing.T, base string, files []string) ([]storeFile, []string) {
	t.Helper()
	var out []storeFile
	var raw []string
	for _, f := range files {
		p, err := filepath.Abs(filepath.Join(base, f))
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, p)
		out = append(out, storeFile{host: filepath.Dir(f), path: "/var/log/" + f, lines: splitShipped(t, readMaybeGzip(t, p))})
	}
	return out, raw
}

func lokiEntries(files []storeFile) []logstub.LokiEntry {
	var out []logstub.LokiEntry
	for _, f := range files {
		labels := map[string]string{"job": "vault-audit", "host": f.host, "filename": f.path}
		var last time.Time
		for _, sl := range f.lines {
			at := sl.t
			if at.IsZero() {
				at = last // a line without time: the shipper's time, that of the line before
			}
			last = at
			out = append(out, logstub.LokiEntry{Labels: labels, Ts: at.Truncate(time.Second).UnixNano(), Line: sl.raw})
		}
	}
	return out
}

// lokiLifted is the same through Fluent Bit (nest/lift) and its Loki output with label_keys
// $type,$auth_accessor and the time taken out of the record into Loki's timestamp (exact, to
// the nanosecond: the records have no time of their own left). One device is then many Loki
// streams (one per type and accessor).
func lokiLifted(t *testing.T, files []storeFile) []logstub.LokiEntry {
	var out []logstub.LokiEntry
	for _, f := range files {
		var last time.Time
		for _, sl := range f.lines {
			at := sl.t
			if at.IsZero() {
				at = last
			}
			last = at
			labels := map[string]string{"job": "vault-audit", "host": f.host, "filename": f.path}
			line := sl.raw
			if sl.entry != nil {
				rec, lb := lift(t, sl.entry, true)
				for k, v := range lb {
					if k == "type" || k == "auth_accessor" {
						labels[k] = v
					}
				}
				line = string(mustJSON(t, rec))
			}
			out = append(out, logstub.LokiEntry{Labels: labels, Ts: at.UnixNano(), Line: line})
		}
	}
	return out
}

func lokiStreamName(f storeFile) string {
	return fmt.Sprintf(`loki {host=%s,job="vault-audit"} %s`, strconv.Quote(f.host), f.path)
}

func elasticDocs(t *testing.T, files []storeFile) []json.RawMessage {
	var out []json.RawMessage
	for _, f := range files {
		for _, sl := range f.lines {
			d := elasticDoc(t, sl, true)
			if d == nil {
				continue
			}
			d["host"] = map[string]any{"name": f.host}
			d["log"] = map[string]any{"file": map[string]any{"path": f.path}}
			out = append(out, mustJSON(t, d))
		}
	}
	return out
}

func elasticStreamName(kind string, f storeFile) string {
	return fmt.Sprintf(`%s host.name=%s %s`, kind, strconv.Quote(f.host), f.path)
}

// TestLogStoreParityScenario: the scenario through Loki, Elasticsearch and OpenSearch gives the
// raw files' findings, and the statistics account for every page.
func TestLogStoreParityScenario(t *testing.T) {
	base := "../shared/scenarios/vault"
	truth, err := os.ReadFile(filepath.Join(base, "truth.json"))
	if err != nil {
		t.Skipf("practice scenario not found (%v)", err)
	}
	var tr struct {
		Files                    []string `json:"files"`
		Since, Until, LearnUntil string
	}
	if err := json.Unmarshal(truth, &tr); err != nil {
		t.Fatal(err)
	}
	var tt struct {
		Since      string `json:"since"`
		Until      string `json:"until"`
		LearnUntil string `json:"learn_until"`
	}
	_ = json.Unmarshal(truth, &tt)
	dir := t.TempDir()
	for _, name := range []string{"vaultsentry.yaml", "k8s-events.json"} {
		b, err := os.ReadFile(filepath.Join(base, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, raw := loadStoreFiles(t, base, tr.Files)
	labels := map[string]string{}
	for i, f := range files {
		labels[raw[i]] = fmt.Sprint("input ", i)
		labels[lokiStreamName(f)] = fmt.Sprint("input ", i)
		labels[elasticStreamName("elasticsearch", f)] = fmt.Sprint("input ", i)
		labels[elasticStreamName("opensearch", f)] = fmt.Sprint("input ", i)
	}
	args := []string{"--config", "vaultsentry.yaml", "--since", tt.Since, "--until", tt.Until, "--learn-until", tt.LearnUntil}
	want, _ := scanFindings(t, dir, labels, false, append(args, raw...)...)
	if len(want) == 0 {
		t.Fatal("the raw files give no finding: nothing is compared")
	}

	t.Run("loki", func(t *testing.T) {
		stub := &logstub.Loki{Entries: lokiEntries(files), MaxEntries: 80, MaxQueryLength: 240 * time.Hour, OrgID: "kestrel", Username: "reader", Password: "pw-not-printed"}
		url := stub.Start()
		defer stub.Close()
		t.Setenv("LOKI_USERNAME", "reader")
		t.Setenv("LOKI_PASSWORD", "pw-not-printed")
		got, stats := scanStore(t, dir, labels, append(args, "--loki", url, "--loki-org-id", "kestrel", "--query", `{job="vault-audit"}`)...)
		if d := diffKeys(want, got); d != "" {
			t.Errorf("findings differ from the raw files' (-raw +loki):\n%s", d)
		}
		st := stats[0]
		t.Logf("stats.stores[0]: %v", st)
		if st["pages"].(float64) < 60 || st["page_limit"].(float64) != 78 || st["range_splits"] == nil || st["overlap_dropped"] == nil || st["streams"].(float64) != 4 || st["gap"] != nil {
			t.Errorf("store stats %v", st)
		}
	})
	t.Run("loki fluent-bit lift", func(t *testing.T) {
		stub := &logstub.Loki{Entries: lokiLifted(t, files), MaxEntries: 40}
		url := stub.Start()
		defer stub.Close()
		got, stats := scanStore(t, dir, labels, append(args, "--loki", url, "--query", `{job="vault-audit"}`)...)
		if d := diffKeys(want, got); d != "" {
			t.Errorf("findings differ from the raw files' (-raw +loki lifted):\n%s", d)
		}
		st := stats[0]
		t.Logf("stats.stores[0]: %v", st)
		if st["streams"].(float64) != 4 || st["gap"] != nil || st["page_limit"].(float64) != 39 {
			t.Errorf("store stats %v", st)
		}
	})
	for _, kind := range []string{"elasticsearch", "opensearch"} {
		t.Run(kind, func(t *testing.T) {
			// OpenSearch before 3.3 (no _shard_doc: the client falls back to _id).
			stub := &logstub.Elastic{OpenSearch: kind == "opensearch", NoShardDoc: kind == "opensearch", Docs: elasticDocs(t, files)}
			url := stub.Start()
			defer stub.Close()
			got, stats := scanStore(t, dir, labels, append(args, "--"+kind, url, "--index", "logs-hashicorp_vault.audit-*", "--page-size", "97")...)
			if d := diffKeys(want, got); d != "" {
				t.Errorf("findings differ from the raw files' (-raw +%s):\n%s", kind, d)
			}
			st := stats[0]
			t.Logf("stats.stores[0]: %v", st)
			if st["pages"].(float64) < 50 || st["pit_id_changes"] != st["pages"] || st["streams"].(float64) != 4 || st["gap"] != nil || stub.OpenPITs() != 0 {
				t.Errorf("store stats %v (open points in time %d)", st, stub.OpenPITs())
			}
		})
	}
}

// scanStore runs scan against a store and returns the findings (as scanFindings does) and the
// report's stats.stores.
func scanStore(t *testing.T, dir string, labels map[string]string, args ...string) ([]string, []map[string]any) {
	t.Helper()
	keys, _ := scanFindings(t, dir, labels, false, args...)
	out, _, code := runStoreVS(t, dir, append([]string{"scan", "--format", "json", "-q"}, args...)...)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Stats struct {
			Stores []map[string]any `json:"stores"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Stats.Stores) != 1 {
		t.Fatalf("report stores: %v %s", err, out)
	}
	return keys, rep.Stats.Stores
}

func runStoreVS(t *testing.T, dir string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return o.Bytes(), e.Bytes(), cmd.ProcessState.ExitCode()
}

// TestLogStoreBadInput: a Loki that holds more entries at one nanosecond than a page, and an
// Elasticsearch point in time that expires part-way: exit 3 with a clear error after the report
// of what was read, which the statistics count, with the part not read named. Durations count
// back from the newest entry, never the wall clock (the entries are from 2026-09-23).
func TestLogStoreBadInput(t *testing.T) {
	data, err := os.ReadFile("testdata/vault/openbao-capture1-audit.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := splitShipped(t, data)
	var newest time.Time
	for _, l := range lines {
		if l.t.After(newest) {
			newest = l.t
		}
	}
	dir := t.TempDir()

	t.Run("loki one nanosecond", func(t *testing.T) {
		f := []storeFile{{host: "bao-0", path: "/var/log/bao/audit.log", lines: lines}}
		ents := lokiEntries(f)
		burst := newest.Add(time.Second).Truncate(time.Second)
		for i := range 5000 {
			ents = append(ents, logstub.LokiEntry{Labels: map[string]string{"job": "vault-audit", "host": "bao-1"}, Ts: burst.UnixNano(), Line: fmt.Sprintf("replayed line %d", i)})
		}
		stub := &logstub.Loki{Entries: ents}
		url := stub.Start()
		defer stub.Close()
		out, stderr, code := runStoreVS(t, dir, "scan", "--format", "json", "--loki", url, "--query", `{job="vault-audit"}`, "--since", "1h") // 1h back from the newest entry, not from now
		if code != 3 || !bytes.Contains(stderr, []byte("share one nanosecond")) || !bytes.Contains(stderr, []byte("NOT READ:")) {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		t.Logf("stderr:\n%s", stderr)
		var rep struct {
			Stats struct {
				Events int              `json:"events"`
				Stores []map[string]any `json:"stores"`
			} `json:"stats"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("no report before the error: %v\n%s", err, out)
		}
		st := rep.Stats.Stores[0]
		if rep.Stats.Events == 0 || st["gap"] == nil || st["reference"] == nil || st["entries"].(float64) < float64(len(lines)) {
			t.Errorf("events %d, stats %v", rep.Stats.Events, st)
		}
	})

	t.Run("elasticsearch expired", func(t *testing.T) {
		f := []storeFile{{host: "bao-0", path: "/var/log/bao/audit.log", lines: lines}}
		docs := elasticDocs(t, f)
		stub := &logstub.Elastic{Docs: docs, ExpireAfter: 2, APIKey: "k3y-not-printed"}
		url := stub.Start()
		defer stub.Close()
		cmd := []string{"scan", "--format", "json", "--elasticsearch", url, "--index", "logs-*", "--since", "1h", "--page-size", "10"}
		t.Setenv("ELASTIC_API_KEY", "k3y-not-printed")
		out, stderr, code := runStoreVS(t, dir, cmd...)
		if code != 3 || !bytes.Contains(stderr, []byte("point in time expired")) {
			t.Fatalf("exit %d, stderr:\n%s", code, stderr)
		}
		if bytes.Contains(append(out, stderr...), []byte("k3y-not-printed")) {
			t.Error("the API key was printed")
		}
		var rep struct {
			Stats struct {
				Lines  int              `json:"lines"`
				Stores []map[string]any `json:"stores"`
			} `json:"stats"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatal(err)
		}
		st := rep.Stats.Stores[0]
		if rep.Stats.Lines != 20 || st["entries"].(float64) != 20 || st["gap"] == nil || !strings.Contains(fmt.Sprint(st["gap"]), "search page 3") {
			t.Errorf("lines %d, stats %v", rep.Stats.Lines, st)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"scan", "--loki", "http://127.0.0.1:1", "--since", "1h"},                                  // no --query
			{"scan", "--loki", "http://127.0.0.1:1", "--query", "{a=\"b\"}"},                           // no --since
			{"scan", "--loki", "http://127.0.0.1:1", "--query", "{a=\"b\"}", "--since", "1h", "a.log"}, // paths too
			{"scan", "--elasticsearch", "http://127.0.0.1:1"},                                          // no --index
			{"scan", "--loki", "ftp://x", "--query", "{a=\"b\"}", "--since", "1h"},
			{"scan", "--index", "logs-*", "a.log"},
		} {
			_, stderr, code := runStoreVS(t, dir, args...)
			if code != 2 || !bytes.Contains(stderr, []byte("hint:")) {
				t.Errorf("%v: exit %d\n%s", args, code, stderr)
			}
		}
	})
}
