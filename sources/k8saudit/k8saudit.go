// Package k8saudit reads Kubernetes API server audit logs (audit.k8s.io/v1 Event objects, one
// per line, as the log backend writes them, or as GKE, AKS and EKS ship them: wrap.go) and
// turns every request on Secrets into events. Requests on other resources are counted and
// skipped: the log of a cluster is mostly pods, leases and configmaps.
package k8saudit

import (
	"bytes"
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Format reads Kubernetes API server audit logs.
type Format struct{}

// Name is the format's id.
func (Format) Name() string { return "k8saudit" }

// Title is what users call it.
func (Format) Title() string { return "Kubernetes API server audit log" }

// Sniff: an audit event has an auditID, a stage and a verb at the top level; a cloud wrapper
// of one is recognised by sniffWrapped.
func (Format) Sniff(_ string, h *sources.Head) bool {
	for _, v := range h.Values {
		if !v.Array && v.Has("auditID", "stage", "verb") {
			return true
		}
	}
	return sniffWrapped(h)
}

// auditEvent mirrors the fields of an audit.k8s.io/v1 Event that the detectors need. The
// request and response bodies are never decoded: at the RequestResponse level they hold the
// Secret's data, and only their presence is kept (loggedBody).
type auditEvent struct {
	Kind       string `json:"kind"`
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	User       struct {
		Username string              `json:"username"`
		Groups   []string            `json:"groups"`
		Extra    map[string][]string `json:"extra"`
	} `json:"user"`
	SourceIPs       []string          `json:"sourceIPs"`
	UserAgent       string            `json:"userAgent"`
	ObjectRef       *objectRef        `json:"objectRef"`
	ResponseStatus  *responseStatus   `json:"responseStatus"`
	RequestReceived time.Time         `json:"requestReceivedTimestamp"`
	StageTime       time.Time         `json:"stageTimestamp"`
	Annotations     map[string]string `json:"annotations"`
	RequestObject   loggedBody        `json:"requestObject"`
	ResponseObject  loggedBody        `json:"responseObject"`
}

// objectRef is the object a request is on.
type objectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	Subresource string `json:"subresource"`
}

// responseStatus is the result of a request.
type responseStatus struct {
	Code int `json:"code"`
}

// loggedBody records whether a request or response body was logged with a Secret's data in
// it, and the names of the Secrets whose data it holds (the items of a list), without keeping
// any value.
type loggedBody struct {
	data  bool
	names []string // NAMESPACE/NAME of a list's items that carry data
}

// secretBody is the shape of a logged Secret, SecretList or patch: only names are decoded; of
// data and stringData only whether they hold anything (present).
type secretBody struct {
	Data       present `json:"data"`
	StringData present `json:"stringData"`
	Items      []struct {
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
		Data       present `json:"data"`
		StringData present `json:"stringData"`
	} `json:"items"`
}

// present is true for a JSON value that holds something (not null, {}, "" or []); the bytes
// are never kept.
type present bool

// UnmarshalJSON notes whether p is a non-empty value.
func (v *present) UnmarshalJSON(p []byte) error {
	p = bytes.TrimSpace(p)
	*v = present(len(p) > 2 && !bytes.Equal(p, []byte("null")))
	return nil
}

// UnmarshalJSON decodes the names and the presence of data; a body of another shape (a
// Status, a DeleteOptions, a JSON patch array) holds no Secret's data here.
func (b *loggedBody) UnmarshalJSON(p []byte) error {
	*b = loggedBody{}
	if len(p) == 0 || p[0] != '{' || (!bytes.Contains(p, []byte(`"data"`)) && !bytes.Contains(p, []byte(`"stringData"`))) {
		return nil
	}
	var sb secretBody
	if err := sonic.Unmarshal(p, &sb); err != nil {
		// Not a Secret's shape (a strategic-merge patch of something else): presence is
		// still the conservative answer for a body that names data.
		b.data = true
		return nil //nolint:nilerr // the body is evidence, not input the read depends on
	}
	b.data = bool(sb.Data) || bool(sb.StringData)
	for _, it := range sb.Items {
		if it.Data || it.StringData {
			b.data = true
			if len(b.names) < maxListedNames {
				b.names = append(b.names, it.Metadata.Namespace+"/"+it.Metadata.Name)
			}
		}
	}
	return nil
}

