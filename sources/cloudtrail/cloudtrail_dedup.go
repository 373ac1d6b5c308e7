package cloudtrail

import (
	"slices"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// recKey names the record an event came from: its eventID and its ordinal in the file.
type recKey struct {
	ID  string
	Rec int32
}

// batchEchoWindow: a GetSecretValue record this close to a read expanded from a
// BatchGetSecretValue of the same principal and secret is the same read (CloudTrail writes one
// per secret a batch returns, in the same second or the next).
const batchEchoWindow = time.Second

// dropDuplicateRecords drops records delivered more than once (at-least-once delivery: the same
// eventID in a later file, or twice in one). The first delivery in input order is kept; each
// later one is counted in its file as skipped "duplicate" and in Duplicates.
func dropDuplicateRecords(perFile [][]event.Event, keys [][]recKey, files []*sources.FileStats) {
	type ref struct {
		file int
		rec  int32
	}
	n := 0
	for _, k := range keys {
		n += len(k)
	}
	seen := make(map[string]ref, n)
	for i := range perFile {
		if len(keys[i]) != len(perFile[i]) {
			continue
		}
		kept := perFile[i][:0]
		dropped := int32(-1)
		for j, ev := range perFile[i] {
			k := keys[i][j]
			if k.ID == "" {
				kept = append(kept, ev)
				continue
			}
			r := ref{i, k.Rec}
			if first, ok := seen[k.ID]; ok && first != r {
				st := files[i]
				st.Events--
				if dropped != k.Rec {
					dropped = k.Rec
					st.Duplicates++
					st.Parsed--
					st.Skip("duplicate")
				}
				continue
			} else if !ok {
				seen[k.ID] = r
			}
			kept = append(kept, ev)
		}
		clear(perFile[i][len(kept):])
		perFile[i] = kept
	}
}

type echoKey struct{ principal, credential, resource string }

// dropBatchEchoes drops the reads expanded from a BatchGetSecretValue id list that a
// GetSecretValue record of the same principal, credential and secret repeats within
// batchEchoWindow, and expanded reads that repeat one another (the same secret twice in one
// batch); the GetSecretValue record stays, with its own outcome. evs must be in time order.
func dropBatchEchoes(evs []event.Event, files []sources.FileStats) []event.Event {
	gets := map[echoKey][]time.Time{}
	batches := 0
	for i := range evs {
		ev := &evs[i]
		if ev.Kind != event.KindCloudTrail || ev.Op != event.OpRead {
			continue
		}
		switch ev.Action {
		case "GetSecretValue":
			k := echoKey{ev.Principal, ev.Credential, ev.Resource}
			gets[k] = append(gets[k], ev.Time)
		case "BatchGetSecretValue":
			batches++
		}
	}
	if batches == 0 {
		return evs
	}
	fileIdx := make(map[string]int, len(files))
	for i := range files {
		fileIdx[files[i].File] = i
	}
	lastExpanded := map[echoKey]time.Time{}
	kept := evs[:0]
	for _, ev := range evs {
		if ev.Kind == event.KindCloudTrail && ev.Op == event.OpRead && ev.Action == "BatchGetSecretValue" {
			k := echoKey{ev.Principal, ev.Credential, ev.Resource}
			last, seen := lastExpanded[k]
			if near(gets[k], ev.Time) || (seen && ev.Time.Sub(last) <= batchEchoWindow) {
				if i, ok := fileIdx[ev.Pos.File]; ok {
					files[i].BatchEchoes++
					files[i].Events--
				}
				continue
			}
			lastExpanded[k] = ev.Time
		}
		kept = append(kept, ev)
	}
	clear(evs[len(kept):])
	return kept
}

// near reports whether a time in ts (sorted) lies within batchEchoWindow of t.
func near(ts []time.Time, t time.Time) bool {
	i, _ := slices.BinarySearchFunc(ts, t.Add(-batchEchoWindow), func(a, b time.Time) int { return a.Compare(b) })
	return i < len(ts) && !ts[i].After(t.Add(batchEchoWindow))
}
