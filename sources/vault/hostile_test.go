package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/race"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestMalformedLines: bad lines anywhere are counted and located by line number; the rest of
// the file is read.
func TestMalformedLines(t *testing.T) {
	lines := []string{
		synthLine(1, "kv/data/a"),
		`{"time":"2026-09-23T10:00:02Z","type":"request","request":{"path":"kv/data/b"`, // cut short
		synthLine(3, "kv/data/c"),
		`not json at all`,
		`{"time":"2026-09-23T10:00:05Z","type":"request","auth":"a string"}`, // wrong type
		`{"time":"yesterday","type":"request","request":{"path":"kv/data/d"}}`,
		`{"type":"","request":{}}`,
		`[1,2,3]`,
		`{"time":"2026-09-23T10:00:09Z","type":"kmip-request"}`, // another product's entry type
		``,
		`   `,
		synthLine(12, "kv/data/e"),
	}
	_, st := loadVaultBytes(t, "bad.log", []byte(strings.Join(lines, "\n")+"\n"), sources.LoadOptions{})
	if st.Lines != 12 || st.Parsed != 3 || st.Malformed != 6 || st.Skipped["blank"] != 2 || st.Skipped["unknown-type"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	wantLines := []int{2, 4, 5, 6, 7, 8}
	if len(st.Problems) != len(wantLines) {
		t.Fatalf("problems %v", st.Problems)
	}
	for i, p := range st.Problems {
		if p.Line != wantLines[i] || p.Reason == "" {
			t.Errorf("problem %d: %+v, want line %d with a reason", i, p, wantLines[i])
		}
	}
	if !strings.Contains(st.Problems[0].Reason, "truncated") {
		t.Errorf("a line cut short: reason %q", st.Problems[0].Reason)
	}
}

// TestProblemListCap: past MaxProblemsListed the positions are not kept, the counts are.
func TestProblemListCap(t *testing.T) {
	var b strings.Builder
	for range sources.MaxProblemsListed + 50 {
		b.WriteString("garbage\n")
	}
	_, st := loadVaultBytes(t, "garbage.log", []byte(b.String()), sources.LoadOptions{})
	if st.Malformed != sources.MaxProblemsListed+50 || len(st.Problems) != sources.MaxProblemsListed {
		t.Errorf("malformed %d, problems listed %d", st.Malformed, len(st.Problems))
	}
}

// TestFiveMegabyteLine: a valid entry of 5 MB (numbers are not HMAC'd) is read like any other.
func TestFiveMegabyteLine(t *testing.T) {
	pad := strings.Repeat("1234567,", 5<<20/8)
	big := `{"time":"2026-09-23T10:00:01Z","type":"request","auth":{"accessor":"hmac-sha256:aa","display_name":"svc"},"request":{"id":"big","operation":"create","path":"kv/data/big","data":{"data":{"n":[` + pad + `0]}}}}`
	data := synthLine(0, "kv/data/a") + "\n" + big + "\n" + synthLine(2, "kv/data/c") + "\n"
	l, st := loadVaultBytes(t, "big.log", []byte(data), sources.LoadOptions{})
	if st.Parsed != 3 || st.Malformed != 0 || len(l.Events) != 3 {
		t.Fatalf("stats %+v", st)
	}
	if ev := eventAt(l.Events, 2); ev == nil || ev.Resource != "kv/big" {
		t.Errorf("event of the 5 MB line: %+v", ev)
	}
}

// TestTruncatedGzip: a rotated file cut short keeps what came before the damage, and says where.
func TestTruncatedGzip(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		b.WriteString(synthLine(i, fmt.Sprintf("kv/data/s%d", i)) + "\n")
	}
	full := testutil.Gzip(t, []byte(b.String()))
	cut := full[:len(full)*2/3]
	l, st := loadVaultBytes(t, "audit.log.1.gz", cut, sources.LoadOptions{})
	if st.ReadError == "" || !strings.Contains(st.ReadError, "after line") || !strings.Contains(st.ReadError, "compressed byte") {
		t.Fatalf("read error %q: want the position of the damage", st.ReadError)
	}
	if st.Parsed < 1000 || len(l.Events) < 1000 {
		t.Errorf("only %d lines kept before the damage", st.Parsed)
	}
	if st.Malformed > 1 {
		t.Errorf("%d malformed: only the line at the break may be", st.Malformed)
	}
	if len(l.Errors) != 0 {
		t.Errorf("a damaged file is not unreadable: %v", l.Errors)
	}
	// Trailing garbage after a complete member is reported too, with the lines kept.
	_, st = loadVaultBytes(t, "trailing.gz", append(full, "garbage"...), sources.LoadOptions{})
	if st.Parsed != 2000 || st.ReadError == "" {
		t.Errorf("gzip + garbage: parsed %d, read error %q", st.Parsed, st.ReadError)
	}
}

