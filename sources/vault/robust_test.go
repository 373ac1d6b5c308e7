package vault

// Tests for the holes that breaking the Vault reader on purpose found: a line that crashed the run, times
// far outside the plausible range, addresses that are not IPs, responses before their
// requests and ids shared by two requests, and strings encoding/json rejects.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

func TestParseUUID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"066de4ff-e369-03aa-078c-1fcfe10b34d0", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"00000000-0000-0000-0000-0000000000-0", false}, // panicked once (index out of range)
		{"00000000-0000-0000-0000-00000000000-", false},
		{"00000000-0000-0000-0000--00000000000", false},
		{"0000000-00000-0000-0000-000000000000", false},
		{"066DE4FF-E369-03AA-078C-1FCFE10B34D0", false}, // upper case is another string: another key
		{"066de4ff-e369-03aa-078c-1fcfe10b34dg", false},
		{"066de4ff-e369-03aa-078c-1fcfe10b34d", false},
		{"066de4ff-e369-03aa-078c-1fcfe10b34d00", false},
		{"066de4ffe369-03aa-078c-1fcfe10b34d0-", false},
		{"", false},
	}
	for _, tt := range tests {
		u, ok := parseUUID(tt.id)
		if ok != tt.ok {
			t.Errorf("parseUUID(%q) ok = %v, want %v", tt.id, ok, tt.ok)
			continue
		}
		if ok {
			// The packed form gives the string back: two strings never share a key.
			const hex = "0123456789abcdef"
			var b strings.Builder
			for i, x := range u {
				if i == 4 || i == 6 || i == 8 || i == 10 {
					b.WriteByte('-')
				}
				b.WriteByte(hex[x>>4])
				b.WriteByte(hex[x&15])
			}
			if b.String() != tt.id {
				t.Errorf("parseUUID(%q) packs %s", tt.id, b.String())
			}
		}
	}
}

// TestCrasherLine: the line that once crashed the run is read as an ordinary response alone.
func TestCrasherLine(t *testing.T) {
	line := `{"time":"2026-09-23T10:00:01Z","type":"response","request":{"id":"00000000-0000-0000-0000-0000000000-0","operation":"read","path":"kv/data/x"}}` + "\n"
	l, st := loadVaultBytes(t, "a.log", []byte(line), sources.LoadOptions{})
	if st.ReadError != "" || st.Parsed != 1 || len(l.Events) != 1 || !l.Events[0].Has(event.FlagResponseOnly) {
		t.Fatalf("stats %+v, events %+v", st, l.Events)
	}
}

// panicFormat claims files named *.boom and panics reading them.
type panicFormat struct{}

func (panicFormat) Name() string  { return "boom" }
func (panicFormat) Title() string { return "a format whose reader has a bug" }
func (panicFormat) Sniff(name string, _ *sources.Head) bool {
	return strings.HasSuffix(name, ".boom")
}
func (panicFormat) Read(_ context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	st.Lines = 2
	var ids []int
	_ = ids[len(f.Name)] // index out of range, as parseUUID did
	return sources.Batch{}
}

