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

// writeSummary prints the run summary on standard error, in the manner of Hayabusa: what was
// read, what could not be used and where, the time span, findings by severity, speed.
func writeSummary(w io.Writer, r *report.Result, elapsed time.Duration, verbose bool) {
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
	var notRead []sources.FileStats
	for _, f := range r.Files {
		if f.NotRead != "" {
			notRead = append(notRead, f)
		}
	}
	fmt.Fprintf(w, "Files read:        %d (%s)\n", len(r.Files)-len(notRead), report.HumanBytes(bytes))
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
		if f.ReadError != "" {
			fmt.Fprintf(w, "  %s: %s\n", name, report.Sanitize(f.ReadError))
		}
		if f.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", name, report.Sanitize(f.Note))
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
		fmt.Fprintf(w, "  unreadable: %s\n", report.Sanitize(e))
	}
	if !r.First.IsZero() {
		fmt.Fprintf(w, "Log time span:     %s .. %s (%s)\n", fmtT(r.First, r.Location), fmtT(r.Last, r.Location), r.Last.Sub(r.First).Round(time.Second))
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