// TestEmptyAndMissingFiles: an empty file is read (zero lines), a missing one is an error that
// does not stop the others; only when nothing at all can be read does Load fail.
func TestEmptyAndMissingFiles(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.log")
	good := filepath.Join(dir, "good.log")
	missing := filepath.Join(dir, "missing.log")
	os.WriteFile(empty, nil, 0o644)
	os.WriteFile(good, []byte(synthLine(1, "kv/data/a")+"\n"), 0o644)

	l, err := sources.Load(context.Background(), []sources.Input{{Name: empty}, {Name: missing}, {Name: good}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(l.Errors) != 1 || !errors.Is(l.Errors[0], sources.ErrNoInput) || !strings.Contains(l.Errors[0].Error(), missing) {
		t.Errorf("errors %v: want one 'no such file' naming %s", l.Errors, missing)
	}
	if l.Files[0].Lines != 0 || l.Files[0].ReadError != "" || len(l.Events) != 1 {
		t.Errorf("empty file %+v, events %d", l.Files[0], len(l.Events))
	}
	for _, st := range l.Files {
		assertBalanced(t, st)
	}
	if _, err := sources.Load(context.Background(), []sources.Input{{Name: missing}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault"}); !errors.Is(err, sources.ErrNothingRead) {
		t.Errorf("only a missing file: err %v, want ErrNothingRead", err)
	}
	if _, err := sources.Load(context.Background(), []sources.Input{{Name: empty}}, sources.LoadOptions{Formats: vaultOnly, Only: "vault"}); err != nil {
		t.Errorf("only an empty file: %v (an empty file was read)", err)
	}
}

// TestNULBytes: a file system block of NULs (after a crash) is one malformed line; the lines
// after it are read.
func TestNULBytes(t *testing.T) {
	_, st := loadVaultBytes(t, "nul.log", make([]byte, 4096), sources.LoadOptions{})
	if st.Lines != 1 || st.Malformed != 1 || !strings.Contains(st.Problems[0].Reason, "NUL") {
		t.Errorf("4096 NULs: %+v", st)
	}
	data := append(make([]byte, 1000), '\n')
	data = append(data, synthLine(1, "kv/data/a")+"\n"...)
	l, st := loadVaultBytes(t, "nul-then-data.log", data, sources.LoadOptions{})
	if st.Malformed != 1 || st.Parsed != 1 || len(l.Events) != 1 {
		t.Errorf("NULs then an entry: %+v", st)
	}
}

// TestLineEndings: CRLF and a last line without newline give the same events as LF.
func TestLineEndings(t *testing.T) {
	lines := readLines(t, vaultTestdata+"openbao-capture1-audit.log")
	lf := strings.Join(lines, "\n") + "\n"
	want, _ := loadVaultBytes(t, "lf.log", []byte(lf), sources.LoadOptions{})
	for name, data := range map[string]string{
		"crlf":       strings.Join(lines, "\r\n") + "\r\n",
		"no newline": strings.Join(lines, "\n"),
		"crlf, none": strings.Join(lines, "\r\n"),
	} {
		got, st := loadVaultBytes(t, "x.log", []byte(data), sources.LoadOptions{})
		if st.Lines != len(lines) || st.Parsed != len(lines) || len(got.Events) != len(want.Events) {
			t.Errorf("%s: %+v", name, st)
			continue
		}
		for i := range got.Events {
			a, b := got.Events[i], want.Events[i]
			a.Pos.File, b.Pos.File = "", ""
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("%s: event %d differs:\n%+v\n%+v", name, i, a, b)
				break
			}
		}
	}
}

// genReader produces size bytes of one long line (fill), then tail, without holding them.
type genReader struct {
	head, tail []byte
	fill       byte
	size       int64
	pos        int64
}

func (g *genReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case len(g.head) > 0:
			c := copy(p[n:], g.head)
			g.head = g.head[c:]
			n += c
		case g.pos < g.size:
			c := int(min(int64(len(p)-n), g.size-g.pos))
			for i := range c {
				p[n+i] = g.fill
			}
			g.pos += int64(c)
			n += c
		case len(g.tail) > 0:
			c := copy(p[n:], g.tail)
			g.tail = g.tail[c:]
			n += c
		default:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
	}
	return n, nil
}

// TestHundredMegabyteLine: a 100 MB line (here from standard input) is skipped and counted as
// too long under the default limit; the lines around it are read, and the memory used stays
// near the limit, not the line's size.
func TestHundredMegabyteLine(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100 MB")
	}
	g := &genReader{
		head: []byte(synthLine(1, "kv/data/before") + "\n" + `{"time":"2026-09-23T10:00:02Z","type":"request","request":{"path":"`),
		fill: 'A', size: 100 << 20,
		tail: []byte(`"}}` + "\n" + synthLine(3, "kv/data/after") + "\n"),
	}
	l := loadVault(t, sources.LoadOptions{Stdin: g}, "-")
	st := l.Files[0]
	if st.Lines != 3 || st.Parsed != 2 || st.Skipped["too-long"] != 1 || len(l.Events) != 2 {
		t.Fatalf("stats %+v", st)
	}
	if len(st.Problems) != 1 || st.Problems[0].Line != 2 || !strings.Contains(st.Problems[0].Reason, "longer than") {
		t.Errorf("problems %v", st.Problems)
	}
	if st.Bytes < 100<<20 {
		t.Errorf("bytes %d: the skipped line's bytes are read and counted", st.Bytes)
	}
}

