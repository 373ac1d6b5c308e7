// Package logstub holds loopback stand-ins for the log stores scan reads live, for tests: Loki's
// query_range and Elasticsearch's / OpenSearch's point in time search. Each is written from the
// API's documentation, with its limits and its errors, so a client that pages wrongly fails here
// as it would against the real server.
package logstub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LokiEntry is one stored log line.
type LokiEntry struct {
	Labels map[string]string
	Ts     int64 // Unix nanoseconds
	Line   string
}

// Loki serves GET /loki/api/v1/query_range as
// https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time
// describes it: start (inclusive) and end (exclusive) as nanosecond epochs or RFC 3339, defaults
// of one hour back from now, limit 100, direction backward; limit above MaxEntries and ranges
// longer than MaxQueryLength refused with a 400 and Loki's own messages (pkg/util/validation:
// ErrMaxEntriesLimit, ErrQueryTooLong); entries ordered by time, then by stream.
type Loki struct {
	Entries []LokiEntry
	// MaxEntries is limits_config.max_entries_limit_per_query (0: 5000); MaxQueryLength
	// max_query_length (0: 721h).
	MaxEntries     int
	MaxQueryLength time.Duration
	// OrgID, when set, must come as X-Scope-OrgID (else 401 "no org id", as Loki answers).
	OrgID string
	// Username/Password or Bearer, when set, are required.
	Username, Password, Bearer string
	// FailEvery, when > 0, answers every FailEvery-th request with a 503 (a querier restarting).
	FailEvery int

	mu       sync.Mutex
	Requests int
	Limits   []int // the limit of each request that was answered
	srv      *httptest.Server
	sorted   bool
}

// Start starts the server on 127.0.0.1; Close stops it.
func (l *Loki) Start() string {
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	return l.srv.URL
}

// Close stops the server.
func (l *Loki) Close() { l.srv.Close() }

var matcherRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"`)

func parseLokiTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(0, n), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func lokiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

func labelKey(m map[string]string) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(k + "=" + strconv.Quote(m[k]) + ",")
	}
	return b.String()
}

func (l *Loki) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Requests++
	if r.URL.Path != "/loki/api/v1/query_range" || r.Method != http.MethodGet {
		lokiError(w, http.StatusNotFound, "404 page not found")
		return
	}
	if l.FailEvery > 0 && l.Requests%l.FailEvery == 0 {
		lokiError(w, http.StatusServiceUnavailable, "too many outstanding requests")
		return
	}
	if l.OrgID != "" && r.Header.Get("X-Scope-OrgID") != l.OrgID {
		lokiError(w, http.StatusUnauthorized, "no org id")
		return
	}
	if l.Bearer != "" && r.Header.Get("Authorization") != "Bearer "+l.Bearer {
		lokiError(w, http.StatusUnauthorized, "unauthorized")
		return
	}
	if l.Username != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != l.Username || p != l.Password {
			lokiError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
	}
	q := r.URL.Query()
	maxEntries := l.MaxEntries
	if maxEntries == 0 {
		maxEntries = 5000
	}
	maxLen := l.MaxQueryLength
	if maxLen == 0 {
		maxLen = 721 * time.Hour
	}
	now := time.Now()
	end, err := parseLokiTime(q.Get("end"), now)
	if err != nil {
		lokiError(w, http.StatusBadRequest, "invalid parameter \"end\"")
		return
	}
	start, err := parseLokiTime(q.Get("start"), end.Add(-time.Hour))
	if err != nil {
		lokiError(w, http.StatusBadRequest, "invalid parameter \"start\"")
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			lokiError(w, http.StatusBadRequest, "limit must be a positive value")
			return
		}
	}
	dir := q.Get("direction")
	if dir == "" {
		dir = "backward"
	}
	if dir != "forward" && dir != "backward" {
		lokiError(w, http.StatusBadRequest, "invalid direction")
		return
	}
	if end.Before(start) {
		lokiError(w, http.StatusBadRequest, "end timestamp must not be before or equal to start time")
		return
	}
	if limit > maxEntries {
		lokiError(w, http.StatusBadRequest, fmt.Sprintf("max entries limit per query exceeded, limit > max_entries_limit_per_query (%d > %d)", limit, maxEntries))
		return
	}
	if end.Sub(start) > maxLen {
		lokiError(w, http.StatusBadRequest, fmt.Sprintf("the query time range exceeds the limit (query length: %s, limit: %s)", promDuration(end.Sub(start)), promDuration(maxLen)))
		return
	}
	sel := q.Get("query")
	if !strings.HasPrefix(strings.TrimSpace(sel), "{") {
		lokiError(w, http.StatusBadRequest, "parse error at line 1, col 1: syntax error: unexpected IDENTIFIER")
		return
	}
	matchers := matcherRE.FindAllStringSubmatch(sel[:strings.IndexByte(sel, '}')+1], -1)
	if !l.sorted {
		slices.SortStableFunc(l.Entries, func(a, b LokiEntry) int {
			if a.Ts != b.Ts {
				return compare(a.Ts, b.Ts)
			}
			return strings.Compare(labelKey(a.Labels), labelKey(b.Labels))
		})
		l.sorted = true
	}
	var picked []int
	s, e := start.UnixNano(), end.UnixNano()
	match := func(en *LokiEntry) bool {
		for _, m := range matchers {
			v, _ := strconv.Unquote(`"` + m[2] + `"`)
			if en.Labels[m[1]] != v {
				return false
			}
		}
		return true
	}
	if dir == "forward" {
		for i := range l.Entries {
			if en := &l.Entries[i]; en.Ts >= s && en.Ts < e && match(en) {
				picked = append(picked, i)
				if len(picked) == limit {
					break
				}
			}
		}
	} else {
		for i := len(l.Entries) - 1; i >= 0; i-- {
			if en := &l.Entries[i]; en.Ts >= s && en.Ts < e && match(en) {
				picked = append(picked, i)
				if len(picked) == limit {
					break
				}
			}
		}
	}
	l.Limits = append(l.Limits, limit)
	type stream struct {
		Stream map[string]string `json:"stream"`
		Values [][2]string       `json:"values"`
	}
	var result []*stream
	byKey := map[string]*stream{}
	for _, i := range picked {
		en := &l.Entries[i]
		k := labelKey(en.Labels)
		st := byKey[k]
		if st == nil {
			st = &stream{Stream: en.Labels}
			byKey[k] = st
			result = append(result, st)
		}
		st.Values = append(st.Values, [2]string{strconv.FormatInt(en.Ts, 10), en.Line})
	}
	if result == nil {
		result = []*stream{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
		"resultType": "streams", "result": result,
		"stats": map[string]any{"summary": map[string]any{"totalEntriesReturned": len(picked)}},
	}})
}

func compare(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// promDuration writes d as Prometheus' model.Duration does (Loki prints its limits so: 30d1h).
func promDuration(d time.Duration) string {
	ms := d.Milliseconds()
	if ms == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		s string
		n int64
	}{{"y", 365 * 24 * 3600 * 1000}, {"w", 7 * 24 * 3600 * 1000}, {"d", 24 * 3600 * 1000}, {"h", 3600 * 1000}, {"m", 60 * 1000}, {"s", 1000}, {"ms", 1}} {
		if v := ms / u.n; v > 0 {
			fmt.Fprintf(&b, "%d%s", v, u.s)
			ms -= v * u.n
		}
	}
	return b.String()
}
