package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"

	"github.com/bytedance/sonic"
)

// CloudTrail input comes in several framings; readCloudTrail recognises each per file, from
// its content (and, for digests, its path), never from the file name's extension:
//
//   - S3 export log files: one JSON object {"Records":[record, ...]} (gzip), under
//     AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/.
//   - Digest files (CloudTrail-Digest/, or an object with digestPublicKeyFingerprint): skipped.
//   - Insights records (eventType AwsCloudTrailInsight, no userIdentity): skipped.
//   - `aws cloudtrail lookup-events` output: {"Events":[{"CloudTrailEvent":"<record as a JSON
//     string>", ...}]}.
//   - A JSON array of records.
//   - One record per line (CloudTrail Lake / EventBridge exports and vaultsentry's own --save
//     files); an EventBridge line wraps the record in "detail", a LookupEvents event per line
//     carries it in "CloudTrailEvent".
//   - One pretty-printed record.
//
// Statistics count records as "lines": Lines = Parsed + Malformed + Skipped for every file,
// where a digest file counts as one skipped line and a record delivered twice is skipped as
// "duplicate" in the file where it was seen again.

// ctRecord mirrors one CloudTrail record, keeping only what detectors need.
// Of responseElements only the sign-in results are decoded (ctResponse): the rest holds session
// tokens for STS calls, and nothing a detector needs. requestParameters is decoded in a second, lenient step (ctParams) so that
// an unexpected parameter type does not make the whole record malformed.
type ctRecord struct {
	EventVersion                 string          `json:"eventVersion"`
	EventTime                    string          `json:"eventTime"`
	EventSource                  string          `json:"eventSource"`
	EventName                    string          `json:"eventName"`
	EventType                    string          `json:"eventType"`
	AWSRegion                    string          `json:"awsRegion"`
	SourceIPAddress              string          `json:"sourceIPAddress"`
	UserAgent                    string          `json:"userAgent"`
	ErrorCode                    string          `json:"errorCode"`
	EventID                      string          `json:"eventID"`
	RecipientAccountID           string          `json:"recipientAccountId"`
	UserIdentity                 *ctIdentity     `json:"userIdentity"`
	RequestParameters            json.RawMessage `json:"requestParameters"`
	Resources                    []ctResource    `json:"resources"`
	AdditionalEventData          *ctAdditional   `json:"additionalEventData"`
	SessionCredentialFromConsole lenientTrue     `json:"sessionCredentialFromConsole"`
	ErrorMessage                 string          `json:"errorMessage"`
	ReadOnly                     lenientTrue     `json:"readOnly"`
	ResponseElements             ctResponse      `json:"responseElements"`
}

// ctResponse keeps the outcome that sign-in events carry in responseElements instead of an
// errorCode (ConsoleLogin, PasswordUpdated: "Success" or "Failure"). It is decoded leniently
// from the raw value, so nothing else of responseElements (STS credentials) is ever kept, and
// a value of another shape is not an error.
type ctResponse struct {
	failure bool
}

// UnmarshalJSON notes a "Failure" result; everything else is skipped.
func (r *ctResponse) UnmarshalJSON(p []byte) error {
	r.failure = false
	if len(p) == 0 || p[0] != '{' || !bytes.Contains(p, []byte("Failure")) {
		return nil
	}
	var v struct {
		ConsoleLogin    any `json:"ConsoleLogin"`
		PasswordUpdated any `json:"PasswordUpdated"`
	}
	if sonic.Unmarshal(p, &v) == nil {
		r.failure = v.ConsoleLogin == "Failure" || v.PasswordUpdated == "Failure"
	}
	return nil
}

type ctIdentity struct {
	Type             string            `json:"type"`
	PrincipalID      string            `json:"principalId"`
	ARN              string            `json:"arn"`
	AccountID        string            `json:"accountId"`
	AccessKeyID      string            `json:"accessKeyId"`
	UserName         string            `json:"userName"`
	InvokedBy        string            `json:"invokedBy"`
	IdentityProvider string            `json:"identityProvider"`
	SessionContext   *ctSessionContext `json:"sessionContext"`
	OnBehalfOf       *ctOnBehalfOf     `json:"onBehalfOf"`
}

type ctSessionContext struct {
	SessionIssuer *ctSessionIssuer `json:"sessionIssuer"`
}

type ctSessionIssuer struct {
	Type      string `json:"type"`
	ARN       string `json:"arn"`
	UserName  string `json:"userName"`
	AccountID string `json:"accountId"`
}

type ctOnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreARN string `json:"identityStoreArn"`
}

type ctResource struct {
	ARN  string `json:"ARN"`
	Type string `json:"type"`
}

type ctAdditional struct {
	SecretID string `json:"SecretId"`
}

// ctParams are the request parameters some detectors need. Secret values are never logged by
// CloudTrail for Secrets Manager (and would not be decoded here anyway).
type ctParams struct {
	SecretID          string     `json:"secretId"`
	SecretIDList      []string   `json:"secretIdList"`
	Filters           []ctFilter `json:"filters"`
	Name              string     `json:"name"`
	TrailName         string     `json:"trailName"`
	VersionStage      string     `json:"versionStage"`
	VersionStages     []string   `json:"versionStages"`
	ResourcePolicy    string     `json:"resourcePolicy"`
	BlockPublicPolicy *bool      `json:"blockPublicPolicy"`
	RoleARN           string     `json:"roleArn"`
	// PutEventSelectors.
	EventSelectors         []ctEventSelector `json:"eventSelectors"`
	AdvancedEventSelectors []ctAdvSelector   `json:"advancedEventSelectors"`
	// UpdateTrail: which settings changed (values are names of buckets, keys, topics).
	S3BucketName               *string `json:"s3BucketName"`
	S3KeyPrefix                *string `json:"s3KeyPrefix"`
	SNSTopicName               *string `json:"snsTopicName"`
	KMSKeyID                   *string `json:"kmsKeyId"`
	CloudWatchLogsLogGroupARN  *string `json:"cloudWatchLogsLogGroupArn"`
	IsMultiRegionTrail         *bool   `json:"isMultiRegionTrail"`
	IncludeGlobalServiceEvents *bool   `json:"includeGlobalServiceEvents"`
	EnableLogFileValidation    *bool   `json:"enableLogFileValidation"`
	IsOrganizationTrail        *bool   `json:"isOrganizationTrail"`
	// KMS calls that Secrets Manager makes on a caller's behalf name the secret here.
	EncryptionContext *struct {
		SecretARN string `json:"SecretARN"`
	} `json:"encryptionContext"`
	// Parameter Store (ssm.amazonaws.com): the parameters named, whether values come back
	// decrypted, the path of GetParametersByPath, DescribeParameters' second filter list, the
	// labels LabelParameterVersion moves. PutParameter's value is deliberately absent.
	Names             []string   `json:"names"`
	WithDecryption    bool       `json:"withDecryption"`
	Path              string     `json:"path"`
	Recursive         bool       `json:"recursive"`
	ParameterFilters  []ctFilter `json:"parameterFilters"`
	Labels            []string   `json:"labels"`
	AddReplicaRegions []struct {
		Region string `json:"region"`
	} `json:"addReplicaRegions"`
}

type ctFilter struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

type ctEventSelector struct {
	ReadWriteType                 string   `json:"readWriteType"`
	IncludeManagementEvents       *bool    `json:"includeManagementEvents"`
	ExcludeManagementEventSources []string `json:"excludeManagementEventSources"`
	DataResources                 []struct {
		Type   string   `json:"type"`
		Values []string `json:"values"`
	} `json:"dataResources"`
}

type ctAdvSelector struct {
	FieldSelectors []struct {
		Field     string   `json:"field"`
		Equals    []string `json:"equals"`
		NotEquals []string `json:"notEquals"`
	} `json:"fieldSelectors"`
}

// ctEnvelope recognises every framing of a JSON document in one decode.
type ctEnvelope struct {
	Records []json.RawMessage `json:"Records"`
	Events  []struct {
		CloudTrailEvent string `json:"CloudTrailEvent"`
	} `json:"Events"`
	CloudTrailEvent string          `json:"CloudTrailEvent"`
	Detail          json.RawMessage `json:"detail"`
	DigestKey       string          `json:"digestPublicKeyFingerprint"`
	DigestEnd       *string         `json:"digestEndTime"`
	EventTime       json.RawMessage `json:"eventTime"`
	EventType       string          `json:"eventType"`
	EventName       string          `json:"eventName"`
}

// lenientTrue is true for the JSON literal true and the string "true".
type lenientTrue bool

func (b *lenientTrue) UnmarshalJSON(p []byte) error {
	*b = lenientTrue(bytes.Equal(p, []byte("true")) || bytes.Equal(p, []byte(`"true"`)))
	return nil
}

// ctFastPath enables ctFast; the tests turn it off to compare with the sonic path.
var ctFastPath = true

