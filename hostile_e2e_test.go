package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// End-to-end tests of hostile input with the real binary (built once by TestMain in main_test.go).

// run runs the built vaultsentry with args and returns stdout, stderr and the exit code.
func run(t *testing.T, dir string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run vaultsentry: %v", err)
	}
	if bytes.Contains(errb.Bytes(), []byte("panic")) {
		t.Fatalf("vaultsentry panicked:\n%s", errb.Bytes())
	}
	return out.Bytes(), errb.Bytes(), code
}

// secretValues collects every string value found under the given JSON paths in data, which is
// NDJSON (one document per line; a prefix before '{' is skipped) or one JSON document. Arrays
// are walked through, so {"Records", "responseElements"} reaches every record of a CloudTrail
// file. Strings shorter than minLen are left out: "1h" or "default" are not secrets and
// legitimately appear in reports. It is the helper the CloudTrail secret test reuses.
func secretValues(t *testing.T, data []byte, minLen int, paths ...[]string) []string {
	t.Helper()
	var docs []any
	var whole any
	if err := json.Unmarshal(data, &whole); err == nil {
		docs = append(docs, whole)
	} else {
		for _, line := range bytes.Split(data, []byte("\n")) {
			if i := bytes.IndexByte(line, '{'); i >= 0 {
				var d any
				if json.Unmarshal(line[i:], &d) == nil {
					docs = append(docs, d)
				}
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	var collect func(v any)
	collect = func(v any) {
		switch x := v.(type) {
		case string:
			if len(x) >= minLen && !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				collect(e)
			}
		case map[string]any:
			for _, e := range x {
				collect(e)
			}
		}
	}
	var walk func(v any, path []string)
	walk = func(v any, path []string) {
		if len(path) == 0 {
			collect(v)
			return
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, path)
			}
		case map[string]any:
			if e, ok := x[path[0]]; ok {
				walk(e, path[1:])
			}
		}
	}
	for _, d := range docs {
		for _, p := range paths {
			walk(d, p)
		}
	}
	return out
}

// assertNoSecrets fails when any secret appears in any output (named by the map's keys).
func assertNoSecrets(t *testing.T, secrets []string, outputs map[string][]byte) {
	t.Helper()
	if len(secrets) == 0 {
		t.Fatal("no secrets to look for: the test would prove nothing")
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if bytes.Contains(out, []byte(s)) {
				i := bytes.Index(out, []byte(s))
				t.Errorf("%s contains the secret %q: ...%s...", name, s, out[max(0, i-80):min(len(out), i+len(s)+20)])
			}
		}
	}
}

// vaultSecretPaths are the fields of a Vault audit entry that hold tokens or secret values
// (with log_raw in clear, otherwise their HMAC; neither may be printed). Other parts of
// request.data and response.data (policy names, TTLs, accessors, entity ids of a token lookup)
// are values too but not secrets, and some are legitimately shown (an accessor, a display name).
var vaultSecretPaths = [][]string{
	{"auth", "client_token"},
	{"request", "client_token"},
	{"response", "auth", "client_token"},
	{"response", "wrap_info", "token"},
	{"request", "data", "data"},     // KV v2 values written
	{"response", "data", "data"},    // KV v2 values read
	{"request", "data", "password"}, // KV v1 value, userpass password
	{"response", "data", "password"},
	{"request", "data", "secret_id"}, // AppRole
	{"response", "data", "secret_id"},
	{"request", "data", "token"}, // auth/token/lookup body
	{"response", "data", "id"},   // the token, in a lookup response
	{"request", "data", "policy"},
	{"response", "data", "policy"},
}