// maxListedNames bounds the Secrets named per logged list body and per file note.
const maxListedNames = 100

// stageRank orders the stages of one request: the last one logged says the most.
func stageRank(s string) int {
	switch s {
	case "RequestReceived":
		return 1
	case "ResponseStarted":
		return 2
	case "ResponseComplete", "Panic":
		return 3
	}
	return 0
}

// helmRelease prefixes the Secrets in which Helm stores its releases.
const helmRelease = "sh.helm.release.v1."

// credentialID is the key of user.extra that identifies the token (a service-account token's
// JTI, an X.509 certificate's hash).
const credentialID = "authentication.kubernetes.io/credential-id"

// Read decodes one audit log. One request is one event: the stages of an auditID logged
// before its ResponseComplete are kept until it comes, then counted as "stage-duplicate". A
// line may also be one of the cloud wrappers of the same events (wrap.go); a wrapper holding
// several requests counts one line per request, as CloudTrail's log files do.
func (Format) Read(_ context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	r := &reader{in: f.Local, file: f.Local.Str(f.Name), st: st, pending: map[string]int{}, seenData: map[string]bool{}, give: f.Emit}
	n, err := sources.ForEachLine(f.R, f.MaxLineBytes, func(line []byte, ln int, tooLong bool) {
		st.Lines++
		if tooLong {
			st.Skip("too-long")
			return
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			st.Skip("blank")
			return
		}
		r.line(line, ln)
		if r.give != nil && len(r.out)-r.head >= giveEvery {
			r.release(false)
		}
	})
	st.Bytes = n
	if err != nil {
		st.ReadError = "read " + f.Name + ": " + err.Error() + " (everything before it is kept)"
	}
	if len(r.secretData) > 0 {
		slices.Sort(r.secretData)
		st.Note = "the audit policy logs Secret data (request or response bodies at the Request or RequestResponse level) for " +
			strings.Join(r.secretData, ", ")
	}
	if r.give != nil {
		r.release(true)
		return sources.Batch{}
	}
	st.Events += len(r.out)
	return sources.Batch{Events: sources.StoreOf(r.out)}
}

// A streamed read (sources.File.Emit) gives its events giveEvery at a time, once their request
// has its last stage or stageHorizon of log time has passed since (a watch can stay open for
// hours: its ResponseComplete then counts as a stage-duplicate of the event given).
const (
	giveEvery    = 4096
	stageHorizon = 2 * time.Minute
)

// release gives on the events before the first request still waiting for a later stage (and
// any waiting longer than stageHorizon); all: every event.
func (r *reader) release(all bool) {
	cut := r.head
	for cut < len(r.out) && (all || r.rank[cut] >= 3 || r.out[cut].Time.Before(r.newest.Add(-stageHorizon))) {
		cut++
	}
	if cut > r.head {
		r.give(r.out[r.head:cut])
		r.st.Events += cut - r.head
		r.head = cut
	}
	if r.head >= giveEvery && r.head*2 >= len(r.out) {
		rest := copy(r.out, r.out[r.head:])
		clear(r.out[rest:])
		r.out = r.out[:rest]
		copy(r.rank, r.rank[r.head:])
		r.rank = r.rank[:rest]
		r.base += r.head
		r.head = 0
	}
}

// reader is the state of one file's Read.
type reader struct {
	in         *sources.LocalInterner
	file       string
	st         *sources.FileStats
	out        []event.Event
	rank       []int           // parallel to out
	pending    map[string]int  // auditID -> index in out, until its last stage
	secretData []string        // secrets whose data the log holds (names only)
	seenData   map[string]bool // of secretData

	// give, when set, takes the events as they are settled (release): out[0] is event number
	// base, out[:head] given already.
	give   func([]event.Event)
	base   int
	head   int
	newest time.Time
}

