package k8saudit

// The cloud wrappers of the API server's audit events: the managed control planes do not hand
// out the log backend's file, they ship the same events through their own logging service.
//
//   - GKE: Cloud Audit Logs. A LogEntry whose protoPayload is a google.cloud.audit.AuditLog
//     translated from the event (methodName io.k8s.core.v1.secrets.get, resourceName
//     core/v1/namespaces/NS/secrets/NAME, a google.rpc status). One entry per request: no stages.
//     https://cloud.google.com/kubernetes-engine/docs/how-to/audit-logging
//   - AKS: Azure Monitor resource logs, category kube-audit or kube-audit-admin, the native event
//     as a JSON string in properties.log; one record per line (storage export) or
//     {"records":[...]} (Event Hubs).
//   - EKS: CloudWatch Logs, group /aws/eks/NAME/cluster, streams kube-apiserver-audit-*, the
//     native event as the message: `aws logs filter-log-events` / `get-log-events` output
//     ({"events":[...]}, compacted to one line) and subscription (Firehose) records
//     ({"messageType":"DATA_MESSAGE","logEvents":[...]}).
//
// Every wrapper is unwrapped into an auditEvent and goes through request, so each detector sees
// the same event whichever way the log was shipped.

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"
)

// wireLine is one line of any of the shapes: a native event, a GKE LogEntry, an AKS record or
// batch, CloudWatch output or a subscription record. Decoding it once tells them apart.
type wireLine struct {
	auditEvent

	// GKE (google.logging.v2.LogEntry)
	ProtoPayload     *gkeAuditLog      `json:"protoPayload"`
	InsertID         string            `json:"insertId"`
	Timestamp        time.Time         `json:"timestamp"`
	ReceiveTimestamp time.Time         `json:"receiveTimestamp"`
	Labels           map[string]string `json:"labels"`
	Operation        *struct {
		ID string `json:"id"`
	} `json:"operation"`

	// AKS (Azure Monitor resource log record, or a batch of them)
	Category   string `json:"category"`
	Properties *struct {
		Log json.RawMessage `json:"log"` // a JSON string; an object in some re-exports
	} `json:"properties"`
	Time    time.Time         `json:"time"`
	Records []json.RawMessage `json:"records"`

	// EKS (CloudWatch Logs output, or a subscription record)
	Events      []cwEvent `json:"events"`
	MessageType string    `json:"messageType"`
	LogStream   string    `json:"logStream"`
	LogEvents   []cwEvent `json:"logEvents"`
}

// gkeAuditLog mirrors the fields of google.cloud.audit.AuditLog GKE fills from the event.
// request and response hold the object at the RequestResponse level: only their presence is
// kept, as for the native bodies.
type gkeAuditLog struct {
	ServiceName        string `json:"serviceName"`
	MethodName         string `json:"methodName"`
	ResourceName       string `json:"resourceName"`
	AuthenticationInfo struct {
		PrincipalEmail string `json:"principalEmail"`
	} `json:"authenticationInfo"`
	RequestMetadata struct {
		CallerIP                string `json:"callerIp"`
		CallerSuppliedUserAgent string `json:"callerSuppliedUserAgent"`
	} `json:"requestMetadata"`
	Status *struct {
		Code int `json:"code"`
	} `json:"status"`
	Request  loggedBody `json:"request"`
	Response loggedBody `json:"response"`
}

// cwEvent is one CloudWatch Logs event: filter-log-events' (logStreamName) or a
// subscription's (id); timestamp is milliseconds since the epoch.
type cwEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	LogStreamName string `json:"logStreamName"`
}

// eksAuditStream prefixes the streams of /aws/eks/NAME/cluster that hold the audit log; the
// group's other streams (kube-apiserver-, authenticator-, ...) hold klog text.
const eksAuditStream = "kube-apiserver-audit"

// line decodes one line in whichever shape it has.
func (r *reader) line(line []byte, ln int) {
	var w wireLine
	if err := sonic.Unmarshal(line, &w); err != nil {
		r.st.Bad(ln, "invalid JSON: "+sources.ShortJSONError(err))
		return
	}
	switch {
	case w.AuditID != "" || w.Verb != "" || w.ObjectRef != nil:
		r.request(&w.auditEvent, ln, from{})
	case w.ProtoPayload != nil:
		r.gke(&w, ln)
	case w.Category != "" || w.Properties != nil:
		r.aks(&w, ln, "")
	case w.Records != nil:
		r.each(ln, len(w.Records), func(rec string, i int) {
			var rw wireLine
			if err := sonic.Unmarshal(w.Records[i], &rw); err != nil {
				r.st.Bad(ln, rec+"invalid JSON: "+sources.ShortJSONError(err))
				return
			}
			if rw.Category == "" && rw.Properties == nil {
				r.st.Bad(ln, rec+"not an AKS diagnostic record (no category or properties)")
				return
			}
			r.aks(&rw, ln, rec)
		})
	case w.Events != nil:
		r.each(ln, len(w.Events), func(rec string, i int) {
			r.cloudWatch(&w.Events[i], w.Events[i].LogStreamName, ln, rec)
		})
	case w.MessageType != "" || w.LogEvents != nil:
		if w.MessageType == "CONTROL_MESSAGE" {
			// CloudWatch's check that the destination is reachable; it carries no log.
			r.st.Skip("control-message")
			return
		}
		r.each(ln, len(w.LogEvents), func(rec string, i int) {
			r.cloudWatch(&w.LogEvents[i], w.LogStream, ln, rec)
		})
	default:
		r.request(&w.auditEvent, ln, from{}) // counted as not an audit event
	}
}

