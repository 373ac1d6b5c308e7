package sources

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/vaultsentry/vaultsentry/sources/internal/jscan"
)

// HeadBytes is how much of a file (decompressed) format detection looks at.
const HeadBytes = 64 << 10

// Head is what format detection sees of a file: its first bytes and the top-level keys of
// the JSON values they hold. Formats are told apart by keys, never by file name (rotated and
// shipped logs are named anything) and never by a value, which whoever sent a request controls.
type Head struct {
	Bytes []byte
	// Complete is true when Bytes is the whole file.
	Complete bool
	// Values are the first JSON values of the head (one per line in NDJSON), each with its
	// top-level keys. For an array, the keys are those of its first element.
	Values []HeadValue
	// Other counts the lines of the head that are not JSON.
	Other int
	// At reads the input at any offset when it is a local, uncompressed regular file whose head
	// is a Parquet file's: Parquet keeps its schema in a footer at the end, which a format's
	// Sniff may read there (At is closed after detection). Size is then the file's size; At is
	// nil for anything else (standard input, a compressed or remote input).
	At   io.ReaderAt
	Size int64
}

// HeadValue is one JSON value at the start of a file.
type HeadValue struct {
	Keys  []string
	Array bool // the value is an array; Keys are its first element's
	// Prefixed: the line had text before the object (a Vault audit device's "prefix" option).
	Prefixed bool
}

