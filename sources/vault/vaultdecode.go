package vault

import (
	"bytes"
	"encoding/binary"
	"encoding/json"

	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"
)

// vaultLine is one decoded audit entry: the fields of vaultEntry held as values, with a flag
// where vaultEntry has a pointer. Filled by decodeVaultFast, its strings point into the line
// being decoded; filled from vaultEntry (the sonic path) they are sonic's. Either way nothing
// in it may outlive the read buffer unless interned.
type vaultLine struct {
	Time, Type, Error string
	Auth              vaultAuthFields

	// request
	ID, Operation, Path, MountPoint, MountType string
	NSPath                                     string
	RemoteAddress, ClientTokenAccessor         string
	UserAgent                                  string
	HasUA                                      bool
	NoParent                                   bool

	HasAuth, HasRequest bool // the objects were there (even empty)

	// response
	HasResponse   bool
	HasRespAuth   bool
	RespAuth      vaultAuthFields
	RespDataError bool
}

type vaultAuthFields struct {
	Accessor, DisplayName, EntityID, TokenType string
	Policies, TokenPolicies, IdentityPolicies  []string
	SAName, SANamespace, CanonicalARN          string // from metadata (vaultAuthMeta)
}

func (a *vaultAuthFields) reset() {
	p, tp, ip := a.Policies[:0], a.TokenPolicies[:0], a.IdentityPolicies[:0]
	*a = vaultAuthFields{}
	// Keep the backing arrays; nil-ness is not observable (only lengths are read).
	a.Policies, a.TokenPolicies, a.IdentityPolicies = p, tp, ip
}

func (v *vaultLine) reset() {
	a, r := v.Auth, v.RespAuth
	*v = vaultLine{Auth: a, RespAuth: r}
	v.Auth.reset()
	v.RespAuth.reset()
}

// fromEntry fills v from what sonic decoded.
func (v *vaultLine) fromEntry(e *vaultEntry) {
	v.reset()
	v.Time, v.Type, v.Error = e.Time, e.Type, e.Error
	if e.Auth != nil {
		v.HasAuth = true
		v.Auth.from(e.Auth)
	}
	if rq := e.Request; rq != nil {
		v.HasRequest = true
		v.ID, v.Operation, v.Path, v.MountPoint, v.MountType = rq.ID, rq.Operation, rq.Path, rq.MountPoint, rq.MountType
		v.RemoteAddress, v.ClientTokenAccessor = rq.RemoteAddress, rq.ClientTokenAccessor
		if rq.Namespace != nil {
			v.NSPath = rq.Namespace.Path
		}
		if rq.Headers != nil && len(rq.Headers.UserAgent) > 0 {
			v.HasUA, v.UserAgent = true, rq.Headers.UserAgent[0]
		}
		v.NoParent = rq.Data != nil && bool(rq.Data.NoParent)
	}
	if rs := e.Response; rs != nil {
		v.HasResponse = true
		if rs.Auth != nil {
			v.HasRespAuth = true
			v.RespAuth.from(rs.Auth)
		}
		v.RespDataError = rs.Data != nil && bool(rs.Data.Error)
	}
}

func (a *vaultAuthFields) from(au *vaultAuth) {
	a.Accessor, a.DisplayName, a.EntityID, a.TokenType = au.Accessor, au.DisplayName, au.EntityID, au.TokenType
	a.Policies = append(a.Policies[:0], au.Policies...)
	a.TokenPolicies = append(a.TokenPolicies[:0], au.TokenPolicies...)
	a.IdentityPolicies = append(a.IdentityPolicies[:0], au.IdentityPolicies...)
	if m := au.Metadata; m != nil {
		a.SAName, a.SANamespace, a.CanonicalARN = m.ServiceAccountName, m.ServiceAccountNamespace, m.CanonicalARN
	}
}