// each accounts for the n requests one line holds: the line is already counted once, each
// further request counts one more, so that every request is parsed, skipped or malformed.
func (r *reader) each(ln, n int, fn func(rec string, i int)) {
	if n == 0 {
		r.st.Skip("empty-batch")
		return
	}
	for i := range n {
		if i > 0 {
			r.st.Lines++
		}
		rec := ""
		if n > 1 {
			rec = "record " + strconv.Itoa(i+1) + ": "
		}
		fn(rec, i)
	}
}

// gke translates a Cloud Audit Logs entry into the event GKE made it from.
func (r *reader) gke(w *wireLine, ln int) {
	p := w.ProtoPayload
	if p.ServiceName != "k8s.io" {
		// A Cloud Audit Logs export holds every service's entries beside the cluster's.
		r.st.Skip("not-kubernetes")
		return
	}
	verb := p.MethodName[strings.LastIndexByte(p.MethodName, '.')+1:]
	if verb == "" {
		r.st.Bad(ln, "GKE entry without a methodName")
		return
	}
	a := auditEvent{Verb: verb, Stage: "ResponseComplete", UserAgent: p.RequestMetadata.CallerSuppliedUserAgent}
	a.AuditID = w.InsertID
	if w.Operation != nil && w.Operation.ID != "" {
		a.AuditID = w.Operation.ID // the native auditID
	}
	if a.AuditID == "" {
		r.st.Bad(ln, "GKE entry without insertId or operation.id")
		return
	}
	a.User.Username = p.AuthenticationInfo.PrincipalEmail
	if p.RequestMetadata.CallerIP != "" {
		a.SourceIPs = []string{p.RequestMetadata.CallerIP}
	}
	a.ObjectRef, a.RequestURI = gkeResource(p.ResourceName)
	code := 0
	if p.Status != nil {
		code = p.Status.Code
	}
	a.ResponseStatus = &responseStatus{Code: httpCode(code)}
	a.Annotations = w.Labels // authorization.k8s.io/decision, as in the event's annotations
	a.RequestReceived = w.Timestamp
	a.RequestObject, a.ResponseObject = p.Request, p.Response
	r.request(&a, ln, from{wrapper: "GKE", time: w.ReceiveTimestamp})
}

// gkeResource reads an AuditLog resourceName (GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME
// [/SUBRESOURCE]], group "core" for the core API) into an object reference and the request
// path it stands for.
func gkeResource(name string) (*objectRef, string) {
	parts := strings.Split(name, "/")
	if len(parts) < 3 {
		return nil, "" // a non-resource request (readyz, /version)
	}
	ref := &objectRef{}
	rest := parts[2:]
	if len(rest) >= 3 && rest[0] == "namespaces" {
		ref.Namespace, rest = rest[1], rest[2:]
	}
	ref.Resource = rest[0]
	if len(rest) > 1 {
		ref.Name = rest[1]
	}
	if len(rest) > 2 {
		ref.Subresource = rest[2]
	}
	path := "/apis/" + parts[0] + "/" + strings.Join(parts[1:], "/")
	if parts[0] == "core" {
		path = "/api/" + strings.Join(parts[1:], "/")
	}
	return ref, path
}

// httpCode is the HTTP status GKE translated into a google.rpc code.
func httpCode(rpc int) int {
	switch rpc {
	case 0: // OK
		return 200
	case 5: // NOT_FOUND
		return 404
	case 6: // ALREADY_EXISTS
		return 409
	case 7: // PERMISSION_DENIED
		return 403
	case 16: // UNAUTHENTICATED
		return 401
	}
	return 500
}

// aks unwraps one Azure Monitor record.
func (r *reader) aks(w *wireLine, ln int, rec string) {
	if w.Category != "kube-audit" && w.Category != "kube-audit-admin" {
		// The same diagnostic setting can send kube-apiserver, guard, ... logs.
		r.st.Skip("not-kube-audit")
		return
	}
	var raw []byte
	if w.Properties != nil {
		raw = bytes.TrimSpace(w.Properties.Log)
	}
	var a auditEvent
	var err error
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var s string
		if err = sonic.Unmarshal(raw, &s); err == nil {
			err = sonic.UnmarshalString(s, &a)
		}
	case len(raw) > 0 && raw[0] == '{':
		err = sonic.Unmarshal(raw, &a)
	default:
		r.st.Bad(ln, rec+"AKS record without properties.log")
		return
	}
	if err != nil {
		r.st.Bad(ln, rec+"invalid audit event in properties.log: "+sources.ShortJSONError(err))
		return
	}
	r.request(&a, ln, from{wrapper: "AKS", record: rec, time: w.Time})
}

