package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vaultsentry/vaultsentry/event"
)

func learnedBaseline(t testing.TB, n int) *Baseline {
	t.Helper()
	b := New()
	for i := range n {
		ev := vev(time.Duration(i)*time.Minute, fmt.Sprintf("app%d", i%7), event.OpRead,
			fmt.Sprintf("kv/data/prod/app%d/secret%d", i%7, i%13), from(fmt.Sprintf("198.51.100.%d", i%5)))
		ev.UserAgent = "Go-http-client/1.1"
		b.Learn(&ev)
	}
	return b
}

func TestBaselineRoundTrip(t *testing.T) {
	b := learnedBaseline(t, 500)
	h := b.Get("entity-app3")
	b.LearnBurst("entity-app3", []string{"kv/prod/a", "kv/prod/b"}, t0)
	b.LearnRotation("entity-app3", "kv/prod/a", 1, 3)
	cli := vev(time.Hour, "app3", event.OpRead, "kv/data/prod/app3/secret1")
	cli.UserAgent, cli.Flags = "curl/8.5.0", cli.Flags|event.FlagInteractive
	b.Learn(&cli)
	if h := b.Get("entity-app2"); h.UsedInteractive() {
		t.Fatalf("app2 only used Go-http-client: %+v", h)
	}
	b.Inputs = []Input{{File: "audit.log", SHA256: strings.Repeat("ab", 32), Bytes: 42}}
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Principals) != 7 || !got.First.Equal(b.First) || !got.Last.Equal(b.Last) {
		t.Fatalf("decoded %d principals, span %s..%s; want 7, %s..%s", len(got.Principals), got.First, got.Last, b.First, b.Last)
	}
	gh := got.Get("entity-app3")
	if gh.Events != h.Events || len(gh.Resources) != len(h.Resources) || len(gh.Addrs) != len(h.Addrs) ||
		len(gh.Nets) != len(h.Nets) || gh.Hours != h.Hours || gh.Bursts != 1 || len(gh.BurstPaths) != 2 ||
		len(gh.Clients) != 2 || gh.Rotations["kv/prod/a"] != [2]int{1, 3} || !gh.UsedInteractive() {
		t.Errorf("history changed in the round trip:\n got %+v\nwant %+v", gh, h)
	}
	for r, ts := range h.Resources {
		if !gh.Resources[r].Equal(ts.Truncate(time.Second)) {
			t.Errorf("resource %s last use %s, want %s", r, gh.Resources[r], ts)
		}
	}
	if len(got.Inputs) != 1 || got.Inputs[0].SHA256 != b.Inputs[0].SHA256 {
		t.Errorf("inputs = %+v", got.Inputs)
	}
}

func TestBaselineCompact(t *testing.T) {
	b := learnedBaseline(t, 100000)
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 64<<10 {
		t.Errorf("baseline of 100k events over 7 identities is %d bytes; want it to grow with identities and paths, not events", buf.Len())
	}
}

func TestBaselineRejectsCorruptAndFuture(t *testing.T) {
	var good bytes.Buffer
	if err := learnedBaseline(t, 50).Encode(&good); err != nil {
		t.Fatal(err)
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		io.WriteString(w, s)
		w.Close()
		return b.Bytes()
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", good.Bytes()[:good.Len()/2], ErrCorrupt},
		{"not gzip", []byte("hello"), ErrCorrupt},
		{"gzip of something else", gz(`{"hello":1}`), ErrCorrupt},
		{"gzip of garbage", gz(`{{{`), ErrCorrupt},
		{"future version", gz(`{"format":"vaultsentry-baseline","format_version":99,"tool_version":"v9"}`), ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.vsb")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := Open(path, true)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, tt.data) {
				t.Error("a bad baseline file was modified")
			}
		})
	}
}

func TestBaselineMissingFileIsEmpty(t *testing.T) {
	st, b, err := Open(filepath.Join(t.TempDir(), "new.vsb"), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(b.Principals) != 0 {
		t.Fatal("missing baseline file should be empty")
	}
}

func TestBaselineLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.vsb")
	st, _, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(path, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer: err = %v, want ErrLocked", err)
	}
	if _, _, err := Open(path, false); err != nil {
		t.Fatalf("a reader must not need the lock: %v", err)
	}
	st.Close()
	st2, _, err := Open(path, true)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	st2.Close()
}