// decodeVaultFast decodes one audit entry (b starts with '{') into v without allocating,
// reading only the fields vaultEntry has and skipping the rest (request and response bodies
// are never materialised).
//
// It is a fast path in front of sonic, not a second definition of valid input: it accepts a
// line only when sonic would accept it and decode the same values, with one exception: nesting
// inside a field it skips has no depth limit (sonic stops at 4096; Vault writes 10,000), so a
// deep request body does not lose the entry (differential test and fuzz
// target in vaultdecode_test.go). Everything unusual returns false and the caller asks sonic,
// whose verdict and error text then apply unchanged: any syntax error, a value of the wrong
// type for a field, an escape sequence in a needed string, a key with an escape or a non-ASCII
// byte (case folding beyond ASCII), a needed key given twice, nesting deeper than jscan.MaxDepth.
// Like sonic, it validates the structure, numbers and literals everywhere but does not check
// escapes or UTF-8 inside the strings it skips.
func decodeVaultFast(b []byte, v *vaultLine) bool {
	v.reset()
	s := scanner{jscan.Scanner{B: b}}
	if !s.top(v) {
		return false
	}
	s.WS()
	return s.I == len(s.B)
}

var (
	topNames     = []string{"time", "type", "error", "auth", "request", "response"}
	authNames    = []string{"accessor", "display_name", "policies", "token_policies", "identity_policies", "entity_id", "token_type", "metadata"}
	metaNames    = []string{"service_account_name", "service_account_namespace", "canonical_arn"}
	requestNames = []string{"id", "operation", "path", "mount_point", "mount_type", "namespace", "remote_address", "client_token_accessor", "headers", "data"}
	nsNames      = []string{"id", "path"}
	headerNames  = []string{"user-agent"}
	reqDataNames = []string{"no_parent"}
	responseName = []string{"auth", "data"}
	respDataName = []string{"error"}
)

func (s *scanner) top(v *vaultLine) bool {
	empty, _, ok := s.ObjectStart()
	if !ok || empty {
		return ok
	}
	return s.Members(1, topNames, func(f int) bool {
		switch f {
		case 0:
			return s.StrValue(&v.Time)
		case 1:
			return s.StrValue(&v.Type)
		case 2:
			return s.StrValue(&v.Error)
		case 3:
			return s.auth(&v.Auth, &v.HasAuth)
		case 4:
			return s.request(v)
		default:
			return s.response(v)
		}
	})
}

// auth reads an auth object into a; present (when not nil) says whether it was an object.
func (s *scanner) auth(a *vaultAuthFields, present *bool) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null {
		return ok
	}
	if present != nil {
		*present = true
	}
	if empty {
		return true
	}
	return s.Members(2, authNames, func(f int) bool {
		switch f {
		case 0:
			return s.StrValue(&a.Accessor)
		case 1:
			return s.StrValue(&a.DisplayName)
		case 2:
			return s.StrList(&a.Policies)
		case 3:
			return s.StrList(&a.TokenPolicies)
		case 4:
			return s.StrList(&a.IdentityPolicies)
		case 5:
			return s.StrValue(&a.EntityID)
		case 6:
			return s.StrValue(&a.TokenType)
		default:
			return s.authMeta(a)
		}
	})
}

// authMeta reads the workload names of the token metadata (vaultAuthMeta).
func (s *scanner) authMeta(a *vaultAuthFields) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null || empty {
		return ok
	}
	return s.Members(3, metaNames, func(f int) bool {
		switch f {
		case 0:
			return s.StrValue(&a.SAName)
		case 1:
			return s.StrValue(&a.SANamespace)
		default:
			return s.StrValue(&a.CanonicalARN)
		}
	})
}

func (s *scanner) request(v *vaultLine) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null {
		return ok
	}
	v.HasRequest = true
	if empty {
		return true
	}
	return s.Members(2, requestNames, func(f int) bool {
		switch f {
		case 0:
			return s.StrValue(&v.ID)
		case 1:
			return s.StrValue(&v.Operation)
		case 2:
			return s.StrValue(&v.Path)
		case 3:
			return s.StrValue(&v.MountPoint)
		case 4:
			return s.StrValue(&v.MountType)
		case 5:
			return s.namespace(v)
		case 6:
			return s.StrValue(&v.RemoteAddress)
		case 7:
			return s.StrValue(&v.ClientTokenAccessor)
		case 8:
			return s.headers(v)
		default:
			return s.requestData(v)
		}
	})
}

