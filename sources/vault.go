package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/bytedance/sonic"
)

// vaultEntry mirrors one line of the Vault / OpenBao file audit device (vault audit/types.go),
// keeping only the fields a detector needs. Request and response bodies (request.data,
// response.data) are deliberately not decoded: with log_raw they hold secret values in clear.
type vaultEntry struct {
	Time     string         `json:"time"`
	Type     string         `json:"type"`
	Error    string         `json:"error"`
	Auth     *vaultAuth     `json:"auth"`
	Request  *vaultRequest  `json:"request"`
	Response *vaultResponse `json:"response"`
}

type vaultAuth struct {
	Accessor         string   `json:"accessor"`
	DisplayName      string   `json:"display_name"`
	Policies         []string `json:"policies"`
	TokenPolicies    []string `json:"token_policies"`
	IdentityPolicies []string `json:"identity_policies"`
	EntityID         string   `json:"entity_id"`
	TokenType        string   `json:"token_type"`
}

type vaultNamespace struct {
	ID   string `json:"id"`
	Path string `json:"path"`
}

type vaultHeaders struct {
	UserAgent []string `json:"user-agent"`
}

// vaultRequestData picks the one request-body field we need. Its values are caller-controlled
// (and HMAC'd when they are strings), so it is decoded leniently: a string where a bool was
// expected must not make the whole line malformed.
type vaultRequestData struct {
	NoParent lenientBool `json:"no_parent"`
}

type vaultRequest struct {
	ID                  string            `json:"id"`
	Operation           string            `json:"operation"`
	Path                string            `json:"path"`
	MountPoint          string            `json:"mount_point"`
	MountType           string            `json:"mount_type"`
	Namespace           *vaultNamespace   `json:"namespace"`
	RemoteAddress       string            `json:"remote_address"`
	ClientTokenAccessor string            `json:"client_token_accessor"`
	Headers             *vaultHeaders     `json:"headers"`
	Data                *vaultRequestData `json:"data"`
}

type vaultResponseData struct {
	Error lenientPresent `json:"error"`
}

type vaultResponse struct {
	Auth *vaultAuth         `json:"auth"`
	Data *vaultResponseData `json:"data"`
}

// lenientBool is true only for the JSON literal true; any other value is false.
type lenientBool bool

func (b *lenientBool) UnmarshalJSON(p []byte) error {
	*b = lenientBool(bytes.Equal(p, []byte("true")))
	return nil
}

// lenientPresent records that a field was present with a non-null value, whatever its type.
type lenientPresent bool

func (b *lenientPresent) UnmarshalJSON(p []byte) error {
	*b = lenientPresent(!bytes.Equal(p, []byte("null")))
	return nil
}

// maxPending bounds the requests waiting for their response in one file; beyond it the oldest
// are emitted alone, so a log of requests without responses cannot grow memory without bound.
const maxPending = 1 << 18

// vaultReader turns the entries of one audit file into events, joining each request entry with
// its response entry (same request.id) so a request counts once.
type vaultReader struct {
	file    string
	st      *FileStats
	in      *interner
	pending map[string]int // request id -> index into out
	out     []Event
	noResp  []bool // parallel to out: still waiting for a response
}

func newVaultReader(file string, st *FileStats, in *interner) *vaultReader {
	return &vaultReader{file: file, st: st, in: in, pending: map[string]int{}}
}

// line decodes one line. It never fails the file: problems are counted in the statistics.
func (vr *vaultReader) line(line []byte, n int) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		vr.st.Skip("blank")
		return
	}
	if trimmed[0] != '{' {
		// The device option "prefix" puts free text before the JSON object.
		i := bytes.IndexByte(trimmed, '{')
		if i < 0 || i > 1024 {
			vr.st.Bad(n, describeGarbage(trimmed))
			return
		}
		trimmed = trimmed[i:]
	}
	var e vaultEntry
	if err := sonic.Unmarshal(trimmed, &e); err != nil {
		vr.st.Bad(n, "invalid JSON: "+shortJSONError(err))
		return
	}
	if e.Type != "request" && e.Type != "response" {
		if e.Type == "" {
			vr.st.Bad(n, "not a Vault audit entry: no \"type\"")
		} else {
			vr.st.Skip("unknown-type")
		}
		return
	}
	t, err := parseVaultTime(e.Time)
	if err != nil {
		vr.st.Bad(n, "invalid time: "+err.Error())
		return
	}
	if e.Request == nil {
		e.Request = &vaultRequest{}
	}
	if e.Auth == nil {
		e.Auth = &vaultAuth{}
	}
	vr.st.Parsed++
	vr.st.seen(t)

	id := e.Request.ID
	if e.Type == "response" {
		if i, ok := vr.pending[id]; ok && id != "" {
			delete(vr.pending, id)
			vr.noResp[i] = false
			vr.applyResponse(&vr.out[i], &e)
			return
		}
		ev := vr.base(&e, t, n)
		ev.Flags |= FlagResponseOnly
		vr.applyResponse(&ev, &e)
		vr.out = append(vr.out, ev)
		vr.noResp = append(vr.noResp, false)
		return
	}
	ev := vr.base(&e, t, n)
	vr.out = append(vr.out, ev)
	vr.noResp = append(vr.noResp, true)
	if id != "" {
		if len(vr.pending) >= maxPending {
			vr.pending = map[string]int{}
		}
		vr.pending[id] = len(vr.out) - 1
	}
}

