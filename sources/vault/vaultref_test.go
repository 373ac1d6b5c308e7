package vault

// The serial Vault reader as it was before the parallel pipeline, kept as a test
// oracle: readVault must produce exactly what it produces, event for event and statistic for
// statistic, whatever the chunk size.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/bytedance/sonic"
)

// refReadVault reads r the old way: line by line, sonic for every line.
func refReadVault(name string, r io.Reader, maxLine int, st *sources.FileStats) []event.Event {
	vr := &refVaultReader{file: name, st: st, in: sources.NewInterner(), pending: map[string][]int{}, early: map[string][]refEarly{}}
	n, err := sources.ForEachLine(bufio.NewReaderSize(r, 256<<10), maxLine, func(line []byte, n int, tooLong bool) {
		st.Lines++
		if tooLong {
			st.Skip("too-long")
			if len(st.Problems) < sources.MaxProblemsListed {
				st.Problems = append(st.Problems, sources.Problem{Line: n, Reason: fmt.Sprintf("line longer than %d bytes, skipped", maxLine)})
			}
			return
		}
		vr.line(line, n)
	})
	st.Bytes = n
	if err != nil {
		st.ReadError = fmt.Sprintf("read %s after line %d (byte %d): %v (everything before it is kept)", name, st.Lines, n, err)
	}
	return vr.finish()
}

func refPrincipal(au *vaultAuth, ns string) string {
	return vaultPrincipal(au.EntityID, ns, au.DisplayName)
}

func refPolicies(au *vaultAuth) []string {
	ps := effectivePolicies(nil, au.Policies, au.TokenPolicies, au.IdentityPolicies)
	if len(ps) == 0 {
		return nil
	}
	return ps
}

type refVaultReader struct {
	file    string
	st      *sources.FileStats
	in      *sources.Interner
	pending map[string][]int      // request id -> indexes into out, oldest first
	early   map[string][]refEarly // request id -> responses seen before their request, oldest first
	waiting int                   // entries in pending and early
	out     []event.Event
	noResp  []bool // parallel to out: still waiting for a response
	badAddr []bool // parallel to out: remote_address logged and not an IP
}

// refEarly is a response that came before its request: its event's index and the entry.
type refEarly struct {
	i int
	e vaultEntry
}

// line decodes one line. It never fails the file: problems are counted in the statistics.
func (vr *refVaultReader) line(line []byte, n int) {
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
		vr.st.Bad(n, "invalid JSON: "+sources.ShortJSONError(err))
		return
	}
	if !json.Valid(trimmed) {
		vr.st.Bad(n, badStringReason) // what sonic lets through and encoding/json does not
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
	if e.Auth == nil && e.Request == nil {
		vr.st.Bad(n, "Vault audit entry without auth or request (reshaped by a log shipper? flattened keys such as request_path are not read)")
		return
	}
	if e.Request == nil {
		e.Request = &vaultRequest{}
	}
	if e.Auth == nil {
		e.Auth = &vaultAuth{}
	}
	vr.st.Parsed++
	vr.st.Seen(t)

	id := e.Request.ID
	bad := e.Request.RemoteAddress != "" && !sources.ParseAddr(e.Request.RemoteAddress).IsValid()
	if e.Type == "response" {
		if q := vr.pending[id]; len(q) > 0 && id != "" {
			i := q[0]
			if len(q) == 1 {
				delete(vr.pending, id)
			} else {
				vr.pending[id] = q[1:]
			}
			vr.waiting--
			vr.noResp[i] = false
			vr.applyResponse(&vr.out[i], &e)
			return
		}
		ev := vr.base(&e, t, n)
		ev.Flags |= event.FlagResponseOnly
		vr.applyResponse(&ev, &e)
		vr.out = append(vr.out, ev)
		vr.noResp = append(vr.noResp, false)
		vr.badAddr = append(vr.badAddr, bad)
		if id != "" {
			vr.makeRoom()
			vr.early[id] = append(vr.early[id], refEarly{len(vr.out) - 1, e})
			vr.waiting++
		}
		return
	}
	if q := vr.early[id]; len(q) > 0 && id != "" {
		// The response came first: the request's event takes the place of the response's.
		if len(q) == 1 {
			delete(vr.early, id)
		} else {
			vr.early[id] = q[1:]
		}
		vr.waiting--
		ev := vr.base(&e, t, n)
		vr.applyResponse(&ev, &q[0].e)
		vr.out[q[0].i], vr.badAddr[q[0].i] = ev, bad
		return
	}
	ev := vr.base(&e, t, n)
	vr.out = append(vr.out, ev)
	vr.noResp = append(vr.noResp, true)
	vr.badAddr = append(vr.badAddr, bad)
	if id != "" {
		vr.makeRoom()
		vr.pending[id] = append(vr.pending[id], len(vr.out)-1)
		vr.waiting++
	}
}

// makeRoom forgets everything waiting when one more would pass maxPending.
func (vr *refVaultReader) makeRoom() {
	if vr.waiting >= maxPending {
		vr.pending, vr.early, vr.waiting = map[string][]int{}, map[string][]refEarly{}, 0
	}
}

