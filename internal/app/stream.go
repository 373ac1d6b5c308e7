package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// streamSource is the inputs of a streamed run (sources.Stream): read while the run analyses
// them, so that memory does not grow with their size.
type streamSource struct {
	ins     []sources.Input
	command string
	format  string
	hint    string
	s3      *s3Run
}

// inMemoryEnv, set to 1, makes every run hold its events in memory as before streaming (for
// comparisons; the streamed run is the default).
const inMemoryEnv = "VAULTSENTRY_IN_MEMORY"

// streamed returns the pipeline of a run over files, streamed unless VAULTSENTRY_IN_MEMORY=1.
func streamedPipeline(ctx context.Context, o *Options, command string, paths []string, format, hint string) (*pipeline, error) {
	ins, inErrs, s3st, err := o.expand(ctx, command, paths)
	if err != nil {
		return nil, err
	}
	o.warn(inErrs)
	if len(ins) == 0 {
		return nil, runtimef(hint, fmt.Errorf("%s: %w", command, sources.ErrNothingRead))
	}
	p := &pipeline{ctx: ctx, opts: o, command: command, inErrs: inErrs}
	if os.Getenv(inMemoryEnv) == "1" {
		loaded, err := loadExpanded(ctx, o, command, ins, format, hint)
		s3st.attach(loaded)
		if err != nil {
			return nil, err
		}
		p.loaded = loaded
		return p, nil
	}
	p.stream = &streamSource{ins: ins, command: command, format: format, hint: hint, s3: s3st}
	return p, nil
}

// Garbage collection of a streamed run: its live heap is what the detectors remember (tens to
// hundreds of MiB), so the default target (GOGC=100) collects every few MiB of events decoded.
// Unless GOGC or GOMEMLIMIT say otherwise, a streamed run lets the heap grow to streamGCPercent
// over the live heap, within streamMemoryLimit, the soft limit past which the collector works
// harder instead.
const (
	streamGCPercent   = 400
	streamMemoryLimit = 768 << 20
)

// streamGC sets the collector for a streamed run and returns what puts it back.
func streamGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	prevPercent := debug.SetGCPercent(streamGCPercent)
	prevLimit := debug.SetMemoryLimit(streamMemoryLimit)
	return func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	}
}

// countsBack reports whether a time argument is a duration, counted back from the newest event.
func (o *Options) countsBack() bool {
	return o.Since.ago != 0 || o.Until.ago != 0 || o.LearnUntil.ago != 0
}

// streamRef sets the reference for durations of a streamed run before it reads its inputs:
// the newest plausible event, from the end of each file (sources.Newest). Standard input and
// FIFOs cannot be read twice, S3 objects would be fetched twice: their events are then held in
// memory, as the reference is known only at their end.
func (p *pipeline) streamRef() error {
	s, o := p.stream, p.opts
	ref, ok, err := sources.Newest(p.ctx, s.ins, o.loadOptions(s.format), o.now().Add(24*time.Hour))
	if p.ctx.Err() != nil {
		return interrupted(p.ctx, "reading")
	}
	if err != nil {
		return runtimef("", fmt.Errorf("%s: %w", s.command, err))
	}
	if ok {
		p.timeRef = ref
		return nil
	}
	if o.Verbose {
		fmt.Fprintln(o.IO.Err, "a duration (--since, --until, --learn-until) over standard input, a FIFO or S3: the events are held in memory until the newest is known; give a time (RFC 3339) to stream them")
	}
	loaded, err := loadExpanded(p.ctx, o, s.command, s.ins, s.format, s.hint)
	s.s3.attach(loaded)
	if err != nil {
		return err
	}
	p.loaded, p.stream = loaded, nil
	return nil
}

// firstEvents are each input's first event and format, for baseline.Covered.
func (p *pipeline) firstEvents() []sources.FirstEvent {
	if p.stream == nil {
		out := make([]sources.FirstEvent, len(p.loaded.Files))
		for i, f := range p.loaded.Files {
			out[i] = sources.FirstEvent{File: f.File, Format: f.Format, FirstEvent: f.FirstEvent}
		}
		return out
	}
	return sources.FirstEvents(p.ctx, p.stream.ins, p.opts.loadOptions(p.stream.format))
}

// streamInto reads the inputs into consume, in time order, with progress on a terminal; then
// loaded holds the files' statistics. No event at all is a RuntimeError after each file is
// described, as for a load.
func (p *pipeline) streamInto(consume func([]event.Event) error) error {
	s, o, ctx := p.stream, p.opts, p.ctx
	defer streamGC()()
	prog := newProgress(o.IO, o.Quiet, o.Verbose, s.ins)
	lo := o.loadOptions(s.format)
	lo.Progress = prog.hook()
	events := 0
	loaded, err := stream(ctx, s.ins, lo, func(evs []event.Event) error {
		events += len(evs)
		return consume(evs)
	})
	prog.finish()
	s.s3.attach(loaded)
	p.loaded = loaded
	if p.loaded == nil {
		p.loaded = &sources.Loaded{}
	}
	if errors.Is(err, errStopped) || ctx.Err() != nil {
		return errStopped
	}
	if loaded != nil && o.Verbose {
		writePanics(o.IO.Err, loaded.Panics)
	}
	if errors.Is(err, sources.ErrNothingRead) {
		for _, e := range loaded.Errors {
			fmt.Fprintf(o.IO.Err, "error: %s\n", report.Sanitize(e.Error()))
		}
		return runtimef("check the paths and their permissions", fmt.Errorf("%s: %w", s.command, err))
	}
	if err != nil {
		return runtimef("", fmt.Errorf("%s: %w", s.command, err))
	}
	o.warn(loaded.Errors)
	if events == 0 {
		return noEventsIn(o.IO, s.command, loaded, s.hint)
	}
	return nil
}

// stream is sources.Stream, returning at most loadGrace after ctx ends (see load).
func stream(ctx context.Context, ins []sources.Input, lo sources.LoadOptions, sink func([]event.Event) error) (*sources.Loaded, error) {
	type result struct {
		loaded *sources.Loaded
		err    error
	}
	done := make(chan result, 1)
	go func() {
		l, err := sources.Stream(ctx, ins, lo, sink)
		done <- result{l, err}
	}()
	select {
	case r := <-done:
		return r.loaded, r.err
	case <-ctx.Done():
	}
	select {
	case r := <-done:
		if r.err == nil {
			r.err = context.Cause(ctx)
		}
		return r.loaded, r.err
	case <-time.After(loadGrace):
		return nil, context.Cause(ctx)
	}
}
