package sources

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

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
// responseElements is deliberately absent: it holds session tokens for STS calls, and nothing
// a detector needs. requestParameters is decoded in a second, lenient step (ctParams) so that
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

// ctReader turns the records of one input into events.
type ctReader struct {
	file string
	st   *FileStats
	in   *interner
	out  []Event
	ids  []recKey // the record of each event in out (a batch record's events share it)
	recs int32
}

func newCTReader(file string, st *FileStats) *ctReader {
	return &ctReader{file: file, st: st, in: newInterner()}
}

// isDigestPath reports whether a path names a CloudTrail digest file.
func isDigestPath(p string) bool {
	p = filepath.ToSlash(p)
	return strings.Contains(p, "/CloudTrail-Digest/") || strings.Contains(filepath.Base(p), "_CloudTrail-Digest_")
}

// readCloudTrail reads one CloudTrail input in whichever framing it has.
func readCloudTrail(in Input, f *openedInput, opts LoadOptions, st *FileStats) ([]Event, []recKey, error) {
	cr := newCTReader(in.Name, st)
	if isDigestPath(in.Name) {
		// Digests list log files and their hashes; they hold no event. Count without reading.
		st.Lines++
		st.Skip("digest-file")
		return nil, nil, nil
	}
	first, err := firstByte(f.r)
	if err != nil && err != io.EOF {
		st.ReadError = fmt.Sprintf("read %s: %v", in.Name, err)
		return nil, nil, nil
	}
	switch first {
	case 0: // empty file
		return nil, nil, nil
	case '{':
	case '[':
		data, err := io.ReadAll(f.r)
		st.Bytes = int64(len(data))
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: %v (the file is incomplete)", in.Name, err)
		}
		cr.document(data, 1)
		return cr.out, cr.ids, nil
	default:
		// Not JSON at all (a README, an S3 inventory CSV, a stray object in the export tree).
		st.Lines++
		st.Skip("not-json")
		return nil, nil, nil
	}
	// Objects: one per line (NDJSON, and the one-line S3 log files), or one object spread over
	// many lines. The first non-blank line decides: if it is a complete JSON value, every line
	// is one; otherwise the whole file is one document.
	var (
		mode    int // 0 undecided, 1 lines, 2 whole document
		whole   bytes.Buffer
		wholeAt int
	)
	n, rerr := forEachLine(f.r, opts.MaxLineBytes, func(line []byte, ln int, tooLong bool) {
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
			if len(st.Problems) < MaxProblemsListed {
				st.Problems = append(st.Problems, Problem{Line: ln, Reason: fmt.Sprintf("line longer than %d bytes, skipped", opts.MaxLineBytes)})
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
		st.ReadError = fmt.Sprintf("read %s: %v (everything before it is kept)", in.Name, rerr)
	}
	switch mode {
	case 2:
		cr.document(whole.Bytes(), wholeAt)
	case 3:
		st.Lines++
		st.Bad(wholeAt, fmt.Sprintf("a line of this JSON document is longer than %d bytes", opts.MaxLineBytes))
	}
	return cr.out, cr.ids, nil
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
	if len(data) > 0 && data[0] == '[' {
		var arr []json.RawMessage
		if err := sonic.Unmarshal(data, &arr); err != nil {
			cr.st.Lines++
			cr.st.Bad(at, "invalid JSON array: "+shortJSONError(err))
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
		cr.st.Bad(at, "invalid JSON: "+shortJSONError(err))
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
	var r ctRecord
	if err := sonic.Unmarshal(raw, &r); err != nil {
		cr.st.Bad(pos, "invalid CloudTrail record: "+shortJSONError(err))
		return
	}
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
	cr.st.seen(t)
	evs := normalizeRecord(&r, t, Pos{File: cr.file, Line: pos}, cr.in)
	cr.recs++
	for range evs {
		cr.ids = append(cr.ids, recKey{ID: r.EventID, Rec: cr.recs})
	}
	cr.out = append(cr.out, evs...)
	cr.st.Events += len(evs)
}

// parseCTTime reads CloudTrail's eventTime (RFC 3339, whole seconds, UTC) and the forms that
// exporters rewrite it into ("2024-10-17 21:48:45.000000000", no zone: UTC).
func parseCTTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
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
