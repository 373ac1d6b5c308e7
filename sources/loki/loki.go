// Package loki exports log lines from Grafana Loki through its query_range API, paging by time
// as logcli does, into a sources.Spool: one stream per label set, each line written as logcli
// --output jsonl writes it ({"labels","line","timestamp"}), which the Vault reader takes apart
// with the labels merged back (sources/vault/shipped.go).
//
// API: https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time
// (start inclusive, end exclusive, nanosecond Unix epochs, direction backward by default, limit
// capped by limits_config.max_entries_limit_per_query, 5000 by default, and the range by
// max_query_length, 30d1h by default; both refused with a 400 whose text is Loki's
// ErrMaxEntriesLimit / ErrQueryTooLong). Paging: logcli's pkg/logcli/query/query.go DoQuery.
package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
)

// Defaults of Loki's limits_config.
const (
	DefaultPageLimit      = 5000
	DefaultMaxQueryLength = 721 * time.Hour // 30d1h
)

// ErrSameNanosecond means more entries than a page holds share one nanosecond: paging by time
// cannot get past them.
var ErrSameNanosecond = errors.New("more entries than a page holds share one nanosecond")

// Options configure an export.
type Options struct {
	URL   string // Loki's base URL (http://loki:3100), without /loki/api/v1
	Query string // a LogQL log query
	// Start and End bound the export: [Start, End).
	Start, End time.Time
	// OrgID is sent as X-Scope-OrgID (multi-tenant Loki); Username/Password as basic auth, or
	// Bearer as a bearer token.
	OrgID, Username, Password, Bearer string
	// PageLimit is the first page size asked for (default DefaultPageLimit); halved while Loki
	// refuses it. MaxQueryLength is the longest range one request covers (default
	// DefaultMaxQueryLength); cut to what Loki answers when it refuses one.
	PageLimit      int
	MaxQueryLength time.Duration
	Client         *http.Client
	// Progress, when set, is called after each page with the entries kept so far and the time
	// reached.
	Progress func(entries int, at time.Time)
	// RetryWait is the first pause before a request is sent again (default 500ms).
	RetryWait time.Duration
}

// FromEnv fills the credentials from the environment as logcli reads them: LOKI_ORG_ID,
// LOKI_USERNAME, LOKI_PASSWORD, LOKI_BEARER_TOKEN (a value already set is kept).
func (o *Options) FromEnv(getenv func(string) string) {
	set := func(dst *string, k string) {
		if *dst == "" {
			*dst = getenv(k)
		}
	}
	set(&o.OrgID, "LOKI_ORG_ID")
	set(&o.Username, "LOKI_USERNAME")
	set(&o.Password, "LOKI_PASSWORD")
	set(&o.Bearer, "LOKI_BEARER_TOKEN")
}

type client struct {
	o     Options
	http  sources.StoreHTTP
	base  string
	stats *sources.StoreStats
}

func newClient(o Options, st *sources.StoreStats) (*client, error) {
	if o.PageLimit <= 0 {
		o.PageLimit = DefaultPageLimit
	}
	if o.MaxQueryLength <= 0 {
		o.MaxQueryLength = DefaultMaxQueryLength
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--loki %s: not an http(s) URL", sources.RedactURL(o.URL))
	}
	if u.User != nil && o.Username == "" { // credentials in the URL, as logcli accepts them
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	u.User = nil
	c := &client{o: o, base: strings.TrimSuffix(u.String(), "/") + "/loki/api/v1/query_range", stats: st}
	c.http = sources.StoreHTTP{Client: o.Client, Wait: o.RetryWait, Stats: st, Auth: func(r *http.Request) {
		if o.OrgID != "" {
			r.Header.Set("X-Scope-OrgID", o.OrgID)
		}
		switch {
		case o.Bearer != "":
			r.Header.Set("Authorization", "Bearer "+o.Bearer)
		case o.Username != "" || o.Password != "":
			r.SetBasicAuth(o.Username, o.Password)
		}
	}}
	st.Store, st.URL, st.Query, st.PageLimit = "loki", sources.RedactURL(o.URL), o.Query, o.PageLimit
	return c, nil
}

// response is query_range's answer.
type response struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		} `json:"result"`
	} `json:"data"`
	Warnings []string `json:"warnings"`
}

type entry struct {
	ts     int64
	stream int // index into the page's streams
	line   string
}

var (
	errLimit = errors.New("max entries limit")
	errRange = errors.New("query time range exceeds the limit")
	// Loki's ErrQueryTooLong: "the query time range exceeds the limit (query length: %s, limit: %s)".
	rangeLimitRE = regexp.MustCompile(`limit: ([0-9a-z.]+)\)`)
)

