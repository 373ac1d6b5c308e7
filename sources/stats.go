package sources

import "time"

// MaxProblemsListed caps how many problem positions a file's statistics list; the counters
// keep counting past it.
const MaxProblemsListed = 100

// Problem is one line that could not be used, with where and why.
type Problem struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// FileStats accounts for every line of one input: Lines = Parsed + Malformed + sum(Skipped).
type FileStats struct {
	File       string         `json:"file"`
	Format     string         `json:"format"`
	Compressed bool           `json:"compressed"`
	Bytes      int64          `json:"bytes"` // bytes read after decompression
	Lines      int            `json:"lines"`
	Parsed     int            `json:"parsed"` // entries or records decoded
	Events     int            `json:"events"` // events produced (a Vault request and its response make one)
	Malformed  int            `json:"malformed"`
	Skipped    map[string]int `json:"skipped"` // reason -> lines (blank, unknown-type, too-long, ...)
	Problems   []Problem      `json:"problems,omitempty"`
	Duplicates int            `json:"duplicates,omitempty"` // records dropped as already seen (CloudTrail eventID)
	ReadError  string         `json:"read_error,omitempty"` // the reason reading stopped early
	Note       string         `json:"note,omitempty"`       // how the input was read (it grew while read)
	// NotRead says what the file holds when no format read it ("not an audit log (YAML)",
	// "empty file"); Format is then empty.
	NotRead string `json:"not_read,omitempty"`
	// Found: the file was found in a directory or by a glob, not named on the command line.
	Found      bool      `json:"-"`
	FirstEvent time.Time `json:"first_event,omitzero"`
	LastEvent  time.Time `json:"last_event,omitzero"`

	// Shapes counts the records of each shape a log store gave them (Vault: "loki-jsonl",
	// "fluent-bit-lift", "elastic-doc", ..., the raw audit lines as "vault"); nil for a file of
	// raw lines only.
	Shapes map[string]int `json:"shapes,omitempty"`
	// StoreTime counts the records timed by the log store's timestamp (Loki's, @timestamp)
	// because they had no time of their own.
	StoreTime int `json:"store_time,omitempty"`

	// BatchEchoes are reads a BatchGetSecretValue expanded to that a GetSecretValue record of the
	// same principal and secret repeats (CloudTrail logs both): dropped so each read counts once.
	BatchEchoes int `json:"batch_echoes,omitempty"`

	// Late counts the events of a streamed run analysed after a newer event, out of time order:
	// they came more than the reorder bound (sources.ReorderWindow, sources.ReorderEvents)
	// after newer events of the same input, or they are older than the input's start (a
	// CloudTrail record delivered more than sources.StartSlack after it happened).
	Late int `json:"late_events,omitempty"`
}

// Skip counts a line skipped for reason.
func (s *FileStats) Skip(reason string) {
	if s.Skipped == nil {
		s.Skipped = map[string]int{}
	}
	s.Skipped[reason]++
}

// Bad counts a malformed line and remembers its position.
func (s *FileStats) Bad(line int, reason string) {
	s.Malformed++
	if len(s.Problems) < MaxProblemsListed {
		s.Problems = append(s.Problems, Problem{Line: line, Reason: reason})
	}
}

// SkippedTotal is the number of lines skipped for any reason.
func (s *FileStats) SkippedTotal() int {
	n := 0
	for _, c := range s.Skipped {
		n += c
	}
	return n
}

// Balanced reports whether every line is accounted for.
func (s *FileStats) Balanced() bool { return s.Lines == s.Parsed+s.Malformed+s.SkippedTotal() }

// Seen widens the file's span of event times to t.
func (s *FileStats) Seen(t time.Time) {
	if s.FirstEvent.IsZero() || t.Before(s.FirstEvent) {
		s.FirstEvent = t
	}
	if t.After(s.LastEvent) {
		s.LastEvent = t
	}
}
