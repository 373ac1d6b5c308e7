// Package s3fake is an in-process stand-in for Amazon S3 on 127.0.0.1, for tests and
// benchmarks: path-style ListObjectsV2, GetObject and HeadObject, written from the Amazon S3 API
// Reference (ListObjectsV2: prefix, delimiter and CommonPrefixes, max-keys capped at 1000,
// continuation-token / NextContinuationToken, start-after, encoding-type=url, KeyCount;
// GetObject/HeadObject: Content-Length, ETag, Last-Modified, x-amz-server-side-encryption,
// x-amz-meta-* user metadata; errors as the documented XML <Error> with NoSuchBucket,
// NoSuchKey, AccessDenied for a request without a SigV4 Authorization header). It can add
// latency per request, count requests, and cut an object's body after some bytes (the
// connection is closed mid-stream, as a network failure would).
package s3fake

import (
	"crypto/md5"
	"crypto/rsa"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Object is one stored object.
type Object struct {
	Body []byte
	// Meta is the user metadata, without the x-amz-meta- prefix (CloudTrail digests carry
	// "signature" and "signature-algorithm").
	Meta map[string]string
	// SSE is the x-amz-server-side-encryption value ("aws:kms" for SSE-KMS); "" for SSE-S3.
	SSE string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	buckets map[string]map[string]*Object
	// Latency is added to every request before it is answered (first-byte latency).
	Latency time.Duration
	// CutAfter maps "bucket/key" to a byte count: the object's body is cut there and the
	// connection closed.
	CutAfter map[string]int
	// Deny lists the buckets whose every request is refused with AccessDenied (a caller
	// without s3:ListBucket / s3:GetObject).
	Deny map[string]bool
	// Regions gives buckets a region: a request signed for another region is answered 301
	// PermanentRedirect with the bucket's region in x-amz-bucket-region, as S3 does (S3 API
	// Reference, "Error responses"; HeadBucket's x-amz-bucket-region). Unset: any region.
	Regions map[string]string
	// Redirects counts those answers.
	Redirects atomic.Int64

	Lists, Gets, Heads, KeyLists atomic.Int64
	pubKeys                      []*rsa.PublicKey
	// Got records the keys fetched with GetObject, in order.
	gotMu sync.Mutex
	Got   []string
}

// New starts a server; Close it when done.
func New() *Server {
	s := &Server{buckets: map[string]map[string]*Object{}, CutAfter: map[string]int{}, Deny: map[string]bool{}, Regions: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// With runs f under the fake's lock: a test sets Latency, CutAfter, Deny or Regions there, since
// the handler goroutines serving the client read them.
func (s *Server) With(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// Put stores an object (creating the bucket).
func (s *Server) Put(bucket, key string, o *Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[bucket] == nil {
		s.buckets[bucket] = map[string]*Object{}
	}
	s.buckets[bucket][key] = o
}

// Fetched returns the keys GetObject was asked for.
func (s *Server) Fetched() []string {
	s.gotMu.Lock()
	defer s.gotMu.Unlock()
	return slices.Clone(s.Got)
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string
	Message   string
	Resource  string
	RequestID string `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, status int, code, msg, res string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(xmlError{Code: code, Message: msg, Resource: res, RequestID: "fake"})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	latency := s.Latency
	s.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied", r.URL.Path)
		return
	}
	if isListPublicKeys(r) {
		s.listPublicKeys(w, r)
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	objs, ok := s.buckets[bucket]
	deny := s.Deny[bucket]
	region := s.Regions[bucket]
	s.mu.Unlock()
	if deny {
		writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied", "/"+bucket)
		return
	}
	if region != "" && signingRegion(r) != region {
		s.Redirects.Add(1)
		w.Header().Set("x-amz-bucket-region", region)
		writeError(w, http.StatusMovedPermanently, "PermanentRedirect",
			"The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.", "/"+bucket)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", "/"+bucket)
		return
	}
	switch {
	case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
		s.Lists.Add(1)
		s.list(w, r, bucket, objs)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && key != "":
		s.get(w, r, bucket, key, objs)
	default:
		writeError(w, http.StatusNotImplemented, "NotImplemented", "A header or query you provided implies functionality that is not implemented", r.URL.Path)
	}
}

type listResult struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string
	Prefix                string
	Delimiter             string `xml:",omitempty"`
	MaxKeys               int
	KeyCount              int
	IsTruncated           bool
	EncodingType          string `xml:",omitempty"`
	ContinuationToken     string `xml:",omitempty"`
	NextContinuationToken string `xml:",omitempty"`
	StartAfter            string `xml:",omitempty"`
	Contents              []listObject
	CommonPrefixes        []commonPrefix
}

type listObject struct {
	Key          string
	LastModified string
	ETag         string
	Size         int
	StorageClass string
}

type commonPrefix struct{ Prefix string }

var modified = time.Date(2026, 9, 13, 0, 0, 0, 0, time.UTC)

func (s *Server) list(w http.ResponseWriter, r *http.Request, bucket string, objs map[string]*Object) {
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range", "")
			return
		}
		maxKeys = min(n, 1000)
	}
	after := q.Get("start-after")
	if tok := q.Get("continuation-token"); tok != "" {
		b, err := hex.DecodeString(tok)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect", "")
			return
		}
		after = string(b)
	}
	s.mu.Lock()
	keys := make([]string, 0, len(objs))
	for k := range objs {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	sizes := map[string]int{}
	for _, k := range keys {
		sizes[k] = len(objs[k].Body)
	}
	s.mu.Unlock()
	slices.Sort(keys)
	res := listResult{Name: bucket, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys,
		ContinuationToken: q.Get("continuation-token"), StartAfter: q.Get("start-after")}
	enc := func(v string) string { return v }
	if q.Get("encoding-type") == "url" {
		res.EncodingType = "url"
		enc = func(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "%2F", "/") }
	}
	last := ""
	for _, k := range keys {
		cp := ""
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp = k[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && strings.HasPrefix(last, cp) {
			continue // rolled up in the common prefix already listed
		}
		if res.KeyCount == maxKeys {
			res.IsTruncated = true
			res.NextContinuationToken = hex.EncodeToString([]byte(last))
			break
		}
		res.KeyCount++
		if cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(cp)})
			// Everything under it is rolled up: a next page starts after all its keys
			// (0xff is in no UTF-8 key).
			last = cp + "\xff"
			continue
		}
		sum := md5.Sum([]byte(k))
		res.Contents = append(res.Contents, listObject{Key: enc(k), LastModified: modified.Format(time.RFC3339),
			ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Size: sizes[k], StorageClass: "STANDARD"})
		last = k
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(res)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, bucket, key string, objs map[string]*Object) {
	s.mu.Lock()
	o, ok := objs[key]
	cut, cutOK := s.CutAfter[bucket+"/"+key]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", "/"+bucket+"/"+key)
		return
	}
	if r.Method == http.MethodHead {
		s.Heads.Add(1)
	} else {
		s.Gets.Add(1)
		s.gotMu.Lock()
		s.Got = append(s.Got, key)
		s.gotMu.Unlock()
	}
	h := w.Header()
	sum := md5.Sum(o.Body)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	h.Set("Last-Modified", modified.Format(http.TimeFormat))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(o.Body)))
	if o.SSE != "" {
		h.Set("x-amz-server-side-encryption", o.SSE)
		if o.SSE == "aws:kms" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:eu-west-1:111122223333:key/fake")
		}
	} else {
		h.Set("x-amz-server-side-encryption", "AES256")
	}
	for k, v := range o.Meta {
		h.Set("x-amz-meta-"+k, v)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if cutOK && cut < len(o.Body) {
		w.Write(o.Body[:cut])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	w.Write(o.Body)
}

// String describes the server (for test logs).
func (s *Server) String() string { return fmt.Sprintf("s3fake at %s", s.URL) }

// Get returns a stored object (nil when absent).
func (s *Server) Get(bucket, key string) *Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buckets[bucket][key]
}

// signingRegion is the region of a SigV4 Authorization header's credential scope
// (Credential=AKID/DATE/REGION/s3/aws4_request).
func signingRegion(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[2]
}