// query asks for one page; a 400 for the page size or the range comes back as errLimit or
// errRange (with the limit Loki names, 0 when it names none).
func (c *client) query(ctx context.Context, start, end time.Time, limit int, direction string) (*response, time.Duration, error) {
	q := url.Values{}
	q.Set("query", c.o.Query)
	q.Set("start", strconv.FormatInt(start.UnixNano(), 10))
	q.Set("end", strconv.FormatInt(end.UnixNano(), 10))
	q.Set("limit", strconv.Itoa(limit))
	q.Set("direction", direction)
	body, err := c.http.Do(ctx, http.MethodGet, c.base+"?"+q.Encode(), nil, "")
	var se *sources.StatusError
	if errors.As(err, &se) && se.Status == http.StatusBadRequest {
		switch {
		case strings.Contains(se.Body, "max entries limit"):
			return nil, 0, errLimit
		case strings.Contains(se.Body, "query time range exceeds the limit"):
			var d time.Duration
			if m := rangeLimitRE.FindStringSubmatch(se.Body); m != nil {
				d, _ = parseDuration(m[1])
			}
			return nil, d, errRange
		}
	}
	if err != nil {
		return nil, 0, describe(err)
	}
	var r response
	if err := sonic.Unmarshal(body, &r); err != nil {
		// A value with a third element (structured metadata, with the categorize-labels
		// encoding flag) is not [string, string]: decode it element by element.
		if r, err = decodeTolerant(body); err != nil {
			return nil, 0, fmt.Errorf("decode query_range answer: %s", sources.ShortJSONError(err))
		}
	}
	if r.Status != "" && r.Status != "success" {
		return nil, 0, fmt.Errorf("query_range answered status %q", sources.Truncate(r.Status, 40))
	}
	if r.Data.ResultType != "" && r.Data.ResultType != "streams" {
		return nil, 0, fmt.Errorf("query_range answered a %q result: give a log query (a stream selector and filters), not a metric query", sources.Truncate(r.Data.ResultType, 20))
	}
	for _, w := range r.Warnings {
		if len(c.stats.Warnings) < 20 && !slices.Contains(c.stats.Warnings, w) {
			c.stats.Warnings = append(c.stats.Warnings, sources.Truncate(w, 300))
		}
	}
	return &r, 0, nil
}

func decodeTolerant(body []byte) (response, error) {
	var t struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Stream map[string]string   `json:"stream"`
				Values [][]json.RawMessage `json:"values"`
			} `json:"result"`
		} `json:"data"`
		Warnings []string `json:"warnings"`
	}
	var r response
	if err := sonic.Unmarshal(body, &t); err != nil {
		return r, err
	}
	r.Status, r.Warnings, r.Data.ResultType = t.Status, t.Warnings, t.Data.ResultType
	for _, s := range t.Data.Result {
		vals := make([][]string, 0, len(s.Values))
		for _, v := range s.Values {
			var pair []string
			for _, e := range v[:min(len(v), 2)] {
				var str string
				if err := sonic.Unmarshal(e, &str); err != nil {
					return r, err
				}
				pair = append(pair, str)
			}
			vals = append(vals, pair)
		}
		r.Data.Result = append(r.Data.Result, struct {
			Stream map[string]string `json:"stream"`
			Values [][]string        `json:"values"`
		}{s.Stream, vals})
	}
	return r, nil
}

func describe(err error) error {
	var se *sources.StatusError
	if errors.As(err, &se) {
		switch se.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("query_range: %w (check LOKI_USERNAME/LOKI_PASSWORD or LOKI_BEARER_TOKEN, and --loki-org-id for a multi-tenant Loki)", err)
		}
	}
	return fmt.Errorf("query_range: %w", err)
}

// retry runs one page request, halving the page or shortening the range while Loki refuses
// them; it returns the range end used (shortened when the range was refused).
func (c *client) retry(ctx context.Context, start, end time.Time, direction string, limit *int) (*response, time.Time, error) {
	for {
		if e := start.Add(c.o.MaxQueryLength); e.Before(end) {
			end = e
		}
		r, d, err := c.query(ctx, start, end, *limit, direction)
		switch {
		case errors.Is(err, errLimit):
			if *limit <= 1 {
				return nil, end, errors.New("query_range: Loki refuses even one entry a page (max entries limit)")
			}
			*limit /= 2
			c.stats.PageHalvings++
			c.stats.PageLimit = *limit
			continue
		case errors.Is(err, errRange):
			next := c.o.MaxQueryLength / 2
			if d > 0 && d < c.o.MaxQueryLength {
				next = d
			}
			if next < time.Second {
				return nil, end, errors.New("query_range: Loki refuses even a one-second range (max_query_length)")
			}
			c.o.MaxQueryLength = next
			c.stats.RangeSplits++
			end = start.Add(next)
			continue
		case err != nil:
			return nil, end, err
		}
		return r, end, nil
	}
}

