package cmd

import (
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/internal/app"
)

// storeOptions are scan's flags for reading a log store instead of files.
type storeOptions struct {
	Loki          string
	Query         string
	LokiOrgID     string
	Elasticsearch string
	OpenSearch    string
	Index         string
	PageSize      int

	store *app.StoreRequest // set by validateStore
}

func (o *storeOptions) addStoreFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.Loki, "loki", "", "read the Vault audit log from Grafana Loki at `URL` (http://loki:3100) through query_range, with --query and --since;\n"+
		"credentials from LOKI_USERNAME/LOKI_PASSWORD or LOKI_BEARER_TOKEN")
	f.StringVar(&o.Query, "query", "", "with --loki: the LogQL log `QUERY` selecting the audit streams, e.g. '{job=\"vault-audit\"}'")
	f.StringVar(&o.LokiOrgID, "loki-org-id", "", "with --loki: the tenant `ID` sent as X-Scope-OrgID (default $LOKI_ORG_ID)")
	f.StringVar(&o.Elasticsearch, "elasticsearch", "", "read Elastic hashicorp_vault documents from Elasticsearch at `URL` with a point in time, with --index;\n"+
		"credentials from ELASTIC_API_KEY or ELASTIC_USERNAME/ELASTIC_PASSWORD")
	f.StringVar(&o.OpenSearch, "opensearch", "", "the same from OpenSearch at `URL`; credentials from OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD")
	f.IntVar(&o.PageSize, "page-size", 5000, "with a log store: entries (Loki) or documents asked for a page; Loki's answer to a page\n"+
		"above its max_entries_limit_per_query halves it")
	f.StringVar(&o.Index, "index", "", "with --elasticsearch or --opensearch: the index `PATTERN`, data stream or alias, e.g. 'logs-hashicorp_vault.audit-*'")
}

// given reports whether a log store was named.
func (o *storeOptions) given() bool {
	return o.Loki != "" || o.Elasticsearch != "" || o.OpenSearch != ""
}

// validateStore checks the store flags against the paths: a store is read instead of files,
// never beside them (durations count back from the store's newest entry, not a file's).
func (o *storeOptions) validateStore(paths []string, since app.TimeArg) error {
	o.store = nil
	n := 0
	for _, v := range []string{o.Loki, o.Elasticsearch, o.OpenSearch} {
		if v != "" {
			n++
		}
	}
	if n == 0 {
		switch {
		case o.Query != "" || o.LokiOrgID != "":
			return usagef("add --loki URL to say which Loki to ask", "--query and --loki-org-id need --loki")
		case o.Index != "":
			return usagef("add --elasticsearch URL or --opensearch URL", "--index needs --elasticsearch or --opensearch")
		}
		return nil
	}
	if n > 1 {
		return usagef("run one scan per store", "--loki, --elasticsearch and --opensearch exclude each other")
	}
	if o.PageSize <= 0 || o.PageSize > 10000 {
		return usagef("give a page size from 1 to 10000 (Elasticsearch's index.max_result_window)", "--page-size %d is out of range", o.PageSize)
	}
	if len(paths) > 0 {
		return usagef("scan the files and the store in two runs, or leave the paths out",
			"a log store (--loki, --elasticsearch, --opensearch) is read instead of files, not beside them: %d paths given", len(paths))
	}
	checkURL := func(flag, v string) error {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The value itself is not repeated: it may hold credentials.
			return usagef("give the base URL, such as http://127.0.0.1:3100 or https://es.example.com:9200", "%s: not an http(s) URL", flag)
		}
		return nil
	}
	switch {
	case o.Loki != "":
		if err := checkURL("--loki", o.Loki); err != nil {
			return err
		}
		if strings.TrimSpace(o.Query) == "" {
			return usagef(`add --query '{job="vault-audit"}' (the stream selector of the audit log)`, "--loki needs --query")
		}
		if o.Index != "" {
			return usagef("leave --index out: Loki takes --query", "--index is for --elasticsearch and --opensearch")
		}
		if since.IsZero() {
			return usagef("add --since 24h (counted back from the newest entry) or an RFC 3339 time", "--loki needs --since: Loki has no first entry to start from")
		}
		o.store = &app.StoreRequest{Kind: app.StoreLoki, URL: o.Loki, Query: o.Query, OrgID: o.LokiOrgID, PageLimit: o.PageSize}
	default:
		flag, v, kind := "--elasticsearch", o.Elasticsearch, app.StoreElasticsearch
		if o.OpenSearch != "" {
			flag, v, kind = "--opensearch", o.OpenSearch, app.StoreOpenSearch
		}
		if err := checkURL(flag, v); err != nil {
			return err
		}
		if o.Index == "" {
			return usagef("add --index 'logs-hashicorp_vault.audit-*' (the index pattern, data stream or alias)", "%s needs --index", flag)
		}
		if o.Query != "" || o.LokiOrgID != "" {
			return usagef("leave --query and --loki-org-id out: they are Loki's", "--query and --loki-org-id are for --loki")
		}
		o.store = &app.StoreRequest{Kind: kind, URL: v, Index: o.Index, PageLimit: o.PageSize}
	}
	return nil
}
