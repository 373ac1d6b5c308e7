// Package app is one run of vaultsentry from plain options, without cobra: load the inputs, apply
// the time window, analyse, set findings aside (ignore list, previous report), keep the baseline,
// render the report and print the run summary. cmd turns flags into a request and the returned
// error into an exit code; tests drive the same functions directly.
package app

import (
	"fmt"
	"io"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/review"
)

// Version is the version written into reports and baselines; cmd.Main sets it from the build.
var Version = "dev"

// IO are the streams of a run, with what is known about the terminal.
type IO struct {
	In     io.Reader
	Out    io.Writer // the report, unless Output names a file
	Err    io.Writer // progress, warnings, the run summary
	ErrTTY bool      // stderr is a terminal: progress lines allowed
	Color  bool      // colour in table output written to Out
	// Width is the width of Out in columns for the table (the terminal's, or COLUMNS); 0 is
	// report.DefaultWidth.
	Width int
}

// UsageError is a mistake the user can fix (a configuration entry, a file that is not what the
// flag wants); cmd prints it with its hint and exits 2.
type UsageError struct {
	Err  error
	Hint string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// RuntimeError is a failure of the run itself (input unreadable, no event, output not written,
// --strict with malformed lines); cmd prints it with its hint and exits 3.
type RuntimeError struct {
	Err  error
	Hint string
}

func (e *RuntimeError) Error() string { return e.Err.Error() }
func (e *RuntimeError) Unwrap() error { return e.Err }

func usagef(hint, format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...), Hint: hint}
}

func runtimef(hint string, err error) error { return &RuntimeError{Err: err, Hint: hint} }

// DefaultConfigFile is the configuration file read from the working directory when none is named.
const DefaultConfigFile = "vaultsentry.yaml"

// Config is the validated configuration file (cmd reads and checks the YAML).
type Config struct {
	Review    review.Config // vaultsentry review: production, ci_scopes, hygiene
	Path      string        // "" when the defaults are used
	Implicit  bool          // Path was found in the working directory, not given (--config)
	Analyze   analyze.Config
	K8sEvents []string // Kubernetes events files, resolved relative to the config file
	Ignore    []IgnoreEntry
}

// DefaultConfig is the configuration of a run without a configuration file.
func DefaultConfig() *Config {
	return &Config{Analyze: analyze.DefaultConfig(), Review: review.DefaultConfig()}
}

// TimeArg is a --since, --until or --learn-until value: a time, or a duration counted back from
// a reference (the newest plausible event for files, the wall clock for the LookupEvents API).
// The zero TimeArg is unset.
type TimeArg struct {
	at  time.Time
	ago time.Duration
	set bool
}

// At is the TimeArg for a fixed time.
func At(t time.Time) TimeArg { return TimeArg{at: t.UTC(), set: true} }

// Ago is the TimeArg for a duration counted back from the reference.
func Ago(d time.Duration) TimeArg { return TimeArg{ago: d, set: true} }

// IsZero reports whether the argument was not given.
func (a TimeArg) IsZero() bool { return !a.set }

// Resolve is the time the argument names, counting a duration back from ref; zero when unset.
func (a TimeArg) Resolve(ref time.Time) time.Time {
	switch {
	case !a.set:
		return time.Time{}
	case a.at.IsZero():
		return ref.Add(-a.ago)
	}
	return a.at
}
