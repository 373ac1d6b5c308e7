package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// ScanRequest is one `vaultsentry scan` (or `baseline learn`): files, directories, globs or -
// for standard input, each file's format detected from its content.
type ScanRequest struct {
	Options
	Paths []string
	// Store, when set, is the log store read instead of Paths (logstore.go).
	Store *StoreRequest
}

// Scan reads the inputs, analyses them and writes the report. No event at all in the inputs is
// a RuntimeError, never "no findings".
func Scan(ctx context.Context, r ScanRequest) (Outcome, error) {
	out, err := scan(ctx, &r)
	r.failedMetrics(ctx, &err) // a failure before the pipeline, which writes them itself
	return out, notifyFailure(ctx, &r.Options, "scan", err)
}

func scan(ctx context.Context, r *ScanRequest) (Outcome, error) {
	o := &r.Options
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	o.logConfig()
	if o.LearnOnly {
		if out, done, err := learnArchive(ctx, r); done {
			return out, err
		}
	}
	if r.Store != nil {
		return scanStore(ctx, r)
	}
	p, err := streamedPipeline(ctx, o, "scan", r.Paths, "",
		"check the paths; directories are read recursively and globs must be quoted for the shell not to expand them")
	if err != nil {
		return Outcome{}, err
	}
	return p.run()
}

// loadInputs expands the command-line paths and reads them, with progress on a terminal. Paths
// that match nothing are warnings; nothing readable at all is a runtime error (exit 3).
func loadInputs(ctx context.Context, o *Options, command string, paths []string, format string, hint string) (*sources.Loaded, []error, error) {
	ins, inErrs, s3st, err := o.expand(ctx, command, paths)
	if err != nil {
		return nil, nil, err
	}
	o.warn(inErrs)
	if len(ins) == 0 {
		return nil, nil, runtimef(hint, fmt.Errorf("%s: %w", command, sources.ErrNothingRead))
	}
	loaded, err := loadExpanded(ctx, o, command, ins, format, hint)
	s3st.attach(loaded)
	return loaded, inErrs, err
}

// loadExpanded reads inputs already expanded (loadInputs, or one batch of learnArchive).
func loadExpanded(ctx context.Context, o *Options, command string, ins []sources.Input, format string, hint string) (*sources.Loaded, error) {
	prog := newProgress(o.IO, o.Quiet, o.Verbose, ins)
	lo := o.loadOptions(format)
	lo.Progress = prog.hook()
	loaded, err := load(ctx, ins, lo)
	prog.finish()
	if ctx.Err() != nil {
		return nil, interrupted(ctx, "reading")
	}
	if loaded != nil && o.Verbose {
		writePanics(o.IO.Err, loaded.Panics)
	}
	if errors.Is(err, sources.ErrNothingRead) {
		for _, e := range loaded.Errors {
			fmt.Fprintf(o.IO.Err, "error: %s\n", report.Sanitize(e.Error()))
		}
		return nil, runtimef("check the paths and their permissions", fmt.Errorf("%s: %w", command, err))
	}
	if err != nil {
		return nil, runtimef("", fmt.Errorf("%s: %w", command, err))
	}
	o.warn(loaded.Errors)
	if err := noEvents(o.IO, command, loaded, hint); err != nil {
		return nil, err
	}
	return loaded, nil
}

// errNoEvents: the inputs were read and none gave an event.
var errNoEvents = errors.New("no input produced an event")

// noEvents is the error for a load that produced no event, after saying what each file held.
// A CI gate pointed at the wrong path must not pass: nothing read is not "no findings".
func noEvents(s IO, command string, loaded *sources.Loaded, hint string) error {
	if len(loaded.Events) > 0 {
		return nil
	}
	return noEventsIn(s, command, loaded, hint)
}

// noEventsIn is the error for inputs read without an event, after what each file held.
func noEventsIn(s IO, command string, loaded *sources.Loaded, hint string) error {
	for _, f := range loaded.Files {
		fmt.Fprintf(s.Err, "  %s: %s\n", report.Sanitize(f.File), report.Sanitize(describeEmpty(f)))
	}
	return runtimef("give Vault / OpenBao audit logs or CloudTrail records (files, directories, globs); "+hint,
		fmt.Errorf("%s: %w (%s)", command, errNoEvents, countFiles(len(loaded.Files))))
}

// describeEmpty says what a file that gave no event held.
func describeEmpty(f sources.FileStats) string {
	switch {
	case f.NotRead != "":
		return f.NotRead
	case f.Lines == 0 && f.ReadError != "":
		return f.ReadError
	case f.Lines == 0:
		return "read as " + f.Format + ": no line"
	}
	parts := []string{fmt.Sprintf("read as %s: %d lines", f.Format, f.Lines)}
	if f.Malformed > 0 {
		parts = append(parts, fmt.Sprintf("%d malformed", f.Malformed))
	}
	keys := make([]string, 0, len(f.Skipped))
	for k := range f.Skipped {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d skipped (%s)", f.Skipped[k], k))
	}
	s := strings.Join(parts, ", ") + ", no event"
	if len(f.Problems) > 0 {
		s += fmt.Sprintf("; line %d: %s", f.Problems[0].Line, f.Problems[0].Reason)
	}
	if f.ReadError != "" {
		s += "; " + f.ReadError
	}
	return s
}

func countFiles(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

// warn prints non-fatal input problems on standard error unless Quiet.
func (o *Options) warn(errs []error) {
	if o.Quiet {
		return
	}
	for _, e := range errs {
		fmt.Fprintf(o.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
	}
}