// Has reports whether the value has every one of keys.
func (v HeadValue) Has(keys ...string) bool {
	for _, k := range keys {
		found := false
		for _, h := range v.Keys {
			if h == k {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// HasAny reports whether the value has at least one of keys.
func (v HeadValue) HasAny(keys ...string) bool {
	for _, k := range keys {
		if v.Has(k) {
			return true
		}
	}
	return false
}

// MaxPrefix is the longest text before a line's JSON object taken for a prefix (Vault's reader
// accepts the same).
const MaxPrefix = 1024

const (
	headMaxValues = 32
	headMaxKeys   = 64
)

// ScanHead reads the top-level keys of the first JSON values in b. A value cut off by the end
// of b still gives the keys read before the cut (a CloudTrail log file is one long line whose
// first key is "Records"). A line that is not JSON is counted and passed over.
func ScanHead(b []byte, complete bool) *Head {
	h := &Head{Bytes: b, Complete: complete}
	s := &jscan.Scanner{B: bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))}
	for len(h.Values) < headMaxValues {
		s.WSSlow()
		if s.I >= len(s.B) {
			break
		}
		start := s.I
		var v HeadValue
		ok := false
		c := s.B[s.I]
		if c == '[' {
			s.I++
			s.WSSlow()
			if s.I < len(s.B) && s.B[s.I] == '{' {
				v.Array = true
				headKeys(s, &v)
				h.Values = append(h.Values, v)
				return h // a document: what follows its first element says nothing more
			}
			if s.I < len(s.B) && s.B[s.I] == ']' {
				h.Values = append(h.Values, HeadValue{Array: true})
				return h
			}
			s.I, c = start, 0 // "[vault-bo] {...}": a prefix in brackets, not an array
		}
		if c == '{' {
			ok = headKeys(s, &v)
		} else {
			// Text before an object on the same line: a Vault device's "prefix", or prose.
			line := s.B[s.I:]
			if nl := bytes.IndexByte(line, '\n'); nl >= 0 {
				line = line[:nl]
			}
			if j := bytes.IndexByte(line, '{'); j > 0 && j <= MaxPrefix {
				s.I += j
				v.Prefixed = true
				ok = headKeys(s, &v)
				if len(v.Keys) == 0 {
					v.Keys, ok = nil, false
				}
			}
		}
		if v.Keys != nil || ok {
			h.Values = append(h.Values, v)
		}
		if ok {
			continue
		}
		if s.I >= len(s.B) && v.Keys != nil {
			break // cut off by the end of the head
		}
		// Not JSON, or broken: go on at the next line.
		nl := bytes.IndexByte(s.B[start:], '\n')
		if v.Keys == nil {
			h.Other++
		}
		if nl < 0 {
			break
		}
		s.I = start + nl + 1
	}
	return h
}

// headKeys reads an object's top-level keys into v, passing over their values; ok is false when
// the object is broken or cut off.
func headKeys(s *jscan.Scanner, v *HeadValue) bool {
	empty, _, ok := s.ObjectStart()
	if !ok {
		return false
	}
	v.Keys = []string{}
	if empty {
		return true
	}
	for {
		k, _, ok := s.Key()
		if !ok {
			return false
		}
		if len(v.Keys) < headMaxKeys {
			v.Keys = append(v.Keys, string(k))
		}
		s.WS()
		if !s.Skip(0) {
			return false
		}
		if done, ok := s.Next('}'); !ok || done {
			return ok
		}
	}
}

// Describe says in a few words what the head looks like, for a file no format recognised.
func (h *Head) Describe() string {
	b := bytes.TrimSpace(bytes.TrimPrefix(h.Bytes, []byte("\xef\xbb\xbf")))
	if enc := utf16NoBOM(b[:min(len(b), 4096)]); enc != "" {
		// Before the JSON cases: its '{' and '"' bytes make a broken JSON object.
		return enc + " text without a byte order mark (convert it to UTF-8)"
	}
	switch {
	case len(b) == 0 && h.Complete:
		return "empty"
	case len(b) == 0:
		return "blank lines"
	case len(h.Values) > 0:
		v := h.Values[0]
		what := "a JSON object"
		if v.Array {
			what = "a JSON array"
		}
		if len(v.Keys) == 0 {
			return what
		}
		keys := v.Keys
		if len(keys) > 5 {
			keys = keys[:5]
		}
		q := make([]string, len(keys))
		for i, k := range keys {
			q[i] = fmt.Sprintf("%q", Truncate(k, 40))
		}
		if v.Array {
			return fmt.Sprintf("%s of objects with keys %s", what, strings.Join(q, ", "))
		}
		return fmt.Sprintf("%s with keys %s", what, strings.Join(q, ", "))
	case !utf8.Valid(b[:min(len(b), 4096)]) || bytes.IndexByte(b[:min(len(b), 4096)], 0) >= 0:
		return "binary data"
	}
	lower := bytes.ToLower(b[:min(len(b), 512)])
	switch {
	case bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html")):
		return "HTML"
	case bytes.HasPrefix(lower, []byte("<?xml")) || bytes.HasPrefix(lower, []byte("<")):
		return "XML or HTML"
	case bytes.HasPrefix(b, []byte("---")) || yamlish(b):
		return "YAML"
	case bytes.HasPrefix(b, []byte("#")):
		return "Markdown or a commented text file"
	}
	return "text"
}

// yamlish reports whether the first line reads as a YAML mapping key ("name: value").
func yamlish(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	k, _, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(k) == 0 {
		return false
	}
	for _, c := range k {
		if !(c == '_' || c == '-' || c == '.' || c-'a' < 26 || c-'A' < 26 || c-'0' < 10) {
			return false
		}
	}
	return true
}

// utf16NoBOM names the byte order of text that reads as UTF-16 without a byte order mark (a
// NUL in every other byte, ASCII in the rest), which open cannot tell from binary by itself.
func utf16NoBOM(b []byte) string {
	if len(b) < 16 {
		return ""
	}
	b = b[:len(b)&^1]
	zeros := [2]int{}
	for i, c := range b {
		if c == 0 {
			zeros[i&1]++
		} else if c >= 0x80 {
			return ""
		}
	}
	half := len(b) / 2
	switch {
	case zeros[1] == half && zeros[0] == 0:
		return "UTF-16LE"
	case zeros[0] == half && zeros[1] == 0:
		return "UTF-16BE"
	}
	return ""
}
