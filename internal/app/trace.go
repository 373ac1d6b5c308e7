package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
	"github.com/vaultsentry/vaultsentry/trace"
)

// TraceRequest is one `vaultsentry trace`: the timeline of one identity, credential or address.
type TraceRequest struct {
	IO     IO
	Config *Config // for internal_cidrs; nil: DefaultConfig
	Paths  []string
	Query  trace.Query // the selectors; Since and Until come from the fields below
	Source string      // a name from TraceSources: "" detects each file's format
	Format string      // a name from report.TraceFormats()
	Output string      // file for the timeline; "" or "-" is IO.Out

	Since, Until TimeArg // durations count back from the newest event
	Location     *time.Location
	Quiet        bool
	Verbose      bool
	MaxLineBytes int
	Summary      bool // table output: the answer only, no timeline
}

// IsTraceSource reports whether name is a valid TraceRequest.Source: "" detects each file's
// format as scan does; a format's name reads only that format (a file of another is named and
// left out).
func IsTraceSource(name string) bool { return name == "" || formats.Named(name) != nil }

// traceInput is what trace read: the files' statistics and a copy of the events for the
// trace's passes (on disk: the input is never held in memory).
type traceInput struct {
	loaded *sources.Loaded
	events *secondPass
	n      int
	newest time.Time
}

func loadTraceFiles(ctx context.Context, r *TraceRequest) (*traceInput, error) {
	ins, inErrs, s3run, err := expandPaths(ctx, r.IO, r.Quiet, r.Verbose, r.Paths, traceS3Filter(r))
	if err != nil {
		return nil, err
	}
	for _, e := range inErrs {
		fmt.Fprintf(r.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
	}
	if len(ins) == 0 {
		return nil, runtimef("check the paths; directories are read recursively and globs must be quoted",
			fmt.Errorf("trace: %w", sources.ErrNothingRead))
	}
	prog := newProgress(r.IO, r.Quiet, r.Verbose, ins)
	events, err := newSecondPass()
	if err != nil {
		return nil, err
	}
	in := &traceInput{events: events}
	loaded, err := stream(ctx, ins, sources.LoadOptions{Formats: formats.Files(), Only: r.Source, MaxLineBytes: r.MaxLineBytes, Stdin: r.IO.In, Progress: prog.hook()},
		func(evs []event.Event) error {
			for i := range evs {
				in.events.Add(&evs[i])
				if evs[i].Time.After(in.newest) {
					in.newest = evs[i].Time
				}
			}
			in.n += len(evs)
			return nil
		})
	prog.finish()
	if ctx.Err() != nil {
		in.events.Close()
		return nil, interrupted(ctx, "reading")
	}
	in.loaded = loaded
	s3run.attach(loaded)
	if loaded != nil {
		if r.Verbose {
			writePanics(r.IO.Err, loaded.Panics)
		}
		for _, e := range loaded.Errors {
			fmt.Fprintf(r.IO.Err, "warning: %s\n", report.Sanitize(e.Error()))
		}
	}
	if err == nil {
		err = in.events.Err()
	}
	if err != nil || in.n == 0 {
		in.events.Close()
	}
	if errors.Is(err, sources.ErrNothingRead) {
		return nil, runtimef("check the paths and their permissions", fmt.Errorf("trace: %w", err))
	}
	if err != nil {
		return nil, runtimef("", fmt.Errorf("trace: %w", err))
	}
	if in.n == 0 {
		return nil, noEventsIn(r.IO, "trace", loaded, "check the paths and --source")
	}
	return in, nil
}

// Trace reads the inputs and writes the timeline of what the query selects, then a one-line
// summary on IO.Err unless Quiet.
func Trace(ctx context.Context, r TraceRequest) error {
	start := time.Now()
	if !IsTraceSource(r.Source) {
		return usagef("pass --source vault or --source cloudtrail", "--source: unknown source %q", r.Source)
	}
	cfg := r.Config
	if cfg == nil {
		cfg = DefaultConfig()
	}
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	if cfg.Implicit && !r.Quiet { // a configuration nobody named changes what is internal and what is a decoy
		fmt.Fprintf(r.IO.Err, "config: %s (found in the working directory; --config names another)\n", report.Sanitize(cfg.Path))
	}
	in, err := loadTraceFiles(ctx, &r)
	if err != nil {
		return err
	}
	defer in.events.Close()
	loaded, ref := in.loaded, in.newest
	q := r.Query
	q.Since, q.Until = r.Since.Resolve(ref), r.Until.Resolve(ref)
	q.Link = cfg.Analyze.LinkOf
	if len(cfg.Analyze.Decoys) > 0 {
		q.Decoy = cfg.Analyze.IsDecoy
	}
	tr := trace.NewSeq(in.events.Events, q, cfg.Analyze.IsInternal)
	if err := in.events.Err(); err != nil {
		return runtimef("", fmt.Errorf("trace: reading the events again: %w", err))
	}
	res := &report.TraceResult{Trace: tr, Files: loaded.Files, Version: Version, Location: loc, Internal: cfg.Analyze.IsInternal, Summary: r.Summary,
		Events: in.events.Events}

	if ctx.Err() != nil {
		return interrupted(ctx, "tracing")
	}
	if err := writeOutput(ctx, r.IO.Out, r.Output, "trace", func(w io.Writer) error { return report.RenderTrace(w, r.Format, res) }); err != nil {
		return err
	}
	if !r.Quiet {
		n := 0
		for _, g := range tr.Read {
			n += len(g.Secrets)
		}
		fmt.Fprintf(r.IO.Err, "trace: %d of %d events matched %s; %d secrets read successfully (%s)\n",
			tr.Matched, in.n, report.Sanitize(report.DescribeQuery(tr.Query)), n, time.Since(start).Round(time.Millisecond))
		if tr.Matched == 0 {
			fmt.Fprintln(r.IO.Err, "hint: "+traceHint(q, in.events.Events()))
		}
	}
	return nil
}

// traceHint suggests why nothing matched. A credential given as the start of one that the logs
// hold (a responder copies the first characters of an accessor or key id) gets the glob.
func traceHint(q trace.Query, evs iter.Seq[*event.Event]) string {
	if c := q.Credential; c != "" && !strings.ContainsAny(c, "*?[") {
		for ev := range evs {
			if cr := ev.Credential; len(cr) > len(c) && strings.HasPrefix(cr, c) {
				return fmt.Sprintf("--credential matches whole values; %q is the start of a credential in the logs: try --credential '%s*'",
					report.Sanitize(c), report.Sanitize(c))
			}
		}
	}
	switch {
	case q.Identity != "" && !strings.ContainsAny(q.Identity, "*?["):
		return fmt.Sprintf("--identity matches whole names; Vault display names carry the auth mount (oidc-, k8s-, approle-...): try --identity '*%s*'", report.Sanitize(q.Identity))
	case q.Credential != "" && !strings.HasPrefix(q.Credential, "hmac-sha256:"):
		return "Vault logs accessors HMAC'd: hash yours with vault write sys/audit-hash/<device> input=<accessor> and pass the hmac-sha256:... value"
	}
	return "check the time range (--since/--until) and that the inputs cover the period"
}
