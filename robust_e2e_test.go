package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/loggen"
)

// End-to-end tests of how a run ends when it is interrupted or cannot write what it made, with
// the real binary (built by TestMain in main_test.go).

// stopWithin is how soon after a signal an interrupted run must have exited. The promise is
// a second (measured 0.07-0.65 s on an idle machine); the test allows five because CI runs it
// on two cores shared with every other package's tests.
const stopWithin = 5 * time.Second

// bigLog writes a generated Vault log of 32 MiB in the compact shape (the most events per
// byte: the analysis takes a second or more, time to be interrupted in).
func bigLog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := loggen.Write(f, 32<<20, loggen.Options{Compact: true}); err != nil {
		t.Fatal(err)
	}
	return path
}

// runState is what a test needs to check that an interrupted run left everything as it was.
type runState struct {
	dir, report, baseline string
	prevReport            []byte
	prevBaseline          []byte
}

// newRunState makes a directory with a previous report and a baseline learned from a small log.
func newRunState(t *testing.T) *runState {
	t.Helper()
	dir := t.TempDir()
	st := &runState{dir: dir, report: filepath.Join(dir, "report.json"), baseline: filepath.Join(dir, "history.vsb")}
	st.prevReport = []byte("{\"previous\": \"report\"}\n")
	if err := os.WriteFile(st.report, st.prevReport, 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	small := filepath.Join(wd, "testdata", "vault", "openbao-capture2-audit.log")
	if _, stderr, code := run(t, dir, "baseline", "learn", "--baseline", st.baseline, small); code != 0 {
		t.Fatalf("learn the starting baseline: exit %d\n%s", code, stderr)
	}
	var err error
	if st.prevBaseline, err = os.ReadFile(st.baseline); err != nil {
		t.Fatal(err)
	}
	return st
}

// scanArgs are the arguments of a run that would replace both the report and the baseline.
func (st *runState) scanArgs(inputs ...string) []string {
	return append([]string{"scan", "--verbose", "--format", "json", "-o", st.report,
		"--baseline", st.baseline, "--update-baseline"}, inputs...)
}

// checkUntouched fails unless the previous report and baseline are as they were and no
// temporary file is left beside them.
func (st *runState) checkUntouched(t *testing.T) {
	t.Helper()
	if got, err := os.ReadFile(st.report); err != nil || !bytes.Equal(got, st.prevReport) {
		t.Errorf("the previous report was replaced or damaged (%v): %.200q", err, got)
	}
	if got, err := os.ReadFile(st.baseline); err != nil || !bytes.Equal(got, st.prevBaseline) {
		t.Errorf("the baseline changed (%v)", err)
	}
	entries, _ := os.ReadDir(st.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// started is a running vaultsentry whose standard error is read line by line.
type started struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *bytes.Buffer
	mu     sync.Mutex
	done   chan error
}

func start(t *testing.T, dir string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "vaultsentry"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, lines: make(chan string, 100), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		close(s.lines)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return s
}

func (s *started) errText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// waitLine waits for a line of standard error that contains want.
func (s *started) waitLine(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("vaultsentry exited before printing %q:\n%s", want, s.errText())
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on stderr after %s:\n%s", want, timeout, s.errText())
		}
	}
}

// signalAndWait sends sig and returns the exit code, failing when the process is still
// running stopWithin after the signal.
func (s *started) signalAndWait(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal: %v", err)
	}
	select {
	case err := <-s.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(stopWithin):
		s.cmd.Process.Kill()
		t.Fatalf("still running %s after %v", stopWithin, sig)
	}
	return -1
}

var signals = []struct {
	name string
	sig  syscall.Signal
	code int
}{{"SIGINT", syscall.SIGINT, 130}, {"SIGTERM", syscall.SIGTERM, 143}}

// TestSignalDuringAnalysis: a signal once the analysis has begun (--verbose says when) stops it: exit 130 or 143 within a second, the previous report and the
// baseline untouched.
func TestSignalDuringAnalysis(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT/SIGTERM to send on Windows")
	}
	log := bigLog(t)
	for _, s := range signals {
		t.Run(s.name, func(t *testing.T) {
			st := newRunState(t)
			p := start(t, st.dir, st.scanArgs(log)...)
			p.waitLine(t, "analysing ", 2*time.Minute)
			if code := p.signalAndWait(t, s.sig); code != s.code {
				t.Fatalf("exit %d, want %d\n%s", code, s.code, p.errText())
			}
			// A streamed run analyses the events as it reads them.
			if !strings.Contains(p.errText(), "interrupted while analysing") && !strings.Contains(p.errText(), "interrupted while reading and analysing") {
				t.Errorf("stderr does not say the analysis was interrupted (did it end first? make the log bigger):\n%s", p.errText())
			}
			st.checkUntouched(t)
		})
	}
}

