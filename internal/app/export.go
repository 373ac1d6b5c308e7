package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/lake"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// ExportRequest is one `vaultsentry export`: the inputs' normalised events written under Dir,
// one row per event, partitioned by day.
type ExportRequest struct {
	Options
	Paths  []string
	Format string // a name from lake.Formats()
	Dir    string
	// SecurityLake is the partition of ocsf-parquet events that name no region and account.
	SecurityLake lake.SecurityLake
}

// ExportResult is what an export wrote.
type ExportResult struct {
	Files []lake.File
	Rows  int64
	// Filtered are the events left out by --since/--until.
	Filtered int
}

// Export reads the inputs as scan does (every format, the same statistics) and writes their
// events, in time order, between --since and --until. No event is a RuntimeError, never an
// empty export. A malformed line is reported in the summary with its file and line, as scan
// does, and does not stop the rest.
func Export(ctx context.Context, r ExportRequest) (ExportResult, error) {
	o := &r.Options
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	p, err := streamedPipeline(ctx, o, "export", r.Paths, "",
		"check the paths; directories are read recursively and globs must be quoted for the shell not to expand them")
	if err != nil {
		return ExportResult{}, err
	}
	var ref time.Time
	var note string
	if p.stream != nil && o.countsBack() {
		if err := p.streamRef(); err != nil {
			return ExportResult{}, err
		}
		ref = p.timeRef
	}
	if p.stream == nil {
		ref, note = newestPlausible(p.loaded.Events, o.now())
	}
	since, until := o.Since.Resolve(ref), o.Until.Resolve(ref)
	var names []string
	if p.stream != nil {
		for _, in := range p.stream.ins {
			names = append(names, in.Name)
		}
	} else {
		for _, f := range p.loaded.Files {
			names = append(names, f.File)
		}
	}
	w, err := lake.NewLakeWriter(r.Dir, r.Format, names, Version, r.SecurityLake)
	if err != nil {
		return ExportResult{}, runtimef("check that the directory can be created and written", fmt.Errorf("export: %w", err))
	}
	var res ExportResult
	var sp span
	seen := 0
	var writeErr error
	consume := func(evs []event.Event) error {
		for i := range evs {
			ev := &evs[i]
			seen++
			if p.stream != nil {
				sp.dated(ev)
			}
			sp.see(ev)
			if !since.IsZero() && ev.Time.Before(since) || !until.IsZero() && !ev.Time.Before(until) {
				res.Filtered++
				continue
			}
			if seen&0xfff == 0 && ctx.Err() != nil {
				return errStopped
			}
			if err := w.Write(ev); err != nil {
				writeErr = err
				return err
			}
		}
		return nil
	}
	if p.stream != nil {
		err = p.streamInto(consume)
	} else {
		err = consume(p.loaded.Events)
	}
	if note == "" && sp.future > 0 {
		note = sp.note()
	}
	switch {
	case writeErr != nil:
		w.Abort()
		return res, runtimef("check the free space and permissions of "+r.Dir, fmt.Errorf("export: %w", writeErr))
	case errors.Is(err, errStopped) || ctx.Err() != nil:
		w.Abort()
		return res, interrupted(ctx, "exporting")
	case err != nil:
		w.Abort()
		return res, err
	}
	if note != "" && !o.Quiet {
		fmt.Fprintf(o.IO.Err, "note: %s\n", report.Sanitize(note))
	}
	files, err := w.Close()
	res.Files, res.Rows = files, w.Rows()
	if err != nil {
		return res, runtimef("check the free space and permissions of "+r.Dir, fmt.Errorf("export: %w", err))
	}
	if res.Rows == 0 {
		return res, runtimef("widen --since/--until: they are counted back from the newest event",
			fmt.Errorf("export: none of the %d events is between --since and --until; nothing written", seen))
	}
	if !o.Quiet {
		writeExportSummary(o, p.loaded, p.inErrs, &res, r, time.Since(o.Start), sp.first, sp.last)
	}
	return res, nil
}

