// Package elastic exports documents from Elasticsearch or OpenSearch with a point in time and
// search_after into a sources.Spool, one hit per line ({"_index","_id","_source"}), which the
// Vault reader takes apart as Elastic's hashicorp_vault integration writes it
// (sources/vault/shipped.go).
//
// APIs: Elasticsearch's open point in time (POST /<index>/_pit?keep_alive=), search with pit and
// search_after, close point in time (DELETE /_pit): https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-open-point-in-time
// and https://www.elastic.co/guide/en/elasticsearch/reference/current/paginate-search-results.html#search-after
// (sort on @timestamp with _shard_doc as the tie-breaker; each answer's pit_id may differ and the
// newest is sent next). OpenSearch's POST /<index>/_search/point_in_time?keep_alive= (answer
// pit_id) and DELETE /_search/point_in_time {"pit_id":[...]}:
// https://docs.opensearch.org/latest/search-plugins/searching-data/point-in-time/. An expired
// point in time is a 404 search_context_missing_exception.
package elastic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
)

// Flavor is the store's API: Elasticsearch or OpenSearch.
type Flavor int

const (
	Elasticsearch Flavor = iota
	OpenSearch
)

func (f Flavor) String() string {
	if f == OpenSearch {
		return "opensearch"
	}
	return "elasticsearch"
}

// Defaults.
const (
	// DefaultPageSize stays under index.max_result_window (10,000).
	DefaultPageSize  = 5000
	DefaultKeepAlive = "5m"
)

// ErrPITExpired means the point in time was gone before the export ended (keep-alive passed
// between two pages, or the cluster restarted).
var ErrPITExpired = errors.New("point in time expired")

// Options configure an export.
type Options struct {
	Flavor Flavor
	URL    string // the cluster's base URL
	Index  string // index pattern, data stream or alias (logs-hashicorp_vault.audit-*)
	// Start and End bound @timestamp: [Start, End); zero: unbounded.
	Start, End time.Time
	// APIKey is sent as "Authorization: ApiKey KEY" (Elasticsearch); Username/Password as
	// basic auth.
	APIKey, Username, Password string
	PageSize                   int
	KeepAlive                  string
	Client                     *http.Client
	Progress                   func(docs int, at time.Time)
	RetryWait                  time.Duration
}

// FromEnv fills the credentials from the environment: ELASTIC_API_KEY, ELASTIC_USERNAME and
// ELASTIC_PASSWORD for Elasticsearch, OPENSEARCH_USERNAME and OPENSEARCH_PASSWORD for
// OpenSearch (a value already set is kept).
func (o *Options) FromEnv(getenv func(string) string) {
	set := func(dst *string, k string) {
		if *dst == "" {
			*dst = getenv(k)
		}
	}
	if o.Flavor == OpenSearch {
		set(&o.Username, "OPENSEARCH_USERNAME")
		set(&o.Password, "OPENSEARCH_PASSWORD")
		return
	}
	set(&o.APIKey, "ELASTIC_API_KEY")
	set(&o.Username, "ELASTIC_USERNAME")
	set(&o.Password, "ELASTIC_PASSWORD")
}

type client struct {
	o     Options
	base  string
	http  sources.StoreHTTP
	stats *sources.StoreStats
}