// TestLoadReaderPanic: a format's Read panicking on one file is that file's read error; the
// other files are read and analysed.
func TestLoadReaderPanic(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "audit.log")
	bad := filepath.Join(dir, "x.boom")
	if err := os.WriteFile(good, []byte(strings.Join(vaultLines[:2], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("{\"a\":1}\n{\"a\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := sources.Load(context.Background(), []sources.Input{{Name: bad}, {Name: good}},
		sources.LoadOptions{Formats: []sources.FileFormat{panicFormat{}, Format{}}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(l.Events) != 1 || l.Events[0].Path != "kv/data/app/db" {
		t.Errorf("events %+v, want the Vault file's one", l.Events)
	}
	st := l.Files[0]
	if !strings.Contains(st.ReadError, bad) || !strings.Contains(st.ReadError, "internal error") ||
		!strings.Contains(st.ReadError, "index out of range") || strings.Contains(st.ReadError, "goroutine") {
		t.Errorf("read error %q: want the file, \"internal error\", the panic and no stack", st.ReadError)
	}
	if st.Format != "boom" || l.Files[1].ReadError != "" || l.Files[1].Events != 1 {
		t.Errorf("stats %+v", l.Files)
	}
	if len(l.Panics) != 1 || l.Panics[0].File != bad || !strings.Contains(string(l.Panics[0].Stack), "panicFormat") {
		t.Errorf("panics %+v, want one with the reader's stack", l.Panics)
	}
	if len(l.Errors) != 0 {
		t.Errorf("errors %v: the file was opened", l.Errors)
	}
}

// TestReadVaultWorkerPanic: a panic on a decode worker of the Vault pipeline stops that file
// cleanly (no goroutine left blocked, no deadlock) and becomes its read error in Load.
func TestReadVaultWorkerPanic(t *testing.T) {
	data := testInputs(t)["mix"]
	old := vaultChunkSize
	vaultChunkSize = 4096
	testChunkHook = func(c *vaultChunk) {
		if strings.Contains(string(c.data), "LOGIN-1") {
			panic("decoder bug")
		}
	}
	defer func() { vaultChunkSize, testChunkHook = old, nil }()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	if err := os.WriteFile(a, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(vaultLines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := loadVault(t, sources.LoadOptions{}, a, b)
	if got := l.Files[0].ReadError; !strings.Contains(got, "internal error") || !strings.Contains(got, "decoder bug") {
		t.Errorf("read error %q", got)
	}
	if len(l.Events) != 1 || l.Events[0].Pos.File != b {
		t.Errorf("%d events, want b.log's one", len(l.Events))
	}
	if len(l.Panics) != 1 || !strings.Contains(string(l.Panics[0].Stack), "TestReadVaultWorkerPanic") {
		t.Errorf("panics %+v, want the worker's stack", l.Panics)
	}
	// The chunks went back: the next read of the file is whole.
	testChunkHook = nil
	l = loadVault(t, sources.LoadOptions{}, a)
	if l.Files[0].ReadError != "" || l.Files[0].Events == 0 {
		t.Errorf("after the panic: %+v", l.Files[0])
	}
}

// TestImplausibleTimes: a time before 2000 or from 2100 on is a malformed line with a reason,
// not an event that moves the time window.
func TestImplausibleTimes(t *testing.T) {
	at := func(tm, id string) string {
		return `{"time":"` + tm + `","type":"request","auth":{"accessor":"hmac-sha256:aa"},"request":{"id":"` + id + `","operation":"read","path":"kv/data/x"}}`
	}
	lines := []string{
		at("2026-09-23T10:00:00Z", "a"),
		at("0001-01-01T00:00:00Z", "b"),
		at("9999-12-31T23:59:59Z", "c"),
		at("1999-12-31T23:59:59.999Z", "d"),
		at("2000-01-01T00:00:00Z", "e"), // first plausible instant
		at("2099-12-31T23:59:59Z", "f"), // last plausible second
		at("2100-01-01T00:00:00Z", "g"),
		at("2100-01-01T01:00:00+02:00", "h"), // 2099 in UTC: plausible
		at("1970-01-01T00:00:00Z", "i"),
	}
	l, st := loadVaultBytes(t, "a.log", []byte(strings.Join(lines, "\n")+"\n"), sources.LoadOptions{})
	want := map[int]string{
		2: "invalid time: year 1 outside 2000-2099",
		3: "invalid time: year 9999 outside 2000-2099",
		4: "invalid time: year 1999 outside 2000-2099",
		7: "invalid time: year 2100 outside 2000-2099",
		9: "invalid time: year 1970 outside 2000-2099",
	}
	if st.Malformed != len(want) || len(l.Events) != len(lines)-len(want) {
		t.Fatalf("malformed %d, events %d; problems %v", st.Malformed, len(l.Events), st.Problems)
	}
	for _, p := range st.Problems {
		if want[p.Line] != p.Reason {
			t.Errorf("line %d: %q, want %q", p.Line, p.Reason, want[p.Line])
		}
	}
	if y := st.LastEvent.Year(); y != 2099 {
		t.Errorf("last event in %d", y)
	}
}

// TestRemoteAddressNotIP: an address that is not an IP is counted in the file's note; the
// event is kept with the address unknown.
func TestRemoteAddressNotIP(t *testing.T) {
	req := func(id, addr string) string {
		return `{"time":"2026-09-23T10:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:aa"},"request":{"id":"` + id + `","operation":"read","path":"kv/data/x","remote_address":"` + addr + `"}}`
	}
	resp := func(id, addr string) string {
		return `{"time":"2026-09-23T10:00:01Z","type":"response","auth":{"accessor":"hmac-sha256:aa"},"request":{"id":"` + id + `","operation":"read","path":"kv/data/x","remote_address":"` + addr + `"},"response":{}}`
	}
	tests := []struct {
		name  string
		lines []string
		note  string
	}{
		{"addresses", []string{req("a", "10.0.0.1"), req("b", "[2001:db8::1]:8200"), req("c", "fe80::1%eth0"), req("d", "")}, ""},
		{"host name and garbage", []string{req("a", "vault.example.com"), req("b", "10.0.0.1"), req("c", "not an address")},
			"remote_address not an IP: 2 events (address unknown)"},
		{"a pair counts once", []string{req("a", "host"), resp("a", "host")}, "remote_address not an IP: 1 event (address unknown)"},
		{"a response before its request", []string{resp("a", "host"), req("a", "10.0.0.1"), resp("b", "host")},
			"remote_address not an IP: 1 event (address unknown)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, st := loadVaultBytes(t, "a.log", []byte(strings.Join(tt.lines, "\n")+"\n"), sources.LoadOptions{})
			if st.Note != tt.note {
				t.Errorf("note %q, want %q", st.Note, tt.note)
			}
			if st.Malformed != 0 {
				t.Errorf("malformed %v", st.Problems)
			}
			if tt.name == "host name and garbage" && (len(l.Events) != 3 || eventAt(l.Events, 1).RemoteAddr.IsValid()) {
				t.Errorf("events %+v: the one with a host name must be kept, address unknown", l.Events)
			}
		})
	}
}

// TestPairingOrder: a response before its request is paired; two requests sharing an id are
// answered in order.
func TestPairingOrder(t *testing.T) {
	req := func(id, path, tm string) string {
		return `{"time":"2026-09-23T10:00:0` + tm + `Z","type":"request","auth":{"accessor":"hmac-sha256:aa","display_name":"svc"},"request":{"id":"` + id + `","operation":"read","path":"` + path + `","remote_address":"10.0.0.1"}}`
	}
	resp := func(id, path, tm, errMsg string) string {
		return `{"time":"2026-09-23T10:00:0` + tm + `Z","type":"response","auth":{"accessor":"hmac-sha256:aa","display_name":"svc"},"request":{"id":"` + id + `","operation":"read","path":"` + path + `","mount_point":"kv/","mount_type":"kv"},"error":"` + errMsg + `","response":{}}`
	}
	const u1 = "066de4ff-e369-03aa-078c-1fcfe10b34d0"
	type want struct {
		line    int
		path    string
		outcome event.Outcome
		flags   event.Flags // of FlagRequestOnly, FlagResponseOnly
	}
	tests := []struct {
		name  string
		lines []string
		want  []want
	}{
		{"response first", []string{resp("r1", "kv/data/a", "2", "permission denied"), req("r1", "kv/data/a", "1")},
			[]want{{2, "kv/data/a", event.OutcomeDenied, 0}}},
		{"response first, uuid", []string{resp(u1, "kv/data/a", "2", ""), req("x", "kv/data/b", "1"), req(u1, "kv/data/a", "1")},
			[]want{{3, "kv/data/a", event.OutcomeOK, 0}, {2, "kv/data/b", event.OutcomeOK, event.FlagRequestOnly}}},
		{"shared id answered in order", []string{
			req("dup", "kv/data/first", "1"), req("dup", "kv/data/second", "2"),
			resp("dup", "kv/data/first", "3", "permission denied"), resp("dup", "kv/data/second", "4", "")},
			[]want{{1, "kv/data/first", event.OutcomeDenied, 0}, {2, "kv/data/second", event.OutcomeOK, 0}}},
		{"shared uuid answered in order", []string{
			req(u1, "kv/data/first", "1"), req(u1, "kv/data/second", "2"), req(u1, "kv/data/third", "3"),
			resp(u1, "kv/data/first", "4", "permission denied"), resp(u1, "kv/data/second", "5", "")},
			[]want{{1, "kv/data/first", event.OutcomeDenied, 0}, {2, "kv/data/second", event.OutcomeOK, 0},
				{3, "kv/data/third", event.OutcomeOK, event.FlagRequestOnly}}},
		{"two early responses of one id", []string{
			resp("dup", "kv/data/first", "1", "permission denied"), resp("dup", "kv/data/second", "2", ""),
			req("dup", "kv/data/first", "3"), req("dup", "kv/data/second", "4")},
			[]want{{3, "kv/data/first", event.OutcomeDenied, 0}, {4, "kv/data/second", event.OutcomeOK, 0}}},
		{"a response alone stays alone", []string{resp("gone", "kv/data/a", "1", ""), req("other", "kv/data/b", "2")},
			[]want{{1, "kv/data/a", event.OutcomeOK, event.FlagResponseOnly}, {2, "kv/data/b", event.OutcomeOK, event.FlagRequestOnly}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every chunk size: the pairing must not depend on where chunks end.
			data := []byte(strings.Join(tt.lines, "\n") + "\n")
			for _, chunk := range []int{64, 333, 1 << 20} {
				var st sources.FileStats
				evs := readWithPipeline(data, nil, sources.DefaultMaxLineBytes, chunk, &st)
				if len(evs) != len(tt.want) || st.Events != len(tt.want) || st.Parsed != len(tt.lines) {
					t.Fatalf("chunk %d: %d events (stats %+v), want %d", chunk, len(evs), st, len(tt.want))
				}
				for i, w := range tt.want {
					ev := evs[i]
					got := want{ev.Pos.Line, ev.Path, ev.Outcome, ev.Flags & (event.FlagRequestOnly | event.FlagResponseOnly)}
					if got != w {
						t.Errorf("chunk %d: event %d = %+v, want %+v", chunk, i, got, w)
					}
				}
			}
		})
	}
}

// TestPairingBounded: responses waiting for a request count against maxPending like requests
// waiting for a response, so a file of unanswered lines of either kind holds a bounded set.
func TestPairingBounded(t *testing.T) {
	var st sources.FileStats
	in := sources.NewInterner()
	p := &vaultPairer{b: &vaultBuilder{file: "f", in: in.Local()}, file: "f", st: &st, in: in.Local(), maxLine: 1 << 20}
	p.init()
	line := []byte(`{"time":"2026-09-23T10:00:00Z","type":"response","request":{"id":"x"}}`)
	for i := range maxPending + 10 {
		r := vaultRec{kind: recEntry, isResp: i%2 == 0, line: line}
		r.id = reqID{kind: 1}
		r.id.u[0], r.id.u[1], r.id.u[2] = byte(i), byte(i>>8), byte(i>>16)
		if i%3 == 0 {
			r.id = reqID{kind: 2, s: "s" + string(rune('a'+i%26)) + strings.Repeat("x", i%7)}
		}
		p.entry(&r, i+1)
		if p.waiting > maxPending {
			t.Fatalf("line %d: %d waiting", i+1, p.waiting)
		}
	}
	if n := len(p.pendU) + len(p.pendS) + len(p.earlyU) + len(p.earlyS); n > maxPending {
		t.Errorf("%d ids held", n)
	}
}

// TestInvalidStrings: a line whose strings encoding/json rejects (an invalid escape, a raw
// control character), in a field that is read or one that is skipped, is malformed on both
// decoding paths; white space between tokens is not.
func TestInvalidStrings(t *testing.T) {
	const head = `{"time":"2026-09-23T10:00:00Z","type":"request","request":{"id":"r1","operation":"read",`
	tests := []struct {
		name string
		rest string
		bad  bool
	}{
		{"valid escapes", `"path":"kv/data/a\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"}}`, false},
		{"tab between tokens", "\"path\":\t\"kv/data/a\"}}", false},
		{"invalid escape in a skipped string", `"path":"kv/data/a","data":{"x":"a\qb"}}}`, true},
		{"invalid escape in a read string", `"path":"kv/data/a\qb"}}`, true},
		{"short unicode escape in a skipped string", `"path":"kv/data/a","data":{"x":"\u12"}}}`, true},
		{"unicode escape not hex", `"path":"kv/data/a","data":{"x":"\u12zz"}}}`, true},
		{"raw control character in a read string", "\"path\":\"kv/data/a\x01b\"}}", true},
		{"raw tab in a read string", "\"path\":\"kv/data/a\tb\"}}", true},
		{"raw control character in a skipped string", "\"path\":\"kv/data/a\",\"data\":{\"x\":\"\x1b[31m\"}}}", true},
		{"raw control character in a key", "\"path\":\"kv/data/a\",\"data\":{\"x\x07\":1}}}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := head + tt.rest
			if json.Valid([]byte(line)) == tt.bad {
				t.Fatalf("encoding/json says valid=%v: the case is wrong", !tt.bad)
			}
			var rec vaultRec
			b := &vaultBuilder{file: "f", in: sources.NewInterner().Local()}
			b.decodeLine([]byte(line), &rec, true)
			if bad := rec.kind == recBad; bad != tt.bad {
				t.Errorf("malformed = %v (%q), want %v", bad, rec.reason, tt.bad)
			}
			if tt.bad && !strings.HasPrefix(rec.reason, "invalid JSON: ") { // sonic rejects some first, in its words
				t.Errorf("reason %q", rec.reason)
			}
		})
	}
}

// TestEntryWithoutAuthOrRequest: a record with time and type and nothing else the detectors use
// (neither auth nor request, none of the members Fluent Bit's nest/lift puts at the top level)
// is malformed with a reason, never a silent empty event; a lifted record is read as the entry
// it was (shipped_test.go); an entry whose request object is there but thin is still an entry.
func TestEntryWithoutAuthOrRequest(t *testing.T) {
	bare := `{"time":"2026-09-23T10:00:00Z","type":"request","request_id":"r0","error":""}`
	thin := `{"time":"2026-09-23T10:00:01Z","type":"request","request":{"id":"r1","operation":"read","path":"kv/data/x"}}`
	l, st := loadVaultBytes(t, "a.log", []byte(bare+"\n"+thin+"\n"), sources.LoadOptions{})
	if st.Malformed != 1 || len(l.Events) != 1 || st.Problems[0].Line != 1 || !strings.Contains(st.Problems[0].Reason, "without auth or request") {
		t.Errorf("malformed %d, events %d, problems %v", st.Malformed, len(l.Events), st.Problems)
	}
}
