package cmd

import (
	"os"
	"syscall"
)

// stdoutClosedAtStart reports whether standard output was closed when the process started
// (`vaultsentry scan ... >&-`). The Go runtime then opens /dev/null read-write in its place
// (runtime/fds_unix.go checkfds), so every write succeeds and the report would vanish without
// an error. A shell's `>/dev/null` and os/exec's default open it write-only: read-write
// /dev/null on descriptor 1 is taken for the runtime's stand-in. A program that hands us a
// read-write /dev/null on purpose can pass -o /dev/null.
func stdoutClosedAtStart() bool {
	var out, null syscall.Stat_t
	if syscall.Fstat(1, &out) != nil || syscall.Stat(os.DevNull, &null) != nil {
		return false
	}
	if out.Mode&syscall.S_IFMT != syscall.S_IFCHR || out.Rdev != null.Rdev {
		return false
	}
	fl, _, errno := syscall.Syscall(syscall.SYS_FCNTL, 1, syscall.F_GETFL, 0)
	return errno == 0 && fl&syscall.O_ACCMODE == syscall.O_RDWR
}
