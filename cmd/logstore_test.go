package cmd

import (
	"context"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

// TestScanStoreFlags: --loki, --elasticsearch, --opensearch and their companions, parsed and
// validated without a run.
func TestScanStoreFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantExit int
		want     *app.StoreRequest
		stderr   string
	}{
		{"loki", []string{"--loki", "http://127.0.0.1:3100", "--query", `{job="vault-audit"}`, "--since", "24h", "--loki-org-id", "t1"}, 0,
			&app.StoreRequest{Kind: app.StoreLoki, URL: "http://127.0.0.1:3100", Query: `{job="vault-audit"}`, OrgID: "t1", PageLimit: 5000}, ""},
		{"elasticsearch", []string{"--elasticsearch", "https://es:9200", "--index", "logs-*", "--page-size", "100"}, 0,
			&app.StoreRequest{Kind: app.StoreElasticsearch, URL: "https://es:9200", Index: "logs-*", PageLimit: 100}, ""},
		{"opensearch", []string{"--opensearch", "https://os:9200", "--index", "logs-*"}, 0,
			&app.StoreRequest{Kind: app.StoreOpenSearch, URL: "https://os:9200", Index: "logs-*", PageLimit: 5000}, ""},
		{"files: no store", []string{"a.log"}, 0, nil, ""},
		{"no path, no store", nil, 2, nil, "scan: no input given"},
		{"loki without query", []string{"--loki", "http://l:3100", "--since", "1h"}, 2, nil, "--loki needs --query"},
		{"loki without since", []string{"--loki", "http://l:3100", "--query", "{a=\"b\"}"}, 2, nil, "--loki needs --since"},
		{"loki and paths", []string{"--loki", "http://l:3100", "--query", "{a=\"b\"}", "--since", "1h", "a.log"}, 2, nil, "read instead of files"},
		{"two stores", []string{"--loki", "http://l:3100", "--elasticsearch", "http://e:9200", "--query", "{a=\"b\"}", "--since", "1h"}, 2, nil, "exclude each other"},
		{"URL with credentials not repeated", []string{"--loki", "ftp://user:s3cr3t@l", "--query", "{a=\"b\"}", "--since", "1h"}, 2, nil, "--loki: not an http(s) URL"},
		{"elasticsearch without index", []string{"--elasticsearch", "http://e:9200"}, 2, nil, "--elasticsearch needs --index"},
		{"index without store", []string{"--index", "logs-*", "a.log"}, 2, nil, "--index needs --elasticsearch"},
		{"query without loki", []string{"--query", "{a=\"b\"}", "a.log"}, 2, nil, "need --loki"},
		{"query with elasticsearch", []string{"--elasticsearch", "http://e:9200", "--index", "x", "--query", "{}"}, 2, nil, "are for --loki"},
		{"index with loki", []string{"--loki", "http://l:3100", "--query", "{a=\"b\"}", "--since", "1h", "--index", "x"}, 2, nil, "--index is for"},
		{"page size too big", []string{"--elasticsearch", "http://e:9200", "--index", "x", "--page-size", "20000"}, 2, nil, "--page-size 20000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, errb := TestStreams()
			var got *scanOptions
			root := newRootCmd(s)
			for _, c := range root.Commands() {
				if c.Name() == "scan" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newScanCmd(s, func(_ context.Context, o *scanOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"scan"}, tt.args...))
			code := exitCode(s, root.ExecuteContext(context.Background()))
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantExit, errb)
			}
			if !strings.Contains(errb.String(), tt.stderr) || strings.Contains(errb.String(), "s3cr3t") {
				t.Errorf("stderr %q, want %q (and no credential)", errb, tt.stderr)
			}
			if tt.wantExit == 2 && !strings.Contains(errb.String(), "hint:") {
				t.Errorf("usage error without a hint: %q", errb)
			}
			if code != 0 {
				return
			}
			same := func(a, b *app.StoreRequest) bool {
				return a.Kind == b.Kind && a.URL == b.URL && a.Query == b.Query && a.Index == b.Index && a.OrgID == b.OrgID && a.PageLimit == b.PageLimit
			}
			if (tt.want == nil) != (got.store == nil) || tt.want != nil && !same(tt.want, got.store) {
				t.Errorf("store %+v, want %+v", got.store, tt.want)
			}
		})
	}
}
