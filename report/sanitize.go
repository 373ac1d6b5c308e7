package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Sanitize makes visible whatever a terminal would interpret: C0/C1 controls (CR and LF too:
// they split lines and can inject CI workflow commands), DEL, bidirectional overrides,
// zero-width and other invisible characters become \uXXXX, ESC becomes \x1b (so every ANSI and
// OSC sequence, hyperlinks and title changes included, is shown and never run), invalid UTF-8
// bytes \xNN, and a backslash \\ (so the input cannot fake one of our escapes). The result is
// valid UTF-8 with no control, bidi or invisible character. Error messages and the run summary
// go through it too: file names and reasons come from outside.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == 0x1b:
			b.WriteString(`\x1b`)
		case r == '\\':
			b.WriteString(`\\`) // so an escaped form in the input cannot pass for ours
		case (unicode.IsControl(r) || isInvisible(r)) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r) // tag characters (U+E0000 block)
		case unicode.IsControl(r) || isInvisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isInvisible reports bidi controls, zero-width and other format characters, line and
// paragraph separators, and blank-looking fillers: characters that change how text reads, or
// where a line ends, without being seen.
func isInvisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, // zero-width space/joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2060 && r <= 0x2069, // word joiner, invisible operators, isolates
		r == 0x2028, r == 0x2029,   // line and paragraph separators
		r == 0xfeff, r == 0x061c, r == 0x00ad, r == 0x034f, r == 0x180e,
		r == 0x115f, r == 0x1160, r == 0x3164, r == 0xffa0, // Hangul fillers render as blanks
		r >= 0xfe00 && r <= 0xfe0f, r >= 0xe0100 && r <= 0xe01ef: // variation selectors: VS16 widens a glyph
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// Cut shortens s to at most n runes, the last of them a visible marker (…). Only for tables:
// JSON and SARIF keep every byte. Run it after Sanitize, so the cut never hides an escape's
// meaning (a cut escape stays visibly cut).
func Cut(s string, n int) string {
	if n < 1 {
		n = 1
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for k < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		k++
	}
	return s[:i] + "…"
}

// validUTF8 replaces each byte that is not valid UTF-8 with U+FFFD, exactly as encoding/json
// and sonic do with the strings they encode themselves, so a value reads the same in every
// field of the JSON and SARIF reports (strings.ToValidUTF8 would fold a run into one U+FFFD).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// EscapeInvisibleJSON rewrites, in encoded JSON, each character that Sanitize would escape and
// that JSON allows unescaped (DEL, C1 controls, bidi overrides, zero-width and other invisible
// characters) as a \u escape (a surrogate pair above U+FFFF). Outside its strings encoded JSON
// is ASCII, so only string contents change, and they decode to the same values: the JSON and
// SARIF files are as safe to print to a terminal as the table, and exact for machines.
func EscapeInvisibleJSON(b []byte) []byte {
	var out []byte // nil until something needs escaping
	last := 0
	for i := 0; i < len(b); {
		if b[i] < 0x7f {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == 0x7f || (n > 1 && (unicode.IsControl(r) || isInvisible(r))) {
			if out == nil {
				out = make([]byte, 0, len(b)+64)
			}
			out = append(out, b[last:i]...)
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
			last = i + n
		}
		i += n
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
