//go:build unix

package sources

import (
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

// TestExpandSpecialFiles: a FIFO or a broken link inside a directory is reported and skipped;
// reading a FIFO nobody writes to would block forever.
func TestExpandSpecialFiles(t *testing.T) {
	d := t.TempDir()
	testutil.WriteFile(t, filepath.Join(d, "audit.log"), "x\n")
	if err := syscall.Mkfifo(filepath.Join(d, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	symlink(t, "gone", filepath.Join(d, "dangling"))
	ins, errs := Expand([]string{d})
	if !slices.Equal(names(ins), []string{filepath.Join(d, "audit.log")}) {
		t.Errorf("inputs %v", names(ins))
	}
	txt := errText(errs)
	if len(errs) != 2 || !strings.Contains(txt, "not a regular file") || !strings.Contains(txt, "broken symbolic link") {
		t.Errorf("errors %v", errs)
	}
}