// TestMaxLineBytesConfigurable: the limit is the caller's; a line just at it is read, one byte
// more is skipped.
func TestMaxLineBytesConfigurable(t *testing.T) {
	line := synthLine(1, "kv/data/a")
	for _, tt := range []struct {
		limit   int
		tooLong int
	}{{len(line), 0}, {len(line) - 1, 1}} {
		_, st := loadVaultBytes(t, "l.log", []byte(line+"\r\n"), sources.LoadOptions{MaxLineBytes: tt.limit})
		if st.Skipped["too-long"] != tt.tooLong {
			t.Errorf("limit %d for a %d-byte line: too-long %d, want %d", tt.limit, len(line), st.Skipped["too-long"], tt.tooLong)
		}
	}
}

// TestDeepNesting: nesting in a field nobody reads has no limit (a write whose request body is
// 1,000,000 levels deep is still an event: Vault itself accepts 10,000), nesting where a
// decoder reads is one malformed line with a clear reason, not a stack overflow; the lines
// around them are read.
func TestDeepNesting(t *testing.T) {
	const depth = 1_000_000
	nested := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	lines := []string{
		synthLine(1, "kv/data/a"),
		`{"time":"2026-09-23T10:00:02Z","type":"request","request":{"id":"x","path":"kv/data/b","data":{"k":` + nested + `}}}`,
		`{"time":"2026-09-23T10:00:03Z","type":"request","request":{"path":` + nested + `}}`,
		strings.Repeat(`{"a":`, depth),
		synthLine(5, "kv/data/c"),
	}
	l, st := loadVaultBytes(t, "deep.log", []byte(strings.Join(lines, "\n")+"\n"), sources.LoadOptions{})
	if st.Parsed != 3 || st.Malformed != 2 || eventAt(l.Events, 2) == nil || eventAt(l.Events, 2).Resource != "kv/b" {
		t.Fatalf("stats %+v", st)
	}
	for _, p := range st.Problems {
		if !strings.Contains(p.Reason, "nested too deeply") && !strings.Contains(p.Reason, "truncated") {
			t.Errorf("line %d: reason %q", p.Line, p.Reason)
		}
	}
}