// Newest is the time of the newest entry the query matches at or before ceil, looking back
// window by window (each as long as Loki allows) over at most lookback; ok is false when
// there is none.
func Newest(ctx context.Context, o Options, ceil time.Time, lookback time.Duration) (t time.Time, ok bool, err error) {
	st := &sources.StoreStats{}
	c, err := newClient(o, st)
	if err != nil {
		return time.Time{}, false, err
	}
	end := ceil.Add(1) // end is exclusive
	floor := ceil.Add(-lookback)
	for end.After(floor) {
		start := end.Add(-c.o.MaxQueryLength)
		limit := 1
		r, used, err := c.retry(ctx, start, end, "backward", &limit)
		if err != nil {
			return time.Time{}, false, err
		}
		if used.Before(end) { // the range was cut: look again from the new length
			continue
		}
		var newest int64
		found := false
		for _, s := range r.Data.Result {
			for _, v := range s.Values {
				if len(v) < 2 {
					continue
				}
				if ns, err := strconv.ParseInt(v[0], 10, 64); err == nil && (!found || ns > newest) {
					newest, found = ns, true
				}
			}
		}
		if found {
			return time.Unix(0, newest).UTC(), true, nil
		}
		end = start
	}
	return time.Time{}, false, nil
}

// Export pages through [o.Start, o.End) oldest first and writes every entry to sp. A failure
// part-way is returned with the statistics of what was read (Gap names the part not read);
// what was written to sp stays there to be analysed.
func Export(ctx context.Context, o Options, sp *sources.Spool) (*sources.StoreStats, error) {
	st := &sources.StoreStats{From: o.Start.UTC(), To: o.End.UTC()}
	c, err := newClient(o, st)
	if err != nil {
		return st, err
	}
	err = c.export(ctx, sp)
	st.Streams = sp.Streams()
	return st, err
}

func (c *client) export(ctx context.Context, sp *sources.Spool) error {
	st := c.stats
	cur, end := c.o.Start, c.o.End
	limit := c.o.PageLimit
	// seen: the entries already written at the nanosecond the last page ended on (stream and
	// line, with their count), which the next page, starting at that nanosecond, returns again.
	seen := map[string]int{}
	seenAt := int64(-1)
	names := map[string]streamName{} // by device key
	fail := func(err error) error {
		st.Gap = &sources.StoreGap{From: cur.UTC(), To: end.UTC(), Reason: err.Error()}
		return err
	}
	for cur.Before(end) {
		r, used, err := c.retry(ctx, cur, end, "forward", &limit)
		if err != nil {
			return fail(err)
		}
		st.Pages++
		page := make([]entry, 0, limit)
		keys := make([]string, len(r.Data.Result))
		devs := make([]string, len(r.Data.Result))
		prefixes := make([][]byte, len(r.Data.Result)) // each stream's {"labels":{...},"line":
		for i, s := range r.Data.Result {
			keys[i] = labelKey(s.Stream)
			prefixes[i] = appendLabels(nil, s.Stream)
			devs[i] = deviceKey(s.Stream)
			if _, ok := names[devs[i]]; !ok {
				names[devs[i]] = nameOf(deviceLabels(s.Stream))
			}
			for _, v := range s.Values {
				if len(v) < 2 {
					return fail(errors.New("query_range: a value is not [\"nanoseconds\", \"line\"]"))
				}
				ns, err := strconv.ParseInt(v[0], 10, 64)
				if err != nil {
					return fail(fmt.Errorf("query_range: timestamp %q is not nanoseconds", sources.Truncate(v[0], 30)))
				}
				page = append(page, entry{ts: ns, stream: i, line: v[1]})
			}
		}
		// Streams merged in time order; ties by stream, then as Loki sent them.
		sort.SliceStable(page, func(a, b int) bool {
			if page[a].ts != page[b].ts {
				return page[a].ts < page[b].ts
			}
			return keys[page[a].stream] < keys[page[b].stream]
		})
		full := len(page) >= limit
		if full && page[0].ts == page[len(page)-1].ts {
			at := time.Unix(0, page[0].ts).UTC()
			return fail(fmt.Errorf("%w: %d entries at %s (page limit %d); paging by time cannot get past them: raise max_entries_limit_per_query or narrow the query",
				ErrSameNanosecond, len(page), at.Format(time.RFC3339Nano), limit))
		}
		var buf []byte
		for _, e := range page {
			k := ""
			if e.ts == seenAt {
				k = keys[e.stream] + "\x00" + e.line
				if seen[k] > 0 {
					seen[k]--
					st.Overlap++
					continue
				}
			}
			buf = appendEntry(append(buf[:0], prefixes[e.stream]...), e.line, e.ts)
			n := names[devs[e.stream]]
			if err := sp.Write(devs[e.stream], n.name, buf); err != nil {
				return fail(err)
			}
			st.Entries++
			if e.ts > st.ReadUntil.UnixNano() || st.ReadUntil.IsZero() {
				st.ReadUntil = time.Unix(0, e.ts).UTC()
			}
		}
		if c.o.Progress != nil {
			c.o.Progress(st.Entries, st.ReadUntil)
		}
		if !full {
			// This range is done: the next starts where it ended (end is exclusive, start
			// inclusive), so no entry is asked for twice.
			cur = used
			clear(seen)
			seenAt = -1
			continue
		}
		last := page[len(page)-1].ts
		clear(seen)
		for _, e := range page {
			if e.ts == last {
				seen[keys[e.stream]+"\x00"+e.line]++
			}
		}
		seenAt = last
		cur = time.Unix(0, last)
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
	}
	return nil
}

