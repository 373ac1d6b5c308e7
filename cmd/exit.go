package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/report"
)

// Exit codes.
const (
	ExitOK       = 0 // nothing at or above --fail-on
	ExitFindings = 1 // findings at or above --fail-on; verify: the tree is invalid
	ExitUsage    = 2 // bad flags, arguments or configuration
	// ExitRuntime: no input could be read, output could not be written, --strict with malformed
	// lines. A file that could not be opened, or that a reader failed on with an internal error
	// (a panic: sources.Loaded.Panics), while other files were read is not a failure of the run:
	// the rest is analysed, the summary names the file, and the exit code is that of the findings,
	// as for a missing file among others. Nothing read at all is ExitRuntime.
	ExitRuntime = 3
	// ExitInterrupted (130) and ExitTerminated (143), in signal.go: SIGINT or SIGTERM ended the run.
)

// ErrFindings is returned when findings reach --fail-on; Main exits 1 without a message.
var ErrFindings = errors.New("findings at or above --fail-on")

// usageError is a mistake the user can fix; Main prints it with a hint and exits 2. Flags and
// the configuration file fail with it here, a run with it in internal/app: one type for both.
type usageError = app.UsageError

func usagef(hint, format string, a ...any) error {
	return &usageError{Err: fmt.Errorf(format, a...), Hint: hint}
}

// runtimeError is a failure of the run itself; Main prints it and exits 3. internal/app returns
// it for the run's failures (input unreadable, no event, output not written, --strict).
type runtimeError = app.RuntimeError

func runtimef(hint string, err error) error { return &runtimeError{Err: err, Hint: hint} }

// exitCode maps an error to its exit code and prints it.
func exitCode(s Streams, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, ErrFindings) || errors.Is(err, ErrInvalid) {
		return ExitFindings
	}
	var ue *usageError
	var re *runtimeError
	switch {
	case errors.As(err, &ue):
		printError(s, err, ue.Hint)
		return ExitUsage
	case errors.As(err, &re):
		printError(s, err, re.Hint)
		return ExitRuntime
	case isCobraUsage(err):
		printCobraError(s, err, "run 'vaultsentry --help' or 'vaultsentry <command> --help' for usage")
		return ExitUsage
	}
	printError(s, err, "")
	return ExitRuntime
}

// interruptedExit prints how far a run that ctx ended had got (the run's error says it) and
// returns 130 for SIGINT, 143 for SIGTERM, and 130 for a context cancelled otherwise (a test's,
// or an embedding program's).
func interruptedExit(ctx context.Context, s Streams, err error) int {
	hint := ""
	var re *runtimeError
	if errors.As(err, &re) {
		hint = re.Hint
	}
	printError(s, err, hint)
	if sig, ok := endedBy(ctx); ok && sig == syscall.SIGTERM {
		return ExitTerminated
	}
	return ExitInterrupted
}

func printError(s Streams, err error, hint string) {
	fmt.Fprintf(s.Err, "error: %s\n", report.Sanitize(err.Error()))
	if hint != "" {
		fmt.Fprintf(s.Err, "hint: %s\n", report.Sanitize(hint))
	}
}

// printCobraError prints one of cobra's own messages, which come in lines ("unknown command
// "scna" ... Did you mean this?" and the suggestions on lines of their own, tab-indented) as
// lines: the first after "error: ", the rest indented, each sanitised (the command name in it
// is the user's), so a suggestion reads as text, not as escaped control characters.
func printCobraError(s Streams, err error, hint string) {
	lines := strings.Split(strings.TrimRight(err.Error(), "\n"), "\n")
	fmt.Fprintf(s.Err, "error: %s\n", report.Sanitize(lines[0]))
	for _, l := range lines[1:] {
		if l = strings.TrimSpace(l); l != "" {
			fmt.Fprintf(s.Err, "  %s\n", report.Sanitize(l))
		}
	}
	if hint != "" {
		fmt.Fprintf(s.Err, "hint: %s\n", report.Sanitize(hint))
	}
}

// isCobraUsage recognises cobra's own flag and argument errors (they have no type).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "bad flag syntax", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