// TestErrorsNeverQuoteInput: the reasons given for malformed lines never repeat the line's
// content. With log_raw, that content is tokens and secret values.
func TestErrorsNeverQuoteInput(t *testing.T) {
	const secret = "s.SECRETtoken0123456789"
	lines := []string{
		`{"time":"2026-09-23T10:00:01Z","type":"request","auth":{"client_token":"` + secret + `","accessor":["` + secret + `"]}}`,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"data":{"password":"` + secret + `"}}} ` + secret,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"data":{"password":"` + secret + `"`,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"data":{"password":` + secret + `}}}`,
		`{"time":"` + secret + `","type":"request"}`,
		`{"type":` + secret + `}`,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"id":{"x":"` + secret + `"}}}`,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"remote_address":1e999,"x":"` + secret + `"}}`,
		`{"time":"2026-09-23T10:00:01Z","type":"request","request":{"path":"\ud800` + secret + `\x"}}`,
		secret + ` {"time":"2026-09-23T10:00:01Z"`,
		strings.Repeat(" ", 1100) + `{"x":"` + secret + `"}`,
	}
	_, st := loadVaultBytes(t, "secrets.log", []byte(strings.Join(lines, "\n")+"\n"), sources.LoadOptions{})
	if st.Malformed != len(lines)-1 && st.Malformed != len(lines) {
		t.Errorf("malformed %d of %d: %+v", st.Malformed, len(lines), st.Problems)
	}
	for _, p := range st.Problems {
		if strings.Contains(p.Reason, "SECRET") || strings.Contains(p.Reason, "0123456789") {
			t.Errorf("line %d: reason %q quotes the input", p.Line, p.Reason)
		}
	}
	t.Logf("reasons: %+v", st.Problems)
}

// TestUnknownFieldsAndTypes: fields of another type than expected where we do not read them,
// and unknown fields, do not make a line malformed.
func TestUnknownFieldsAndTypes(t *testing.T) {
	line := `{"time":"2026-09-23T10:00:01Z","type":"request","extra":{"a":[1,2,{"b":null}]},"auth":{"accessor":"x","metadata":{"k":1},"token_ttl":"not a number"},"request":{"id":"a","path":"kv/data/x","data":{"no_parent":"yes","x":[[[]]]},"headers":{"user-agent":["ua"]}}}`
	l, st := loadVaultBytes(t, "u.log", []byte(line+"\n"), sources.LoadOptions{})
	if st.Parsed != 1 || len(l.Events) != 1 || l.Events[0].UserAgent != "ua" || l.Events[0].Has(event.FlagOrphan) {
		t.Errorf("stats %+v events %+v", st, l.Events)
	}
}

// TestManyDistinctPaths: memory grows linearly with events, whatever the number of distinct
// paths, and stays within a stated bound per event. It is the same structure as 10 million
// distinct paths, at a size a test can afford; the bound (not a time) is what is checked.
func TestManyDistinctPaths(t *testing.T) {
	n := 100_000
	if testing.Short() || race.Enabled {
		n = 20_000
	}
	// The input is generated as it is read, so only what the reader keeps is measured.
	gen := &testutil.LineGen{N: n, Line: func(i int) string {
		return synthLine(i, fmt.Sprintf("kv/data/team-%d/app-%d/secret-%d", i%97, i, i*7))
	}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := loadVault(t, sources.LoadOptions{Stdin: gen}, "-")
	// Two collections: the read buffers go back to sync.Pools, which keep them through one
	// (their victim cache). They are a fixed amount, reused by the next file, not per event.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(l.Events) != n {
		t.Fatalf("%d events, want %d", len(l.Events), n)
	}
	perEvent := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / int64(n)
	// Event (~300 bytes) + its distinct path and resource strings (~100 bytes). The bound is
	// what docs/SECURITY-section.md states: about 10 million distinct paths in 10 GB.
	const maxPerEvent = 1024
	if perEvent > maxPerEvent {
		t.Errorf("%d bytes of heap per event with distinct paths, want <= %d", perEvent, maxPerEvent)
	}
	t.Logf("%d events with distinct paths: %d bytes of heap per event", n, perEvent)
	runtime.KeepAlive(l)
}

// TestGzipRealLogPassesGuards: a real rotated log, gzip-compressed, passes both gzip guards.
func TestGzipRealLogPassesGuards(t *testing.T) {
	data, _ := os.ReadFile(vaultTestdata + "openbao-capture1-audit.log")
	l, st := loadVaultBytes(t, "audit.log.1.gz", testutil.Gzip(t, data), sources.LoadOptions{MaxGzipRatio: 30})
	if st.ReadError != "" || st.Parsed != 212 || len(l.Events) != 108 {
		t.Errorf("stats %+v", st)
	}
}