// finish marks the requests that never got a response and returns the file's events.
func (vr *vaultReader) finish() []Event {
	for i, waiting := range vr.noResp {
		if waiting {
			vr.out[i].Flags |= FlagRequestOnly
		}
	}
	vr.st.Events += len(vr.out)
	out := vr.out
	vr.out, vr.noResp, vr.pending = nil, nil, nil
	return out
}

// base builds the event a request entry describes (a response entry repeats the request).
func (vr *vaultReader) base(e *vaultEntry, t time.Time, n int) Event {
	rq, au := e.Request, e.Auth
	in := vr.in
	ev := Event{Time: t, Pos: Pos{File: vr.file, Line: n}, Kind: KindVault}
	ns := ""
	if rq.Namespace != nil && rq.Namespace.Path != "" {
		ns = rq.Namespace.Path
		if !strings.HasSuffix(ns, "/") {
			ns += "/"
		}
	}
	ev.Namespace = in.s(ns)
	rel := stripQuery(rq.Path)
	full := rel
	if ns != "" && !strings.HasPrefix(rel, ns) {
		full = ns + rel
	}
	ev.Path = in.s(full)
	ev.Action = in.s(rq.Operation)
	ev.Credential = in.s(firstNonEmpty(au.Accessor, rq.ClientTokenAccessor))
	ev.DisplayName = in.s(au.DisplayName)
	ev.Principal = in.s(vaultPrincipal(au, ns))
	ev.Policies = in.list(effectivePolicies(au))
	if slices.Contains(ev.Policies, "root") {
		ev.Flags |= FlagRootToken
	}
	if au.TokenType == "batch" {
		ev.Flags |= FlagBatchToken
	}
	if au.Accessor == "" && au.DisplayName == "" && au.EntityID == "" {
		ev.Flags |= FlagUnauthenticated
	}
	if rq.RemoteAddress != "" {
		ev.RemoteAddr = parseAddr(rq.RemoteAddress)
	}
	if rq.Headers != nil && len(rq.Headers.UserAgent) > 0 {
		ev.UserAgent = in.s(rq.Headers.UserAgent[0])
	}
	if rq.Data != nil && bool(rq.Data.NoParent) {
		ev.Flags |= FlagOrphan
	}
	mount, mtype := rq.MountPoint, rq.MountType
	ev.Mount, ev.MountType = in.s(mount), in.s(mtype)
	ev.Op = vaultOp(rq.Operation, full, ns)
	if ev.Op == OpAdmin && strings.HasPrefix(strings.TrimPrefix(full, ns), "auth/token/create") {
		if strings.Contains(full, "create-orphan") {
			ev.Flags |= FlagOrphan
		}
	}
	if ev.Has(FlagUnauthenticated) && ev.Op == OpAdmin {
		ev.Op = OpOther // a request without a token cannot administer anything (OIDC auth_url, ...)
	}
	ev.Resource = in.s(NormalizeVaultPath(full, mount, mtype))
	ev.Outcome = vaultOutcome(e.Error)
	return ev
}

