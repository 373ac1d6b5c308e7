package app

import (
	"iter"

	"github.com/vaultsentry/vaultsentry/event"
)

// TEMPORARY: in memory until the spill package lands.
type secondPass struct{ evs []event.Event }

func newSecondPass() *secondPass { return &secondPass{} }

func (s *secondPass) Add(ev *event.Event) { s.evs = append(s.evs, *ev) }

func (s *secondPass) Events() iter.Seq[*event.Event] {
	return func(yield func(*event.Event) bool) {
		for i := range s.evs {
			if !yield(&s.evs[i]) {
				return
			}
		}
	}
}

func (s *secondPass) Err() error   { return nil }
func (s *secondPass) Close() error { return nil }
