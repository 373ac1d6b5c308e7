package cloudtrail

import (
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"
)

// ctFast decodes CloudTrail records without allocating: the fields of ctRecord (and of the
// ctParams in its requestParameters) are read straight from the buffer with the scanner of the
// Vault fast path (jscan), everything else is skipped. The strings it fills point into the
// buffer, so they live only as long as it does: normalizeRecord interns what an event keeps.
//
// Like decodeVaultFast it is a fast path in front of sonic, not a second definition of valid
// input: it accepts a record only when sonic would accept it and decode the same values
// (differential test and fuzz target in cloudtrail_fast_test.go), and returns false for
// anything unusual, which the caller then gives to sonic: a syntax error, a value of the wrong
// type for a needed field, an escape it does not decode in a needed string, a needed string
// that is not valid UTF-8 (sonic replaces the bad bytes), a key with an escape or a non-ASCII
// byte, a needed key given twice, nesting deeper than jscan.MaxDepth.
//
// Parameters follow the same rule one level down: when requestParameters holds a field this
// decoder does not read (a resource policy, event selectors, ...), or one of the wrong type, the
// record is still decoded here and only the parameters are left to sonic (paramsRaw).
type ctFast struct {
	s   jscan.Scanner
	rec ctRecord

	// Storage the pointers of rec point to; reused for every record.
	id  ctIdentity
	sc  ctSessionContext
	si  ctSessionIssuer
	ob  ctOnBehalfOf
	ad  ctAdditional
	res []ctResource

	// params holds the decoded requestParameters when paramsOK; otherwise, when the raw
	// parameters are an object, sonic decodes rec.RequestParameters.
	params   ctParams
	paramsOK bool
	filters  []ctFilter
	strs     []string // backing store of the string lists in params
	enc      struct {
		SecretARN string `json:"SecretARN"`
	}

	// envelope is set when the record was the top-level document and had a key of ctEnvelope
	// that is not a record field (Records, Events, detail, ...): the document is not a record.
	envelope bool
	// hasTime: the record has an eventTime key (whatever its value; ctEnvelope's test).
	hasTime bool
}