// applyResponse folds what only the response knows into ev: the outcome, the identity that a
// login produced, and the policies of a token that was created.
func (vr *vaultReader) applyResponse(ev *Event, e *vaultEntry) {
	if o := vaultOutcome(e.Error); o > ev.Outcome {
		ev.Outcome = o
	}
	if ev.Mount == "" && e.Request.MountPoint != "" {
		ev.Mount, ev.MountType = vr.in.s(e.Request.MountPoint), vr.in.s(e.Request.MountType)
		ev.Resource = vr.in.s(NormalizeVaultPath(ev.Path, ev.Mount, ev.MountType))
	}
	rs := e.Response
	if rs == nil {
		return
	}
	ns := ev.Namespace
	if rs.Auth != nil && (rs.Auth.Accessor != "" || rs.Auth.DisplayName != "") {
		if ev.Has(FlagUnauthenticated) || ev.Op == OpLogin {
			// A login: the response carries the identity that just authenticated.
			ev.Op = OpLogin
			ev.Flags &^= FlagUnauthenticated
			ev.Credential = vr.in.s(rs.Auth.Accessor)
			ev.DisplayName = vr.in.s(rs.Auth.DisplayName)
			ev.Principal = vr.in.s(vaultPrincipal(rs.Auth, ns))
			ev.Policies = vr.in.list(effectivePolicies(rs.Auth))
		} else {
			ev.NewPolicies = vr.in.list(effectivePolicies(rs.Auth))
		}
	} else if ev.Op == OpLogin && ev.Outcome == OutcomeOK && rs.Data != nil && bool(rs.Data.Error) {
		// OpenBao logs a login for an unknown user with no error field at all; only
		// response.data.error and the missing response.auth show the failure.
		ev.Outcome = OutcomeDenied
	}
}

func vaultOutcome(msg string) Outcome {
	switch {
	case msg == "":
		return OutcomeOK
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "invalid credentials"),
		strings.Contains(msg, "invalid token"), strings.Contains(msg, "wrapping token is not valid"):
		return OutcomeDenied
	}
	return OutcomeError
}

// vaultPrincipal is the stable identity behind a token: the entity id where there is one, else
// the display name within its namespace (tokens created without an entity, the root token).
func vaultPrincipal(au *vaultAuth, ns string) string {
	if au.EntityID != "" {
		return au.EntityID
	}
	if au.DisplayName != "" {
		return ns + au.DisplayName
	}
	return ""
}

func effectivePolicies(au *vaultAuth) []string {
	ps := au.Policies
	if len(ps) == 0 && (len(au.TokenPolicies) > 0 || len(au.IdentityPolicies) > 0) {
		ps = append(append([]string(nil), au.TokenPolicies...), au.IdentityPolicies...)
	}
	if len(ps) == 0 {
		return nil
	}
	ps = slices.Clone(ps)
	slices.Sort(ps)
	return slices.Compact(ps)
}

// vaultOp classifies a request. Path is the full path (with namespace), ns its namespace prefix.
func vaultOp(op, path, ns string) Op {
	p := strings.TrimPrefix(path, ns)
	switch {
	case strings.HasPrefix(p, "auth/"):
		if isLoginPath(p) {
			return OpLogin
		}
		if strings.HasPrefix(p, "auth/token/create") {
			return OpAdmin
		}
		if strings.HasPrefix(p, "auth/token/") {
			if op == "list" {
				return OpList
			}
			return OpOther // renew, lookup, revoke of tokens
		}
		switch op {
		case "list":
			return OpList
		case "read":
			return OpOther
		}
		return OpAdmin
	case strings.HasPrefix(p, "sys/"):
		if op == "list" {
			return OpList
		}
		if strings.HasPrefix(p, "sys/leases/") || strings.HasPrefix(p, "sys/renew") ||
			strings.HasPrefix(p, "sys/wrapping/") || strings.HasPrefix(p, "sys/capabilities") ||
			strings.HasPrefix(p, "sys/internal/") || strings.HasPrefix(p, "sys/control-group/") {
			return OpOther // lease renewals and UI helpers are what every client does
		}
		return OpAdmin
	case strings.HasPrefix(p, "identity/"):
		switch op {
		case "list":
			return OpList
		case "read":
			return OpRead
		}
		return OpAdmin
	}
	switch op {
	case "read":
		return OpRead
	case "list":
		return OpList
	case "create", "update", "patch":
		return OpWrite
	case "delete":
		return OpDelete
	}
	return OpOther
}

func isLoginPath(p string) bool {
	// auth/<mount>/login, auth/<mount>/login/<user>, OIDC's callback.
	rest := strings.TrimPrefix(p, "auth/")
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return false
	}
	rest = rest[i+1:]
	return rest == "login" || strings.HasPrefix(rest, "login/") || strings.HasSuffix(rest, "/callback")
}