// from says where an event came from when a cloud wrapper held it.
type from struct {
	wrapper string    // "GKE", "AKS", "CloudWatch"; empty for a native line
	record  string    // "record 2: " within a line of several; reasons start with it
	time    time.Time // the wrapper's own time, for an event that has none
}

// request turns one audit event into an event, or accounts for why it is not one.
func (r *reader) request(a *auditEvent, ln int, w from) {
	st := r.st
	if a.AuditID == "" || a.Verb == "" {
		st.Bad(ln, w.record+notAudit(w.wrapper))
		return
	}
	if a.ObjectRef == nil || a.ObjectRef.Resource != "secrets" || a.ObjectRef.Subresource != "" {
		st.Skip("not-secrets")
		return
	}
	if w.wrapper != "" && a.User.Username == "" {
		// A native line without a user is kept as before; a wrapper that lost it is not an event.
		st.Bad(ln, w.record+w.wrapper+" audit event without a user")
		return
	}
	t := a.RequestReceived
	if t.IsZero() {
		t = a.StageTime
	}
	if t.IsZero() {
		t = w.time
	}
	if t.IsZero() {
		st.Bad(ln, w.record+"audit event without a time")
		return
	}
	in := r.in
	ev := toEvent(a, t, in)
	ev.Pos = event.Pos{File: r.file, Line: ln}
	if a.RequestObject.data || a.ResponseObject.data {
		// The line holds a Secret's value: keep the fact and the names, never the value.
		ev.Flags |= event.FlagValueLogged
		names := append(slices.Clone(a.RequestObject.names), a.ResponseObject.names...)
		if len(names) > 0 {
			ev.Detail = in.Str("the logged response holds the data of " + strings.Join(names, ", "))
		} else if name := ev.Name(); name != "" {
			names = []string{name}
		}
		for _, n := range names {
			if !r.seenData[n] && len(r.secretData) < maxListedNames {
				r.seenData[n] = true
				r.secretData = append(r.secretData, n)
			}
		}
	}
	st.Parsed++
	rk := stageRank(a.Stage)
	id := a.AuditID
	if t.After(r.newest) {
		r.newest = t
	}
	if i, ok := r.pending[id]; ok {
		// A later stage of a request already seen: it replaces the earlier one.
		st.Parsed--
		st.Skip("stage-duplicate")
		if i < r.base+r.head { // given on already (streamed, stageHorizon passed)
			if rk == 3 {
				delete(r.pending, id)
			}
			return
		}
		i -= r.base
		if rk >= r.rank[i] {
			if prev := &r.out[i]; prev.Has(event.FlagValueLogged) && !ev.Has(event.FlagValueLogged) {
				// An earlier stage logged the request body: that line still holds it.
				ev.Flags |= event.FlagValueLogged
				ev.Pos, ev.Detail = prev.Pos, prev.Detail
			}
			r.out[i], r.rank[i] = ev, rk
		}
		if rk == 3 {
			delete(r.pending, id)
		}
		return
	}
	r.out = append(r.out, ev)
	r.rank = append(r.rank, rk)
	if rk < 3 {
		r.pending[in.Str(id)] = r.base + len(r.out) - 1
	}
	st.Seen(t)
}

// notAudit is the reason for an event without an auditID or a verb.
func notAudit(wrapper string) string {
	if wrapper == "" {
		return "not an audit event (no auditID or verb)"
	}
	return wrapper + " record without an audit event (no auditID or verb)"
}

