package vault

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

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
	Accessor         string         `json:"accessor"`
	DisplayName      string         `json:"display_name"`
	Policies         []string       `json:"policies"`
	TokenPolicies    []string       `json:"token_policies"`
	IdentityPolicies []string       `json:"identity_policies"`
	EntityID         string         `json:"entity_id"`
	TokenType        string         `json:"token_type"`
	Metadata         *vaultAuthMeta `json:"metadata"`
}

// vaultAuthMeta picks the token metadata that names the workload behind a Vault identity in
// another store: the kubernetes auth method's service account, the aws auth method's IAM
// principal. The map's other keys (role, email, ...) are skipped.
type vaultAuthMeta struct {
	ServiceAccountName      string `json:"service_account_name"`
	ServiceAccountNamespace string `json:"service_account_namespace"`
	CanonicalARN            string `json:"canonical_arn"`
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

// vaultBuilder turns decoded entries into events. Each decode worker has its own (the
// interner behind it is shared).
type vaultBuilder struct {
	file string
	in   *sources.LocalInterner
	v    vaultLine
	// extra are the records after the first of a shipped line that holds several (a Loki
	// query_range or Elasticsearch _search response); chunk appends them after the line's.
	extra []vaultRec
}

// decodeLine decodes one line into rec (its kind, and for an entry its base event and what its
// response adds). It never fails the file: problems are recorded in rec.
//
// A response entry nearly always joins its request, which already has the base event; unless
// full is set, only the time of its base event is filled in and rec.line keeps the line, so
// the pairing stage can decode it again in the rare case it stands alone.
func (b *vaultBuilder) decodeLine(line []byte, rec *vaultRec, full bool) {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 {
		rec.kind = recBlank
		return
	}
	if trimmed[0] != '{' {
		// A shipped shape that is not a JSON object (shipped_more.go): a CRI log line, a JSON
		// array on one line. A raw line starts with '{' and never gets here.
		if b.cri(trimmed, rec, full) {
			return
		}
		if trimmed[0] == '[' {
			if recs := jsonArray(trimmed); recs != nil {
				b.applyShipped(recs, rec, full)
				return
			}
		}
		// The device option "prefix" puts free text before the JSON object.
		i := bytes.IndexByte(trimmed, '{')
		if i < 0 || i > sources.MaxPrefix {
			rec.kind, rec.reason = recBad, describeGarbage(trimmed)
			return
		}
		trimmed = trimmed[i:]
	}
	b.decodeEntry(line, trimmed, rec, full, true)
}

// decodeEntry decodes the JSON object trimmed (of line) into rec. outer is set for a line of
// the input, which may be a shipped shape (shipped.go); an entry made from one is not.
func (b *vaultBuilder) decodeEntry(line, trimmed []byte, rec *vaultRec, full, outer bool) {
	v := &b.v
	if !decodeVaultFast(trimmed, v) {
		var e vaultEntry
		if err := sonic.Unmarshal(trimmed, &e); err != nil {
			if outer && b.shipped(trimmed, rec, full) {
				return // an Elasticsearch document's error is an object, not Vault's string
			}
			rec.kind, rec.reason = recBad, "invalid JSON: "+sources.ShortJSONError(err)
			return
		}
		v.fromEntry(&e)
	}
	if !validStrings(trimmed) {
		// Both decoders pass over what encoding/json rejects in strings; the line is not JSON.
		rec.kind, rec.reason = recBad, badStringReason
		return
	}
	if outer && (v.Type == "" || !v.HasAuth && !v.HasRequest) && b.shipped(trimmed, rec, full) {
		return // a raw line has both: only a line the raw reading cannot use gets here
	}
	if v.Type != "request" && v.Type != "response" {
		if v.Type == "" {
			rec.kind, rec.reason = recBad, "not a Vault audit entry: no \"type\""
		} else {
			rec.kind = recUnknownType
		}
		return
	}
	t, err := parseVaultTime(v.Time)
	if err != nil {
		rec.kind, rec.reason = recBad, "invalid time: "+err.Error()
		return
	}
	if !v.HasAuth && !v.HasRequest {
		// Every entry the audit device writes has a request object. Without it and without auth
		// nothing a detector uses is there: a record a shipper reshaped (Fluent Bit nest/lift
		// puts request_* and auth_* at the top level) is not an empty event.
		rec.kind, rec.reason = recBad, "Vault audit entry without auth or request (reshaped by a log shipper? flattened keys such as request_path are not read)"
		return
	}
	rec.kind = recEntry
	rec.id = makeReqID(v.ID)
	rec.isResp = v.Type == "response"
	if rec.isResp {
		b.response(v, &rec.resp)
		if !full {
			rec.ev.Time, rec.line = t, line
			return
		}
	}
	rec.ev = b.base(v, t)
	rec.badAddr = v.RemoteAddress != "" && !rec.ev.RemoteAddr.IsValid()
}

// base builds the event a request entry describes (a response entry repeats the request).
// Every string it keeps is interned: v's strings may point into the read buffer.
func (b *vaultBuilder) base(v *vaultLine, t time.Time) event.Event {
	in := b.in
	ev := event.Event{Time: t, Pos: event.Pos{File: b.file}, Kind: event.KindVault}
	ns := ""
	if v.NSPath != "" {
		ns = v.NSPath
		if !strings.HasSuffix(ns, "/") {
			ns += "/"
		}
	}
	ev.Namespace = in.Str(ns)
	rel := stripQuery(v.Path)
	if ns != "" && !strings.HasPrefix(rel, ns) {
		ev.Path = in.Concat(ns, rel)
	} else {
		ev.Path = in.Str(rel)
	}
	full := ev.Path
	au := &v.Auth
	ev.Action = in.Str(v.Operation)
	ev.Credential = in.Str(cmp.Or(au.Accessor, v.ClientTokenAccessor))
	ev.DisplayName = in.Str(au.DisplayName)
	ev.Principal = internPrincipal(in, au.EntityID, ns, au.DisplayName)
	ev.Policies = internPolicies(in, au.Policies, au.TokenPolicies, au.IdentityPolicies)
	ev.Workload = workloadOf(in, au)
	ev.Class = vaultClass(ev.DisplayName, ev.Workload)
	if slices.Contains(ev.Policies, "root") {
		ev.Flags |= event.FlagRootToken
	}
	if au.TokenType == "batch" {
		ev.Flags |= event.FlagBatchToken
	}
	if au.Accessor == "" && au.DisplayName == "" && au.EntityID == "" {
		ev.Flags |= event.FlagUnauthenticated
	}
	if v.RemoteAddress != "" {
		ev.RemoteAddr = sources.ParseAddr(v.RemoteAddress)
	}
	if v.HasUA {
		ev.UserAgent = in.Str(v.UserAgent)
		if sources.InteractiveClient(ev.UserAgent) {
			ev.Flags |= event.FlagInteractive
		}
	}
	if v.NoParent {
		ev.Flags |= event.FlagOrphan
	}
	ev.Mount, ev.MountType = in.Str(v.MountPoint), in.Str(v.MountType)
	ev.Op = vaultOp(v.Operation, full, ns)
	if ev.Op == event.OpAdmin && strings.HasPrefix(strings.TrimPrefix(full, ns), "auth/token/create") {
		if strings.Contains(full, "create-orphan") {
			ev.Flags |= event.FlagOrphan
		}
	}
	if ev.Has(event.FlagUnauthenticated) && ev.Op == event.OpAdmin {
		ev.Op = event.OpOther // a request without a token cannot administer anything (OIDC auth_url, ...)
	}
	ev.Resource = in.Concat(normalizeVaultPath(full, ev.Mount, ev.MountType))
	ev.Outcome = vaultOutcome(v.Error)
	setPathFacts(&ev)
	return ev
}

// SetFacts sets on ev what the reader derives from a request's path, mount and operation (the
// FlagControl, FlagMaintenance and FlagValueRead flags and Name), for events built by hand as
// this reader would build them (other packages' tests).
func SetFacts(ev *event.Event) { setPathFacts(ev) }

// pathFactFlags are the flags setPathFacts owns.
const pathFactFlags = event.FlagControl | event.FlagMaintenance | event.FlagValueRead

// setPathFacts sets what the request's path says (pathFacts, secretName) from ev's path, mount
// and operation; called again when a response supplies the mount or turns the request into a
// login.
func setPathFacts(ev *event.Event) {
	rel := strings.TrimPrefix(stripQuery(ev.Path), ev.Namespace)
	mount := strings.TrimPrefix(ev.Mount, ev.Namespace)
	ev.Flags = ev.Flags&^pathFactFlags | pathFacts(rel, mount, ev.MountType, ev.Op)
	if name := secretName(rel, mount, ev.MountType); name != "" && strings.HasSuffix(ev.Resource, name) {
		ev.SetName(len(ev.Resource) - len(name))
	} else {
		ev.SetName(-1)
	}
}

// controlRoots are the namespace-relative path roots of Vault's control plane: the system
// backend, auth methods, identity and the per-token cubbyhole. Nothing under them is a secret.
var controlRoots = []string{"sys/", "auth/", "identity/", "cubbyhole/"}

// maintenancePaths are what every client does to keep its token and leases alive.
var maintenancePaths = []string{"auth/token/renew", "auth/token/lookup-self", "sys/leases/renew", "sys/renew",
	"sys/capabilities-self"}

// nonValueMounts are engines whose reads return no secret value: the system backend, the token
// store and identity (also as namespace mounts), transit (key metadata, public keys) and pki
// (certificates).
var nonValueMounts = map[string]bool{"system": true, "token": true, "identity": true, "ns_system": true,
	"ns_token": true, "ns_identity": true, "transit": true, "pki": true}

// pathFacts are the typed facts the path of a request gives (rel is namespace-relative, mount
// too): control plane, client upkeep, and whether a successful read returns a secret's value
// (a KV read of data rather than metadata or subkeys; a dynamic secrets engine's credentials;
// what a token keeps in its cubbyhole).
func pathFacts(rel, mount, mountType string, op event.Op) event.Flags {
	var f event.Flags
	for _, r := range controlRoots {
		if strings.HasPrefix(rel, r) {
			f |= event.FlagControl
			break
		}
	}
	for _, m := range maintenancePaths {
		if strings.HasPrefix(rel, m) {
			f |= event.FlagMaintenance
			break
		}
	}
	// A token's cubbyhole holds secrets (response wrapping) even though it is not a secrets engine.
	cubbyhole := strings.HasPrefix(rel, "cubbyhole/")
	if op != event.OpRead || (f&event.FlagControl != 0 && !cubbyhole) || nonValueMounts[mountType] || strings.HasPrefix(mountType, "auth") {
		return f
	}
	if mountType == "kv" || mountType == "generic" || mountType == "" {
		if mount != "" && strings.HasPrefix(rel, mount) {
			rest := rel[len(mount):]
			if strings.HasPrefix(rest, "metadata/") || strings.HasPrefix(rest, "subkeys/") {
				return f
			}
		} else if _, b := normalizeVaultPath(rel, "", ""); b != "" {
			// No mount in the log: "x/metadata/y" read as KV v2 is metadata.
			if i := strings.IndexByte(rel, '/'); i > 0 && (strings.HasPrefix(rel[i+1:], "metadata/") || strings.HasPrefix(rel[i+1:], "subkeys/")) {
				return f
			}
		}
	}
	return f | event.FlagValueRead
}

// secretName is the secret's name within its mount: a KV path without the mount and the KV v2
// verb ("prod/db" for "kv/data/prod/db"), the rest of the path on other engines ("creds/app"
// on database/); empty on the control plane.
func secretName(rel, mount, mountType string) string {
	for _, r := range controlRoots {
		if strings.HasPrefix(rel, r) {
			return ""
		}
	}
	m, rest := normalizeVaultPath(rel, mount, mountType)
	if rest != "" {
		return rest
	}
	if mount != "" && strings.HasPrefix(m, mount) {
		return strings.TrimSuffix(m[len(mount):], "/")
	}
	if i := strings.IndexByte(m, '/'); i > 0 {
		return strings.TrimSuffix(m[i+1:], "/")
	}
	return ""
}

// respInfo is what a response entry adds to its request's event, interned.
type respInfo struct {
	outcome     event.Outcome
	hasResponse bool
	hasAuth     bool // response.auth with an accessor or a display name
	dataError   bool
	mount       string // request.mount_point as the response logs it
	mountType   string
	credential  string
	displayName string
	entityID    string
	policies    []string
	workload    string
}

func (b *vaultBuilder) response(v *vaultLine, r *respInfo) {
	*r = respInfo{outcome: vaultOutcome(v.Error), hasResponse: v.HasResponse, dataError: v.RespDataError}
	r.mount, r.mountType = b.in.Str(v.MountPoint), b.in.Str(v.MountType)
	if a := &v.RespAuth; v.HasRespAuth && (a.Accessor != "" || a.DisplayName != "") {
		r.hasAuth = true
		r.credential, r.displayName, r.entityID = b.in.Str(a.Accessor), b.in.Str(a.DisplayName), b.in.Str(a.EntityID)
		r.policies = internPolicies(b.in, a.Policies, a.TokenPolicies, a.IdentityPolicies)
		r.workload = workloadOf(b.in, a)
	}
}

// personMounts and workloadMounts are the display-name prefixes Vault gives tokens of each
// auth method at its default path (the display name is the mount path with dashes, then the
// user or role): people log in through OIDC, userpass, LDAP, Okta, RADIUS, GitHub or SAML;
// machines through AppRole, Kubernetes, cloud IAM, certificates and JWT (CI).
var (
	personMounts   = []string{"oidc-", "userpass-", "ldap-", "okta-", "radius-", "github-", "saml-"}
	workloadMounts = []string{"approle", "kubernetes-", "k8s-", "aws-", "gcp-", "azure-", "cert-", "jwt-", "alicloud-", "oci-"}
)

// vaultClass says whether a token is a person's or a workload's: a token whose metadata names
// a service account or an IAM principal is a workload's; otherwise the auth mount in its display
// name decides, when it is at a default path; else unknown (a mount at a custom path, a token
// created by another).
func vaultClass(display, workload string) event.Class {
	if workload != "" {
		return event.ClassWorkload
	}
	for _, p := range personMounts {
		if strings.HasPrefix(display, p) {
			return event.ClassPerson
		}
	}
	for _, p := range workloadMounts {
		if strings.HasPrefix(display, p) {
			return event.ClassWorkload
		}
	}
	return event.ClassUnknown
}

// workloadOf is the identity in another store that a token's metadata names (event.Workload).
func workloadOf(in *sources.LocalInterner, a *vaultAuthFields) string {
	switch {
	case a.SAName != "" && a.SANamespace != "":
		return in.Join("system:serviceaccount:", a.SANamespace, ":", a.SAName)
	case strings.HasPrefix(a.CanonicalARN, "arn:"):
		return in.Str(a.CanonicalARN)
	}
	return ""
}

// applyResponse folds what only the response knows into ev: the outcome, the identity that a
// login produced, and the policies of a token that was created.
func applyResponse(ev *event.Event, r *respInfo, in *sources.LocalInterner) {
	if r.outcome > ev.Outcome {
		ev.Outcome = r.outcome
	}
	if ev.Mount == "" && r.mount != "" {
		ev.Mount, ev.MountType = r.mount, r.mountType
		ev.Resource = in.Concat(normalizeVaultPath(ev.Path, ev.Mount, ev.MountType))
		setPathFacts(ev)
	}
	if !r.hasResponse {
		return
	}
	if r.hasAuth {
		if ev.Has(event.FlagUnauthenticated) || ev.Op == event.OpLogin {
			// A login: the response carries the identity that just authenticated.
			ev.Op = event.OpLogin
			ev.Flags &^= event.FlagUnauthenticated
			ev.Credential = r.credential
			ev.DisplayName = r.displayName
			ev.Principal = internPrincipal(in, r.entityID, ev.Namespace, r.displayName)
			ev.Policies = r.policies
			ev.Workload = r.workload
			ev.Class = vaultClass(ev.DisplayName, ev.Workload)
		} else {
			ev.NewPolicies = r.policies
		}
	} else if ev.Op == event.OpLogin && ev.Outcome == event.OutcomeOK && r.dataError {
		// OpenBao logs a login for an unknown user with no error field at all; only
		// response.data.error and the missing response.auth show the failure.
		ev.Outcome = event.OutcomeDenied
	}
}

func vaultOutcome(msg string) event.Outcome {
	switch {
	case msg == "":
		return event.OutcomeOK
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "invalid credentials"),
		strings.Contains(msg, "invalid token"), strings.Contains(msg, "wrapping token is not valid"):
		return event.OutcomeDenied
	}
	return event.OutcomeError
}

