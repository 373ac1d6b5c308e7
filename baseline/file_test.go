package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	if _, b2, err := Open(path, true); err != nil || len(b2.Principals) != len(orig.Principals) {
		t.Fatalf("old baseline unreadable after the crash: %v", err)
	}
}