// TestSignalDuringReading: a signal while the input is still coming, from a FIFO whose writer
// sends part of a log and then nothing (the reader is blocked in a read), or from /dev/zero
// (no line end ever: the unrecognised-input reader would count lines forever).
func TestSignalDuringReading(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or signals on Windows")
	}
	log := bigLog(t)
	for _, s := range signals {
		t.Run("fifo/"+s.name, func(t *testing.T) {
			st := newRunState(t)
			fifo := filepath.Join(t.TempDir(), "audit.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			p := start(t, st.dir, st.scanArgs(fifo)...)
			w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until vaultsentry opens it
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			src, err := os.Open(log)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			// A pipe holds 64 KiB: once 4 MiB went in, vaultsentry is reading.
			if _, err := io.CopyN(w, src, 4<<20); err != nil {
				t.Fatalf("feed the FIFO: %v\n%s", err, p.errText())
			}
			if code := p.signalAndWait(t, s.sig); code != s.code {
				t.Fatalf("exit %d, want %d\n%s", code, s.code, p.errText())
			}
			if !strings.Contains(p.errText(), "interrupted while reading") {
				t.Errorf("stderr:\n%s", p.errText())
			}
			st.checkUntouched(t)
		})
		t.Run("dev-zero/"+s.name, func(t *testing.T) {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			st := newRunState(t)
			p := start(t, st.dir, st.scanArgs("/dev/zero")...)
			time.Sleep(500 * time.Millisecond) // well into the endless read
			if code := p.signalAndWait(t, s.sig); code != s.code {
				t.Fatalf("exit %d, want %d\n%s", code, s.code, p.errText())
			}
			st.checkUntouched(t)
		})
	}
}

// TestBaselineUnwritableKeepsReport: a baseline that cannot be saved no longer costs the
// report: it is written first, and exit 3 says the baseline was not saved.
func TestBaselineUnwritableKeepsReport(t *testing.T) {
	wd, _ := os.Getwd()
	input := filepath.Join(wd, "testdata", "vault", "incident.jsonl")
	t.Run("path under a file", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "plain-file"), []byte("x"), 0o644)
		report := filepath.Join(dir, "report.json")
		_, stderr, code := run(t, dir, "scan", "--format", "json", "-o", report,
			"--baseline", filepath.Join(dir, "plain-file", "history.vsb"), "--update-baseline", input)
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		if !bytes.Contains(stderr, []byte("report written, baseline not saved")) {
			t.Errorf("stderr does not say which part failed:\n%s", stderr)
		}
		completeReport(t, report)
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: a read-only directory does not stop root from writing (the path-under-a-file case covers the failure)")
		}
		dir := t.TempDir()
		bdir := filepath.Join(dir, "baselines")
		os.Mkdir(bdir, 0o755)
		bl := filepath.Join(bdir, "history.vsb")
		small := filepath.Join(wd, "testdata", "vault", "openbao-capture2-audit.log")
		if _, stderr, code := run(t, dir, "baseline", "learn", "--baseline", bl, small); code != 0 {
			t.Fatalf("learn: exit %d\n%s", code, stderr)
		}
		before, _ := os.ReadFile(bl)
		os.Chmod(bdir, 0o555) // the lock file exists; the temporary file cannot be created
		defer os.Chmod(bdir, 0o755)
		report := filepath.Join(dir, "report.json")
		_, stderr, code := run(t, dir, "scan", "--format", "json", "-o", report, "--baseline", bl, "--update-baseline", input)
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		if !bytes.Contains(stderr, []byte("report written, baseline not saved")) {
			t.Errorf("stderr does not say which part failed:\n%s", stderr)
		}
		completeReport(t, report)
		if after, _ := os.ReadFile(bl); !bytes.Equal(before, after) {
			t.Error("the baseline changed")
		}
	})
}

// TestStdoutClosed: with standard output closed the report has nowhere to go: exit 3, and the
// baseline is not updated (a rerun must report the same findings). /dev/null opened by the
// shell is a destination like any other.
func TestStdoutClosed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a closed standard output is detected on Linux only")
	}
	wd, _ := os.Getwd()
	input := filepath.Join(wd, "testdata", "vault", "incident.jsonl")
	dir := t.TempDir()
	bl := filepath.Join(dir, "history.vsb")
	bin := filepath.Join(binDir, "vaultsentry")
	sh := func(redirect string) (string, int) {
		cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("exec %q scan --baseline %q --update-baseline %q %s", bin, bl, input, redirect))
		cmd.Env = append(os.Environ(), "NO_COLOR=1")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errb.String(), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return errb.String(), 0
	}
	stderr, code := sh(">&-")
	if code != 3 {
		t.Fatalf(">&-: exit %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "standard output is closed") || !strings.Contains(stderr, "baseline was not updated") {
		t.Errorf(">&-: stderr:\n%s", stderr)
	}
	if _, err := os.Stat(bl); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(">&-: the baseline was written (%v)", err)
	}
	if stderr, code := sh(">/dev/null"); code != 0 {
		t.Errorf(">/dev/null: exit %d, want 0\n%s", code, stderr)
	}
}