// finish marks the requests that never got a response and returns the file's events.
func (vr *refVaultReader) finish() []event.Event {
	for i, waiting := range vr.noResp {
		if waiting {
			vr.out[i].Flags |= event.FlagRequestOnly
		}
	}
	bad := 0
	for _, b := range vr.badAddr {
		if b {
			bad++
		}
	}
	if bad > 0 {
		vr.st.Note = badAddrNote(bad)
	}
	vr.st.Events += len(vr.out)
	out := vr.out
	vr.out, vr.noResp, vr.badAddr, vr.pending, vr.early = nil, nil, nil, nil, nil
	return out
}

// base builds the event a request entry describes (a response entry repeats the request).
func (vr *refVaultReader) base(e *vaultEntry, t time.Time, n int) event.Event {
	rq, au := e.Request, e.Auth
	in := vr.in
	ev := event.Event{Time: t, Pos: event.Pos{File: vr.file, Line: n}, Kind: event.KindVault}
	ns := ""
	if rq.Namespace != nil && rq.Namespace.Path != "" {
		ns = rq.Namespace.Path
		if !strings.HasSuffix(ns, "/") {
			ns += "/"
		}
	}
	ev.Namespace = in.Str(ns)
	rel := stripQuery(rq.Path)
	full := rel
	if ns != "" && !strings.HasPrefix(rel, ns) {
		full = ns + rel
	}
	ev.Path = in.Str(full)
	ev.Action = in.Str(rq.Operation)
	ev.Credential = in.Str(cmp.Or(au.Accessor, rq.ClientTokenAccessor))
	ev.DisplayName = in.Str(au.DisplayName)
	ev.Principal = in.Str(refPrincipal(au, ns))
	ev.Policies = in.List(refPolicies(au))
	ev.Workload = in.Str(refWorkload(au))
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
	if rq.RemoteAddress != "" {
		ev.RemoteAddr = sources.ParseAddr(rq.RemoteAddress)
	}
	if rq.Headers != nil && len(rq.Headers.UserAgent) > 0 {
		ev.UserAgent = in.Str(rq.Headers.UserAgent[0])
		if sources.InteractiveClient(ev.UserAgent) {
			ev.Flags |= event.FlagInteractive
		}
	}
	if rq.Data != nil && bool(rq.Data.NoParent) {
		ev.Flags |= event.FlagOrphan
	}
	mount, mtype := rq.MountPoint, rq.MountType
	ev.Mount, ev.MountType = in.Str(mount), in.Str(mtype)
	ev.Op = vaultOp(rq.Operation, full, ns)
	if ev.Op == event.OpAdmin && strings.HasPrefix(strings.TrimPrefix(full, ns), "auth/token/create") {
		if strings.Contains(full, "create-orphan") {
			ev.Flags |= event.FlagOrphan
		}
	}
	if ev.Has(event.FlagUnauthenticated) && ev.Op == event.OpAdmin {
		ev.Op = event.OpOther // a request without a token cannot administer anything (OIDC auth_url, ...)
	}
	ev.Resource = in.Str(NormalizePath(full, mount, mtype))
	ev.Outcome = vaultOutcome(e.Error)
	setPathFacts(&ev)
	return ev
}

// applyResponse folds what only the response knows into ev: the outcome, the identity that a
// login produced, and the policies of a token that was created.
func (vr *refVaultReader) applyResponse(ev *event.Event, e *vaultEntry) {
	if o := vaultOutcome(e.Error); o > ev.Outcome {
		ev.Outcome = o
	}
	if ev.Mount == "" && e.Request.MountPoint != "" {
		ev.Mount, ev.MountType = vr.in.Str(e.Request.MountPoint), vr.in.Str(e.Request.MountType)
		ev.Resource = vr.in.Str(NormalizePath(ev.Path, ev.Mount, ev.MountType))
		setPathFacts(ev)
	}
	rs := e.Response
	if rs == nil {
		return
	}
	ns := ev.Namespace
	if rs.Auth != nil && (rs.Auth.Accessor != "" || rs.Auth.DisplayName != "") {
		if ev.Has(event.FlagUnauthenticated) || ev.Op == event.OpLogin {
			// A login: the response carries the identity that just authenticated.
			ev.Op = event.OpLogin
			ev.Flags &^= event.FlagUnauthenticated
			ev.Credential = vr.in.Str(rs.Auth.Accessor)
			ev.DisplayName = vr.in.Str(rs.Auth.DisplayName)
			ev.Principal = vr.in.Str(refPrincipal(rs.Auth, ns))
			ev.Policies = vr.in.List(refPolicies(rs.Auth))
			ev.Workload = vr.in.Str(refWorkload(rs.Auth))
			ev.Class = vaultClass(ev.DisplayName, ev.Workload)
		} else {
			ev.NewPolicies = vr.in.List(refPolicies(rs.Auth))
		}
	} else if ev.Op == event.OpLogin && ev.Outcome == event.OutcomeOK && rs.Data != nil && bool(rs.Data.Error) {
		// OpenBao logs a login for an unknown user with no error field at all; only
		// response.data.error and the missing response.auth show the failure.
		ev.Outcome = event.OutcomeDenied
	}
}

// refWorkload names the workload a token's metadata links it to.
func refWorkload(au *vaultAuth) string {
	if au == nil || au.Metadata == nil {
		return ""
	}
	m := au.Metadata
	if m.ServiceAccountName != "" && m.ServiceAccountNamespace != "" {
		return "system:serviceaccount:" + m.ServiceAccountNamespace + ":" + m.ServiceAccountName
	}
	if strings.HasPrefix(m.CanonicalARN, "arn:") {
		return m.CanonicalARN
	}
	return ""
}
