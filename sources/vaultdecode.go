package sources

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
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

	// response
	HasResponse   bool
	HasRespAuth   bool
	RespAuth      vaultAuthFields
	RespDataError bool
}

type vaultAuthFields struct {
	Accessor, DisplayName, EntityID, TokenType string
	Policies, TokenPolicies, IdentityPolicies  []string
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
		v.Auth.from(e.Auth)
	}
	if rq := e.Request; rq != nil {
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
}

// decodeVaultFast decodes one audit entry (b starts with '{') into v without allocating,
// reading only the fields vaultEntry has and skipping the rest (request and response bodies
// are never materialised).
//
// It is a fast path in front of sonic, not a second definition of valid input: it accepts a
// line only when sonic would accept it and decode the same values (differential test and fuzz
// target in vaultdecode_test.go). Everything unusual returns false and the caller asks sonic,
// whose verdict and error text then apply unchanged: any syntax error, a value of the wrong
// type for a field, an escape sequence in a needed string, a key with an escape or a non-ASCII
// byte (case folding beyond ASCII), a needed key given twice, nesting deeper than maxFastDepth.
// Like sonic, it validates the structure, numbers and literals everywhere but does not check
// escapes or UTF-8 inside the strings it skips.
func decodeVaultFast(b []byte, v *vaultLine) bool {
	v.reset()
	s := jscan{b: b}
	if !s.top(v) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// maxFastDepth is far below sonic's own limit (4096); deeper input goes to sonic.
const maxFastDepth = 512

type jscan struct {
	b []byte
	i int
}

// ws passes over white space. Audit lines have none between tokens, so the check that there
// is some is kept small enough to inline.
func (s *jscan) ws() {
	if s.i < len(s.b) && s.b[s.i] <= ' ' {
		s.wsSlow()
	}
}

func (s *jscan) wsSlow() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// quoteOrBackslash marks (in the top bit of each byte) the bytes of x equal to '"' or '\\'.
// Only the lowest mark is exact, which is the one used.
func quoteOrBackslash(x uint64) uint64 {
	q := x ^ (lsb * '"')
	e := x ^ (lsb * '\\')
	return ((q-lsb)&^q | (e-lsb)&^e) & msb
}

// str reads the string starting at s.i (a '"'); raw is its content without decoding escapes.
func (s *jscan) str() (raw []byte, esc, ok bool) {
	b := s.b
	i := s.i + 1
	start := i
	for {
		for i+8 <= len(b) {
			if m := quoteOrBackslash(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return nil, false, false
		}
	found:
		if b[i] == '"' {
			s.i = i + 1
			return b[start:i], esc, true
		}
		esc = true
		i += 2 // the escaped byte, whatever it is (sonic does not validate skipped strings)
		if i > len(b) {
			return nil, false, false
		}
	}
}

func (s *jscan) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

func isDigit(c byte) bool { return c-'0' < 10 }

func (s *jscan) number() bool {
	b, i := s.b, s.i
	if b[i] == '-' {
		i++
		if i >= len(b) {
			return false
		}
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i == d {
			return false
		}
	}
	s.i = i
	return true
}

// skip passes over one value of any kind, validating it.
func (s *jscan) skip(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, _, ok := s.str()
		return ok
	case '{':
		return s.skipObject(depth + 1)
	case '[':
		return s.skipArray(depth + 1)
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || isDigit(c) {
			return s.number()
		}
	}
	return false
}

func (s *jscan) skipObject(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		if _, _, ok := s.str(); !ok {
			return false
		}
		if !s.colon() || !s.skip(depth) {
			return false
		}
		if done, ok := s.next('}'); !ok || done {
			return ok
		}
	}
}

func (s *jscan) skipArray(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		// Large bodies are mostly arrays of numbers (Vault does not HMAC them).
		if s.i < len(s.b) && isDigit(s.b[s.i]) {
			if !s.numbers() {
				return false
			}
		} else if !s.skip(depth) {
			return false
		}
		if done, ok := s.next(']'); !ok || done {
			return ok
		}
	}
}

// numbers passes over a run of plain numbers separated by commas ("0.6805,0.3971,12"), the
// shape of a large response body, leaving s.i after the last one. Each is checked as number
// does; anything it does not know (an exponent, a sign, space) is left to number.
func (s *jscan) numbers() bool {
	b, i := s.b, s.i
	for {
		start := i
		switch {
		case i < len(b) && b[i] == '0':
			i++
		case i < len(b) && b[i]-'1' < 9:
			i++
			for i < len(b) && isDigit(b[i]) {
				i++
			}
		default:
			s.i = start
			return s.number()
		}
		if i < len(b) && b[i] == '.' {
			i++
			d := i
			for i < len(b) && isDigit(b[i]) {
				i++
			}
			if i == d {
				return false
			}
		}
		if i >= len(b) {
			s.i = i
			return true
		}
		switch b[i] {
		case ',':
			if i+1 < len(b) && isDigit(b[i+1]) {
				i++
				continue
			}
		case 'e', 'E':
			s.i = start
			return s.number()
		}
		s.i = i
		return true
	}
}