// ctReader turns the records of one input into events.
type ctReader struct {
	file string
	st   *sources.FileStats
	in   *sources.LocalInterner
	out  []event.Event
	recs uint32 // records used so far: each event's Record
	fast ctFast
	keep arena // the events' IDs (eventID)
}

// newCTReader reads into st, interning through in (nil: an interner of its own).
func newCTReader(file string, st *sources.FileStats, in *sources.LocalInterner) *ctReader {
	if in == nil {
		in = sources.NewInterner().Local()
	}
	return &ctReader{file: file, st: st, in: in}
}

// isDigestPath reports whether a path names a CloudTrail digest file.
func isDigestPath(p string) bool {
	p = filepath.ToSlash(p)
	return strings.Contains(p, "/CloudTrail-Digest/") || strings.Contains(filepath.Base(p), "_CloudTrail-Digest_")
}

// readCloudTrail reads one CloudTrail input in whichever framing it has.
func readCloudTrail(name string, r *bufio.Reader, maxLine int, st *sources.FileStats, li *sources.LocalInterner) ([]event.Event, error) {
	cr := newCTReader(name, st, li)
	if isDigestPath(name) {
		// Digests list log files and their hashes; they hold no event. Count without reading.
		st.Lines++
		st.Skip("digest-file")
		return nil, nil
	}
	first, err := firstByte(r)
	if err != nil && err != io.EOF {
		st.ReadError = fmt.Sprintf("read %s: %v", name, err)
		return nil, nil
	}
	switch first {
	case 0: // empty file
		return nil, nil
	case '{':
	case '[':
		data, err := io.ReadAll(r)
		st.Bytes = int64(len(data))
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: %v (the file is incomplete)", name, err)
		}
		cr.document(data, 1)
		return cr.out, nil
	default:
		// Not JSON at all (a README, an S3 inventory CSV, a stray object in the export tree).
		st.Lines++
		st.Skip("not-json")
		return nil, nil
	}
	// Objects: one per line (NDJSON, and the one-line S3 log files), or one object spread over
	// many lines. The first non-blank line decides: if it is a complete JSON value, every line
	// is one; otherwise the whole file is one document.
	var (
		mode    int // 0 undecided, 1 lines, 2 whole document
		whole   bytes.Buffer
		wholeAt int
	)
	n, rerr := sources.ForEachLine(r, maxLine, func(line []byte, ln int, tooLong bool) {
		if mode == 2 {
			if tooLong {
				mode = 3 // broken document
				return
			}
			whole.Write(line)
			whole.WriteByte('\n')
			return
		}
		if mode == 3 {
			return
		}
		if tooLong {
			st.Lines++
			st.Skip("too-long")
			if len(st.Problems) < sources.MaxProblemsListed {
				st.Problems = append(st.Problems, sources.Problem{Line: ln, Reason: fmt.Sprintf("line longer than %d bytes, skipped", maxLine)})
			}
			return
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			if mode == 1 {
				st.Lines++
				st.Skip("blank")
			}
			return
		}
		if mode == 0 {
			// A delivered log file is one line: decoded here in one pass when it can be (a
			// document fastDocument accepts is valid JSON, so this is the line mode).
			if ctFastPath && trimmed[0] == '{' && cr.fastDocument(trimmed, ln) {
				mode = 1
				return
			}
			if sonic.Valid(trimmed) {
				mode = 1
			} else {
				mode, wholeAt = 2, ln
				whole.Write(line)
				whole.WriteByte('\n')
				return
			}
		}
		cr.document(trimmed, ln)
	})
	st.Bytes = n
	if rerr != nil {
		st.ReadError = fmt.Sprintf("read %s: %v (everything before it is kept)", name, rerr)
	}
	switch mode {
	case 2:
		cr.document(whole.Bytes(), wholeAt)
	case 3:
		st.Lines++
		st.Bad(wholeAt, fmt.Sprintf("a line of this JSON document is longer than %d bytes", maxLine))
	}
	return cr.out, nil
}

