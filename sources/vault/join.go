package vault

// Entries over many lines, joined in the in-order stage (the pairer), since a worker sees one
// chunk of lines and an entry may span two:
//
//   - pretty-printed JSON, as jq . (or json.dumps(indent=...), aws --output json) writes it: a
//     line "{" or "[" alone starts it; the object (or each element of the array) is decoded
//     when its braces close, as one line of the input, with the number of its first line. A
//     line at column 0 that does not close it, or a string left open at a line's end, means
//     it was cut: it is malformed at its first line and that line is read on its own.
//   - CRI "P" lines and Docker records without their final newline: the parts of one stream
//     are joined until its final line (F, or a record ending in a newline), bounded by
//     maxParts and the line limit (as promtail's cri stage bounds max_partial_lines).
//
// Every physical line counts once in FileStats.Lines: the line that completes an entry counts
// as its record, the others as skipped "continuation-line" (a cut entry's first line is its
// malformed line instead).

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/sources"
)

// maxParts bounds the parts of one entry (promtail's max_partial_lines default).
const maxParts = 100

const continuation = "continuation-line"

// maxStreams bounds the streams whose partial lines are joined at once (stdout and stderr;
// memory is at most this many times the line limit).
const maxStreams = 4

type partBuf struct {
	data     []byte
	parts    int
	line     int // of the first part
	store    string
	overflow bool
	shape    uint8
}

type joinState struct {
	joining bool // a pretty-printed value or a partial line is pending
	// Pretty-printed JSON.
	pretty    bool
	array     bool
	depth     int
	inStr     bool
	esc       bool
	acc       []byte
	elemStart int // offset in acc of the element being read, -1 when none
	startLine int
	overflow  bool
	// elemBase is the depth of the array whose elements are read one by one (1: the value is
	// an array; 2: a wrapper's member named in streamedKeys, streamKey); 0 when none.
	elemBase  int
	streamKey string
	streamed  int    // records read from the wrapper's array
	strStart  int    // offset in acc of the string being read
	lastStr   string // the last string closed at depth 1, and key the last member name
	key       string
	// Partial lines by stream ("cri:stdout", "docker:stderr").
	parts map[string]*partBuf
}

func (p *vaultPairer) updateJoining() {
	p.joining = p.pretty || len(p.parts) > 0
}

// join takes record r of line n into an entry over many lines; false when r is a record of
// its own (the caller then counts it).
func (p *vaultPairer) join(r *vaultRec, n int) bool {
	defer p.updateJoining()
	if r.kind == recPartial {
		p.addPart(r, n)
		return true
	}
	if p.pretty {
		if p.prettyLine(r, n) {
			return true
		}
	}
	if len(p.parts) > 0 && !r.cont && (r.shape&^shapeLifted == shapeCRI || r.shape&^shapeLifted == shapeDocker) {
		if p.finishPart(r, n) {
			return true
		}
	}
	if r.kind == recBad && r.shape == shapeRaw && !r.cont {
		if t := bytes.TrimSpace(r.line); len(t) == 1 && (t[0] == '{' || t[0] == '[') {
			p.pretty, p.array, p.depth, p.inStr, p.esc = true, t[0] == '[', 1, false, false
			p.acc, p.elemStart, p.startLine, p.overflow = append(p.acc[:0], t[0], '\n'), -1, n, false
			p.elemBase, p.streamKey, p.streamed, p.key, p.lastStr, p.strStart = 0, "", 0, "", "", -1
			if p.array {
				p.elemBase = 1
			}
			p.continued()
			return true
		}
	}
	return false
}

func (p *vaultPairer) continued() {
	p.st.Lines++
	p.st.Skip(continuation)
}

// cut reports the entry begun at line as malformed: one of its continuation lines becomes
// the malformed one, so every line still counts once.
func (p *vaultPairer) cut(line int, reason string) {
	if p.st.Skipped[continuation] > 0 {
		p.st.Skipped[continuation]--
		if p.st.Skipped[continuation] == 0 {
			delete(p.st.Skipped, continuation)
		}
	} else {
		p.st.Lines++
	}
	p.st.Bad(line, reason)
}