func TestBaselinePrune(t *testing.T) {
	b := New()
	old := vev(0, "old", event.OpRead, "kv/data/a")
	b.Learn(&old)
	recent := vev(40*24*time.Hour, "recent", event.OpRead, "kv/data/b")
	b.Learn(&recent)
	if n := b.Prune(0); n != 0 || len(b.Principals) != 2 {
		t.Fatal("no max age must prune nothing")
	}
	b.Prune(30 * 24 * time.Hour)
	if b.Get("entity-old") != nil || b.Get("entity-recent") == nil {
		t.Errorf("prune by 30 days kept %v", b.Principals)
	}
}

// TestBaselineCrashDuringWrite kills a process in the middle of writing a baseline and checks
// that the previous baseline is intact.
func TestBaselineCrashDuringWrite(t *testing.T) {
	if path := os.Getenv("VAULTSENTRY_CRASH_CHILD"); path != "" {
		st, b, err := Open(path, true)
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(2)
		}
		b.Learn(&event.Event{Time: t0, Principal: "new-principal", Op: event.OpRead, Resource: "kv/x"})
		_ = st.save(b, func(w io.Writer, p []byte) error {
			w.Write(p[:len(p)/2])
			time.Sleep(time.Minute) // the parent kills us here
			return nil
		})
		os.Exit(0)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.vsb")
	st, b, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	orig := learnedBaseline(t, 200)
	*b = *orig
	if err := st.Save(b); err != nil {
		t.Fatal(err)
	}
	st.Close()
	before, _ := os.ReadFile(path)

	cmd := exec.Command(os.Args[0], "-test.run=^TestBaselineCrashDuringWrite$")
	cmd.Env = append(os.Environ(), "VAULTSENTRY_CRASH_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, _ := filepath.Glob(filepath.Join(dir, ".state.vsb.tmp-*"))
		if len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child never started writing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the baseline changed although the writer was killed before finishing")
	}
	st2, b2, err := Open(path, true)
	if err != nil || len(b2.Principals) != len(orig.Principals) {
		t.Fatalf("old baseline unreadable after the crash: %v", err)
	}
	defer st2.Close()

	// The next save removes what the killed one left, once it is old enough to be stale.
	left, _ := filepath.Glob(filepath.Join(dir, ".state.vsb.tmp-*"))
	if len(left) != 1 {
		t.Fatalf("the killed save left %q, want one temporary file", left)
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(left[0], old, old); err != nil {
		t.Fatal(err)
	}
	if err := st2.Save(b2); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".state.vsb.tmp-*")); len(m) != 0 {
		t.Errorf("temporary files left after the next save: %q", m)
	}
}

