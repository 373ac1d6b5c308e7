package vault

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/internal/loggen"
	"github.com/vaultsentry/vaultsentry/sources"
)

// The benchmarks read a realistic log generated in-process (internal/loggen): 8 MiB, so a
// smoke run (-benchtime=1x, as CI does) stays well under a second. scripts/bench.sh measures
// gigabytes.

var benchLog = sync.OnceValue(func() []byte { return loggen.Generate(8<<20, loggen.Options{}) })

func benchLines(b *testing.B) [][]byte {
	b.Helper()
	return bytes.Split(bytes.TrimSuffix(benchLog(), []byte{'\n'}), []byte{'\n'})
}

// BenchmarkDecodeVault is the field decoder alone, line by line.
func BenchmarkDecodeVault(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	var v vaultLine
	fast := 0
	for b.Loop() {
		for _, l := range lines {
			if decodeVaultFast(l, &v) {
				fast++
			}
		}
	}
	b.ReportMetric(float64(fast)/float64(b.N*len(lines)), "fast/line")
}

// BenchmarkDecodeVaultSonic is what the field decoder replaces: sonic into vaultEntry.
func BenchmarkDecodeVaultSonic(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			var e vaultEntry
			if err := sonic.Unmarshal(l, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadVault is one file through the pipeline: cut, decode on every core, pair.
func BenchmarkReadVault(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		var st sources.FileStats
		es := readVault(context.Background(), "bench.log", bytes.NewReader(data), int64(len(data)), sources.DefaultMaxLineBytes, &st, sources.NewInterner(), nil, nil)
		events += es.Len()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoad adds what Load does around it: the merge into one time-ordered slice.
func BenchmarkLoad(b *testing.B) {
	data := benchLog()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		res, err := sources.Load(context.Background(), []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault", Stdin: bytes.NewReader(data)})
		if err != nil {
			b.Fatal(err)
		}
		events += len(res.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkValidStrings is the check of every line's strings against encoding/json's rules,
// which decodeLine adds to either decoder.
func BenchmarkValidStrings(b *testing.B) {
	lines := benchLines(b)
	b.SetBytes(int64(len(benchLog())))
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if !validStrings(l) {
				b.Fatalf("rejected %q", l)
			}
		}
	}
}

// shippedBenchData is benchLog in each shipped shape, made with shipped_test.go's converters.
func shippedBenchData(b *testing.B) map[string][]byte {
	b.Helper()
	lines := benchLines(b)
	out := map[string][]byte{"vault": benchLog()}
	var lift, jsonl, jsonlRaw, docs, docsOrig, ranges, search bytes.Buffer
	var hits []any
	var result []any
	for i, l := range lines {
		var e struct {
			Time string `json:"time"`
		}
		if sonic.Unmarshal(l, &e) != nil {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, e.Time)
		lf, _ := liftEntry(b, string(l))
		lift.WriteString(lf + "\n")
		dl, labels := liftEntry(b, string(l), "type", "auth_accessor", "time")
		jsonl.WriteString(jsonStr(b, map[string]any{"labels": labels, "line": dl, "timestamp": at.Format(time.RFC3339Nano)}) + "\n")
		jsonlRaw.WriteString(jsonStr(b, map[string]any{"labels": map[string]string{"job": "vault"}, "line": string(l), "timestamp": at.Format(time.RFC3339Nano)}) + "\n")
		docsOrig.WriteString(jsonStr(b, elasticOf(b, string(l), true)) + "\n")
		result = append(result, map[string]any{"stream": labels, "values": [][]string{{strconv.FormatInt(at.UnixNano(), 10), dl}}})
		doc := elasticOf(b, string(l), false)
		docs.WriteString(jsonStr(b, doc) + "\n")
		hits = append(hits, map[string]any{"_id": strconv.Itoa(i), "_source": doc})
		if len(result) == 100 || i == len(lines)-1 {
			ranges.WriteString(jsonStr(b, map[string]any{"status": "success", "data": map[string]any{"resultType": "streams", "result": result}}) + "\n")
			search.WriteString(jsonStr(b, map[string]any{"took": 1, "hits": map[string]any{"hits": hits}}) + "\n")
			result, hits = nil, nil
		}
	}
	out["fluent-bit-lift"], out["loki-jsonl"], out["loki-query-range"] = lift.Bytes(), jsonl.Bytes(), ranges.Bytes()
	out["elastic-doc"], out["elastic-search"] = docs.Bytes(), search.Bytes()
	out["loki-jsonl-raw"], out["elastic-doc-original"] = jsonlRaw.Bytes(), docsOrig.Bytes()
	moreBenchData(b, lines, out)
	return out
}

// moreBenchData adds the shapes of shipped_more.go and join.go, made with
// shipped_more_test.go's converters.
func moreBenchData(b *testing.B, lines [][]byte, out map[string][]byte) {
	var splunk, dd, gcp, journal, docker, cri, cw, vector, pretty, array bytes.Buffer
	var ddPage, cwPage []any
	array.WriteString("[")
	for i, l := range lines {
		var e struct {
			Time string `json:"time"`
		}
		if sonic.Unmarshal(l, &e) != nil {
			continue
		}
		at, _ := time.Parse(time.RFC3339Nano, e.Time)
		line := string(l)
		splunk.WriteString(splunkExportLine(b, i, line, at) + "\n")
		ddPage = append(ddPage, datadogLogOf(b, line, true, at))
		gcp.WriteString(jsonStr(b, gcpOf(b, line, at)) + "\n")
		journal.WriteString(journaldOf(b, line, at, false) + "\n")
		docker.WriteString(dockerOf(b, line, at) + "\n")
		cri.WriteString(criOf(line, at) + "\n")
		cwPage = append(cwPage, cloudWatchEventOf(line, at, i))
		vector.WriteString(vectorOf(b, line, at) + "\n")
		pretty.WriteString(prettyOf(b, rawMap(b, line)) + "\n")
		if i > 0 {
			array.WriteString(",")
		}
		array.Write(l)
		if len(ddPage) == 100 || i == len(lines)-1 {
			dd.WriteString(jsonStr(b, map[string]any{"data": ddPage, "links": map[string]string{"next": "x"}}) + "\n")
			cw.WriteString(jsonStr(b, map[string]any{"events": cwPage, "nextToken": "x"}) + "\n")
			ddPage, cwPage = nil, nil
		}
	}
	array.WriteString("]\n")
	out["splunk-export"], out["datadog"], out["gcp-logging"], out["journald"] = splunk.Bytes(), dd.Bytes(), gcp.Bytes(), journal.Bytes()
	out["docker-json"], out["cri"], out["cloudwatch"], out["vector"] = docker.Bytes(), cri.Bytes(), cw.Bytes(), vector.Bytes()
	out["pretty-json"], out["json-array"] = pretty.Bytes(), array.Bytes()
}

// BenchmarkReadShipped reads the same entries in each shipped shape through the pipeline. MB/s
// counts the raw audit log's bytes (the same content for every shape), so the figures compare
// directly with the "vault" sub-benchmark; shaped-MB is the size of the shape's own file.
func BenchmarkReadShipped(b *testing.B) {
	shapes := shippedBenchData(b)
	raw := int64(len(benchLog()))
	for _, name := range []string{"vault", "fluent-bit-lift", "loki-jsonl", "loki-jsonl-raw", "loki-query-range", "elastic-doc", "elastic-doc-original", "elastic-search",
		"splunk-export", "datadog", "gcp-logging", "journald", "docker-json", "cri", "cloudwatch", "vector", "pretty-json", "json-array"} {
		data := shapes[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(raw)
			b.ReportAllocs()
			events := 0
			for b.Loop() {
				var st sources.FileStats
				es := readVault(context.Background(), "bench.log", bytes.NewReader(data), int64(len(data)), sources.DefaultMaxLineBytes, &st, sources.NewInterner(), nil, nil)
				events += es.Len()
				if st.Malformed > 0 {
					b.Fatalf("%s: %d malformed: %v", name, st.Malformed, st.Problems[:1])
				}
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(len(data))/(1<<20), "shaped-MB")
		})
	}
}
