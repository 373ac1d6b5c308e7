package app

import (
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/metrics"
)

// errStopped: the detectors stopped because the run was interrupted.
var errStopped = errors.New("analysis stopped")

// analysis is one run's single pass over its events, in time order, as they stream from the
// readers (or from the loaded slice): the window cuts them, then the metrics, the run notes,
// the detectors and the baseline (analyze.Runner) see each once. What needs the events again
// once the findings are known (values_read, the HTML charts) reads them from a second pass:
// the loaded slice, or in a streamed run their compact copy on disk (secondPass).
type analysis struct {
	p       *pipeline
	win     *window
	runner  *analyze.Runner
	notes   *analyze.NoteCounter
	collect *metrics.Collector
	copy    *secondPass // a streamed run's copy of the analysed events; nil in memory
	// copyAll: the copy holds every analysed event (the HTML charts count them all); otherwise
	// only those values_read looks at (analyze.ValuesReadLooksAt).
	copyAll bool
	// inMemory: consume compacts the kept events at the front of the loaded slice.
	inMemory bool
	kept     []event.Event

	seen   int // events read, before the window
	events int // events analysed
	// span: what the analysed events cover, and the events read dated after the wall clock.
	span span
}

func (p *pipeline) newAnalysis(win *window, bl *baseline.Baseline, cfg *analyze.Config) (*analysis, error) {
	a := &analysis{p: p, win: win, inMemory: p.stream == nil, span: span{limit: p.opts.now().Add(24 * time.Hour)}}
	a.runner = analyze.NewRunner(analyze.Env{Config: cfg, Baseline: bl, LearnedUntil: win.learnedUntil, Done: p.ctx.Done()})
	a.notes = analyze.NewNoteCounter(cfg)
	if p.opts.Metrics != "" {
		a.collect = metrics.NewCollector(bl, cfg.LearnUntil)
	}
	if !a.inMemory {
		var err error
		if a.copy, err = newSecondPass(); err != nil {
			return nil, err
		}
		a.copyAll = p.charts()
	}
	return a, nil
}

// consume analyses the next events of the stream.
func (a *analysis) consume(evs []event.Event) error {
	for i := range evs {
		ev := &evs[i]
		a.seen++
		a.span.dated(ev)
		if !a.win.keep(ev) {
			continue
		}
		if a.inMemory {
			evs[a.events] = *ev
			ev = &evs[a.events]
		}
		a.events++
		a.span.see(ev)
		if a.collect != nil {
			a.collect.Add(ev)
		}
		a.notes.Add(ev)
		if a.copy != nil && (a.copyAll || analyze.ValuesReadLooksAt(ev)) {
			a.copy.Add(ev)
		}
		if !a.runner.Observe(ev) {
			return errStopped
		}
	}
	return nil
}

// done ends the pass: what the window kept of each file.
func (a *analysis) done() { a.win.endRun() }

// second is a fresh pass over the analysed events, as often as asked.
func (a *analysis) second() func() iter.Seq[*event.Event] {
	if a.copy != nil {
		return a.copy.Events
	}
	kept := a.kept
	return func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			for i := range kept {
				if !yield(&kept[i]) {
					return
				}
			}
		}
	}
}

func (a *analysis) spillErr() error {
	if a.copy == nil {
		return nil
	}
	if err := a.copy.Err(); err != nil {
		return runtimef("free space in the temporary directory (TMPDIR), or point TMPDIR at a larger disk",
			fmt.Errorf("keeping the analysed events for values_read and the charts: %w", err))
	}
	return nil
}

func (a *analysis) metrics() *metrics.Collector {
	if a.collect == nil {
		return nil
	}
	return a.collect
}

func (a *analysis) close() {
	if a.copy != nil {
		a.copy.Close()
	}
}