// writeBomb writes a gzip file whose JSON starts like a baseline and goes on with n spaces inside
// a string, streaming, so the test never holds it in memory. It returns the file's size.
func writeBomb(t *testing.T, path string, n int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	io.WriteString(zw, `{"format":"vaultsentry-baseline","format_version":1,"tool_version":"`)
	spaces := bytes.Repeat([]byte{' '}, 1<<20)
	for n > 0 {
		chunk := spaces[:min(n, int64(len(spaces)))]
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
		n -= int64(len(chunk))
	}
	io.WriteString(zw, `"}`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// heapAllocs is the total the heap has allocated since the program started.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestBaselineGzipBomb loads a baseline file of 1 KiB-ish compressed per MiB of spaces (the
// issue's file expanded to 6.7 GB): it is refused as corrupt, naming the file and the limit,
// after allocating tens of megabytes, not the size of the stream.
func TestBaselineGzipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 1 GiB gzip stream")
	}
	path := filepath.Join(t.TempDir(), "state.vsb")
	size := writeBomb(t, path, 1<<30)
	before := heapAllocs()
	_, _, err := Open(path, false)
	allocs := heapAllocs() - before
	t.Logf("bomb of %d compressed bytes (1 GiB decompressed): Open allocated %d MiB", size, allocs>>20)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	for _, want := range []string{path, fmt.Sprintf("more than %d times", MaxGzipRatio)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The guard trips past gzipRatioFloor (16 MiB); io.ReadAll's growth allocates a few times that.
	if limit := uint64(8 * gzipRatioFloor); allocs > limit {
		t.Errorf("loading the bomb allocated %d MiB, want at most %d MiB", allocs>>20, limit>>20)
	}
}

func TestBaselineDecodeLimits(t *testing.T) {
	var good bytes.Buffer
	if err := learnedBaseline(t, 500).Encode(&good); err != nil {
		t.Fatal(err)
	}
	raw := int64(len(gunzip(t, good.Bytes())))
	tests := []struct {
		name string
		lim  decodeLimits
		want string // in the error; "" for no error
	}{
		{"exactly the maximum", decodeLimits{max: raw, ratio: MaxGzipRatio, floor: gzipRatioFloor}, ""},
		{"a byte over the maximum", decodeLimits{max: raw - 1, ratio: MaxGzipRatio, floor: gzipRatioFloor},
			fmt.Sprintf("more than %d bytes", raw-1)},
		{"ratio below the file's", decodeLimits{max: MaxDecompressedBytes, ratio: 2, floor: 1024}, "more than 2 times"},
		{"ratio below the file's, under the floor", decodeLimits{max: MaxDecompressedBytes, ratio: 2, floor: raw}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := decode(bytes.NewReader(good.Bytes()), tt.lim)
			if tt.want == "" {
				if err != nil || len(b.Principals) != 7 {
					t.Fatalf("err = %v, want the baseline", err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrCorrupt saying %q", err, tt.want)
			}
		})
	}
}

func TestBaselineSaveKeepsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.vsb")
	save := func() {
		t.Helper()
		st, b, err := Open(path, true)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Save(b); err != nil {
			t.Fatal(err)
		}
	}
	mode := func() os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	save()
	if got := mode(); got != 0o600 {
		t.Errorf("a new baseline has mode %#o, want 0600", got)
	}
	for _, want := range []os.FileMode{0o644, 0o640, 0o600} {
		if err := os.Chmod(path, want); err != nil {
			t.Fatal(err)
		}
		save()
		if got := mode(); got != want {
			t.Errorf("an update changed the mode from %#o to %#o", want, got)
		}
	}
}

func TestBaselineSaveRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.vsb")
	old := time.Now().Add(-2 * staleTempAge)
	files := []struct {
		name string
		old  bool
		gone bool
	}{
		{".state.vsb.tmp-1234567890", true, true}, // what a killed save leaves
		{".state.vsb.tmp-42", true, true},
		{".state.vsb.tmp-987654", false, false},   // young: maybe a writer the lock cannot see
		{".state.vsb.tmp-12ab", true, false},      // not a name Save makes
		{".state.vsb.tmp-", true, false},          // nor this
		{".other.vsb.tmp-1234", true, false},      // another baseline's
		{".state.vsb.lock.tmp-1234", true, false}, // another file's
		{"state.vsb.tmp-1234", true, false},
		{"notes.txt", true, false},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("leftover"), 0o600); err != nil {
			t.Fatal(err)
		}
		if f.old {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A directory with the pattern's name is not a file a save left.
	subdir := filepath.Join(dir, ".state.vsb.tmp-777")
	if err := os.Mkdir(subdir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(subdir, old, old)

	// A reader holds no lock, so it never cleans up, even if it saves.
	ro, b, err := Open(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Save(b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, files[0].name)); err != nil {
		t.Fatalf("a save without the lock removed a temporary file: %v", err)
	}

	st, b, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Save(b); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if gone := errors.Is(err, os.ErrNotExist); gone != f.gone {
			t.Errorf("%s: removed = %v, want %v (stat: %v)", f.name, gone, f.gone, err)
		}
	}
	if _, err := os.Stat(subdir); err != nil {
		t.Errorf("a directory named like a temporary file was removed: %v", err)
	}
	if _, _, err := Open(path, false); err != nil {
		t.Errorf("the baseline itself: %v", err)
	}
}

// TestBaselineAlerted: the fingerprints --notify delivered survive a save and load, an old file
// without them loads with none (TestGoldenV1 checks that its bytes are unchanged), and Prune
// drops the alerts delivered more than its age before the newest alert.
func TestBaselineAlerted(t *testing.T) {
	raw, err := os.ReadFile("testdata/v1.vsb")
	if err != nil {
		t.Fatal(err)
	}
	old, err := Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if len(old.Alerted) != 0 || old.WasAlerted("x") {
		t.Fatalf("a file written before --notify has alerts: %v", old.Alerted)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	b := learnedBaseline(t, 10)
	b.MarkAlerted("fp-old", now.Add(-40*24*time.Hour))
	b.MarkAlerted("fp-new", now)
	b.MarkAlerted("", now) // no fingerprint, nothing recorded
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Alerted) != 2 || !got.WasAlerted("fp-old") || !got.Alerted["fp-new"].Equal(now) {
		t.Fatalf("alerts after a round trip: %v", got.Alerted)
	}
	// The events are from 2024 (log time); the alerts from 2026 (wall clock): each is pruned
	// against its own newest entry.
	got.Prune(30 * 24 * time.Hour)
	if got.WasAlerted("fp-old") || !got.WasAlerted("fp-new") {
		t.Errorf("prune by 30 days kept alerts %v", got.Alerted)
	}
	if len(got.Principals) == 0 {
		t.Error("pruning the alerts dropped the identities")
	}
}
