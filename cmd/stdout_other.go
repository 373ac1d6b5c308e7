//go:build !linux

package cmd

// stdoutClosedAtStart: only Linux is checked (see stdout_linux.go); elsewhere a closed
// standard output is not detected.
func stdoutClosedAtStart() bool { return false }