// Field names, in the order of the switch statements below.
var (
	ctRecordNames = []string{"eventVersion", "eventTime", "eventSource", "eventName", "eventType", "awsRegion", "sourceIPAddress",
		"userAgent", "errorCode", "eventID", "recipientAccountId", "userIdentity", "requestParameters", "resources",
		"additionalEventData", "sessionCredentialFromConsole", "errorMessage", "responseElements", "readOnly"}
	// ctEnvelopeOnly are the keys of ctEnvelope that no record has.
	ctEnvelopeOnly   = []string{"Records", "Events", "CloudTrailEvent", "detail", "digestPublicKeyFingerprint", "digestEndTime"}
	ctIdentityNames  = []string{"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "invokedBy", "identityProvider", "sessionContext", "onBehalfOf"}
	ctSessionNames   = []string{"sessionIssuer"}
	ctIssuerNames    = []string{"type", "arn", "userName", "accountId"}
	ctOnBehalfNames  = []string{"userId", "identityStoreArn"}
	ctResourceNames  = []string{"ARN", "type"}
	ctAdditionalName = []string{"SecretId"}
	ctEncCtxNames    = []string{"SecretARN"}
	ctFilterNames    = []string{"key", "values"}
	// ctParamsFast are the parameters decoded here; ctParamsOther the other fields of ctParams,
	// whose presence leaves the parameters to sonic.
	ctParamsFast = []string{"secretId", "secretIdList", "filters", "name", "trailName", "versionStage", "versionStages", "roleArn", "encryptionContext",
		"names", "withDecryption", "path", "recursive", "parameterFilters", "labels"}
	ctParamsOther = []string{"resourcePolicy", "blockPublicPolicy", "eventSelectors", "advancedEventSelectors", "s3BucketName", "s3KeyPrefix",
		"snsTopicName", "kmsKeyId", "cloudWatchLogsLogGroupArn", "isMultiRegionTrail", "includeGlobalServiceEvents",
		"enableLogFileValidation", "isOrganizationTrail", "addReplicaRegions"}
)

// ctField finds k among names as encoding/json and sonic do: an exact match first, then one
// ignoring ASCII case (keys with other bytes never get here). -1 when k is none of them.
func ctField(k []byte, names []string) int {
	for i, n := range names {
		if len(n) == len(k) && string(k) == n {
			return i
		}
	}
	for i, n := range names {
		if len(n) == len(k) && asciiEqualFold(k, n) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(k []byte, n string) bool {
	for i := 0; i < len(k); i++ {
		a, b := k[i], n[i]
		if a == b {
			continue
		}
		if a|0x20 != b|0x20 || a|0x20 < 'a' || a|0x20 > 'z' {
			return false
		}
	}
	return true
}

// members walks the members of an object whose '{' has been read and which is not empty,
// calling fn with the index of each key found in names; other keys are skipped, or given to
// other (when not nil) first. A needed key given twice fails.
func (f *ctFast) members(depth int, names []string, fn func(i int) bool, other func(k []byte) bool) bool {
	s := &f.s
	if depth > jscan.MaxDepth {
		return false
	}
	var seen uint64
	for {
		k, plain, ok := s.Key()
		if !ok || !plain {
			return false
		}
		i := ctField(k, names)
		switch {
		case i >= 0:
			if seen&(1<<i) != 0 {
				return false
			}
			seen |= 1 << i
			if !fn(i) {
				return false
			}
		case other != nil:
			if !other(k) {
				return false
			}
		default:
			if !s.Skip(depth) {
				return false
			}
		}
		if done, ok := s.Next('}'); !ok || done {
			return ok
		}
	}
}

// str reads a needed string field (a string or null), as sonic would decode it.
func (f *ctFast) str(dst *string) bool {
	if !f.s.StrValue(dst) {
		return false
	}
	return isASCII(*dst) || utf8.ValidString(*dst)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// object starts an object field: ok with empty or null when there is nothing to read.
func (f *ctFast) object() (empty, null, ok bool) { return f.s.ObjectStart() }

// record decodes the record at f.s.I (an object) into f.rec. top says the record is the whole
// document, whose envelope keys are then noted in f.envelope.
func (f *ctFast) record(top bool) bool {
	f.rec = ctRecord{}
	f.params = ctParams{}
	f.paramsOK = true
	f.envelope, f.hasTime = false, false
	f.res = f.res[:0]
	f.filters = f.filters[:0]
	f.strs = f.strs[:0]
	empty, null, ok := f.object()
	if !ok || null {
		return false
	}
	if empty {
		return true
	}
	r := &f.rec
	var other func(k []byte) bool
	if top {
		other = func(k []byte) bool {
			if ctField(k, ctEnvelopeOnly) >= 0 {
				f.envelope = true
			}
			return f.s.Skip(1)
		}
	}
	return f.members(1, ctRecordNames, func(i int) bool {
		switch i {
		case 0:
			return f.str(&r.EventVersion)
		case 1:
			f.hasTime = true
			return f.str(&r.EventTime)
		case 2:
			return f.str(&r.EventSource)
		case 3:
			return f.str(&r.EventName)
		case 4:
			return f.str(&r.EventType)
		case 5:
			return f.str(&r.AWSRegion)
		case 6:
			return f.str(&r.SourceIPAddress)
		case 7:
			return f.str(&r.UserAgent)
		case 8:
			return f.str(&r.ErrorCode)
		case 9:
			return f.str(&r.EventID)
		case 10:
			return f.str(&r.RecipientAccountID)
		case 11:
			return f.identity()
		case 12:
			return f.requestParameters()
		case 13:
			return f.resources()
		case 14:
			return f.additional()
		case 15:
			raw, ok := f.s.RawValue(1)
			r.SessionCredentialFromConsole = lenientTrue(string(raw) == "true" || string(raw) == `"true"`)
			return ok
		case 16:
			return f.str(&r.ErrorMessage)
		case 18:
			raw, ok := f.s.RawValue(1)
			r.ReadOnly = lenientTrue(string(raw) == "true" || string(raw) == `"true"`)
			return ok
		default:
			raw, ok := f.s.RawValue(1)
			if ok {
				_ = r.ResponseElements.UnmarshalJSON(raw)
			}
			return ok
		}
	}, other)
}

func (f *ctFast) identity() bool {
	empty, null, ok := f.object()
	if !ok || null {
		return ok
	}
	f.id = ctIdentity{}
	f.rec.UserIdentity = &f.id
	if empty {
		return true
	}
	id := &f.id
	return f.members(2, ctIdentityNames, func(i int) bool {
		switch i {
		case 0:
			return f.str(&id.Type)
		case 1:
			return f.str(&id.PrincipalID)
		case 2:
			return f.str(&id.ARN)
		case 3:
			return f.str(&id.AccountID)
		case 4:
			return f.str(&id.AccessKeyID)
		case 5:
			return f.str(&id.UserName)
		case 6:
			return f.str(&id.InvokedBy)
		case 7:
			return f.str(&id.IdentityProvider)
		case 8:
			return f.sessionContext()
		default:
			empty, null, ok := f.object()
			if !ok || null {
				return ok
			}
			f.ob = ctOnBehalfOf{}
			id.OnBehalfOf = &f.ob
			if empty {
				return true
			}
			return f.members(3, ctOnBehalfNames, func(i int) bool {
				if i == 0 {
					return f.str(&f.ob.UserID)
				}
				return f.str(&f.ob.IdentityStoreARN)
			}, nil)
		}
	}, nil)
}

func (f *ctFast) sessionContext() bool {
	empty, null, ok := f.object()
	if !ok || null {
		return ok
	}
	f.sc = ctSessionContext{}
	f.id.SessionContext = &f.sc
	if empty {
		return true
	}
	return f.members(3, ctSessionNames, func(int) bool {
		empty, null, ok := f.object()
		if !ok || null {
			return ok
		}
		f.si = ctSessionIssuer{}
		f.sc.SessionIssuer = &f.si
		if empty {
			return true
		}
		si := &f.si
		return f.members(4, ctIssuerNames, func(i int) bool {
			switch i {
			case 0:
				return f.str(&si.Type)
			case 1:
				return f.str(&si.ARN)
			case 2:
				return f.str(&si.UserName)
			default:
				return f.str(&si.AccountID)
			}
		}, nil)
	}, nil)
}

func (f *ctFast) resources() bool {
	s := &f.s
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case 'n':
		return s.Lit("null")
	case '[':
	default:
		return false
	}
	s.I++
	s.WS()
	f.res = f.res[:0]
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		f.rec.Resources = f.res
		return true
	}
	for {
		empty, null, ok := f.object()
		if !ok || null {
			return false // a null element: left to sonic
		}
		f.res = append(f.res, ctResource{})
		r := &f.res[len(f.res)-1]
		if !empty && !f.members(3, ctResourceNames, func(i int) bool {
			if i == 0 {
				return f.str(&r.ARN)
			}
			return f.str(&r.Type)
		}, nil) {
			return false
		}
		done, ok := s.Next(']')
		if !ok {
			return false
		}
		if done {
			f.rec.Resources = f.res
			return true
		}
	}
}

func (f *ctFast) additional() bool {
	empty, null, ok := f.object()
	if !ok || null {
		return ok
	}
	f.ad = ctAdditional{}
	f.rec.AdditionalEventData = &f.ad
	if empty {
		return true
	}
	return f.members(2, ctAdditionalName, func(int) bool { return f.str(&f.ad.SecretID) }, nil)
}

// requestParameters keeps the raw value (what sonic's json.RawMessage would hold) and decodes
// an object into f.params; when that fails the value is passed over and f.paramsOK is false.
func (f *ctFast) requestParameters() bool {
	s := &f.s
	start := s.I
	if s.I < len(s.B) && s.B[s.I] == '{' {
		if f.params1() {
			f.rec.RequestParameters = s.B[start:s.I]
			return true
		}
		f.params = ctParams{}
		f.paramsOK = false
		s.I = start
	}
	raw, ok := s.RawValue(1)
	f.rec.RequestParameters = raw
	return ok
}

func (f *ctFast) params1() bool {
	empty, _, ok := f.object()
	if !ok || empty {
		return ok
	}
	p := &f.params
	return f.members(2, ctParamsFast, func(i int) bool {
		switch i {
		case 0:
			return f.str(&p.SecretID)
		case 1:
			return f.strList(&p.SecretIDList)
		case 2:
			return f.filterList(&p.Filters)
		case 3:
			return f.str(&p.Name)
		case 4:
			return f.str(&p.TrailName)
		case 5:
			return f.str(&p.VersionStage)
		case 6:
			return f.strList(&p.VersionStages)
		case 7:
			return f.str(&p.RoleARN)
		case 9:
			return f.strList(&p.Names)
		case 10:
			return f.boolean(&p.WithDecryption)
		case 11:
			return f.str(&p.Path)
		case 12:
			return f.boolean(&p.Recursive)
		case 13:
			return f.filterList(&p.ParameterFilters)
		case 14:
			return f.strList(&p.Labels)
		default:
			empty, null, ok := f.object()
			if !ok || null {
				return ok
			}
			f.enc.SecretARN = ""
			p.EncryptionContext = &f.enc
			if empty {
				return true
			}
			return f.members(3, ctEncCtxNames, func(int) bool { return f.str(&f.enc.SecretARN) }, nil)
		}
	}, func(k []byte) bool {
		if ctField(k, ctParamsOther) >= 0 {
			return false // a parameter read only by sonic
		}
		return f.s.Skip(2)
	})
}

// strList reads a []string parameter (null elements are left to sonic); the strings share
// f.strs, which is reset per record.
func (f *ctFast) strList(dst *[]string) bool {
	s := &f.s
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case 'n':
		*dst = nil
		return s.Lit("null")
	case '[':
	default:
		return false
	}
	s.I++
	s.WS()
	start := len(f.strs)
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		*dst = f.strs[start:start:start]
		return true
	}
	for {
		if s.I >= len(s.B) || s.B[s.I] != '"' {
			return false
		}
		var v string
		if !f.str(&v) {
			return false
		}
		f.strs = append(f.strs, v)
		done, ok := s.Next(']')
		if !ok {
			return false
		}
		if done {
			*dst = f.strs[start:len(f.strs):len(f.strs)]
			return true
		}
	}
}