func newClient(o Options, st *sources.StoreStats) (*client, error) {
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.KeepAlive == "" {
		o.KeepAlive = DefaultKeepAlive
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--%s %s: not an http(s) URL", o.Flavor, sources.RedactURL(o.URL))
	}
	if o.Index == "" || strings.ContainsAny(o.Index, "/?# ") {
		return nil, fmt.Errorf("--index %q: give an index pattern such as logs-hashicorp_vault.audit-*", o.Index)
	}
	if u.User != nil && o.Username == "" {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	u.User = nil
	c := &client{o: o, base: strings.TrimSuffix(u.String(), "/"), stats: st}
	c.http = sources.StoreHTTP{Client: o.Client, Wait: o.RetryWait, Stats: st, Auth: func(r *http.Request) {
		switch {
		case o.APIKey != "":
			r.Header.Set("Authorization", "ApiKey "+o.APIKey)
		case o.Username != "" || o.Password != "":
			r.SetBasicAuth(o.Username, o.Password)
		}
	}}
	st.Store, st.URL, st.Query, st.PageLimit = o.Flavor.String(), sources.RedactURL(o.URL), o.Index, o.PageSize
	return c, nil
}

func (c *client) describe(what string, err error) error {
	var se *sources.StatusError
	if errors.As(err, &se) {
		switch {
		case se.Status == http.StatusNotFound && strings.Contains(se.Body, "search_context_missing_exception"):
			return fmt.Errorf("%s: %w (keep-alive %s): %v", what, ErrPITExpired, c.o.KeepAlive, err)
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden:
			env := "ELASTIC_API_KEY, or ELASTIC_USERNAME/ELASTIC_PASSWORD"
			if c.o.Flavor == OpenSearch {
				env = "OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD"
			}
			return fmt.Errorf("%s: %w (check %s; the user needs the read privilege on the index)", what, err, env)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (c *client) rangeQuery() map[string]any {
	r := map[string]any{"format": "strict_date_optional_time_nanos"}
	if !c.o.Start.IsZero() {
		r["gte"] = c.o.Start.UTC().Format(time.RFC3339Nano)
	}
	if !c.o.End.IsZero() {
		r["lt"] = c.o.End.UTC().Format(time.RFC3339Nano)
	}
	if len(r) == 1 {
		return map[string]any{"match_all": map[string]any{}}
	}
	return map[string]any{"range": map[string]any{"@timestamp": r}}
}

// Newest is the @timestamp of the newest document at or before ceil; ok is false when the
// index holds none.
func Newest(ctx context.Context, o Options, ceil time.Time) (time.Time, bool, error) {
	st := &sources.StoreStats{}
	c, err := newClient(o, st)
	if err != nil {
		return time.Time{}, false, err
	}
	body, _ := json.Marshal(map[string]any{
		"size": 1, "_source": false, "track_total_hits": false,
		"query": map[string]any{"range": map[string]any{"@timestamp": map[string]any{"lte": ceil.UTC().Format(time.RFC3339Nano), "format": "strict_date_optional_time_nanos"}}},
		"sort":  []any{map[string]any{"@timestamp": map[string]any{"order": "desc", "format": "strict_date_optional_time_nanos"}}},
	})
	data, err := c.http.Do(ctx, http.MethodPost, c.base+"/"+url.PathEscape(o.Index)+"/_search", body, "application/json")
	if err != nil {
		return time.Time{}, false, c.describe("search "+o.Index, err)
	}
	var r searchResponse
	if err := sonic.Unmarshal(data, &r); err != nil {
		return time.Time{}, false, fmt.Errorf("decode search answer: %s", sources.ShortJSONError(err))
	}
	if len(r.Hits.Hits) == 0 || len(r.Hits.Hits[0].Sort) == 0 {
		return time.Time{}, false, nil
	}
	t, ok := sortTime(r.Hits.Hits[0].Sort[0])
	return t, ok, nil
}

type searchResponse struct {
	PitID    string `json:"pit_id"`
	TimedOut bool   `json:"timed_out"`
	Shards   struct {
		Failed int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Hits []hit `json:"hits"`
	} `json:"hits"`
}

type hit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// sortTime reads a sort value of @timestamp: a date string (format given in the sort) or
// epoch milliseconds.
func sortTime(raw json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
		return time.Time{}, false
	}
	var ms int64
	if json.Unmarshal(raw, &ms) == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

// Export reads every document of the index in [o.Start, o.End) by @timestamp, oldest first,
// into sp. The point in time is closed at the end, whatever happened. A failure part-way (an
// expired point in time) is returned with the statistics of what was read; what was written to
// sp stays there to be analysed.
func Export(ctx context.Context, o Options, sp *sources.Spool) (*sources.StoreStats, error) {
	st := &sources.StoreStats{From: o.Start.UTC(), To: o.End.UTC()}
	c, err := newClient(o, st)
	if err != nil {
		return st, err
	}
	pit, err := c.openPIT(ctx)
	if err != nil {
		return st, err
	}
	err = c.export(ctx, sp, &pit)
	// Closed with a context of its own: an interrupted run still frees the cluster's resources.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if cerr := c.closePIT(cctx, pit); cerr != nil && err == nil && !errors.Is(cerr, ErrPITExpired) {
		st.Warnings = append(st.Warnings, "close point in time: "+cerr.Error())
	}
	cancel()
	st.Streams = sp.Streams()
	return st, err
}

func (c *client) openPIT(ctx context.Context) (string, error) {
	path := "/_pit"
	if c.o.Flavor == OpenSearch {
		path = "/_search/point_in_time"
	}
	u := c.base + "/" + url.PathEscape(c.o.Index) + path + "?keep_alive=" + url.QueryEscape(c.o.KeepAlive)
	data, err := c.http.Do(ctx, http.MethodPost, u, nil, "")
	if err != nil {
		return "", c.describe("open point in time on "+c.o.Index, err)
	}
	var r struct {
		ID    string `json:"id"`
		PitID string `json:"pit_id"`
	}
	if err := sonic.Unmarshal(data, &r); err != nil {
		return "", fmt.Errorf("decode point in time answer: %s", sources.ShortJSONError(err))
	}
	id := r.ID
	if c.o.Flavor == OpenSearch || id == "" {
		id = r.PitID
	}
	if id == "" {
		return "", errors.New("open point in time: the answer holds no id")
	}
	return id, nil
}

func (c *client) closePIT(ctx context.Context, id string) error {
	var body []byte
	path := "/_pit"
	if c.o.Flavor == OpenSearch {
		path = "/_search/point_in_time"
		body, _ = json.Marshal(map[string]any{"pit_id": []string{id}})
	} else {
		body, _ = json.Marshal(map[string]string{"id": id})
	}
	_, err := c.http.Do(ctx, http.MethodDelete, c.base+path, body, "application/json")
	if err != nil {
		return c.describe("close point in time", err)
	}
	return nil
}

func (c *client) export(ctx context.Context, sp *sources.Spool, pit *string) error {
	st := c.stats
	var after []json.RawMessage
	fail := func(err error) error {
		from := c.o.Start
		if !st.ReadUntil.IsZero() {
			from = st.ReadUntil
		}
		st.Gap = &sources.StoreGap{From: from.UTC(), To: c.o.End.UTC(), Reason: err.Error()}
		return err
	}
	query := c.rangeQuery()
	var line bytes.Buffer
	// _shard_doc is Elasticsearch's tie-breaker and OpenSearch's from 3.3; OpenSearch 2.x has
	// none and refuses it ("No mapping found for [_shard_doc]"): _id is the tie-breaker there.
	tiebreak := "_shard_doc"
	for {
		req := map[string]any{
			"size":             c.o.PageSize,
			"query":            query,
			"pit":              map[string]any{"id": *pit, "keep_alive": c.o.KeepAlive},
			"sort":             []any{map[string]any{"@timestamp": map[string]any{"order": "asc", "format": "strict_date_optional_time_nanos"}}, map[string]any{tiebreak: "asc"}},
			"track_total_hits": false,
		}
		if after != nil {
			req["search_after"] = after
		}
		body, _ := json.Marshal(req)
		data, err := c.http.Do(ctx, http.MethodPost, c.base+"/_search", body, "application/json")
		var se *sources.StatusError
		if c.o.Flavor == OpenSearch && tiebreak == "_shard_doc" && after == nil && errors.As(err, &se) &&
			se.Status == http.StatusBadRequest && strings.Contains(se.Body, "_shard_doc") {
			tiebreak = "_id"
			st.Warnings = append(st.Warnings, "this OpenSearch has no _shard_doc (before 3.3): documents of one @timestamp are ordered by _id")
			continue
		}
		if err != nil {
			return fail(c.describe(fmt.Sprintf("search page %d", st.Pages+1), err))
		}
		var r searchResponse
		if err := sonic.Unmarshal(data, &r); err != nil {
			return fail(fmt.Errorf("decode search answer: %s", sources.ShortJSONError(err)))
		}
		st.Pages++
		if r.TimedOut || r.Shards.Failed > 0 {
			// A partial page would be a silent hole: stop and say where.
			return fail(fmt.Errorf("search page %d: %d shards failed or the search timed out: the answer is partial", st.Pages, r.Shards.Failed))
		}
		if r.PitID != "" && r.PitID != *pit {
			*pit = r.PitID
			st.PITChanges++
		}
		for _, h := range r.Hits.Hits {
			if len(h.Source) == 0 {
				continue
			}
			key, name := streamOf(c.o.Flavor, c.o.Index, h.Source)
			line.Reset()
			line.WriteString(`{"_index":`)
			q, _ := json.Marshal(h.Index)
			line.Write(q)
			line.WriteString(`,"_id":`)
			q, _ = json.Marshal(h.ID)
			line.Write(q)
			line.WriteString(`,"_source":`)
			if err := json.Compact(&line, h.Source); err != nil {
				return fail(fmt.Errorf("document %s: invalid _source", sources.Truncate(h.ID, 60)))
			}
			line.WriteByte('}')
			if err := sp.Write(key, name, line.Bytes()); err != nil {
				return fail(err)
			}
			st.Entries++
			if len(h.Sort) > 0 {
				if t, ok := sortTime(h.Sort[0]); ok && t.After(st.ReadUntil) {
					st.ReadUntil = t
				}
			}
		}
		if c.o.Progress != nil {
			c.o.Progress(st.Entries, st.ReadUntil)
		}
		if len(r.Hits.Hits) < c.o.PageSize {
			return nil
		}
		last := r.Hits.Hits[len(r.Hits.Hits)-1]
		if len(last.Sort) == 0 {
			return fail(errors.New("search: the hits carry no sort values to page on"))
		}
		after = last.Sort
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
	}
}

// streamOf is the stream a document belongs to: the host and file it was read from (Elastic
// Agent's host.name and log.file.path), so that each audit device is one input as its file
// would be; documents without them are one stream of the index pattern.
func streamOf(f Flavor, index string, src json.RawMessage) (key, name string) {
	var d struct {
		Host struct {
			Name string `json:"name"`
		} `json:"host"`
		Log struct {
			File struct {
				Path string `json:"path"`
			} `json:"file"`
		} `json:"log"`
	}
	_ = sonic.Unmarshal(src, &d)
	if d.Host.Name == "" && d.Log.File.Path == "" {
		return "", f.String() + " " + index
	}
	name = f.String() + " host.name=" + strconv.Quote(d.Host.Name)
	if d.Log.File.Path != "" {
		name += " " + d.Log.File.Path
	}
	return base64.StdEncoding.EncodeToString([]byte(d.Host.Name)) + "/" + d.Log.File.Path, name
}
