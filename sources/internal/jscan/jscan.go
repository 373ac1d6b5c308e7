// Package jscan is the allocation-free JSON scanner both fast decoders share (Vault audit
// lines, CloudTrail records): it walks a document in place, passing over what a reader does not
// need and handing back views of the strings it does. Anything it does not handle exactly as
// sonic would (escapes it cannot decode in place, duplicate keys, deep nesting) makes it
// report failure, and the caller decodes the document with sonic instead.
package jscan

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

// MaxDepth is far below sonic's own limit (4096); deeper input goes to sonic.
const MaxDepth = 512

// Scanner walks B from I.
type Scanner struct {
	B []byte
	I int
}

// ws passes over white space. Audit lines have none between tokens, so the check that there
// is some is kept small enough to inline.
func (s *Scanner) WS() {
	if s.I < len(s.B) && s.B[s.I] <= ' ' {
		s.WSSlow()
	}
}

func (s *Scanner) WSSlow() {
	for s.I < len(s.B) {
		switch s.B[s.I] {
		case ' ', '\t', '\n', '\r':
			s.I++
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

// str reads the string starting at s.I (a '"'); raw is its content without decoding escapes.
func (s *Scanner) Str() (raw []byte, esc, ok bool) {
	b := s.B
	i := s.I + 1
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
			s.I = i + 1
			return b[start:i], esc, true
		}
		esc = true
		i += 2 // the escaped byte, whatever it is (sonic does not validate skipped strings)
		if i > len(b) {
			return nil, false, false
		}
	}
}

func (s *Scanner) Lit(word string) bool {
	if len(s.B)-s.I < len(word) || string(s.B[s.I:s.I+len(word)]) != word {
		return false
	}
	s.I += len(word)
	return true
}

func IsDigit(c byte) bool { return c-'0' < 10 }

func (s *Scanner) Number() bool {
	b, i := s.B, s.I
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
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && IsDigit(b[i]) {
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
		for i < len(b) && IsDigit(b[i]) {
			i++
		}
		if i == d {
			return false
		}
	}
	s.I = i
	return true
}

// Skip passes over one value of any kind, validating it. Nesting inside a skipped value has no
// depth limit and no recursion (an explicit stack of open brackets): a field nobody reads may be
// as deep as Vault accepts (a request body 5,000 levels deep), and skipping it must not lose the
// entry. Only the fields the decoders read are bounded by MaxDepth. depth is the caller's
// nesting, kept for the signature the walkers share.
func (s *Scanner) Skip(depth int) bool {
	if s.I >= len(s.B) {
		return false
	}
	switch c := s.B[s.I]; c {
	case '{', '[':
		return s.skipNested()
	default:
		return s.scalar()
	}
}

// scalar passes over a string, a literal or a number.
func (s *Scanner) scalar() bool {
	if s.I >= len(s.B) {
		return false
	}
	switch c := s.B[s.I]; c {
	case '"':
		_, _, ok := s.Str()
		return ok
	case 't':
		return s.Lit("true")
	case 'f':
		return s.Lit("false")
	case 'n':
		return s.Lit("null")
	default:
		if c == '-' || IsDigit(c) {
			return s.Number()
		}
	}
	return false
}

// skipNested passes over an object or array at s.I, however deep, validating it.
func (s *Scanner) skipNested() bool {
	var buf [64]byte
	open := buf[:0] // the brackets open around the current position, innermost last
	for {
		// s.I is at the start of a value.
		if s.I >= len(s.B) {
			return false
		}
		switch s.B[s.I] {
		case '{':
			s.I++
			s.WS()
			if s.I < len(s.B) && s.B[s.I] == '}' {
				s.I++
				break // an empty object is a whole value
			}
			open = append(open, '}')
			if !s.key() {
				return false
			}
			continue
		case '[':
			s.I++
			s.WS()
			if s.I < len(s.B) && s.B[s.I] == ']' {
				s.I++
				break
			}
			open = append(open, ']')
			continue
		default:
			// Large bodies are mostly arrays of numbers (Vault does not HMAC them).
			if len(open) > 0 && open[len(open)-1] == ']' && IsDigit(s.B[s.I]) {
				if !s.numbers() {
					return false
				}
			} else if !s.scalar() {
				return false
			}
		}
		// A value ended: close what it ended, then go on to the next member or element.
		for {
			if len(open) == 0 {
				return true
			}
			done, ok := s.Next(open[len(open)-1])
			if !ok {
				return false
			}
			if !done {
				break
			}
			open = open[:len(open)-1]
		}
		if open[len(open)-1] == '}' && !s.key() {
			return false
		}
	}
}

// key passes over an object member's key and its colon, leaving s.I at the value.
func (s *Scanner) key() bool {
	if s.I >= len(s.B) || s.B[s.I] != '"' {
		return false
	}
	if _, _, ok := s.Str(); !ok {
		return false
	}
	return s.Colon()
}

// numbers passes over a run of plain numbers separated by commas ("0.6805,0.3971,12"), the
// shape of a large response body, leaving s.I after the last one. Each is checked as number
// does; anything it does not know (an exponent, a sign, space) is left to number.
func (s *Scanner) numbers() bool {
	b, i := s.B, s.I
	for {
		start := i
		switch {
		case i < len(b) && b[i] == '0':
			i++
		case i < len(b) && b[i]-'1' < 9:
			i++
			for i < len(b) && IsDigit(b[i]) {
				i++
			}
		default:
			s.I = start
			return s.Number()
		}
		if i < len(b) && b[i] == '.' {
			i++
			d := i
			for i < len(b) && IsDigit(b[i]) {
				i++
			}
			if i == d {
				return false
			}
		}
		if i >= len(b) {
			s.I = i
			return true
		}
		switch b[i] {
		case ',':
			if i+1 < len(b) && IsDigit(b[i+1]) {
				i++
				continue
			}
		case 'e', 'E':
			s.I = start
			return s.Number()
		}
		s.I = i
		return true
	}
}

// colon passes over the ':' after a key and the white space around it.
func (s *Scanner) Colon() bool {
	s.WS()
	if s.I >= len(s.B) || s.B[s.I] != ':' {
		return false
	}
	s.I++
	s.WS()
	return true
}

// next passes over the ',' between members (done=false) or the closing byte (done=true).
func (s *Scanner) Next(closer byte) (done, ok bool) {
	s.WS()
	if s.I >= len(s.B) {
		return false, false
	}
	switch s.B[s.I] {
	case ',':
		s.I++
		s.WS()
		return false, true
	case closer:
		s.I++
		return true, true
	}
	return false, false
}

// view is the string a raw byte slice holds, without copying: valid as long as the line is.
func View(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// strValue reads a string field: a string without escapes, or null (no change, as with
// encoding/json). Anything else is for sonic.
func (s *Scanner) StrValue(dst *string) bool {
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case '"':
		raw, esc, ok := s.Str()
		if !ok {
			return false
		}
		if esc {
			// Denials log "1 error occurred:\n\t* permission denied\n\n": decode the escapes
			// that have one meaning; \u (surrogates, invalid code points) is for sonic.
			v, ok := Unescape(raw)
			*dst = v
			return ok
		}
		*dst = View(raw)
		return true
	case 'n':
		return s.Lit("null")
	}
	return false
}

// unescapeSimple decodes a string's content that has only single-character escapes.
func Unescape(raw []byte) (string, bool) {
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
func (s *Scanner) StrList(dst *[]string) bool {
	if s.I >= len(s.B) {
		return false
	}
	switch s.B[s.I] {
	case 'n':
		*dst = (*dst)[:0]
		return s.Lit("null")
	case '[':
	default:
		return false
	}
	out := (*dst)[:0]
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		*dst = out
		return true
	}
	for {
		var v string
		if !s.StrValue(&v) {
			return false
		}
		out = append(out, v)
		if done, ok := s.Next(']'); !ok {
			return false
		} else if done {
			*dst = out
			return true
		}
	}
}

// objectStart passes over '{' and reports whether the object is empty (and closed); a null
// value gives null=true.
func (s *Scanner) ObjectStart() (empty, null, ok bool) {
	if s.I >= len(s.B) {
		return false, false, false
	}
	switch s.B[s.I] {
	case 'n':
		return false, true, s.Lit("null")
	case '{':
	default:
		return false, false, false
	}
	s.I++
	s.WS()
	if s.I < len(s.B) && s.B[s.I] == '}' {
		s.I++
		return true, false, true
	}
	return false, false, true
}

// key reads a member's key and the colon after it. plain is false when the key has an escape
// or a non-ASCII byte: matching it to a field the way sonic does (Unicode case folding) is
// left to sonic.
func (s *Scanner) Key() (k []byte, plain, ok bool) {
	if s.I >= len(s.B) || s.B[s.I] != '"' {
		return nil, false, false
	}
	raw, esc, ok := s.Str()
	if !ok || !s.Colon() {
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
func Field(k []byte, names []string) int {
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
func (s *Scanner) Members(depth int, names []string, fn func(f int) bool) bool {
	if depth > MaxDepth {
		return false
	}
	var seen uint64
	for {
		k, plain, ok := s.Key()
		if !ok || !plain {
			return false
		}
		f := Field(k, names)
		if f < 0 {
			if !s.Skip(depth) {
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
		if done, ok := s.Next('}'); !ok || done {
			return ok
		}
	}
}

// strListFirst is strList keeping only the first element (the rest is still type-checked).
func (s *Scanner) StrListFirst(first *string, any *bool) bool {
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
	if s.I < len(s.B) && s.B[s.I] == ']' {
		s.I++
		return true
	}
	for {
		var v string
		if !s.StrValue(&v) {
			return false
		}
		if !*any {
			*first, *any = v, true
		}
		if done, ok := s.Next(']'); !ok {
			return false
		} else if done {
			return true
		}
	}
}

// rawValue passes over one value and returns its bytes (what an UnmarshalJSON method sees).
func (s *Scanner) RawValue(depth int) ([]byte, bool) {
	start := s.I
	if !s.Skip(depth) {
		return nil, false
	}
	return s.B[start:s.I], true
}