// boolean reads a bool parameter as sonic does: true, false, or null (which leaves it false);
// anything else is left to sonic.
func (f *ctFast) boolean(dst *bool) bool {
	s := &f.s
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case 't':
		*dst = true
		return s.Lit("true")
	case 'f':
		*dst = false
		return s.Lit("false")
	case 'n':
		return s.Lit("null")
	}
	return false
}

// filterList reads a list of {key, values} filters into dst; the filters of all lists share
// f.filters, which is reset per record.
func (f *ctFast) filterList(dst *[]ctFilter) bool {
	s := &f.s
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case 'n':
		*dst = nil
		return s.Lit("null")
	case '[':
	default:
		return false
	}
	s.I++
	s.WS()
	start := len(f.filters)
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		*dst = f.filters[start:start:start]
		return true
	}
	for {
		empty, null, ok := f.object()
		if !ok || null {
			return false
		}
		var flt ctFilter
		if !empty && !f.members(4, ctFilterNames, func(i int) bool {
			if i == 0 {
				return f.str(&flt.Key)
			}
			return f.strList(&flt.Values)
		}, nil) {
			return false
		}
		f.filters = append(f.filters, flt)
		done, ok := s.Next(']')
		if !ok {
			return false
		}
		if done {
			*dst = f.filters[start:len(f.filters):len(f.filters)]
			return true
		}
	}
}

// decodeRecord decodes data, one whole record, into f.rec.
func (f *ctFast) decodeRecord(data []byte, top bool) bool {
	f.s = jscan.Scanner{B: data}
	f.s.WS()
	if !f.record(top) {
		return false
	}
	f.s.WS()
	return f.s.I == len(f.s.B)
}

// arena holds copies of short strings (eventIDs) in large blocks: one allocation per block
// instead of one per string. A block is never moved, so the strings stay valid.
type arena struct{ buf []byte }

const arenaBlock = 64 << 10

func (a *arena) keep(s string) string {
	if s == "" {
		return ""
	}
	if len(a.buf)+len(s) > cap(a.buf) {
		if len(s) > arenaBlock/4 {
			return strings.Clone(s)
		}
		// Blocks grow from 4 KiB: most inputs are small files.
		a.buf = make([]byte, 0, max(min(2*cap(a.buf), arenaBlock), 4<<10, len(s)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, s...)
	return unsafe.String(&a.buf[start], len(s))
}
