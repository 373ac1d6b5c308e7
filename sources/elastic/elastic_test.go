package elastic

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

// docs makes n hashicorp_vault documents on two hosts, `same` at a time sharing one @timestamp
// (milliseconds, as the ingest pipeline keeps them).
func docs(n, same int) []json.RawMessage {
	var out []json.RawMessage
	for i := range n {
		d := map[string]any{
			"@timestamp":      t0.Add(time.Duration(i/same) * time.Millisecond).Format(time.RFC3339Nano),
			"host":            map[string]any{"name": []string{"vault-0", "vault-1"}[i%2]},
			"log":             map[string]any{"file": map[string]any{"path": "/var/log/vault/audit.log"}},
			"hashicorp_vault": map[string]any{"audit": map[string]any{"type": "request", "request": map[string]any{"id": fmt.Sprintf("r%d", i)}}},
		}
		b, _ := json.Marshal(d)
		out = append(out, b)
	}
	return out
}

func spool(t *testing.T) *sources.Spool {
	sp, err := sources.NewSpool()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

func ids(t *testing.T, sp *sources.Spool) (map[string]int, []string) {
	t.Helper()
	ins, err := sp.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
		rc, _ := in.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var h struct {
				Source struct {
					HV struct {
						Audit struct {
							Request struct {
								ID string `json:"id"`
							} `json:"request"`
						} `json:"audit"`
					} `json:"hashicorp_vault"`
				} `json:"_source"`
			}
			if err := json.Unmarshal([]byte(l), &h); err != nil {
				t.Fatalf("spool line %q: %v", l, err)
			}
			seen[h.Source.HV.Audit.Request.ID]++
		}
	}
	return seen, names
}

// TestExport: Elasticsearch and OpenSearch, pages far smaller than the data, documents sharing
// a millisecond across page boundaries (the _shard_doc tie-breaker tells them apart), a new
// point in time id on every page (the stub accepts only the newest), the range on @timestamp,
// credentials, and the point in time closed at the end.
func TestExport(t *testing.T) {
	for _, tc := range []struct {
		f          Flavor
		noShardDoc bool
	}{{Elasticsearch, false}, {OpenSearch, false}, {OpenSearch, true}} {
		f := tc.f
		t.Run(fmt.Sprint(f, " no _shard_doc ", tc.noShardDoc), func(t *testing.T) {
			const n = 1000
			stub := &logstub.Elastic{OpenSearch: f == OpenSearch, NoShardDoc: tc.noShardDoc, Docs: docs(n, 13), Username: "elastic", Password: "pw"}
			if f == Elasticsearch {
				stub.Username, stub.APIKey = "", "a2V5OnNlY3JldA=="
			}
			url := stub.Start()
			defer stub.Close()
			o := Options{Flavor: f, URL: url, Index: "logs-hashicorp_vault.audit-*", PageSize: 37,
				Start: t0.Add(10 * time.Millisecond), End: t0.Add(70 * time.Millisecond)}
			o.FromEnv(env{"ELASTIC_API_KEY": "a2V5OnNlY3JldA==", "OPENSEARCH_USERNAME": "elastic", "OPENSEARCH_PASSWORD": "pw"}.get)
			sp := spool(t)
			st, err := Export(context.Background(), o, sp)
			if err != nil {
				t.Fatal(err)
			}
			seen, names := ids(t, sp)
			want := 60 * 13 // milliseconds 10..69
			if len(seen) != want || st.Entries != want {
				t.Errorf("%d distinct documents, %d entries; want %d", len(seen), st.Entries, want)
			}
			for id, c := range seen {
				if c != 1 {
					t.Errorf("%s read %d times", id, c)
				}
			}
			if len(names) != 2 || !strings.HasPrefix(names[0], f.String()+` host.name="vault-`) || !strings.HasSuffix(names[0], " /var/log/vault/audit.log") {
				t.Errorf("streams %q", names)
			}
			if tc.noShardDoc != (len(st.Warnings) == 1) {
				t.Errorf("warnings %q", st.Warnings)
			}
			if st.PITChanges != st.Pages || st.Pages != want/37+1 || stub.Opened != 1 || stub.Closed != 1 || stub.OpenPITs() != 0 {
				t.Errorf("stats %+v; stub opened %d closed %d open %d", st, stub.Opened, stub.Closed, stub.OpenPITs())
			}
		})
	}
}

type env map[string]string

func (e env) get(k string) string { return e[k] }

// TestExportExpired: the point in time expires part-way: a clear error, the pages read before
// kept and counted, the rest named as not read.
func TestExportExpired(t *testing.T) {
	stub := &logstub.Elastic{Docs: docs(500, 1), ExpireAfter: 3}
	url := stub.Start()
	defer stub.Close()
	sp := spool(t)
	st, err := Export(context.Background(), Options{URL: url, Index: "logs-*", PageSize: 100}, sp)
	if !errors.Is(err, ErrPITExpired) {
		t.Fatalf("err %v, want ErrPITExpired", err)
	}
	seen, _ := ids(t, sp)
	if len(seen) != 300 || st.Entries != 300 || st.Gap == nil || !st.Gap.From.Equal(t0.Add(299*time.Millisecond)) || !strings.Contains(st.Gap.Reason, "search page 4") {
		t.Errorf("read %d; stats %+v gap %+v", len(seen), st, st.Gap)
	}
}

// TestNewest: the newest @timestamp at or before the ceiling.
func TestNewest(t *testing.T) {
	stub := &logstub.Elastic{Docs: docs(50, 1)}
	url := stub.Start()
	defer stub.Close()
	got, ok, err := Newest(context.Background(), Options{URL: url, Index: "logs-*"}, t0.Add(time.Hour))
	if err != nil || !ok || !got.Equal(t0.Add(49*time.Millisecond)) {
		t.Errorf("Newest = %v %v %v", got, ok, err)
	}
	got, ok, err = Newest(context.Background(), Options{URL: url, Index: "logs-*"}, t0.Add(20*time.Millisecond))
	if err != nil || !ok || !got.Equal(t0.Add(20*time.Millisecond)) {
		t.Errorf("Newest under a ceiling = %v %v %v", got, ok, err)
	}
}

// TestExportAuth: refused credentials name the variables, never the secret.
func TestExportAuth(t *testing.T) {
	stub := &logstub.Elastic{Docs: docs(5, 1), APIKey: "right"}
	url := stub.Start()
	defer stub.Close()
	_, err := Export(context.Background(), Options{URL: url, Index: "logs-*", APIKey: "wr0ng-s3cret"}, spool(t))
	if err == nil || !strings.Contains(err.Error(), "ELASTIC_API_KEY") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("err %v", err)
	}
}

// BenchmarkExport measures documents/s through the fake Elasticsearch.
func BenchmarkExport(b *testing.B) {
	const n = 20000
	d := docs(n, 1)
	stub := &logstub.Elastic{Docs: d}
	url := stub.Start()
	defer stub.Close()
	total := 0
	for b.Loop() {
		sp, _ := sources.NewSpool()
		st, err := Export(context.Background(), Options{URL: url, Index: "logs-*"}, sp)
		if err != nil || st.Entries != n {
			b.Fatal(err, st.Entries)
		}
		total += st.Entries
		sp.Close()
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "docs/s")
}