// colon passes over the ':' after a key and the white space around it.
func (s *jscan) colon() bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// next passes over the ',' between members (done=false) or the closing byte (done=true).
func (s *jscan) next(closer byte) (done, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.ws()
		return false, true
	case closer:
		s.i++
		return true, true
	}
	return false, false
}

// view is the string a raw byte slice holds, without copying: valid as long as the line is.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// strValue reads a string field: a string without escapes, or null (no change, as with
// encoding/json). Anything else is for sonic.
func (s *jscan) strValue(dst *string) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		raw, esc, ok := s.str()
		if !ok {
			return false
		}
		if esc {
			// Denials log "1 error occurred:\n\t* permission denied\n\n": decode the escapes
			// that have one meaning; \u (surrogates, invalid code points) is for sonic.
			v, ok := unescapeSimple(raw)
			*dst = v
			return ok
		}
		*dst = view(raw)
		return true
	case 'n':
		return s.lit("null")
	}
	return false
}

// unescapeSimple decodes a string's content that has only single-character escapes.
func unescapeSimple(raw []byte) (string, bool) {
	buf := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			buf = append(buf, c)
			continue
		}
		if i++; i == len(raw) {
			return "", false
		}
		switch c = raw[i]; c {
		case '"', '\\', '/':
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default:
			return "", false
		}
		buf = append(buf, c)
	}
	return unsafe.String(unsafe.SliceData(buf), len(buf)), true
}

// strList reads a []string field: an array of strings (null elements become "") or null.
func (s *jscan) strList(dst *[]string) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case 'n':
		*dst = (*dst)[:0]
		return s.lit("null")
	case '[':
	default:
		return false
	}
	out := (*dst)[:0]
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		*dst = out
		return true
	}
	for {
		var v string
		if !s.strValue(&v) {
			return false
		}
		out = append(out, v)
		if done, ok := s.next(']'); !ok {
			return false
		} else if done {
			*dst = out
			return true
		}
	}
}

// objectStart passes over '{' and reports whether the object is empty (and closed); a null
// value gives null=true.
func (s *jscan) objectStart() (empty, null, ok bool) {
	if s.i >= len(s.b) {
		return false, false, false
	}
	switch s.b[s.i] {
	case 'n':
		return false, true, s.lit("null")
	case '{':
	default:
		return false, false, false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true, false, true
	}
	return false, false, true
}

// key reads a member's key and the colon after it. plain is false when the key has an escape
// or a non-ASCII byte: matching it to a field the way sonic does (Unicode case folding) is
// left to sonic.
func (s *jscan) key() (k []byte, plain, ok bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, false
	}
	raw, esc, ok := s.str()
	if !ok || !s.colon() {
		return nil, false, false
	}
	if esc {
		return raw, false, true
	}
	for _, c := range raw {
		if c >= 0x80 {
			return raw, false, true
		}
	}
	return raw, true, true
}

// field finds k among names, exactly or (as encoding/json and sonic do) ignoring ASCII case.
// It returns -1 when k is none of them.
func field(k []byte, names []string) int {
	if len(k) == 0 {
		return -1
	}
	for i, n := range names {
		if len(n) == len(k) && n[0] == k[0] && string(k) == n {
			return i
		}
	}
	upper := false
	for _, c := range k {
		if c-'A' < 26 {
			upper = true
			break
		}
	}
	if !upper { // the names are lower case: no case-insensitive match is possible
		return -1
	}
	for i, n := range names {
		if strings.EqualFold(string(k), n) {
			return i
		}
	}
	return -1
}

// members walks an object whose '{' has been read (and which is not empty), calling fn for
// each key that is one of names. A name seen twice sends the line to sonic (duplicate keys
// merge in ways not worth copying).
func (s *jscan) members(depth int, names []string, fn func(f int) bool) bool {
	if depth > maxFastDepth {
		return false
	}
	var seen uint64
	for {
		k, plain, ok := s.key()
		if !ok || !plain {
			return false
		}
		f := field(k, names)
		if f < 0 {
			if !s.skip(depth) {
				return false
			}
		} else {
			if seen&(1<<f) != 0 {
				return false
			}
			seen |= 1 << f
			if !fn(f) {
				return false
			}
		}
		if done, ok := s.next('}'); !ok || done {
			return ok
		}
	}
}