// prettyLine feeds line n to the pretty-printed value; false when the line is not part of it
// (the value was cut before it: reported, and the line is read on its own).
func (p *vaultPairer) prettyLine(r *vaultRec, n int) bool {
	var line []byte
	switch r.kind {
	case recBlank:
		p.continued()
		return true
	case recTooLong:
		// A member longer than a line may be (its brackets are taken as balanced: a member of
		// one line): the entry is too long.
		if p.depth > 0 && !r.cont {
			p.overflow, p.acc = true, p.acc[:0]
			if p.elemBase > 0 && p.elemStart < 0 {
				p.elemStart = 0
			}
			p.continued()
			return true
		}
	case recBad:
		line = bytes.TrimRight(r.line, " \t\r")
	}
	if line == nil || r.cont || line[0] != ' ' && line[0] != '\t' && line[0] != '}' && line[0] != ']' {
		p.prettyCut("pretty-printed JSON not closed: line " + strconv.Itoa(n) + " starts another value")
		return false
	}
	off := len(p.acc)
	p.acc = append(p.acc, line...)
	p.acc = append(p.acc, '\n')
	completed, notObject := false, false
	for k := off; k < len(p.acc); k++ {
		c := p.acc[k]
		if p.inStr {
			switch {
			case p.esc:
				p.esc = false
			case c == '\\':
				p.esc = true
			case c == '"':
				p.inStr = false
				if !p.array && p.depth == 1 && p.strStart >= 0 {
					p.lastStr = string(p.acc[p.strStart+1 : k])
				}
			}
			continue
		}
		switch c {
		case '"':
			p.inStr, p.strStart = true, k
			if p.elemBase > 0 && p.depth == p.elemBase {
				notObject = true
			}
		case ':':
			if !p.array && p.depth == 1 {
				p.key = p.lastStr
			}
		case '{', '[':
			p.depth++
			switch {
			case !p.array && p.elemBase == 0 && p.depth == 2 && c == '[' && streamedKeys[p.key]:
				// The records of a wrapper: each is read on its own, with its own line.
				p.elemBase, p.streamKey = 2, p.key
			case p.elemBase > 0 && p.depth == p.elemBase+1:
				p.elemStart, p.startLine = k, n
			}
		case '}', ']':
			p.depth--
			switch {
			case p.depth < 0:
				p.continued()
				p.prettyCut("pretty-printed JSON: a closing bracket without its opening one")
				return true
			case p.depth == 0 && !p.array:
				p.pretty = false
				if p.streamKey != "" {
					if p.streamed == 0 {
						p.st.Lines++
						p.st.Skip("empty-result")
					} else {
						p.continued()
					}
					return true
				}
				p.prettyEntry(p.acc[:k+1], n)
				return true
			case p.depth == 0:
				p.pretty = false
			case p.elemBase > 0 && p.depth == p.elemBase && p.elemStart >= 0:
				completed = true
				if p.array {
					p.prettyEntry(p.acc[p.elemStart:k+1], n)
				} else {
					p.streamEntry(p.acc[p.elemStart:k+1], n)
				}
				p.elemStart = -1
			case !p.array && p.elemBase == 2 && p.depth == 1:
				p.elemBase = 0 // the wrapper's array ends
			}
		case ' ', '\t', '\n', '\r', ',':
		default:
			if p.elemBase > 0 && p.depth == p.elemBase {
				notObject = true
			}
		}
	}
	if p.inStr {
		p.continued()
		p.prettyCut("pretty-printed JSON: a string not closed at the end of line " + strconv.Itoa(n))
		return true
	}
	switch {
	case notObject && !completed:
		p.st.Lines++
		p.st.Bad(n, "element of a pretty-printed JSON array is not an object")
	case !completed:
		p.continued()
	}
	if p.elemBase > 0 && p.elemStart < 0 {
		p.acc = p.acc[:0] // between the elements of an array: nothing to keep
	}
	if len(p.acc) > p.maxLine && !p.overflow {
		p.overflow = true
	}
	if p.overflow {
		p.acc, p.elemStart = p.acc[:0], 0 // only the brackets are followed now
	}
	return true
}

// prettyEntry decodes a joined value as one line of the input, reported at its first line.
func (p *vaultPairer) prettyEntry(b []byte, n int) {
	if p.overflow {
		p.st.Lines++
		p.st.Bad(p.startLine, "pretty-printed JSON entry longer than "+strconv.Itoa(p.maxLine)+" bytes, skipped")
		p.overflow = false
		return
	}
	var rec vaultRec
	line := bytes.Clone(b)
	p.b.decodeLine(line, &rec, true)
	extra := append([]vaultRec(nil), p.b.extra...)
	clear(p.b.extra)
	p.b.extra = p.b.extra[:0]
	p.emit(&rec, extra, line, shapePretty, p.startLine)
}

// streamedKeys are the members of a pretty-printed wrapper whose elements are records read
// one by one (CloudWatch events, a Datadog page's data, Splunk results): a large export
// (aws logs filter-log-events pages through everything into one document) is read in bounded
// memory, and each record is located at its own first line.
var streamedKeys = map[string]bool{"events": true, "data": true, "results": true}

