package logstub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Elastic serves the point in time export of Elasticsearch or OpenSearch, as documented:
//   - Elasticsearch: POST /<index>/_pit?keep_alive= answers {"id"}; POST /_search with "pit"
//     (no index in the path), "sort" and "search_after"; every answer carries a "pit_id" that may
//     differ from the one sent (this stub changes it on every page and accepts only the newest);
//     DELETE /_pit {"id"}. https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-open-point-in-time,
//     https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results#search-after
//   - OpenSearch: POST /<index>/_search/point_in_time?keep_alive= answers {"pit_id"}; DELETE
//     /_search/point_in_time {"pit_id":[...]}. https://docs.opensearch.org/latest/search-plugins/searching-data/point-in-time/
//
// A page is at most index.max_result_window (10,000) hits; an unknown or expired point in time
// is a 404 search_context_missing_exception. Documents are spread over two shards; the
// _shard_doc tie-breaker is (shard << 32 | position in the shard).
type Elastic struct {
	OpenSearch bool
	Docs       []json.RawMessage // _source of each document, with @timestamp
	// APIKey or Username/Password, when set, are required.
	APIKey, Username, Password string
	// ExpireAfter, when > 0, lets the point in time expire after that many searches.
	ExpireAfter int
	// NoShardDoc is OpenSearch before 3.3: no _shard_doc sort (refused with a 400); _id is
	// the tie-breaker.
	NoShardDoc bool

	mu       sync.Mutex
	Searches int
	Opened   int
	Closed   int
	srv      *httptest.Server
	pits     map[string]*pitState // newest id -> state
	next     int
	docs     []esDoc
}

type pitState struct {
	n        int
	gen      int
	searches int
}

type esDoc struct {
	ts    time.Time
	shard int64
	src   json.RawMessage
	id    string
}

// Start starts the server on 127.0.0.1.
func (e *Elastic) Start() string {
	e.pits = map[string]*pitState{}
	for i, d := range e.Docs {
		var v struct {
			At string `json:"@timestamp"`
		}
		_ = json.Unmarshal(d, &v)
		t, _ := time.Parse(time.RFC3339Nano, v.At)
		shard := int64(i % 2)
		e.docs = append(e.docs, esDoc{ts: t, shard: shard<<32 | int64(i/2), src: d, id: fmt.Sprintf("doc-%d", i)})
	}
	// Documents sorted by @timestamp then _shard_doc, as the sort asks.
	slices.SortStableFunc(e.docs, func(a, b esDoc) int {
		if c := a.ts.Compare(b.ts); c != 0 {
			return c
		}
		return compare(a.shard, b.shard)
	})
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	return e.srv.URL
}

// Close stops the server.
func (e *Elastic) Close() { e.srv.Close() }

// OpenPITs is the number of points in time still open.
func (e *Elastic) OpenPITs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pits)
}

func esError(w http.ResponseWriter, code int, typ, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"root_cause": []any{map[string]any{"type": typ, "reason": reason}}, "type": typ, "reason": reason}, "status": code})
}

func (e *Elastic) serve(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.OpenSearch {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
	}
	switch {
	case e.APIKey != "" && r.Header.Get("Authorization") != "ApiKey "+e.APIKey,
		e.Username != "" && !basicOK(r, e.Username, e.Password):
		esError(w, http.StatusUnauthorized, "security_exception", "missing authentication credentials for REST request")
		return
	}
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	pitPath := "/_pit"
	if e.OpenSearch {
		pitPath = "/_search/point_in_time"
	}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, pitPath) && path != pitPath:
		if r.URL.Query().Get("keep_alive") == "" {
			esError(w, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: [keep_alive] is not specified;")
			return
		}
		e.Opened++
		e.next++
		st := &pitState{n: e.next}
		id := pitID(st)
		e.pits[id] = st
		w.Header().Set("Content-Type", "application/json")
		if e.OpenSearch {
			_ = json.NewEncoder(w).Encode(map[string]any{"pit_id": id, "_shards": map[string]int{"total": 2, "successful": 2, "skipped": 0, "failed": 0}, "creation_time": time.Now().UnixMilli()})
		} else {
			_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "_shards": map[string]int{"total": 2, "successful": 2, "skipped": 0, "failed": 0}})
		}
	case r.Method == http.MethodDelete && path == pitPath:
		var req struct {
			ID    string   `json:"id"`
			PitID []string `json:"pit_id"`
		}
		_ = json.Unmarshal(body, &req)
		ids := req.PitID
		if !e.OpenSearch {
			ids = []string{req.ID}
		}
		freed := 0
		for _, id := range ids {
			if _, ok := e.pits[id]; ok {
				delete(e.pits, id)
				freed++
			}
		}
		e.Closed += freed
		w.Header().Set("Content-Type", "application/json")
		if e.OpenSearch {
			_ = json.NewEncoder(w).Encode(map[string]any{"pits": []any{map[string]any{"successful": freed > 0, "pit_id": strings.Join(ids, ",")}}})
		} else {
			_ = json.NewEncoder(w).Encode(map[string]any{"succeeded": true, "num_freed": freed})
		}
	case r.Method == http.MethodPost && path == "/_search":
		e.search(w, body, true)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/_search"):
		e.search(w, body, false)
	default:
		esError(w, http.StatusMethodNotAllowed, "illegal_argument_exception", "no handler for "+r.Method+" "+path)
	}
}