var (
	topNames     = []string{"time", "type", "error", "auth", "request", "response"}
	authNames    = []string{"accessor", "display_name", "policies", "token_policies", "identity_policies", "entity_id", "token_type"}
	requestNames = []string{"id", "operation", "path", "mount_point", "mount_type", "namespace", "remote_address", "client_token_accessor", "headers", "data"}
	nsNames      = []string{"id", "path"}
	headerNames  = []string{"user-agent"}
	reqDataNames = []string{"no_parent"}
	responseName = []string{"auth", "data"}
	respDataName = []string{"error"}
)

func (s *jscan) top(v *vaultLine) bool {
	empty, _, ok := s.objectStart()
	if !ok || empty {
		return ok
	}
	return s.members(1, topNames, func(f int) bool {
		switch f {
		case 0:
			return s.strValue(&v.Time)
		case 1:
			return s.strValue(&v.Type)
		case 2:
			return s.strValue(&v.Error)
		case 3:
			return s.auth(&v.Auth, nil)
		case 4:
			return s.request(v)
		default:
			return s.response(v)
		}
	})
}

// auth reads an auth object into a; present (when not nil) says whether it was an object.
func (s *jscan) auth(a *vaultAuthFields, present *bool) bool {
	empty, null, ok := s.objectStart()
	if !ok || null {
		return ok
	}
	if present != nil {
		*present = true
	}
	if empty {
		return true
	}
	return s.members(2, authNames, func(f int) bool {
		switch f {
		case 0:
			return s.strValue(&a.Accessor)
		case 1:
			return s.strValue(&a.DisplayName)
		case 2:
			return s.strList(&a.Policies)
		case 3:
			return s.strList(&a.TokenPolicies)
		case 4:
			return s.strList(&a.IdentityPolicies)
		case 5:
			return s.strValue(&a.EntityID)
		default:
			return s.strValue(&a.TokenType)
		}
	})
}

func (s *jscan) request(v *vaultLine) bool {
	empty, null, ok := s.objectStart()
	if !ok || null || empty {
		return ok
	}
	return s.members(2, requestNames, func(f int) bool {
		switch f {
		case 0:
			return s.strValue(&v.ID)
		case 1:
			return s.strValue(&v.Operation)
		case 2:
			return s.strValue(&v.Path)
		case 3:
			return s.strValue(&v.MountPoint)
		case 4:
			return s.strValue(&v.MountType)
		case 5:
			return s.namespace(v)
		case 6:
			return s.strValue(&v.RemoteAddress)
		case 7:
			return s.strValue(&v.ClientTokenAccessor)
		case 8:
			return s.headers(v)
		default:
			return s.requestData(v)
		}
	})
}

func (s *jscan) namespace(v *vaultLine) bool {
	empty, null, ok := s.objectStart()
	if !ok || null || empty {
		return ok
	}
	var id string
	return s.members(3, nsNames, func(f int) bool {
		if f == 0 {
			return s.strValue(&id) // not used, but sonic checks its type
		}
		return s.strValue(&v.NSPath)
	})
}

func (s *jscan) headers(v *vaultLine) bool {
	empty, null, ok := s.objectStart()
	if !ok || null || empty {
		return ok
	}
	return s.members(3, headerNames, func(int) bool {
		v.UserAgent, v.HasUA = "", false
		return s.strListFirst(&v.UserAgent, &v.HasUA)
	})
}

// strListFirst is strList keeping only the first element (the rest is still type-checked).
func (s *jscan) strListFirst(first *string, any *bool) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case 'n':
		return s.lit("null")
	case '[':
	default:
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		var v string
		if !s.strValue(&v) {
			return false
		}
		if !*any {
			*first, *any = v, true
		}
		if done, ok := s.next(']'); !ok {
			return false
		} else if done {
			return true
		}
	}
}

// rawValue passes over one value and returns its bytes (what an UnmarshalJSON method sees).
func (s *jscan) rawValue(depth int) ([]byte, bool) {
	start := s.i
	if !s.skip(depth) {
		return nil, false
	}
	return s.b[start:s.i], true
}

func (s *jscan) requestData(v *vaultLine) bool {
	empty, null, ok := s.objectStart()
	if !ok || null || empty {
		return ok
	}
	return s.members(3, reqDataNames, func(int) bool {
		raw, ok := s.rawValue(3)
		v.NoParent = ok && string(raw) == "true" // lenientBool
		return ok
	})
}

func (s *jscan) response(v *vaultLine) bool {
	empty, null, ok := s.objectStart()
	if !ok || null {
		return ok
	}
	v.HasResponse = true
	if empty {
		return true
	}
	return s.members(2, responseName, func(f int) bool {
		if f == 0 {
			return s.auth(&v.RespAuth, &v.HasRespAuth)
		}
		empty, null, ok := s.objectStart()
		if !ok || null || empty {
			return ok
		}
		return s.members(3, respDataName, func(int) bool {
			raw, ok := s.rawValue(3)
			v.RespDataError = ok && string(raw) != "null" // lenientPresent
			return ok
		})
	})
}
