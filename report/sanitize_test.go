package report

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"secret/data/app/config", "secret/data/app/config"},
		{"été-日本 <script>", "été-日本 <script>"}, // printable text and markup are not a terminal's business
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x1b]8;;https://e.example/\x07x\x1b]8;;\x07", `\x1b]8;;https://e.example/\u0007x\x1b]8;;\u0007`},
		{"\x1b]0;title\x1b\\", `\x1b]0;title\x1b\\`},
		{"a\nb\r\nc\td", `a\u000ab\u000d\u000ac\u0009d`},
		{"\u2028\u2029\u0085", `\u2028\u2029\u0085`},
		{"\u009b31m", `\u009b31m`},
		{"abc\u202efdp.exe", `abc\u202efdp.exe`},
		{"\u2066x\u2069\u200e\u200f\u061c", `\u2066x\u2069\u200e\u200f\u061c`},
		{"zero\u200bwidth\ufeff\u00ad\u3164\ufe0f", `zero\u200bwidth\ufeff\u00ad\u3164\ufe0f`},
		{"tag\U000E0041", `tag\U000e0041`},
		{"nul\x00del\x7f", `nul\u0000del\u007f`},
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"\xe2\x82", `\xe2\x82`},
		{`back\slash \x1b`, `back\\slash \\x1b`}, // an escape-looking input cannot pass for ours
		{"", ""},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"日本語のテキスト", 4, "日本語…"},
		{"abc", 0, "…"},
	}
	for _, tt := range tests {
		if got := Cut(tt.in, tt.n); got != tt.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if utf8.RuneCountInString(Cut(tt.in, tt.n)) > max(tt.n, 1) {
			t.Errorf("Cut(%q, %d) too long", tt.in, tt.n)
		}
	}
}

// TestValidUTF8MatchesEncoders: validUTF8 replaces invalid bytes exactly as encoding/json (and
// sonic, which the JSON report uses) do, so a value reads the same in every field.
func TestValidUTF8MatchesEncoders(t *testing.T) {
	for _, s := range []string{"ok", "a\xffb", "\xff\xfe", "\xe2\x82c", "\xc0\xaf", "x\xed\xa0\x80y", "日本\xe6"} {
		b, _ := json.Marshal(s)
		var viaJSON string
		if err := json.Unmarshal(b, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if mine := validUTF8(s); viaJSON != mine {
			t.Errorf("%q: encoding/json %q, validUTF8 %q", s, viaJSON, mine)
		}
	}
}

func TestSARIFURI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"logs/audit.log", "logs/audit.log"},
		{`C:\logs\audit log.1.gz`, "./C:/logs/audit%20log.1.gz"},
		{"a?b#c%d", "a%3Fb%23c%25d"},
		{"x\x1b[31m\n", "x%1B%5B31m%0A"},
		{"été", "%C3%A9t%C3%A9"},
	}
	for _, tt := range tests {
		if got := sarifURI(tt.in); got != tt.want {
			t.Errorf("sarifURI(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSanitize: the result is valid UTF-8 without any control, bidi or invisible character,
// and a string without anything to escape comes back unchanged.
func FuzzSanitize(f *testing.F) {
	for _, s := range attackerStrings {
		f.Add(s)
	}
	f.Add("plain/path")
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		if !utf8.ValidString(got) {
			t.Fatalf("Sanitize(%q) = %q: invalid UTF-8", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || isInvisible(r) {
				t.Fatalf("Sanitize(%q) = %q: keeps %U", s, got, r)
			}
		}
		needs := !utf8.ValidString(s) || strings.ContainsRune(s, '\\') || strings.IndexFunc(s, func(r rune) bool {
			return unicode.IsControl(r) || isInvisible(r)
		}) >= 0
		if !needs && got != s {
			t.Fatalf("Sanitize(%q) = %q: changed a clean string", s, got)
		}
		if c := Cut(got, 40); utf8.RuneCountInString(c) > 40 || !utf8.ValidString(c) {
			t.Fatalf("Cut(%q, 40) = %q", got, c)
		}
	})
}