// firstByte peeks at the first byte that is not white space or a UTF-8 byte order mark.
func firstByte(r interface{ Peek(int) ([]byte, error) }) (byte, error) {
	for size := 64; size <= 1<<20; size *= 4 {
		b, err := r.Peek(size)
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 {
			return t[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// document handles one JSON document: a log file, lookup-events output, an array, a digest, an
// EventBridge event, or a record. at is the line the document starts on.
func (cr *ctReader) document(data []byte, at int) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	if ctFastPath && len(data) > 0 && data[0] == '{' && cr.fastDocument(data, at) {
		return
	}
	if len(data) > 0 && data[0] == '[' {
		var arr []json.RawMessage
		if err := sonic.Unmarshal(data, &arr); err != nil {
			cr.st.Lines++
			cr.st.Bad(at, "invalid JSON array: "+sources.ShortJSONError(err))
			return
		}
		for i, raw := range arr {
			cr.st.Lines++
			cr.record(raw, recordPos(at, i, len(arr)))
		}
		return
	}
	var env ctEnvelope
	if err := sonic.Unmarshal(data, &env); err != nil {
		cr.st.Lines++
		cr.st.Bad(at, "invalid JSON: "+sources.ShortJSONError(err))
		return
	}
	switch {
	case env.Records != nil:
		for i, raw := range env.Records {
			cr.st.Lines++
			cr.record(raw, recordPos(at, i, len(env.Records)))
		}
	case env.Events != nil:
		for i, e := range env.Events {
			cr.st.Lines++
			if e.CloudTrailEvent == "" {
				cr.st.Bad(recordPos(at, i, len(env.Events)), "lookup-events entry without CloudTrailEvent")
				continue
			}
			cr.record([]byte(e.CloudTrailEvent), recordPos(at, i, len(env.Events)))
		}
	case env.DigestKey != "" || env.DigestEnd != nil:
		cr.st.Lines++
		cr.st.Skip("digest-file")
	case env.CloudTrailEvent != "":
		cr.st.Lines++
		cr.record([]byte(env.CloudTrailEvent), at)
	case len(env.Detail) > 0 && env.Detail[0] == '{' && len(env.EventTime) == 0:
		cr.st.Lines++
		cr.record(env.Detail, at)
	case len(env.EventTime) > 0 || env.EventName != "" || env.EventType != "":
		cr.st.Lines++
		cr.record(data, at)
	default:
		// Valid JSON, but none of CloudTrail's shapes: another tool's file in the tree.
		cr.st.Lines++
		cr.st.Skip("not-cloudtrail")
	}
}

// recordPos is the position reported for the i-th of n records of a document that starts on
// line at: the record's number in the document when it holds several (a delivered log file is
// one line), else the document's line.
func recordPos(at, i, n int) int {
	if n <= 1 {
		return at
	}
	return i + 1
}

// record decodes one record and appends its events.
func (cr *ctReader) record(raw []byte, pos int) {
	if ctFastPath && cr.fast.decodeRecord(raw, false) {
		cr.use(&cr.fast.rec, &cr.fast, pos)
		return
	}
	cr.sonicRecord(raw, pos)
}

// sonicRecord is record without the fast path.
func (cr *ctReader) sonicRecord(raw []byte, pos int) {
	var r ctRecord
	if err := sonic.Unmarshal(raw, &r); err != nil {
		cr.st.Bad(pos, "invalid CloudTrail record: "+sources.ShortJSONError(err))
		return
	}
	cr.use(&r, nil, pos)
}

// use appends the events of a decoded record. fast, when the record came from the fast path,
// may hold its decoded parameters.
func (cr *ctReader) use(r *ctRecord, fast *ctFast, pos int) {
	if r.EventType == "AwsCloudTrailInsight" {
		cr.st.Skip("insight")
		return
	}
	if r.EventName == "" {
		cr.st.Bad(pos, "not a CloudTrail record: no eventName")
		return
	}
	t, err := parseCTTime(r.EventTime)
	if err != nil {
		cr.st.Bad(pos, "invalid eventTime: "+err.Error())
		return
	}
	cr.st.Parsed++
	cr.st.Seen(t)
	var params *ctParams
	if fast != nil && fast.paramsOK {
		params = &fast.params
	}
	n := len(cr.out)
	cr.out = appendRecordEvents(cr.out, r, t, event.Pos{File: cr.file, Line: pos}, cr.in, params)
	cr.recs++
	id := cr.keep.keep(r.EventID)
	for i := range cr.out[n:] {
		cr.out[n+i].ID, cr.out[n+i].Record = id, cr.recs
	}
	cr.st.Events += len(cr.out) - n
}

// fastDocument reads a delivered log file, {"Records":[...]}, or a document that is one record,
// in one pass with ctFast. It returns false, with nothing counted, for anything else and for
// anything the sonic path (document) would read differently: a document that turns out to be
// invalid part-way is undone.
func (cr *ctReader) fastDocument(data []byte, at int) bool {
	f := &cr.fast
	if !firstKeyIsRecords(data) {
		if !f.decodeRecord(data, true) {
			return false
		}
		if !f.envelope {
			if !f.hasTime && f.rec.EventName == "" && f.rec.EventType == "" {
				return false // not CloudTrail
			}
			cr.st.Lines++
			cr.use(&f.rec, f, at)
			return true
		}
	}
	snap := cr.snapshot()
	if cr.fastRecords(data, at) {
		return true
	}
	cr.restore(snap)
	return false
}

// fastRecords reads {"Records":[...]}; on false the caller undoes what was counted.
func (cr *ctReader) fastRecords(data []byte, at int) bool {
	f := &cr.fast
	s := &f.s
	*s = jscan.Scanner{B: data}
	empty, _, ok := s.ObjectStart()
	if !ok || empty {
		return false
	}
	outStart, probStart := len(cr.out), len(cr.st.Problems)
	n := -1 // records; -1 until "Records" is seen
	for {
		k, plain, ok := s.Key()
		if !ok || !plain {
			return false
		}
		switch {
		case ctField(k, ctEnvelopeOnly[:1]) == 0:
			if n >= 0 || s.I >= len(s.B) || s.B[s.I] != '[' {
				return false // twice, or not an array (null): for the sonic path
			}
			s.I++
			s.WS()
			n = 0
			// Room for the events at once (a record is 1 to 2 KB; a batch read makes several).
			cr.out = slices.Grow(cr.out, len(data)/1024+8)
			if s.I < len(s.B) && s.B[s.I] == ']' {
				s.I++
				break
			}
			for {
				cr.st.Lines++
				start := s.I
				if start < len(s.B) && s.B[start] == '{' && f.record(false) {
					cr.use(&f.rec, f, n+1)
				} else {
					s.I = start
					if !s.Skip(1) {
						return false
					}
					saved := *s
					cr.sonicRecord(data[start:s.I], n+1)
					*s = saved
				}
				n++
				done, ok := s.Next(']')
				if !ok {
					return false
				}
				if done {
					break
				}
			}
		case ctField(k, ctEnvelopeOnly) >= 0 || ctField(k, ctEnvelopeRecord) >= 0:
			return false // another framing: for the sonic path
		default:
			if !s.Skip(1) {
				return false
			}
		}
		done, ok := s.Next('}')
		if !ok {
			return false
		}
		if done {
			break
		}
	}
	s.WS()
	if s.I != len(s.B) || n < 0 {
		return false
	}
	if n == 1 && at != 1 { // a document with one record reports the document's line
		for i := outStart; i < len(cr.out); i++ {
			cr.out[i].Pos.Line = at
		}
		for i := probStart; i < len(cr.st.Problems); i++ {
			cr.st.Problems[i].Line = at
		}
	}
	return true
}

// firstKeyIsRecords reports whether data is an object whose first key is "Records".
func firstKeyIsRecords(data []byte) bool {
	s := jscan.Scanner{B: data}
	empty, _, ok := s.ObjectStart()
	if !ok || empty {
		return false
	}
	k, plain, ok := s.Key()
	return ok && plain && ctField(k, ctEnvelopeOnly[:1]) == 0
}

// ctEnvelopeRecord are the keys of ctEnvelope that records have.
var ctEnvelopeRecord = []string{"eventTime", "eventType", "eventName"}

// ctSnap is what fastRecords may have changed.
type ctSnap struct {
	st      sources.FileStats
	skipped map[string]int
	out     int
	recs    uint32
}

func (cr *ctReader) snapshot() ctSnap {
	return ctSnap{st: *cr.st, skipped: maps.Clone(cr.st.Skipped), out: len(cr.out), recs: cr.recs}
}

func (cr *ctReader) restore(s ctSnap) {
	*cr.st = s.st
	cr.st.Skipped = s.skipped
	clear(cr.out[s.out:])
	cr.out = cr.out[:s.out]
	cr.recs = s.recs
}

// parseCTTime reads CloudTrail's eventTime (RFC 3339, whole seconds, UTC) and the forms that
// exporters rewrite it into ("2024-10-17 21:48:45.000000000", no zone: UTC).
func parseCTTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	if t, ok := parseCTTimeFast(s); ok {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not an RFC 3339 time (%d bytes)", len(s))
}

// parseCTTimeFast reads CloudTrail's own form, "2006-01-02T15:04:05Z", as time.Parse would;
// false for anything else (time.Parse then decides).
func parseCTTimeFast(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	if d > 28 && time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Day() != d {
		return time.Time{}, false // no such day in that month
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), true
}