func (s *scanner) namespace(v *vaultLine) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null || empty {
		return ok
	}
	var id string
	return s.Members(3, nsNames, func(f int) bool {
		if f == 0 {
			return s.StrValue(&id) // not used, but sonic checks its type
		}
		return s.StrValue(&v.NSPath)
	})
}

func (s *scanner) headers(v *vaultLine) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null || empty {
		return ok
	}
	return s.Members(3, headerNames, func(int) bool {
		v.UserAgent, v.HasUA = "", false
		return s.StrListFirst(&v.UserAgent, &v.HasUA)
	})
}

func (s *scanner) requestData(v *vaultLine) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null || empty {
		return ok
	}
	return s.Members(3, reqDataNames, func(int) bool {
		raw, ok := s.RawValue(3)
		v.NoParent = ok && string(raw) == "true" // lenientBool
		return ok
	})
}

func (s *scanner) response(v *vaultLine) bool {
	empty, null, ok := s.ObjectStart()
	if !ok || null {
		return ok
	}
	v.HasResponse = true
	if empty {
		return true
	}
	return s.Members(2, responseName, func(f int) bool {
		if f == 0 {
			return s.auth(&v.RespAuth, &v.HasRespAuth)
		}
		empty, null, ok := s.ObjectStart()
		if !ok || null || empty {
			return ok
		}
		return s.Members(3, respDataName, func(int) bool {
			raw, ok := s.RawValue(3)
			v.RespDataError = ok && string(raw) != "null" // lenientPresent
			return ok
		})
	})
}

// scanner is the shared JSON scanner with the Vault entry's own walkers on top.
type scanner struct{ jscan.Scanner }

// badStringReason is the problem of a line validStrings rejects.
const badStringReason = "invalid JSON: syntax error: raw control character or bad escape"

// validStrings reports whether the strings of b, a line one of the decoders accepted, are
// valid JSON strings as encoding/json sees them: no raw control character (U+0000-U+001F) and
// no escape other than \" \\ \/ \b \f \n \r \t and \u with four hex digits. sonic and the
// fast path pass over both in the strings they skip (and sonic takes raw control characters
// in the strings it decodes), so without this check a line encoding/json calls malformed
// would be an event.
//
// It is cheap because the structure is known to be valid: every backslash is in a string and
// starts an escape, so the escapes are found with bytes.IndexByte, and a control byte is
// looked for eight bytes at a time. A line with a control byte (a tab between tokens is
// white space, in a string it is not) is rare enough to ask encoding/json itself.
func validStrings(b []byte) bool {
	for i := bytes.IndexByte(b, '\\'); i >= 0; {
		if i+1 >= len(b) {
			return false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return false
			}
			i += 6
		default:
			return false
		}
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	if hasControl(b) {
		return json.Valid(b)
	}
	return true
}

func isHex(c byte) bool { return c-'0' < 10 || (c|0x20)-'a' < 6 }

// hasControl reports whether b holds a byte below 0x20.
func hasControl(b []byte) bool {
	const (
		lsb = 0x0101010101010101
		msb = 0x8080808080808080
	)
	// The top bit of a byte below 0x20 survives (x - 0x20...) &^ x; a borrow can mark a byte
	// above a marked one, never a word without one. Four words a round: one branch per 32 bytes.
	i := 0
	for ; i+32 <= len(b); i += 32 {
		w0, w1 := binary.LittleEndian.Uint64(b[i:]), binary.LittleEndian.Uint64(b[i+8:])
		w2, w3 := binary.LittleEndian.Uint64(b[i+16:]), binary.LittleEndian.Uint64(b[i+24:])
		if ((w0-lsb*0x20)&^w0|(w1-lsb*0x20)&^w1|(w2-lsb*0x20)&^w2|(w3-lsb*0x20)&^w3)&msb != 0 {
			return true
		}
	}
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-lsb*0x20)&^x&msb != 0 {
			return true
		}
	}
	for ; i < len(b); i++ {
		if b[i] < 0x20 {
			return true
		}
	}
	return false
}