// kvV2Prefixes are the KV v2 API's sub-paths that name a secret.
var kvV2Prefixes = []string{"data/", "metadata/", "delete/", "undelete/", "destroy/", "subkeys/"}

// NormalizeVaultPath folds the KV v2 API paths of one secret into one name: "kv/data/x",
// "kv/metadata/x", "kv/delete/x", ... become "kv/x". A query string is dropped. mount is the
// request's mount point when the log has it (with its namespace prefix); without it a path
// whose second segment is a KV v2 verb is taken as KV v2 at its first segment. Other paths
// (KV v1, database/creds, sys/) are returned as they are.
func NormalizeVaultPath(path, mount, mountType string) string {
	path = stripQuery(path)
	if mount != "" {
		if mountType != "" && mountType != "kv" && mountType != "generic" {
			return path
		}
		if !strings.HasPrefix(path, mount) {
			return path
		}
		rest := path[len(mount):]
		for _, p := range kvV2Prefixes {
			if strings.HasPrefix(rest, p) {
				return mount + rest[len(p):]
			}
			if rest+"/" == p { // "kv/metadata" listed without a slash
				return mount
			}
		}
		return path
	}
	if mountType != "" && mountType != "kv" {
		return path
	}
	i := strings.IndexByte(path, '/')
	if i <= 0 {
		return path
	}
	m, rest := path[:i+1], path[i+1:]
	if m == "sys/" || m == "auth/" || m == "identity/" || m == "cubbyhole/" {
		return path
	}
	for _, p := range kvV2Prefixes {
		if strings.HasPrefix(rest, p) {
			return m + rest[len(p):]
		}
	}
	return path
}

func stripQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// parseVaultTime parses Vault's RFC 3339 time (UTC, 1-9 fraction digits) and other offsets.
func parseVaultTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("missing")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// The value is not quoted: a forged line can put anything here, a secret included.
		return time.Time{}, fmt.Errorf("not RFC 3339 (%d bytes)", len(s))
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		// An offset can push a valid year out of range; such a time cannot be written back
		// as RFC 3339 in the reports.
		return time.Time{}, fmt.Errorf("year %d out of range in UTC", y)
	}
	return t, nil
}

// parseAddr parses an IP address, with or without a port or zone; invalid when it is not one.
func parseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func describeGarbage(b []byte) string {
	if bytes.Count(b, []byte{0}) == len(b) {
		return fmt.Sprintf("%d NUL bytes (lost file system block?)", len(b))
	}
	return "not a JSON object"
}

// shortJSONError describes a decode error without quoting the input. sonic's messages (and
// encoding/json's on platforms without sonic's JIT) carry a window of the line around the error,
// and with log_raw that window can hold a token or a secret value: only the category and the
// byte offset are kept.
func shortJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("wrong JSON type at offset %d (field %s wants %s)", te.Offset, valueFree(te.Field), te.Type)
	}
	s := err.Error()
	// Only the header is ours; from the first line break on, sonic quotes the input (escaped
	// as \n by its %q, or a real newline), which must not steer the description either.
	if i := strings.Index(s, `\n`); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	off := ""
	if m := sonicIndex.FindStringSubmatch(s); m != nil {
		off = " at offset " + m[1]
	}
	switch {
	case strings.Contains(s, "recursion exceeded max depth"), strings.Contains(s, "nesting too deep"):
		return "JSON nested too deeply" + off
	case strings.HasPrefix(s, "Mismatch type"), strings.Contains(s, "mismatched type"):
		return "wrong JSON type for a field" + off
	case strings.Contains(s, "Syntax error") || strings.Contains(s, "syntax error"):
		if strings.Contains(s, ": eof") || strings.Contains(s, "EOF") {
			return "truncated entry (unexpected end of line)"
		}
		if m := sonicMsg.FindStringSubmatch(s); m != nil {
			return "syntax error" + off + ": " + m[1]
		}
		return "syntax error" + off
	}
	return "invalid JSON" + off
}

var (
	sonicIndex = regexp.MustCompile(`at index (\d{1,12}):`)
	// sonicMsg is sonic's fixed description of the error (lower-case words), never input text.
	sonicMsg = regexp.MustCompile(`at index \d{1,12}: ([a-z][a-z ]{0,40})$`)
)

// valueFree keeps a JSON field path only when it looks like one (it comes from our struct tags).
func valueFree(s string) string {
	for _, r := range s {
		if !(r == '.' || r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return "?"
		}
	}
	return s
}
