package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// What the live log-store readers (sources/loki, sources/elastic) share: the spool that keeps
// each stream's lines until Load reads them as files, the statistics of an export, and one HTTP
// request with retries. Nothing here knows a store's API or a log format.

// StoreStats is what one export from a log store did: how it paged, what it kept, and the part
// of the asked range it did not read (Gap), so that nothing is lost silently.
type StoreStats struct {
	Store string `json:"store"` // loki, elasticsearch, opensearch
	URL   string `json:"url"`   // without credentials
	Query string `json:"query"` // the LogQL query, or the index pattern
	// From and To are the range asked for ([From, To); zero: unbounded). Reference is the newest
	// entry the store held, that durations in --since/--until counted back from.
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	Reference time.Time `json:"reference,omitzero"`
	Requests  int       `json:"requests"`
	Pages     int       `json:"pages"`
	// Entries are the entries (documents) kept; Overlap those received again at the nanosecond
	// a page ended on and dropped (Loki's paging by time asks for that nanosecond again).
	Entries int `json:"entries"`
	Overlap int `json:"overlap_dropped,omitempty"`
	Streams int `json:"streams"`
	Retries int `json:"retries,omitempty"`
	// PageLimit is the page size used at the end (halved when the store refused a larger one).
	PageLimit    int `json:"page_limit"`
	PageHalvings int `json:"page_halvings,omitempty"`
	// RangeSplits counts the times a time range was cut because the store refused its length.
	RangeSplits int `json:"range_splits,omitempty"`
	// PITChanges counts the pages whose point in time id differed from the one sent.
	PITChanges int `json:"pit_id_changes,omitempty"`
	// ReadUntil is the time of the newest entry read.
	ReadUntil time.Time `json:"read_until,omitzero"`
	// Gap, when set, is the part of the range that was not read and why; what came before it
	// was read and analysed.
	Gap      *StoreGap `json:"gap,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

// StoreGap is a part of an export's range that was not read.
type StoreGap struct {
	From   time.Time `json:"from,omitzero"`
	To     time.Time `json:"to,omitzero"`
	Reason string    `json:"reason"`
}

// RedactURL is u without its user information and query (which may hold credentials), for
// statistics and messages.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User, p.RawQuery, p.Fragment = nil, "", ""
	return p.String()
}

// Spool keeps what an export returned, one temporary file per stream, until Load reads each
// as an input: detectors see one stream per audit device (audit-gap measures silences per input),
// and a page from the store mixes streams, so the lines cannot be piped into readers that Load
// starts a few at a time. Memory is bounded: each stream buffers at most spoolBuffer bytes.
type Spool struct {
	dir     string
	streams map[string]*spoolStream
	order   []*spoolStream
	names   map[string]bool
}

type spoolStream struct {
	name  string
	path  string
	buf   []byte
	size  int64
	lines int
}

const spoolBuffer = 64 << 10

// NewSpool makes a spool in a new temporary directory; Close removes it.
func NewSpool() (*Spool, error) {
	dir, err := os.MkdirTemp("", "vaultsentry-spool-")
	if err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	return &Spool{dir: dir, streams: map[string]*spoolStream{}, names: map[string]bool{}}, nil
}

// Write appends line (without its newline) to the stream key; name is what statistics and
// findings call the stream, made unique when two streams would share it.
func (s *Spool) Write(key, name string, line []byte) error {
	st := s.streams[key]
	if st == nil {
		n := name
		for i := 2; s.names[n]; i++ {
			n = name + " #" + strconv.Itoa(i)
		}
		s.names[n] = true
		st = &spoolStream{name: n, path: filepath.Join(s.dir, strconv.Itoa(len(s.order))+".log")}
		s.streams[key] = st
		s.order = append(s.order, st)
	}
	st.buf = append(st.buf, line...)
	st.buf = append(st.buf, '\n')
	st.lines++
	if len(st.buf) >= spoolBuffer {
		return st.flush()
	}
	return nil
}

func (st *spoolStream) flush() error {
	if len(st.buf) == 0 {
		return nil
	}
	f, err := os.OpenFile(st.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("write spool: %w", err)
	}
	n, err := f.Write(st.buf)
	st.size += int64(n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	st.buf = st.buf[:0]
	if err != nil {
		return fmt.Errorf("write spool: %w", err)
	}
	return nil
}

// Streams is the number of streams written.
func (s *Spool) Streams() int { return len(s.order) }

// Inputs flushes every stream and returns one input per stream, in the order they first
// appeared, each opened from its spool file.
func (s *Spool) Inputs() ([]Input, error) {
	ins := make([]Input, 0, len(s.order))
	for _, st := range s.order {
		if err := st.flush(); err != nil {
			return nil, err
		}
		path := st.path
		ins = append(ins, Input{Name: st.name, Size: st.size, Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return ins, nil
}

// Close removes the spool's files.
func (s *Spool) Close() error { return os.RemoveAll(s.dir) }

// StoreHTTP sends requests to a log store: credentials on every request, and retries of what
// is worth retrying (a network error, 429, 502, 503, 504) with a growing pause.
type StoreHTTP struct {
	Client *http.Client // nil: http.DefaultClient
	// Auth sets the credentials (and headers such as X-Scope-OrgID) on a request.
	Auth func(*http.Request)
	// Attempts is how many times a request is sent at most (default 5); Wait the first pause
	// (default 500ms, doubled each time).
	Attempts int
	Wait     time.Duration
	Stats    *StoreStats
}

// StatusError is a store's answer that is not a success, with the start of its body.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body)
}

// Do sends method url with body and returns the body of a 2xx answer; any other answer is a
// *StatusError.
func (h *StoreHTTP) Do(ctx context.Context, method, u string, body []byte, contentType string) ([]byte, error) {
	attempts, wait := h.Attempts, h.Wait
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = 500 * time.Millisecond
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	var last error
	for i := range attempts {
		if i > 0 {
			if h.Stats != nil {
				h.Stats.Retries++
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait << (i - 1)):
			}
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, rd)
		if err != nil {
			return nil, err
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("Accept", "application/json")
		if h.Auth != nil {
			h.Auth(req)
		}
		if h.Stats != nil {
			h.Stats.Requests++
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the URL may hold credentials
			}
			last = fmt.Errorf("%s %s: %w", method, RedactURL(u), err)
			var dns *net.DNSError
			if errors.As(err, &dns) && dns.IsNotFound {
				return nil, last // a name that does not resolve will not resolve in a second either
			}
			continue
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = fmt.Errorf("%s %s: read answer: %w", method, RedactURL(u), err)
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return data, nil
		}
		se := &StatusError{Status: resp.StatusCode, Body: Truncate(string(bytes.TrimSpace(data)), 500)}
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			last = se
			continue
		}
		return nil, se
	}
	return nil, last
}