// vaultPrincipal is the stable identity behind a token: the entity id where there is one, else
// the display name within its namespace (tokens created without an entity, the root token).
func vaultPrincipal(entityID, ns, displayName string) string {
	if entityID != "" {
		return entityID
	}
	if displayName != "" {
		return ns + displayName
	}
	return ""
}

// effectivePolicies are a token's policies: "policies" when logged, else token_policies plus
// identity_policies; sorted, without duplicates, appended to dst.
func effectivePolicies(dst, policies, tokenPolicies, identityPolicies []string) []string {
	dst = dst[:0]
	if len(policies) == 0 && (len(tokenPolicies) > 0 || len(identityPolicies) > 0) {
		dst = append(append(dst, tokenPolicies...), identityPolicies...)
	} else {
		dst = append(dst, policies...)
	}
	if len(dst) == 0 {
		return dst
	}
	slices.Sort(dst)
	return slices.Compact(dst)
}

// vaultOp classifies a request. Path is the full path (with namespace), ns its namespace prefix.
func vaultOp(op, path, ns string) event.Op {
	p := strings.TrimPrefix(path, ns)
	switch {
	case strings.HasPrefix(p, "auth/"):
		if isLoginPath(p) {
			return event.OpLogin
		}
		if strings.HasPrefix(p, "auth/token/create") {
			return event.OpAdmin
		}
		if strings.HasPrefix(p, "auth/token/") {
			if op == "list" {
				return event.OpList
			}
			return event.OpOther // renew, lookup, revoke of tokens
		}
		switch op {
		case "list":
			return event.OpList
		case "read":
			return event.OpOther
		}
		return event.OpAdmin
	case strings.HasPrefix(p, "sys/"):
		if op == "list" {
			return event.OpList
		}
		if strings.HasPrefix(p, "sys/leases/") || strings.HasPrefix(p, "sys/renew") ||
			strings.HasPrefix(p, "sys/wrapping/") || strings.HasPrefix(p, "sys/capabilities") ||
			strings.HasPrefix(p, "sys/internal/") || strings.HasPrefix(p, "sys/control-group/") {
			return event.OpOther // lease renewals and UI helpers are what every client does
		}
		return event.OpAdmin
	case strings.HasPrefix(p, "identity/"):
		switch op {
		case "list":
			return event.OpList
		case "read":
			return event.OpRead
		}
		return event.OpAdmin
	}
	switch op {
	case "read":
		return event.OpRead
	case "list":
		return event.OpList
	case "create", "update", "patch":
		return event.OpWrite
	case "delete":
		return event.OpDelete
	}
	return event.OpOther
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

// NormalizePath folds the KV v2 API paths of one secret into one name: "kv/data/x",
// "kv/metadata/x", "kv/delete/x", ... become "kv/x". A query string is dropped. mount is the
// request's mount point when the log has it (with its namespace prefix); without it a path
// whose second segment is a KV v2 verb is taken as KV v2 at its first segment. Other paths
// (KV v1, database/creds, sys/) are returned as they are.
func NormalizePath(path, mount, mountType string) string {
	a, b := normalizeVaultPath(path, mount, mountType)
	if b == "" {
		return a
	}
	return a + b
}

// normalizeVaultPath is NormalizePath as two parts to join, so a caller that interns the
// result can look it up without building it.
func normalizeVaultPath(path, mount, mountType string) (string, string) {
	path = stripQuery(path)
	if mount != "" {
		if mountType != "" && mountType != "kv" && mountType != "generic" {
			return path, ""
		}
		if !strings.HasPrefix(path, mount) {
			return path, ""
		}
		rest := path[len(mount):]
		for _, p := range kvV2Prefixes {
			if strings.HasPrefix(rest, p) {
				return mount, rest[len(p):]
			}
			if len(rest)+1 == len(p) && strings.HasPrefix(p, rest) { // "kv/metadata" listed without a slash
				return mount, ""
			}
		}
		return path, ""
	}
	if mountType != "" && mountType != "kv" {
		return path, ""
	}
	i := strings.IndexByte(path, '/')
	if i <= 0 {
		return path, ""
	}
	m, rest := path[:i+1], path[i+1:]
	if m == "sys/" || m == "auth/" || m == "identity/" || m == "cubbyhole/" {
		return path, ""
	}
	for _, p := range kvV2Prefixes {
		if strings.HasPrefix(rest, p) {
			return m, rest[len(p):]
		}
	}
	return path, ""
}

func stripQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// parseVaultTime parses Vault's RFC 3339 time (UTC, 1-9 fraction digits) and other offsets; a
// time outside the plausible years is an error.
func parseVaultTime(s string) (time.Time, error) {
	if t, ok := parseUTCTimeFast(s); ok {
		if s[0] == '2' && s[1] == '0' { // 2000-2099, without computing the year
			return t, nil
		}
		return plausibleTime(t)
	}
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
	return plausibleTime(t)
}

// The years an audit entry may carry: Vault appeared in 2015, and a time past 2099 is a
// forged or corrupt line. Taken at face value, one such line would move the time window and
// the baseline's notion of "before" (ten later reads new-resource), so it is malformed.
const (
	firstPlausibleYear = 2000
	lastPlausibleYear  = 2099
)

// plausibleTime returns t, or an error when its year is outside the plausible range.
func plausibleTime(t time.Time) (time.Time, error) {
	if y := t.Year(); y < firstPlausibleYear || y > lastPlausibleYear {
		return time.Time{}, fmt.Errorf("year %d outside %d-%d", y, firstPlausibleYear, lastPlausibleYear)
	}
	return t, nil
}

// parseUTCTimeFast parses the form Vault writes, "2006-01-02T15:04:05[.fraction]Z" with 1-9
// fraction digits, as time.Parse(time.RFC3339Nano) would (an invalid date is not accepted).
// Anything else returns false and goes to time.Parse.
func parseUTCTimeFast(s string) (time.Time, bool) {
	n := len(s)
	if n < 20 || n > 30 || s[n-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		v := 0
		for ; i < j; i++ {
			c := s[i] - '0'
			if c > 9 {
				return -1
			}
			v = v*10 + int(c)
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	nsec := 0
	if n > 20 {
		if s[19] != '.' || n == 21 {
			return time.Time{}, false
		}
		frac := num(20, n-1)
		if frac < 0 {
			return time.Time{}, false
		}
		for d := n - 21; d < 9; d++ {
			frac *= 10
		}
		nsec = frac
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int((m-1)%7%2)
}

func describeGarbage(b []byte) string {
	if bytes.Count(b, []byte{0}) == len(b) {
		return fmt.Sprintf("%d NUL bytes (lost file system block?)", len(b))
	}
	return "not a JSON object"
}
