package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Truncate shortens s to at most n bytes without splitting a UTF-8 sequence, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// parseAddr parses an IP address, with or without a port or zone; invalid when it is not one.
func ParseAddr(s string) netip.Addr {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.Addr{}
}

// ShortJSONError describes a decode error without quoting the input. sonic's messages (and
// encoding/json's on platforms without sonic's JIT) carry a window of the line around the error,
// and with log_raw that window can hold a token or a secret value: only the category and the
// byte offset are kept.
func ShortJSONError(err error) string {
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