func basicOK(r *http.Request, user, pass string) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == user && p == pass
}

func pitID(st *pitState) string { return fmt.Sprintf("pit%d-gen%d==", st.n, st.gen) }

type esSearch struct {
	Size  *int `json:"size"`
	Query struct {
		Range struct {
			At struct {
				Gte string `json:"gte"`
				Lt  string `json:"lt"`
				Lte string `json:"lte"`
			} `json:"@timestamp"`
		} `json:"range"`
	} `json:"query"`
	Pit *struct {
		ID        string `json:"id"`
		KeepAlive string `json:"keep_alive"`
	} `json:"pit"`
	Sort        []map[string]json.RawMessage `json:"sort"`
	SearchAfter []json.RawMessage            `json:"search_after"`
}

func (e *Elastic) search(w http.ResponseWriter, body []byte, withPIT bool) {
	var req esSearch
	if err := json.Unmarshal(body, &req); err != nil {
		esError(w, http.StatusBadRequest, "parsing_exception", "request body is not JSON")
		return
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if size > 10000 {
		esError(w, http.StatusBadRequest, "illegal_argument_exception", "Result window is too large, from + size must be less than or equal to: [10000]")
		return
	}
	var st *pitState
	var pitOut string
	if withPIT {
		if req.Pit == nil {
			esError(w, http.StatusBadRequest, "action_request_validation_exception", "this stub serves only point in time searches")
			return
		}
		st = e.pits[req.Pit.ID]
		if st == nil || (e.ExpireAfter > 0 && st.searches >= e.ExpireAfter) {
			if st != nil {
				delete(e.pits, req.Pit.ID)
			}
			esError(w, http.StatusNotFound, "search_context_missing_exception", "No search context found for id [42]")
			return
		}
	}
	desc := false
	tiebreak, byID := false, false
	for _, s := range req.Sort {
		if raw, ok := s["@timestamp"]; ok && strings.Contains(string(raw), "desc") {
			desc = true
		}
		if _, ok := s["_shard_doc"]; ok {
			if e.NoShardDoc {
				esError(w, http.StatusBadRequest, "query_shard_exception", "No mapping found for [_shard_doc] in order to sort on")
				return
			}
			tiebreak = true
		}
		if _, ok := s["_id"]; ok {
			tiebreak, byID = true, true
		}
	}
	if withPIT && !tiebreak {
		esError(w, http.StatusBadRequest, "illegal_argument_exception", "this stub wants the _shard_doc tie-breaker with search_after")
		return
	}
	if withPIT {
		st.searches++
		e.Searches++
		// A new id for every page: the client must send the newest.
		delete(e.pits, req.Pit.ID)
		st.gen++
		pitOut = pitID(st)
		e.pits[pitOut] = st
	}
	parse := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, s); return t }
	gte, lt, lte := parse(req.Query.Range.At.Gte), parse(req.Query.Range.At.Lt), parse(req.Query.Range.At.Lte)
	var afterTs time.Time
	var afterDoc int64
	var afterID string
	hasAfter := len(req.SearchAfter) == 2
	if hasAfter {
		var s string
		_ = json.Unmarshal(req.SearchAfter[0], &s)
		afterTs = parse(s)
		_ = json.Unmarshal(req.SearchAfter[1], &afterDoc)
		_ = json.Unmarshal(req.SearchAfter[1], &afterID)
	}
	docs := e.docs
	if byID {
		docs = slices.Clone(e.docs)
		slices.SortStableFunc(docs, func(a, b esDoc) int {
			if c := a.ts.Compare(b.ts); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
	}
	var hits []map[string]any
	add := func(d *esDoc) bool {
		if (!gte.IsZero() && d.ts.Before(gte)) || (!lt.IsZero() && !d.ts.Before(lt)) || (!lte.IsZero() && d.ts.After(lte)) {
			return true
		}
		if hasAfter && (d.ts.Before(afterTs) || d.ts.Equal(afterTs) && (!byID && d.shard <= afterDoc || byID && d.id <= afterID)) {
			return true
		}
		var tb any = d.shard
		if byID {
			tb = d.id
		}
		hits = append(hits, map[string]any{"_index": ".ds-logs-hashicorp_vault.audit-default-2026.09.23-000001", "_id": d.id, "_score": nil,
			"_source": d.src, "sort": []any{d.ts.UTC().Format(time.RFC3339Nano), tb}})
		return len(hits) < size
	}
	if desc {
		for i := len(docs) - 1; i >= 0 && add(&docs[i]); i-- {
		}
	} else {
		for i := 0; i < len(docs) && add(&docs[i]); i++ {
		}
	}
	if hits == nil {
		hits = []map[string]any{}
	}
	resp := map[string]any{"took": 3, "timed_out": false, "_shards": map[string]int{"total": 2, "successful": 2, "skipped": 0, "failed": 0},
		"hits": map[string]any{"total": map[string]any{"value": len(hits), "relation": "gte"}, "max_score": nil, "hits": hits}}
	if withPIT {
		resp["pit_id"] = pitOut
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}