// cloudWatch unwraps one CloudWatch Logs event; stream is its stream's name when known.
func (r *reader) cloudWatch(e *cwEvent, stream string, ln int, rec string) {
	if stream != "" && !strings.HasPrefix(stream, eksAuditStream) {
		r.st.Skip("not-audit-stream")
		return
	}
	var a auditEvent
	if err := sonic.UnmarshalString(e.Message, &a); err != nil {
		r.st.Bad(ln, rec+"CloudWatch message is not an audit event: "+sources.ShortJSONError(err))
		return
	}
	var t time.Time
	if e.Timestamp > 0 {
		t = time.UnixMilli(e.Timestamp).UTC()
	}
	r.request(&a, ln, from{wrapper: "CloudWatch", record: rec, time: t})
}

// sniffWrapped reports whether a line of the head is one of the wrappers. The top-level keys
// alone would claim every Azure resource log or CloudWatch export: the values looked at are
// those the platform writes at a fixed place (category, serviceName, logGroup, a stream's
// name), never one inside the request, which its sender controls.
func sniffWrapped(h *sources.Head) bool {
	b := bytes.TrimPrefix(h.Bytes, []byte("\xef\xbb\xbf"))
	for n := 0; len(b) > 0 && n < headMaxLines; n++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		if wrappedLine(line) {
			return true
		}
	}
	return false
}

// headMaxLines bounds the lines of the head sniffWrapped reads.
const headMaxLines = 32

func wrappedLine(line []byte) bool {
	kubeAudit := func(c string, ok bool) bool { return ok && (c == "kube-audit" || c == "kube-audit-admin") }
	top := peekKeys(line)
	has := func(keys []string, k string) bool {
		for _, x := range keys {
			if x == k {
				return true
			}
		}
		return false
	}
	switch {
	case has(top, "protoPayload"):
		s, ok := peekString(line, "protoPayload", "serviceName")
		return ok && s == "k8s.io"
	case has(top, "category") && has(top, "properties"):
		return kubeAudit(peekString(line, "category"))
	case has(top, "records"):
		return kubeAudit(peekString(line, "records", "category"))
	case has(top, "messageType") && has(top, "logEvents"):
		g, ok := peekString(line, "logGroup")
		return ok && strings.HasPrefix(g, "/aws/eks/")
	case has(top, "events"):
		first := peekKeys(line, "events")
		if !has(first, "message") || !has(first, "timestamp") {
			return false
		}
		if s, ok := peekString(line, "events", "logStreamName"); ok {
			return strings.HasPrefix(s, eksAuditStream)
		}
		// get-log-events names no stream; its paging tokens say it is CloudWatch's output.
		return has(top, "nextForwardToken") || has(top, "nextBackwardToken")
	}
	return false
}

// peekAt moves s to the value at path in the object at s (an array on the way stands for its
// first element). The head may end inside the line: what comes before the cut is still read.
func peekAt(s *jscan.Scanner, path []string) bool {
	for _, want := range path {
		s.WS()
		if s.I < len(s.B) && s.B[s.I] == '[' {
			s.I++
			s.WS()
		}
		empty, _, ok := s.ObjectStart()
		if !ok || empty {
			return false
		}
		for {
			k, plain, ok := s.Key()
			if !ok {
				return false
			}
			if plain && string(k) == want {
				break
			}
			if !s.Skip(0) {
				return false
			}
			if done, ok := s.Next('}'); !ok || done {
				return false
			}
		}
	}
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == '[' {
		s.I++
		s.WS()
	}
	return true
}

// peekKeys is the keys of the object at path in line.
func peekKeys(line []byte, path ...string) []string {
	s := &jscan.Scanner{B: line}
	if !peekAt(s, path) {
		return nil
	}
	empty, _, ok := s.ObjectStart()
	if !ok || empty {
		return nil
	}
	var keys []string
	for len(keys) < 64 {
		k, _, ok := s.Key()
		if !ok {
			break
		}
		keys = append(keys, string(k))
		if !s.Skip(0) {
			break
		}
		if done, ok := s.Next('}'); !ok || done {
			break
		}
	}
	return keys
}

// peekString is the string at path in line.
func peekString(line []byte, path ...string) (string, bool) {
	s := &jscan.Scanner{B: line}
	if !peekAt(s, path) {
		return "", false
	}
	var v string
	if s.I >= len(s.B) || s.B[s.I] != '"' || !s.StrValue(&v) {
		return "", false
	}
	return strings.Clone(v), true
}
