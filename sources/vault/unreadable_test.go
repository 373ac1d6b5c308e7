package vault

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/internal/testutil"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestUnreadable: a file or directory without read permission is reported, the rest is read.
// As root (CI containers) permissions do not deny anything, so the case is skipped there.
func TestUnreadable(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("root (or Windows): chmod 000 does not deny reading")
	}
	d := t.TempDir()
	locked := filepath.Join(d, "locked.log")
	good := filepath.Join(d, "good.log")
	testutil.WriteFile(t, locked, synthLine(1, "kv/data/a")+"\n")
	testutil.WriteFile(t, good, synthLine(2, "kv/data/b")+"\n")
	os.Chmod(locked, 0)
	lockedDir := filepath.Join(d, "sub")
	testutil.WriteFile(t, filepath.Join(lockedDir, "x.log"), "x\n")
	os.Chmod(lockedDir, 0)
	t.Cleanup(func() { os.Chmod(lockedDir, 0o755) })

	ins, errs := sources.Expand([]string{d})
	if len(errs) != 1 || !errors.Is(errs[0], fs.ErrPermission) {
		t.Errorf("walk errors %v: want the locked directory", errs)
	}
	l := loadVault(t, sources.LoadOptions{}, inputNames(ins)...)
	if len(l.Errors) != 1 || !errors.Is(l.Errors[0], fs.ErrPermission) || !strings.Contains(l.Errors[0].Error(), "locked.log") {
		t.Errorf("load errors %v", l.Errors)
	}
	if len(l.Events) != 1 {
		t.Errorf("%d events: the readable file is read", len(l.Events))
	}
}

func inputNames(ins []sources.Input) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.Name
	}
	return out
}
