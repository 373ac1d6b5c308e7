package app

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// issuesURL is where a bug in vaultsentry is reported.
const issuesURL = "https://github.com/vaultsentry/vaultsentry/issues"

// writeSummary prints the run summary on standard error, in the manner of Hayabusa: what was
// read, what could not be used and where, the time span, findings by severity, speed. panics
// are the files a reader failed on with an internal error (sources.Loaded.Panics): counted
// apart from the files that could not be opened, their stacks only with verbose (writePanics,
// as they were read).
func writeSummary(w io.Writer, r *report.Result, panics []*sources.PanicError, elapsed time.Duration, verbose bool) {
	var bytes int64
	lines, parsed, malformed, skipped, dups := 0, 0, 0, 0, 0
	for _, f := range r.Files {
		bytes += f.Bytes
		lines += f.Lines
		parsed += f.Parsed
		malformed += f.Malformed
		skipped += f.SkippedTotal()
		dups += f.Duplicates
	}
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "── vaultsentry run summary ──")
	var notRead, notOpened, crashed []sources.FileStats
	for _, f := range r.Files {
		switch fileFailure(f, panics) {
		case failedInternal:
			crashed = append(crashed, f)
		case failedOpen:
			notOpened = append(notOpened, f)
		default:
			if f.NotRead != "" {
				notRead = append(notRead, f)
			}
		}
	}
	read := len(r.Files) - len(notRead) - len(notOpened) - len(crashed)
	if read == len(r.Files) {
		fmt.Fprintf(w, "Files read:        %d (%s)", read, report.HumanBytes(bytes))
	} else {
		fmt.Fprintf(w, "Files read:        %d of %d (%s)", read, len(r.Files), report.HumanBytes(bytes))
	}
	var failed []string
	if len(notOpened) > 0 {
		failed = append(failed, fmt.Sprintf("%d could not be opened", len(notOpened)))
	}
	if len(crashed) > 0 {
		failed = append(failed, fmt.Sprintf("%d failed with an internal error", len(crashed)))
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "; %s", strings.Join(failed, ", "))
	}
	fmt.Fprintln(w)
	for _, f := range slices.Concat(notOpened, crashed) {
		fmt.Fprintf(w, "  %s: %s\n", report.Sanitize(f.File), report.Sanitize(f.ReadError))
	}
	if len(crashed) > 0 {
		fmt.Fprint(w, "Internal error:    a bug in vaultsentry; the other files were analysed. Please report it at "+issuesURL)
		if verbose {
			fmt.Fprintln(w, " with the stack printed above")
		} else {
			fmt.Fprintln(w, " with the stack --verbose prints")
		}
	}
	if len(notRead) > 0 {
		fmt.Fprintf(w, "Files not read:    %d (not audit logs, or empty)", len(notRead))
		if !verbose {
			fmt.Fprint(w, "; --verbose lists them")
		}
		fmt.Fprintln(w)
		for _, f := range notRead {
			if verbose || !f.Found { // a file the user named is always explained
				fmt.Fprintf(w, "  %s: %s\n", report.Sanitize(f.File), report.Sanitize(f.NotRead))
			}
		}
	}
	writeS3Summary(w, r.S3)
	writeStores(w, r.Stores)
	fmt.Fprintf(w, "Lines:             %d = %d parsed + %d malformed + %d skipped\n", lines, parsed, malformed, skipped)
	if dups > 0 {
		fmt.Fprintf(w, "Duplicates:        %d records dropped (same eventID)\n", dups)
	}
	writeRoutineSkips(w, r.Files)
	fmt.Fprintf(w, "Events analysed:   %d", r.Events)
	if r.Filtered > 0 {
		fmt.Fprintf(w, " (%d outside --since/--until)", r.Filtered)
	}
	fmt.Fprintln(w)
	for _, f := range r.Files {
		name := report.Sanitize(f.File)
		if f.ReadError != "" && fileFailure(f, panics) == failedNot { // the others are listed above
			fmt.Fprintf(w, "  %s: %s\n", name, report.Sanitize(f.ReadError))
		}
		if f.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", name, report.Sanitize(f.Note))
		}
		if f.Late > 0 {
			fmt.Fprintf(w, "  %s: %d events analysed out of time order (late_events): they came more than %s or %d events after newer ones of the file, "+
				"or a CloudTrail file delivered them more than %s after they happened\n",
				name, f.Late, sources.ReorderWindow, sources.ReorderEvents, sources.StartSlack)
		}
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  %s:%d: %s\n", name, p.Line, report.Sanitize(p.Reason))
		}
		if more := f.Malformed + f.Skipped["too-long"] - len(f.Problems); more > 0 {
			fmt.Fprintf(w, "  %s: %d more problem lines not listed\n", name, more)
		}
		if len(f.Skipped) > 0 {
			keys := make([]string, 0, len(f.Skipped))
			for k := range f.Skipped {
				if !routineSkip[k] {
					keys = append(keys, k)
				}
			}
			if len(keys) == 0 {
				continue
			}
			slices.Sort(keys)
			parts := make([]string, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s %d", k, f.Skipped[k]))
			}
			fmt.Fprintf(w, "  %s: skipped %s\n", name, strings.Join(parts, ", "))
		}
	}
	for _, e := range r.Errors {
		if !slices.ContainsFunc(notOpened, func(f sources.FileStats) bool { return f.ReadError == e }) {
			fmt.Fprintf(w, "  unreadable: %s\n", report.Sanitize(e)) // a path that matched nothing
		}
	}
	if !r.First.IsZero() {
		fmt.Fprintf(w, "Log time span:     %s .. %s (%s)\n", fmtT(r.First, r.Location), fmtT(r.Last, r.Location), analyze.Span(r.Last.Sub(r.First)))
	}
	by := report.BySeverity(r.Findings)
	var parts []string
	for s := analyze.Critical; s >= analyze.Info; s-- {
		parts = append(parts, fmt.Sprintf("%s %d", s, by[s]))
	}
	fmt.Fprintf(w, "Findings:          %d (%s)", len(r.Findings), strings.Join(parts, ", "))
	if r.Hidden > 0 {
		fmt.Fprintf(w, "; %d below --min-severity", r.Hidden)
	}
	if r.Training > 0 {
		fmt.Fprintf(w, "; %d in the learning period", r.Training)
	}
	if r.SuppressedCount > 0 {
		fmt.Fprintf(w, "; %d suppressed by the ignore list", r.SuppressedCount)
	}
	if r.Previous > 0 {
		fmt.Fprintf(w, "; %d already in the previous report", r.Previous)
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note:              %s\n", report.Sanitize(n))
	}
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(bytes) / secs / 1e6
	}
	fmt.Fprintf(w, "Elapsed:           %s (%.1f MB/s, %.0f events/s)\n", elapsed.Round(time.Millisecond), rate, float64(parsed)/max(secs, 1e-9))
}