// hostileLog is a bulk read by an identity whose names hold every kind of control character,
// plus CSV formula starts after each separator a spreadsheet may split on.
func hostileLog(t *testing.T, dir string) string {
	t.Helper()
	names := []string{
		"\x1b[31mred\x1b[0m bell\x07", "line\nbreak\rcr", "rtl\u202eexe.txt", "c1\u0085\u009b31m",
		`;=HYPERLINK("http://evil.example/","x")`, `,+cmd|' /C calc'!A0`, "\t@SUM(1+1)", `x; "=1+1"`, "-2+3",
	}
	var b strings.Builder
	for i := range 40 {
		s := names[i%len(names)]
		line, _ := json.Marshal(map[string]any{
			"time": fmt.Sprintf("2026-09-23T23:41:%02d.000Z", i), "type": "request",
			"auth": map[string]any{"accessor": "acc-harvester", "display_name": s, "entity_id": "ent " + s},
			"request": map[string]any{"id": fmt.Sprintf("r%d", i), "operation": "read", "path": fmt.Sprintf("secret/data/%s/%d", s, i%12),
				"mount_point": "secret/", "mount_type": "kv", "remote_address": "203.0.113.9"},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "hostile.log")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSARIFAndJSONFreeOfRawControls: no raw control, bidi or invisible character in the SARIF
// and JSON files for hostile input, and the SARIF properties hold the sanitised values.
func TestSARIFAndJSONFreeOfRawControls(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	inputs := []string{hostileLog(t, dir), filepath.Join(wd, "testdata", "vault", "incident.jsonl"),
		filepath.Join(wd, "testdata", "vault", "openbao-capture4-attacker-strings-audit.log")}
	for _, format := range []string{"sarif", "json"} {
		stdout, stderr, code := run(t, dir, append([]string{"scan", "-q", "--format", format}, inputs...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", format, code, stderr)
		}
		if r, i, bad := terminalUnsafe(stdout); bad {
			t.Errorf("%s holds %U at byte %d: %q", format, r, i, stdout[max(0, i-40):min(len(stdout), i+40)])
		}
		if !json.Valid(stdout) {
			t.Errorf("%s: not valid JSON", format)
		}
		if format != "sarif" {
			continue
		}
		var doc struct {
			Runs []struct {
				Results []struct {
					Properties struct {
						Identity    string   `json:"identity"`
						DisplayName string   `json:"display_name"`
						Resources   []string `json:"resources"`
					}
				}
			}
		}
		if err := json.Unmarshal(stdout, &doc); err != nil || len(doc.Runs) != 1 || len(doc.Runs[0].Results) == 0 {
			t.Fatalf("sarif: %v", err)
		}
		sawEscape := false
		for _, res := range doc.Runs[0].Results {
			pr := res.Properties
			for _, v := range append([]string{pr.Identity, pr.DisplayName}, pr.Resources...) {
				if r, _, bad := terminalUnsafe([]byte(v)); bad {
					t.Errorf("sarif property holds %U once decoded: %q", r, v)
				}
				sawEscape = sawEscape || strings.Contains(v, `\x1b`) || strings.Contains(v, `\u202e`)
			}
		}
		if !sawEscape {
			t.Error("no sanitised escape in any SARIF property: the hostile names are not in the results")
		}
	}
}

// TestTraceCSVNoFormula: whichever separator a spreadsheet splits the CSV on (comma,
// semicolon, tab), and whether or not it honours quotes, no cell starts a formula.
func TestTraceCSVNoFormula(t *testing.T) {
	dir := t.TempDir()
	log := hostileLog(t, dir)
	out := filepath.Join(dir, "timeline.csv")
	if _, stderr, code := run(t, dir, "trace", "-q", "--ip", "203.0.113.9", "--format", "csv", "-o", out, log); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("HYPERLINK")) {
		t.Fatalf("the hostile names are not in the timeline:\n%s", data)
	}
	formula := func(cell string) bool {
		c := strings.TrimLeft(cell, ` "`)
		return c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0]))
	}
	for _, sep := range []rune{',', ';', '\t'} {
		r := csv.NewReader(bytes.NewReader(data))
		r.Comma, r.LazyQuotes, r.FieldsPerRecord = sep, true, -1
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("read with %q: %v", sep, err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if formula(cell) {
					t.Errorf("separator %q: cell %q starts a formula", sep, cell)
				}
			}
		}
		for _, line := range strings.Split(string(data), "\n") { // an importer that ignores quotes
			for _, cell := range strings.Split(line, string(sep)) {
				if formula(cell) {
					t.Errorf("separator %q, quotes ignored: cell %q starts a formula", sep, cell)
				}
			}
		}
	}
}