// synthSecretLog is a harvest by one token (so that findings exist and name the paths read),
// with known secret strings in every value-holding field, and malformed lines that hold them
// too (sonic's syntax errors quote the input: our messages must not).
func synthSecretLog() (string, []string) {
	var b strings.Builder
	var secrets []string
	for i := range 40 {
		tok := fmt.Sprintf("hvs.SYNTHTOKEN%04dxyzzy", i)
		pw := fmt.Sprintf("SYNTH-PASSWORD-%04d-plugh", i)
		req := fmt.Sprintf("SYNTH-REQUEST-%04d-value", i)
		secrets = append(secrets, tok, pw, req)
		fmt.Fprintf(&b, `{"time":"2026-09-23T23:41:%02d.000Z","type":"request","auth":{"client_token":%q,"accessor":"acc-harvester","display_name":"approle","entity_id":"e-harvest","policies":["default"]},"request":{"id":"r%d","operation":"read","client_token":%q,"path":"secret/data/team/s%02d","mount_point":"secret/","mount_type":"kv","remote_address":"203.0.113.9","data":{"note":%q}}}`+"\n",
			i, tok, i, tok, i%12, req)
		fmt.Fprintf(&b, `{"time":"2026-09-23T23:41:%02d.001Z","type":"response","auth":{"client_token":%q,"accessor":"acc-harvester","display_name":"approle","entity_id":"e-harvest"},"request":{"id":"r%d","operation":"read","path":"secret/data/team/s%02d","mount_point":"secret/","mount_type":"kv","remote_address":"203.0.113.9"},"response":{"auth":{"client_token":%q},"data":{"data":{"password":%q},"metadata":{"version":1}}}}`+"\n",
			i, tok, i, i%12, tok, pw)
	}
	bad := []string{
		`{"time":"2026-09-23T23:42:00Z","type":"request","auth":{"client_token":"hvs.SYNTHBADTOKEN0001zz","accessor":["x"]}}`,
		`{"time":"2026-09-23T23:42:01Z","type":"request","request":{"data":{"password":"SYNTH-BAD-PASSWORD-0002"`,
		`{"time":"2026-09-23T23:42:02Z","type":"request","request":{"data":{"password":SYNTH-BAD-PASSWORD-0003}}}`,
		`{"time":"SYNTH-BAD-TIME-SECRET-0004","type":"request"}`,
		`{"time":"2026-09-23T23:42:04Z","type":"response","response":{"data":{"x":"SYNTH-BAD-PASSWORD-0005"}}} trailing SYNTH-BAD-TRAIL-0006`,
		`SYNTH-BAD-PREFIX-SECRET-0007 not json`,
	}
	for _, l := range bad {
		b.WriteString(l + "\n")
	}
	secrets = append(secrets, "hvs.SYNTHBADTOKEN0001zz", "SYNTH-BAD-PASSWORD-0002", "SYNTH-BAD-PASSWORD-0003",
		"SYNTH-BAD-TIME-SECRET-0004", "SYNTH-BAD-PASSWORD-0005", "SYNTH-BAD-TRAIL-0006", "SYNTH-BAD-PREFIX-SECRET-0007",
		"SYNTH") // no fragment of them either
	return b.String(), secrets
}

// TestNoSecretsInAnyOutput feeds a log_raw audit log (plain tokens, passwords, secret values),
// its HMAC'd twin, and synthetic lines with known secrets (valid and malformed) and checks that
// no output byte of any format, nor standard error, nor the -o file holds any of them.
func TestNoSecretsInAnyOutput(t *testing.T) {
	dir := t.TempDir()
	lograw := filepath.Join("testdata", "vault", "openbao-capture1-audit-lograw.log")
	hmacd := filepath.Join("testdata", "vault", "openbao-capture1-audit.log")
	var secrets []string
	for _, p := range []string{lograw, hmacd} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, secretValues(t, data, 8, vaultSecretPaths...)...)
	}
	synth, synthSecrets := synthSecretLog()
	secrets = append(secrets, synthSecrets...)
	synthPath := filepath.Join(dir, "synth.log")
	os.WriteFile(synthPath, []byte(synth), 0o644)
	// The known fake values of the capture must be among what is looked for.
	for _, must := range []string{"example-db-password-v1", "alice-example-pass", "example-api-key-v2"} {
		found := false
		for _, s := range secrets {
			found = found || strings.Contains(s, must)
		}
		if !found {
			t.Fatalf("the secret list misses %q", must)
		}
	}

	wd, _ := os.Getwd()
	inputs := []string{filepath.Join(wd, lograw), filepath.Join(wd, hmacd), synthPath}
	outputs := map[string][]byte{}
	findings := 0
	for _, format := range []string{"table", "json", "sarif"} {
		stdout, stderr, code := run(t, dir, append([]string{"scan", "--format", format}, inputs...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, stderr)
		}
		outputs[format+" stdout"], outputs[format+" stderr"] = stdout, stderr
		if format == "json" {
			var doc struct{ Findings []json.RawMessage }
			json.Unmarshal(stdout, &doc)
			findings = len(doc.Findings)
		}
		out := filepath.Join(dir, "report."+format)
		_, stderr, code = run(t, dir, append([]string{"scan", "--strict", "--format", format, "-o", out}, inputs...)...)
		if code != 3 {
			t.Errorf("%s --strict: exit %d, want 3 (malformed lines)", format, code)
		}
		outputs[format+" -o file"], _ = os.ReadFile(out)
		outputs[format+" --strict stderr"] = stderr
	}
	if findings == 0 {
		t.Fatal("no finding: the harvest should be reported, or the test proves little")
	}
	if !bytes.Contains(outputs["json stdout"], []byte("secret/team/s")) {
		t.Error("the paths read are not in the report: paths are fine to print, and expected")
	}
	if !bytes.Contains(outputs["table stderr"], []byte("synth.log:")) {
		t.Error("the malformed lines are not located on standard error")
	}
	assertNoSecrets(t, secrets, outputs)
}