// recordLabel reports whether a label is a member of the record that the shipper made a label
// (Fluent Bit's Loki output with label_keys $type, $auth_accessor, ...), not a property of the
// audit device: such labels split one device's entries into several Loki streams, which are
// put back together (a request and its response are paired within one input).
func recordLabel(k string) bool {
	switch k {
	case "type", "time", "error", "level", "detected_level":
		return true
	}
	return strings.HasPrefix(k, "auth_") || strings.HasPrefix(k, "request_") || strings.HasPrefix(k, "response_")
}

// deviceLabels are a stream's labels without the record's.
func deviceLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !recordLabel(k) {
			out[k] = v
		}
	}
	return out
}

// deviceKey is the audit device a stream belongs to: its labels without the record's.
func deviceKey(labels map[string]string) string { return selector(deviceLabels(labels), "") }

// labelKey is a stream's label set in a fixed order.
func labelKey(labels map[string]string) string {
	return selector(labels, "")
}

// selector writes labels as a LogQL stream selector, sorted, leaving out the label skip.
func selector(labels map[string]string, skip string) string {
	ks := make([]string, 0, len(labels))
	for k := range labels {
		if k != skip {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

type streamName struct{ name string }

// nameOf is what statistics and findings call a stream: "loki {labels} FILE" when a filename
// label (Promtail's, Alloy's) names the file it was read from, so that rotated files of one
// device chain as they do on disk, else "loki {labels}".
func nameOf(labels map[string]string) streamName {
	for _, k := range []string{"filename", "file", "log_file_path"} {
		if f := labels[k]; f != "" {
			return streamName{"loki " + selector(labels, k) + " " + f}
		}
	}
	return streamName{"loki " + selector(labels, "")}
}

// appendJSONL appends one line of logcli --output jsonl.
func appendJSONL(buf []byte, labels map[string]string, line string, ns int64) []byte {
	return appendEntry(appendLabels(buf, labels), line, ns)
}

// appendLabels appends the start of a jsonl line: {"labels":{...},"line":
func appendLabels(buf []byte, labels map[string]string) []byte {
	ks := make([]string, 0, len(labels))
	for k := range labels {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	buf = append(buf, `{"labels":{`...)
	for i, k := range ks {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, k)
		buf = append(buf, ':')
		buf = appendString(buf, labels[k])
	}
	return append(buf, `},"line":`...)
}

// appendEntry appends the rest of a jsonl line: the line and the timestamp.
func appendEntry(buf []byte, line string, ns int64) []byte {
	buf = appendString(buf, line)
	buf = append(buf, `,"timestamp":"`...)
	buf = time.Unix(0, ns).UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, `"}`...)
}

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+n]...)
		}
		i += n
	}
	return append(buf, '"')
}

// parseDuration reads a Prometheus duration as Loki prints its limits ("30d1h", "721h", "1m").
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	units := map[string]time.Duration{"y": 365 * 24 * time.Hour, "w": 7 * 24 * time.Hour, "d": 24 * time.Hour,
		"h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}
	re := regexp.MustCompile(`^(?:([0-9]+)(y|w|d|h|ms|m|s))+$`)
	if !re.MatchString(s) {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	var total time.Duration
	for _, m := range regexp.MustCompile(`([0-9]+)(y|w|d|h|ms|m|s)`).FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		total += time.Duration(n) * units[m[2]]
	}
	return total, nil
}