// toEvent maps one audit event on a Secret to the model.
func toEvent(a *auditEvent, t time.Time, in *sources.LocalInterner) event.Event {
	ref := a.ObjectRef
	ev := event.Event{Time: t.UTC(), Kind: event.KindKubernetes}
	ev.Action = in.Str(a.Verb)
	ev.Principal = in.Str(a.User.Username)
	ev.DisplayName = ev.Principal
	ev.Class = event.ClassPerson // a user of the cluster, through its OIDC or certificate login
	if strings.HasPrefix(ev.Principal, "system:") {
		ev.Class = event.ClassWorkload // service accounts, nodes, the control plane's own components
	}
	if ids := a.User.Extra[credentialID]; len(ids) > 0 {
		ev.Credential = in.Str(ids[0])
	}
	if len(a.User.Groups) > 0 {
		g := slices.Clone(a.User.Groups)
		slices.Sort(g)
		ev.Policies = in.List(g) // groups: admins may be named by group (system:masters)
	}
	if len(a.SourceIPs) > 0 {
		if addr, err := netip.ParseAddr(a.SourceIPs[0]); err == nil {
			ev.RemoteAddr = addr.Unmap()
		}
	}
	ev.UserAgent = in.Str(a.UserAgent)
	if sources.InteractiveClient(ev.UserAgent) {
		ev.Flags |= event.FlagInteractive
	}
	ev.Namespace = in.Str(ref.Namespace)
	path, query, _ := strings.Cut(a.RequestURI, "?")
	ev.Path = in.Str(path)
	name := ref.Name
	if name == "" && ref.Namespace != "" && (a.Verb == "list" || a.Verb == "watch") {
		// A list or watch narrowed to one name (fieldSelector=metadata.name=X) fetches that
		// Secret: how a kubelet with the Watch strategy, and many controllers, read one.
		name = selectedName(query)
	}
	switch {
	case name != "":
		ev.Resource = in.Str("k8s:" + ref.Namespace + "/" + name)
		ev.SetName(len("k8s:"))
	case ref.Namespace != "":
		ev.Resource = in.Str("k8s:" + ref.Namespace + "/")
	default:
		ev.Resource = "k8s:*"
		ev.Flags |= event.FlagListAll
	}
	if strings.HasPrefix(a.User.Username, "system:node:") && slices.Contains(a.User.Groups, "system:nodes") {
		// A kubelet: the Node authorizer lets it read only the Secrets of pods bound to its
		// node, which it does for them at every pod start and restart.
		ev.Flags |= event.FlagNodeAgent
	}
	if strings.HasPrefix(name, helmRelease) {
		// Helm keeps each release's state in a Secret; its client reads and writes them on
		// every upgrade. Upkeep of the tool, not a read of an application's secret.
		ev.Flags |= event.FlagMaintenance
	}
	switch a.Verb {
	case "get":
		ev.Op = event.OpRead
		ev.Flags |= event.FlagValueRead
	case "list", "watch":
		if name != "" {
			ev.Op = event.OpRead
			ev.Flags |= event.FlagValueRead
			break
		}
		ev.Op = event.OpList
		if ref.Name == "" && ref.Namespace == "" {
			ev.Flags |= event.FlagListAll
		}
	case "create", "update", "patch":
		ev.Op = event.OpWrite
	case "delete", "deletecollection":
		ev.Op = event.OpDelete
	default:
		ev.Op = event.OpOther
	}
	ev.Outcome = outcome(a)
	return ev
}

// outcome is the request's result: the response code, and the authorizer's decision when
// there is no response yet.
func outcome(a *auditEvent) event.Outcome {
	if a.Annotations["authorization.k8s.io/decision"] == "forbid" {
		return event.OutcomeDenied
	}
	if a.ResponseStatus == nil || a.ResponseStatus.Code == 0 {
		return event.OutcomeOK
	}
	switch c := a.ResponseStatus.Code; {
	case c >= 200 && c < 300:
		return event.OutcomeOK
	case c == 401 || c == 403:
		return event.OutcomeDenied
	}
	return event.OutcomeError
}

// selectedName is the NAME of a query's fieldSelector=metadata.name=NAME (or ==NAME), alone or
// among other selectors; "" when the query selects no single name.
func selectedName(query string) string {
	if !strings.Contains(query, "fieldSelector=") {
		return ""
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return ""
	}
	for _, sel := range strings.Split(v.Get("fieldSelector"), ",") {
		if n, ok := strings.CutPrefix(sel, "metadata.name=="); ok {
			return n
		}
		if n, ok := strings.CutPrefix(sel, "metadata.name="); ok {
			return n
		}
	}
	return ""
}