// terminalUnsafe returns the first rune of out a terminal would interpret, if any.
func terminalUnsafe(out []byte) (rune, int, bool) {
	if !utf8.Valid(out) {
		return utf8.RuneError, 0, true
	}
	for i, r := range string(out) {
		if r == '\n' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 {
			return r, i, true
		}
	}
	return 0, 0, false
}

// TestHostileStringsNeverReachTheTerminal: attacker strings in paths, display names, user
// agents and file names come out escaped on stdout (table) and stderr (warnings, summary,
// located problems, errors); JSON stays valid.
func TestHostileStringsNeverReachTheTerminal(t *testing.T) {
	dir := t.TempDir()
	evil := []string{
		"\x1b[31mred\x1b[0m", "\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07", "\x1b]0;pwned\x07",
		"rtl\u202eexe.txt", "zw\u200bsp", "line\nbreak", "cr\roverwrite", "\u009b31m",
	}
	var b strings.Builder
	for i := range 40 {
		s := evil[i%len(evil)]
		line, _ := json.Marshal(map[string]any{
			"time": fmt.Sprintf("2026-09-23T23:41:%02d.000Z", i), "type": "request",
			"auth": map[string]any{"accessor": "acc-harvester", "display_name": "user " + s, "entity_id": "ent " + evil[0]},
			"request": map[string]any{"id": fmt.Sprintf("r%d", i), "operation": "read", "path": fmt.Sprintf("secret/data/%s/%d", s, i%12),
				"mount_point": "secret/", "mount_type": "kv", "remote_address": "203.0.113.9",
				"headers": map[string]any{"user-agent": []string{"ua " + s}}},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteString("\x1b]0;malformed line title\x07\n") // malformed: its reason must not echo it
	// A hostile file name (allowed on Linux): ESC, a bidi override and a newline.
	name := "audit\x1b[2J\u202e\ngol.log"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Skipf("file system refuses the name: %v", err)
	}
	missing := "missing\x1b]0;t\x07.log"

	stdout, stderr, code := run(t, dir, "scan", "--fail-on", "high", name, missing)
	if code != 1 {
		t.Errorf("exit %d, want 1 (a bulk-read at or above high)\n%s", code, stderr)
	}
	if !bytes.Contains(stdout, []byte("bulk-read")) {
		t.Fatalf("no bulk-read finding:\n%s", stdout)
	}
	for what, out := range map[string][]byte{"stdout": stdout, "stderr": stderr} {
		if r, i, bad := terminalUnsafe(out); bad {
			t.Errorf("%s holds %U at byte %d: %q", what, r, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
	for _, want := range []string{`\x1b[2J`, `\u202e`, `\u000a`, "malformed", "missing"} {
		if !bytes.Contains(stderr, []byte(want)) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	stdout, _, _ = run(t, dir, "scan", "--format", "json", name)
	if !json.Valid(stdout) {
		t.Error("JSON report is not valid JSON")
	}
}

// TestDamagedAndHostileGzip: a truncated rotated file keeps what came before the damage and
// says where it broke; a gzip bomb stops at the guard; the other inputs are analysed.
func TestDamagedAndHostileGzip(t *testing.T) {
	dir := t.TempDir()
	plain, err := os.ReadFile(filepath.Join("testdata", "vault", "openbao-capture2-audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	os.WriteFile(filepath.Join(dir, "audit.log.1.gz"), zb.Bytes()[:zb.Len()/2], 0o644)

	var bomb bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte("\n"), 8<<20))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "bomb.gz"), bomb.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "audit.log"), plain, 0o644)

	stdout, stderr, code := run(t, dir, "scan", "--format", "json", "--max-decompressed-bytes", "1048576",
		"audit.log.1.gz", "bomb.gz", "audit.log")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var doc struct {
		Stats struct {
			Files []struct {
				File      string
				Lines     int
				Parsed    int
				ReadError string `json:"read_error"`
			}
		}
	}
	if err := json.Unmarshal(stdout, &doc); err != nil || len(doc.Stats.Files) != 3 {
		t.Fatalf("report: %v", err)
	}
	cut, bombed, whole := doc.Stats.Files[0], doc.Stats.Files[1], doc.Stats.Files[2]
	if cut.Parsed < 50 || !strings.Contains(cut.ReadError, "after line") || !strings.Contains(cut.ReadError, "unexpected EOF") {
		t.Errorf("truncated gzip: %+v", cut)
	}
	if !strings.Contains(bombed.ReadError, "decompression limit") {
		t.Errorf("gzip bomb: %+v", bombed)
	}
	if whole.Parsed != 251 || whole.ReadError != "" {
		t.Errorf("plain file: %+v", whole)
	}
	for _, want := range []string{"audit.log.1.gz: read audit.log.1.gz after line", "bomb.gz: read bomb.gz", "--max-decompressed-bytes"} {
		if !bytes.Contains(stderr, []byte(want)) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
