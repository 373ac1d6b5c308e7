package analyze

import (
	"iter"

	"github.com/vaultsentry/vaultsentry/event"
)

// TEMPORARY stand-in until the streaming Runner lands (holds the events).
type Runner struct {
	env Env
	evs []event.Event
}

func NewRunner(env Env) *Runner { return &Runner{env: env} }

func (r *Runner) Observe(ev *event.Event) bool { r.evs = append(r.evs, *ev); return true }

func (r *Runner) Finish(events func() iter.Seq[*event.Event]) *Result { return Run(r.evs, r.env) }

type NoteCounter struct {
	c   *Config
	evs []event.Event
}

func NewNoteCounter(c *Config) *NoteCounter { return &NoteCounter{c: c} }

func (n *NoteCounter) Add(ev *event.Event) { n.evs = append(n.evs, *ev) }

func (n *NoteCounter) Notes() []string { return Notes(n.evs, n.c) }