// streamEntry decodes one record of a pretty-printed wrapper's array, at its first line.
func (p *vaultPairer) streamEntry(b []byte, n int) {
	p.streamed++
	if p.overflow {
		p.prettyEntry(b, n) // reported as too long
		return
	}
	var m map[string]json.RawMessage
	var sr shippedRec
	switch err := sonic.Unmarshal(b, &m); {
	case err != nil:
		sr = shippedRec{bad: "invalid JSON: " + sources.ShortJSONError(err)}
	case p.streamKey == "events" && has(m, "message"):
		sr = cloudWatchEvent(m)
	case p.streamKey == "data" && has(m, "attributes"):
		if t, _ := str(m["type"]); t != "log" {
			sr = shippedRec{skip: "not-a-log", shape: shapeDatadog}
		} else {
			sr = datadogLog(m)
		}
	case p.streamKey == "results":
		sr = splunkRaw(m, shapeSplunkResults)
	case has(m, "type") && (has(m, "auth") || has(m, "request")):
		sr = shippedRec{entry: bytes.Clone(b)} // an entry in a member named so
	default:
		sr = shippedRec{skip: "not-vault-audit"}
	}
	var rec vaultRec
	p.b.applyShipped([]shippedRec{sr}, &rec, true)
	p.emit(&rec, nil, nil, shapePretty, p.startLine)
}

// emit counts the records of one joined entry at line n, their shape flagged.
func (p *vaultPairer) emit(rec *vaultRec, extra []vaultRec, line []byte, flag uint8, n int) {
	for i := -1; i < len(extra); i++ {
		r := rec
		if i >= 0 {
			r = &extra[i]
		}
		r.shape |= flag
		if r.kind == recEntry && r.line == nil {
			r.line = line
		}
		p.record(r, n)
	}
}

func (p *vaultPairer) prettyCut(reason string) {
	p.cut(p.startLine, reason)
	p.pretty, p.acc, p.elemStart, p.overflow = false, p.acc[:0], -1, false
}

// addPart keeps a partial line's part.
func (p *vaultPairer) addPart(r *vaultRec, n int) {
	stream, store, _ := strings.Cut(r.reason, "\x00")
	if p.parts == nil {
		p.parts = map[string]*partBuf{}
	}
	pb := p.parts[stream]
	if pb == nil && len(p.parts) >= maxStreams {
		// The stream name is the record's own (Docker's "stream"): a file of many made-up
		// streams cannot hold a part of a line each.
		p.st.Lines++
		p.st.Bad(n, "partial line of one more stream than the "+strconv.Itoa(maxStreams)+" followed at once, skipped")
		return
	}
	if pb == nil {
		pb = &partBuf{line: n, store: store, shape: r.shape}
		p.parts[stream] = pb
	}
	pb.parts++
	if pb.parts > maxParts || len(pb.data)+len(r.line) > p.maxLine {
		pb.overflow, pb.data = true, nil
	} else {
		pb.data = append(pb.data, r.line...)
	}
	p.continued()
}

// finishPart joins the final line r (line n) of a stream to its parts; false when that
// stream has none.
func (p *vaultPairer) finishPart(r *vaultRec, n int) bool {
	stream, content, ok := finalPart(r)
	if !ok {
		return false
	}
	pb := p.parts[stream]
	if pb == nil {
		return false
	}
	delete(p.parts, stream)
	if pb.overflow {
		p.st.Lines++
		p.st.Bad(pb.line, "partial lines of one entry: more than "+strconv.Itoa(maxParts)+" parts or "+strconv.Itoa(p.maxLine)+" bytes, skipped")
		return true
	}
	joined := append(pb.data, content...)
	var rec vaultRec
	p.b.applyShipped([]shippedRec{inner(joined, nil, pb.store, pb.shape)}, &rec, true)
	if rec.kind == recEntry && rec.line == nil {
		rec.line = joined
	}
	p.emit(&rec, nil, joined, 0, pb.line)
	return true
}

// finalPart is the stream and content of a CRI line or Docker record that ends an entry.
func finalPart(r *vaultRec) (stream string, content []byte, ok bool) {
	line := bytes.TrimSpace(r.line)
	if r.shape&^shapeLifted == shapeCRI {
		_, stream, partial, content, ok := criLine(line)
		return stream, content, ok && !partial
	}
	var d struct {
		Log    string `json:"log"`
		Stream string `json:"stream"`
	}
	if sonic.Unmarshal(line, &d) != nil {
		return "", nil, false
	}
	return "docker:" + d.Stream, []byte(d.Log), true
}

// joinEnd reports what is still open at the end of the file.
func (p *vaultPairer) joinEnd() {
	if p.pretty {
		p.prettyCut("pretty-printed JSON not closed at the end of the file")
	}
	for _, stream := range slices.Sorted(maps.Keys(p.parts)) {
		pb := p.parts[stream]
		p.cut(pb.line, "partial line ("+strings.SplitN(stream, ":", 2)[0]+") without its final part at the end of the file")
	}
	p.parts = nil
	p.updateJoining()
}
