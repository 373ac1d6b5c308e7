package sources

import (
	"bufio"
	"context"

	"github.com/vaultsentry/vaultsentry/event"
)

// A FileFormat reads one kind of audit log from files. Load asks every format it is given,
// in order, whether a file's head is theirs, and hands the file to the first that says yes.
type FileFormat interface {
	// Name is the format's id, as FileStats.Format and --verbose show it ("vault").
	Name() string
	// Title is what a user calls it ("Vault / OpenBao audit log").
	Title() string
	// Sniff reports whether a file whose head is h holds this format. It looks at keys and
	// shape only: h is attacker-controlled as much as the rest of the log.
	Sniff(name string, h *Head) bool
	// Read decodes the file into events, accounting for every line in st (lines, parsed,
	// malformed with their positions, skipped by reason). A read error part-way is recorded in
	// st.ReadError and what came before is kept.
	Read(ctx context.Context, f *File, st *FileStats) Batch
}

// A Combiner is a FileFormat whose files are worked on together after each was read and
// before the merge: CloudTrail delivers a record more than once, so duplicates across files
// are dropped there.
type Combiner interface {
	Combine(batches []*Batch, stats []*FileStats)
}

// A StreamFinisher is a FileFormat that works on the merged, time-ordered stream once,
// touching only its own events (CloudTrail drops the GetSecretValue echoes of batch reads).
type StreamFinisher interface {
	Finish(evs []event.Event, files []FileStats) []event.Event
}

// A Stager is a FileFormat that works on its events in the merged, time-ordered stream of
// sources.Stream, in memory bounded by a window of log time (CloudTrail's duplicates across
// delivery files and batch echoes).
type Stager interface{ NewStage() Stage }

// A Stage sees every event of the stream (of every format: it passes on what is not its own), in
// time order. Push hands on ev, now or later, through emit, in time order; the pointers are valid
// only during the call (copy what is kept). Flush emits what it still holds at the end.
// Counts are applied to the files' statistics by Apply, once every reader has finished
// (the readers write FileStats while the stream runs: a stage never touches them before).
type Stage interface {
	Push(ev *event.Event, emit func(*event.Event))
	Flush(emit func(*event.Event))
	Apply(files []FileStats)
}

// A QuerySource pulls events from an API (CloudTrail LookupEvents) instead of reading files.
type QuerySource interface {
	Name() string
	Query(ctx context.Context) (*Loaded, error)
}

// File is an opened input handed to a format's Read: decompressed, with the reading limits
// and the run's string interner.
type File struct {
	Name string
	R    *bufio.Reader
	// Size is the file's size as stored; 0 when unknown (standard input).
	Size int64
	// Compressed is true when R decompresses a gzip file (Size is then not the text's size).
	Compressed   bool
	MaxLineBytes int
	// Progress, when set, is called every few thousand lines with the lines read so far.
	Progress func(lines int)
	Strings  *Interner
	// Local is this reader goroutine's cache in front of Strings; it lives from file to file.
	Local *LocalInterner
	// Emit, when set (sources.Stream), takes the file's events as they are made, in file
	// order, in batches it copies: a format that can give its events before the end of the file
	// does so and returns a Batch without events. A format that cannot ignores it (its Batch
	// is given on at the end of the file).
	Emit func(evs []event.Event)
}

// Batch is what a format read from one file: its events and, for formats that combine files,
// whatever they keep per event for that (opaque to Load).
type Batch struct {
	Events EventStore
	Extra  any
}