// failure is how reading a file failed, for the summary.
type failure int

const (
	failedNot      failure = iota // read, perhaps only in part (ReadError says where it stopped)
	failedOpen                    // could not be opened (missing, denied, an archive vaultsentry does not read)
	failedInternal                // a reader panicked on it: its events are left out
)

// fileFailure says whether f could not be opened or failed with an internal error. A file that
// could not be opened has a ReadError and neither a format nor a description: sources.Load
// sets the error before it looks at the content.
func fileFailure(f sources.FileStats, panics []*sources.PanicError) failure {
	if f.ReadError == "" {
		return failedNot
	}
	if slices.ContainsFunc(panics, func(p *sources.PanicError) bool { return p.File == f.File }) {
		return failedInternal
	}
	if f.Format == "" && f.NotRead == "" {
		return failedOpen
	}
	return failedNot
}

// writePanics prints the stack of each reader that panicked, for a bug report (--verbose). The
// stack is vaultsentry's own text, but it is sanitised line by line all the same, as the file
// name comes from outside.
func writePanics(w io.Writer, panics []*sources.PanicError) {
	for _, p := range panics {
		fmt.Fprintf(w, "%s (a bug in vaultsentry; please report it at %s with this stack):\n",
			report.Sanitize(p.Error()), issuesURL)
		for line := range strings.Lines(string(p.Stack)) {
			line = strings.ReplaceAll(strings.TrimRight(line, "\n"), "\t", "    ") // Go indents file lines with a tab
			fmt.Fprintf(w, "  %s\n", report.Sanitize(line))
		}
	}
}

func fmtT(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04:05Z07:00")
}

// routineSkip are skip reasons expected in normal input (a CloudTrail export holds digests,
// Insights files and re-delivered records): summed once instead of listed per file.
var routineSkip = map[string]bool{"digest-file": true, "insight": true, "duplicate": true}

func writeRoutineSkips(w io.Writer, files []sources.FileStats) {
	sums := map[string]int{}
	echoes := 0
	for _, f := range files {
		for k, n := range f.Skipped {
			if routineSkip[k] {
				sums[k] += n
			}
		}
		echoes += f.BatchEchoes
	}
	if len(sums) > 0 {
		keys := make([]string, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, sums[k]))
		}
		fmt.Fprintf(w, "Skipped:           %s\n", strings.Join(parts, ", "))
	}
	if echoes > 0 {
		fmt.Fprintf(w, "Batch reads:       %d BatchGetSecretValue reads also logged as GetSecretValue, counted once\n", echoes)
	}
}
