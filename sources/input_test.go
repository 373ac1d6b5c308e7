package sources

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

func names(ins []Input) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Name
	}
	return out
}

func errText(errs []error) string {
	var s []string
	for _, e := range errs {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n")
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks not available: %v", err)
	}
}

// TestExpandDirectory: every regular file, sorted, subdirectories included.
func TestExpandDirectory(t *testing.T) {
	d := t.TempDir()
	testutil.WriteFile(t, filepath.Join(d, "b.log"), "x\n")
	testutil.WriteFile(t, filepath.Join(d, "a.log.1.gz"), "x\n")
	testutil.WriteFile(t, filepath.Join(d, "sub", "c.log"), "x\n")
	ins, errs := Expand([]string{d})
	want := []string{filepath.Join(d, "a.log.1.gz"), filepath.Join(d, "b.log"), filepath.Join(d, "sub", "c.log")}
	if !slices.Equal(names(ins), want) || len(errs) != 0 {
		t.Errorf("got %v %v, want %v", names(ins), errs, want)
	}
	empty := filepath.Join(d, "empty")
	os.Mkdir(empty, 0o755)
	if ins, errs := Expand([]string{empty}); len(ins) != 0 || len(errs) != 1 || !errors.Is(errs[0], ErrNoInput) {
		t.Errorf("empty directory: %v %v", ins, errs)
	}
}

// TestExpandGlobAndMissing: globs expand sorted; a missing path is an error, others go on.
func TestExpandGlobAndMissing(t *testing.T) {
	d := t.TempDir()
	testutil.WriteFile(t, filepath.Join(d, "audit.log.2"), "x\n")
	testutil.WriteFile(t, filepath.Join(d, "audit.log.1"), "x\n")
	ins, errs := Expand([]string{filepath.Join(d, "audit.log.*"), filepath.Join(d, "nope.log"), "-"})
	want := []string{filepath.Join(d, "audit.log.1"), filepath.Join(d, "audit.log.2"), "-"}
	if !slices.Equal(names(ins), want) {
		t.Errorf("inputs %v, want %v", names(ins), want)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrNoInput) || !strings.Contains(errs[0].Error(), "nope.log") {
		t.Errorf("errors %v", errs)
	}
}

// TestExpandSymlinkLoop: a link inside a directory pointing back up is reported, not followed.
func TestExpandSymlinkLoop(t *testing.T) {
	d := t.TempDir()
	testutil.WriteFile(t, filepath.Join(d, "logs", "audit.log"), "x\n")
	symlink(t, "..", filepath.Join(d, "logs", "up"))
	symlink(t, ".", filepath.Join(d, "logs", "self"))
	ins, errs := Expand([]string{filepath.Join(d, "logs")})
	if !slices.Equal(names(ins), []string{filepath.Join(d, "logs", "audit.log")}) {
		t.Errorf("inputs %v", names(ins))
	}
	if len(errs) != 2 || !strings.Contains(errText(errs), "not followed") {
		t.Errorf("errors %v: want both links to directories reported", errs)
	}
}

// TestExpandSymlinkGivenDirectly: a link named on the command line is followed once, even when
// the directory it names contains a link back to it; a loop of links fails at once.
func TestExpandSymlinkGivenDirectly(t *testing.T) {
	d := t.TempDir()
	testutil.WriteFile(t, filepath.Join(d, "real", "audit.log"), "x\n")
	symlink(t, filepath.Join(d, "real"), filepath.Join(d, "current"))
	symlink(t, filepath.Join(d, "current"), filepath.Join(d, "real", "back"))
	ins, errs := Expand([]string{filepath.Join(d, "current")})
	if !slices.Equal(names(ins), []string{filepath.Join(d, "current", "audit.log")}) {
		t.Errorf("inputs %v, errors %v", names(ins), errs)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "back") {
		t.Errorf("errors %v", errs)
	}

	symlink(t, filepath.Join(d, "loop2"), filepath.Join(d, "loop1"))
	symlink(t, filepath.Join(d, "loop1"), filepath.Join(d, "loop2"))
	ins, errs = Expand([]string{filepath.Join(d, "loop1")})
	if len(ins) != 0 || len(errs) != 1 {
		t.Errorf("a loop of links: inputs %v errors %v", names(ins), errs)
	}
}

// TestExpandSameFileOnce: a file reached twice (by name, through a link, through a hard link)
// is read once, so its entries do not count twice.
func TestExpandSameFileOnce(t *testing.T) {
	d := t.TempDir()
	a := filepath.Join(d, "audit.log")
	testutil.WriteFile(t, a, "x\n")
	symlink(t, "audit.log", filepath.Join(d, "current.log"))
	if err := os.Link(a, filepath.Join(d, "hard.log")); err != nil {
		t.Skipf("hard links not available: %v", err)
	}
	testutil.WriteFile(t, filepath.Join(d, "other.log"), "x\n") // same size and time, other file
	ins, errs := Expand([]string{d, a, filepath.Join(d, "current.log")})
	got := names(ins)
	if len(got) != 2 || !slices.Contains(got, filepath.Join(d, "other.log")) || len(errs) != 0 {
		t.Errorf("inputs %v errors %v: want the log once and other.log", got, errs)
	}
}
