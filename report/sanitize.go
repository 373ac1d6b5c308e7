package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes visible whatever a terminal would interpret: C0/C1 controls (CR and LF too:
// they split lines and can inject CI workflow commands), DEL, bidirectional overrides and
// zero-width characters become \uXXXX, ESC becomes \x1b, and invalid UTF-8 bytes \xNN.
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
		case unicode.IsControl(r) || isInvisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// isInvisible reports bidi controls and zero-width or format characters that change how text
// reads without being seen.
func isInvisible(r rune) bool {
	switch {
	case r >= 0x200b && r <= 0x200f, // zero-width space/joiners, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2060 && r <= 0x2069, // word joiner, isolates
		r == 0xfeff, r == 0x061c, r == 0x00ad:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// Cut shortens s to at most n runes with a visible marker. Only for tables: JSON keeps all.
func Cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)
	return string(rs[:n-1]) + "…"
}
