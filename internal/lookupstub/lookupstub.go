// Package lookupstub is a loopback stand-in for the CloudTrail LookupEvents API, for tests. It
// speaks the real protocol (awsJson1_1: POST with X-Amz-Target, epoch-second times, NextToken),
// serves the records it was given for the region named in the request's SigV4 credential
// scope, newest first, and behaves as the service does where clients go wrong: one lookup
// attribute per call, at most 50 results a page, a ThrottlingException now and then.
package lookupstub

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Targets the service accepts in X-Amz-Target (the SDKs send the short form).
var targets = map[string]bool{
	"CloudTrail_20131101.LookupEvents":                                    true,
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents": true,
}

// record is one stored CloudTrail record with the fields LookupEvents filters on.
type record struct {
	raw       string
	time      time.Time
	region    string
	id        string
	name      string
	source    string
	user      string
	accessKey string
	readOnly  string
}

// Server is a running stand-in. Its counters are safe to read after requests complete.
type Server struct {
	*httptest.Server
	// ThrottleEvery answers every n-th request with a ThrottlingException (0: never).
	ThrottleEvery int
	// ThrottleFirst answers the first n requests with a ThrottlingException.
	ThrottleFirst int
	// RateLimit, when positive, is the quota in requests a second per region: a request that
	// finds its region's token bucket (Burst requests, default 1) empty gets a
	// ThrottlingException, as the service answers a client that exceeds its quota. Throttled
	// requests take no token.
	RateLimit, Burst float64

	records []record
	mu      sync.Mutex
	calls   int
	// Throttled counts ThrottlingException answers; Pages counts pages served; Rejected
	// counts requests refused for a protocol mistake (several attributes, a bad token, ...).
	Throttled, Pages, Rejected int
	// OverQuota counts the throttles of RateLimit (they are in Throttled too).
	OverQuota int
	// times holds the request times per region, to check a client's rate.
	times   map[string][]time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take reports whether region's bucket has a token for a request at now, and takes it.
func (s *Server) take(region string, now time.Time) bool {
	burst := max(s.Burst, 1)
	b := s.buckets[region]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[region] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*s.RateLimit)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// ReadNDJSON reads one CloudTrail record per line.
func ReadNDJSON(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	return out, sc.Err()
}

// New starts a server on 127.0.0.1 that serves recs (CloudTrail records as JSON documents).
func New(recs [][]byte) (*Server, error) {
	s := &Server{times: map[string][]time.Time{}, buckets: map[string]*bucket{}}
	for _, raw := range recs {
		var r struct {
			EventTime    string `json:"eventTime"`
			AWSRegion    string `json:"awsRegion"`
			EventID      string `json:"eventID"`
			EventName    string `json:"eventName"`
			EventSource  string `json:"eventSource"`
			ReadOnly     any    `json:"readOnly"`
			UserIdentity struct {
				UserName    string `json:"userName"`
				ARN         string `json:"arn"`
				AccessKeyID string `json:"accessKeyId"`
			} `json:"userIdentity"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decode record: %w", err)
		}
		t, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.EventID, err)
		}
		user := r.UserIdentity.UserName
		if user == "" {
			if i := strings.LastIndexByte(r.UserIdentity.ARN, '/'); i >= 0 {
				user = r.UserIdentity.ARN[i+1:]
			}
		}
		s.records = append(s.records, record{raw: string(raw), time: t, region: r.AWSRegion, id: r.EventID,
			name: r.EventName, source: r.EventSource, user: user, accessKey: r.UserIdentity.AccessKeyID,
			readOnly: fmt.Sprint(r.ReadOnly)})
	}
	// Newest first, as the service pages.
	slices.SortStableFunc(s.records, func(a, b record) int {
		if c := b.time.Compare(a.time); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Server = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.Start()
	return s, nil
}

// MaxRate is the most requests one region saw within any one second.
func (s *Server) MaxRate() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	worst := 0
	for _, ts := range s.times {
		j := 0
		for i := range ts {
			for ts[i].Sub(ts[j]) >= time.Second {
				j++
			}
			worst = max(worst, i-j+1)
		}
	}
	return worst
}

type lookupRequest struct {
	LookupAttributes []struct {
		AttributeKey   string `json:"AttributeKey"`
		AttributeValue string `json:"AttributeValue"`
	} `json:"LookupAttributes"`
	StartTime     *float64 `json:"StartTime"`
	EndTime       *float64 `json:"EndTime"`
	MaxResults    *int     `json:"MaxResults"`
	NextToken     *string  `json:"NextToken"`
	EventCategory string   `json:"EventCategory"`
}

type lookupEvent struct {
	EventID         string     `json:"EventId"`
	EventName       string     `json:"EventName"`
	ReadOnly        string     `json:"ReadOnly"`
	AccessKeyID     string     `json:"AccessKeyId,omitempty"`
	EventTime       float64    `json:"EventTime"`
	EventSource     string     `json:"EventSource"`
	Username        string     `json:"Username,omitempty"`
	Resources       []struct{} `json:"Resources"`
	CloudTrailEvent string     `json:"CloudTrailEvent"`
}

func (s *Server) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "stub-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// ServeHTTP answers one LookupEvents call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !targets[r.Header.Get("X-Amz-Target")] {
		s.reject()
		s.fail(w, http.StatusBadRequest, "UnknownOperationException", "unsupported operation "+r.Header.Get("X-Amz-Target"))
		return
	}
	region := regionOf(r.Header.Get("Authorization"))
	if region == "" {
		s.reject()
		s.fail(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "missing SigV4 credential scope")
		return
	}
	s.mu.Lock()
	s.calls++
	n := s.calls
	now := time.Now()
	s.times[region] = append(s.times[region], now)
	throttle := s.ThrottleEvery > 0 && n%s.ThrottleEvery == 0 || n <= s.ThrottleFirst
	if !throttle && s.RateLimit > 0 && !s.take(region, now) {
		throttle = true
		s.OverQuota++
	}
	if throttle {
		s.Throttled++
	}
	s.mu.Unlock()
	if throttle {
		s.fail(w, http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	var q lookupRequest
	if err := json.Unmarshal(body, &q); err != nil {
		s.reject()
		s.fail(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(q.LookupAttributes) != 1 {
		s.reject()
		s.fail(w, http.StatusBadRequest, "InvalidLookupAttributesException", "exactly one lookup attribute is supported per call")
		return
	}
	size := 50
	if q.MaxResults != nil {
		if *q.MaxResults < 1 || *q.MaxResults > 50 {
			s.reject()
			s.fail(w, http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be 1..50")
			return
		}
		size = *q.MaxResults
	}
	attr := q.LookupAttributes[0]
	queryKey := fmt.Sprintf("%s|%s|%s|%v|%v", region, attr.AttributeKey, attr.AttributeValue, ptrF(q.StartTime), ptrF(q.EndTime))
	offset := 0
	if q.NextToken != nil {
		raw, err := base64.StdEncoding.DecodeString(*q.NextToken)
		key, off, ok := strings.Cut(string(raw), "#")
		if err != nil || !ok || key != queryKey {
			s.reject()
			s.fail(w, http.StatusBadRequest, "InvalidNextTokenException", "the token does not belong to this query")
			return
		}
		offset, _ = strconv.Atoi(off)
	}
	var matched []record
	for _, rec := range s.records {
		if rec.region != region || !matches(rec, attr.AttributeKey, attr.AttributeValue) {
			continue
		}
		if q.StartTime != nil && rec.time.Before(epoch(*q.StartTime)) {
			continue
		}
		if q.EndTime != nil && rec.time.After(epoch(*q.EndTime)) {
			continue
		}
		matched = append(matched, rec)
	}
	end := min(offset+size, len(matched))
	out := struct {
		Events    []lookupEvent `json:"Events"`
		NextToken string        `json:"NextToken,omitempty"`
	}{Events: []lookupEvent{}}
	for _, rec := range matched[min(offset, len(matched)):end] {
		out.Events = append(out.Events, lookupEvent{EventID: rec.id, EventName: rec.name, ReadOnly: rec.readOnly,
			AccessKeyID: rec.accessKey, EventTime: float64(rec.time.Unix()), EventSource: rec.source, Username: rec.user,
			Resources: []struct{}{}, CloudTrailEvent: rec.raw})
	}
	if end < len(matched) {
		out.NextToken = base64.StdEncoding.EncodeToString([]byte(queryKey + "#" + strconv.Itoa(end)))
	}
	s.mu.Lock()
	s.Pages++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", "stub-"+strconv.Itoa(n))
	json.NewEncoder(w).Encode(out)
}

func (s *Server) reject() {
	s.mu.Lock()
	s.Rejected++
	s.mu.Unlock()
}

func matches(r record, key, value string) bool {
	switch key {
	case "EventSource":
		return r.source == value
	case "EventName":
		return r.name == value
	case "EventId":
		return r.id == value
	case "Username":
		return r.user == value
	case "AccessKeyId":
		return r.accessKey == value
	case "ReadOnly":
		return r.readOnly == value
	}
	return false
}

// regionOf reads the region from "AWS4-HMAC-SHA256 Credential=AKID/20260911/eu-west-1/cloudtrail/aws4_request, ...".
func regionOf(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}

func epoch(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func ptrF(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
