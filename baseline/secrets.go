package baseline

import (
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// Secret is what is known of one secret across runs, for secret hygiene (vaultsentry review):
// when it was last written (rotated) and read, and who read it since that write. A daily run
// that carries the baseline builds months of this from one day of logs at a time.
type Secret struct {
	Store string // the event kind's name: vault, cloudtrail, kubernetes
	// First is when the secret was first seen in any request.
	First time.Time
	// LastWrite is the newest successful write (create, update, rotate, put); LastRead the
	// newest read that returned its value.
	LastWrite, LastRead time.Time
	// Writer is who wrote it last.
	Writer string
	// Readers are the principals that read its value since LastWrite (since First when never
	// written), sorted, at most maxSecretReaders.
	Readers []string
}

// maxSecretReaders bounds the readers kept per secret: a review says "N or more".
const maxSecretReaders = 64

// learnSecret records ev's use of a secret: a successful value read or write. Control-plane
// paths are not secrets.
func (b *Baseline) learnSecret(ev *event.Event, id string) {
	if ev.Resource == "" || ev.Outcome != event.OutcomeOK || ev.Has(event.FlagControl) || ev.Has(event.FlagMaintenance) {
		return
	}
	write := ev.Op == event.OpWrite
	read := ev.Op == event.OpRead && ev.Has(event.FlagValueRead)
	if !write && !read {
		return
	}
	if b.Secrets == nil {
		b.Secrets = map[string]*Secret{}
	}
	s := b.Secrets[ev.Resource]
	if s == nil {
		s = &Secret{Store: ev.Kind.String(), First: ev.Time}
		b.Secrets[ev.Resource] = s
	}
	if ev.Time.Before(s.First) {
		s.First = ev.Time
	}
	switch {
	case write && !ev.Time.Before(s.LastWrite):
		s.LastWrite, s.Writer, s.Readers = ev.Time, id, s.Readers[:0]
	case read:
		if ev.Time.After(s.LastRead) {
			s.LastRead = ev.Time
		}
		if !ev.Time.Before(s.LastWrite) && id != s.Writer && len(s.Readers) < maxSecretReaders {
			if i, found := slices.BinarySearch(s.Readers, id); !found {
				s.Readers = slices.Insert(s.Readers, i, id)
			}
		}
	}
}