// span is the time covered by the events of a pass, and those dated more than a day after the
// wall clock (counted for the note newestPlausible writes in memory).
type span struct {
	first, last time.Time
	limit       time.Time
	future      int
	futureAt    event.Pos
	futureT     time.Time
}

// see widens the span to ev.
func (s *span) see(ev *event.Event) {
	if s.first.IsZero() || ev.Time.Before(s.first) {
		s.first = ev.Time
	}
	if ev.Time.After(s.last) {
		s.last = ev.Time
	}
}

// dated counts ev when it is dated more than a day after the wall clock.
func (s *span) dated(ev *event.Event) {
	if s.limit.IsZero() {
		s.limit = time.Now().Add(24 * time.Hour)
	}
	if ev.Time.After(s.limit) {
		if s.future == 0 {
			s.futureAt, s.futureT = ev.Pos, ev.Time
		}
		s.future++
	}
}

func (s *span) note() string {
	return fmt.Sprintf("%d events are dated after the current time (first at %s:%d, %s); durations in --since/--until/--learn-until count back from the newest event before them",
		s.future, s.futureAt.File, s.futureAt.Line, s.futureT.UTC().Format(time.RFC3339))
}

func writeExportSummary(o *Options, loaded *sources.Loaded, inErrs []error, res *ExportResult, r ExportRequest, elapsed time.Duration, first, last time.Time) {
	w := o.IO.Err
	var read int64
	lines, parsed, malformed, skipped := 0, 0, 0, 0
	for _, f := range loaded.Files {
		read += f.Bytes
		lines += f.Lines
		parsed += f.Parsed
		malformed += f.Malformed
		skipped += f.SkippedTotal()
	}
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "── vaultsentry export summary ──")
	fmt.Fprintf(w, "Files read:        %d (%s)\n", len(loaded.Files), report.HumanBytes(read))
	fmt.Fprintf(w, "Lines:             %d = %d parsed + %d malformed + %d skipped\n", lines, parsed, malformed, skipped)
	for _, f := range loaded.Files {
		name := report.Sanitize(f.File)
		switch {
		case f.NotRead != "" && (!f.Found || o.Verbose):
			fmt.Fprintf(w, "  %s: not read: %s\n", name, report.Sanitize(f.NotRead))
		case f.ReadError != "":
			fmt.Fprintf(w, "  %s: %s\n", name, report.Sanitize(f.ReadError))
		}
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  %s:%d: %s\n", name, p.Line, report.Sanitize(p.Reason))
		}
		if more := f.Malformed + f.Skipped["too-long"] - len(f.Problems); more > 0 {
			fmt.Fprintf(w, "  %s: %d more problem lines not listed\n", name, more)
		}
	}
	for _, e := range inErrs {
		fmt.Fprintf(w, "  unreadable: %s\n", report.Sanitize(e.Error()))
	}
	if !first.IsZero() {
		fmt.Fprintf(w, "Log time span:     %s .. %s\n", fmtT(first, o.location()), fmtT(last, o.location()))
	}
	var bytes int64
	firstDay, lastDay := "", ""
	for _, f := range res.Files {
		bytes += f.Bytes
		if firstDay == "" || f.Day < firstDay {
			firstDay = f.Day
		}
		lastDay = max(lastDay, f.Day)
	}
	fmt.Fprintf(w, "Events exported:   %d", res.Rows)
	if res.Filtered > 0 {
		fmt.Fprintf(w, " (%d outside --since/--until)", res.Filtered)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Written:           %d %s files under %s, days %s .. %s UTC (%s)\n", len(res.Files), r.Format,
		report.Sanitize(r.Dir), firstDay, lastDay, report.HumanBytes(bytes))
	if o.Verbose {
		for _, f := range res.Files {
			fmt.Fprintf(w, "  %s: %d rows, %s\n", report.Sanitize(f.Path), f.Rows, report.HumanBytes(f.Bytes))
		}
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "Elapsed:           %s (%.1f MB/s read, %.0f events/s)\n", elapsed.Round(time.Millisecond),
		float64(read)/max(secs, 1e-9)/1e6, float64(res.Rows)/max(secs, 1e-9))
}
