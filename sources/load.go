package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// Format names an input format.
type Format string

// Input formats.
const (
	FormatVault      Format = "vault"
	FormatCloudTrail Format = "cloudtrail"
)

// LoadOptions configure Load.
type LoadOptions struct {
	Format       Format
	MaxLineBytes int       // default DefaultMaxLineBytes
	Stdin        io.Reader // for the input "-"
	// MaxDecompressedBytes stops a gzip input after this many decompressed bytes (default
	// DefaultMaxDecompressedBytes); MaxGzipRatio after it expanded this many times (default
	// DefaultMaxGzipRatio, negative: no ratio check). What was read before is kept.
	MaxDecompressedBytes int64
	MaxGzipRatio         int
	// Progress, when set, is called from reader goroutines as each file is read (every few
	// thousand lines, and once with Done when the file ends). It must be safe for concurrent use.
	Progress func(Progress)
}

// Progress is how far the reading of one input has got.
type Progress struct {
	File  string
	Read  int64 // bytes read from the file as stored (compressed bytes for gzip)
	Size  int64 // the file's size as stored; 0 when unknown (standard input)
	Lines int
	Done  bool
}

// Progress is reported every progressEvery lines or progressBytes bytes, whichever comes first.
const (
	progressEvery = 8192
	progressBytes = 4 << 20
)

// Loaded is every event of a run, in time order, with the statistics of each input.
type Loaded struct {
	Events []Event
	Files  []FileStats
	// Errors are inputs that could not be read at all (missing, permission denied).
	Errors []error
}

// ErrNothingRead means no input could be read at all.
var ErrNothingRead = errors.New("no input could be read")

// Load reads every input concurrently (one goroutine per file, at most GOMAXPROCS at once),
// then orders all events by log time: rotated files are usually older than the live one, but
// file order is never taken for time order.
func Load(ctx context.Context, inputs []Input, opts LoadOptions) (*Loaded, error) {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	res := &Loaded{Files: make([]FileStats, len(inputs))}
	perFile := make([][]Event, len(inputs))
	ids := make([][]recKey, len(inputs)) // CloudTrail records of the events, parallel to perFile
	errs := make([]error, len(inputs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, in := range inputs {
		g.Go(func() error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st := &res.Files[i]
			st.File = in.Name
			evs, evIDs, err := readFile(in, opts, st)
			perFile[i], ids[i], errs[i] = evs, evIDs, err
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	total := 0
	readAny := false
	for i := range inputs {
		total += len(perFile[i])
		if errs[i] != nil {
			res.Errors = append(res.Errors, errs[i])
		}
		if res.Files[i].Lines > 0 || errs[i] == nil {
			readAny = true
		}
	}
	if opts.Format == FormatCloudTrail {
		dropDuplicateRecords(perFile, ids, res.Files)
		total = 0
		for _, evs := range perFile {
			total += len(evs)
		}
	}
	res.Events = make([]Event, 0, total)
	for _, evs := range perFile {
		res.Events = append(res.Events, evs...)
	}
	SortEvents(res.Events)
	if opts.Format == FormatCloudTrail {
		res.Events = dropBatchEchoes(res.Events, res.Files)
	}
	if !readAny && len(inputs) > 0 {
		return res, ErrNothingRead
	}
	return res, nil
}

// SortEvents orders events by time; ties keep input order (file, then line).
func SortEvents(evs []Event) {
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Time.Compare(b.Time) })
}

// readFile reads one input. It returns an error only when the input could not be opened; a read
// error part-way (a truncated gzip) is recorded in st.ReadError and what came before is kept.
// For CloudTrail it also returns each event's eventID, for de-duplication across files.
func readFile(in Input, opts LoadOptions, st *FileStats) ([]Event, []recKey, error) {
	f, err := open(in, opts.Stdin, openLimits{maxDecompressed: opts.MaxDecompressedBytes, maxRatio: opts.MaxGzipRatio})
	if err != nil {
		st.ReadError = err.Error()
		return nil, nil, err
	}
	defer f.close()
	if opts.Progress != nil {
		defer func() {
			opts.Progress(Progress{File: in.Name, Read: f.raw.n, Size: f.size, Lines: st.Lines, Done: true})
		}()
	}
	st.Compressed = f.compressed
	st.Format = string(opts.Format)
	switch opts.Format {
	case FormatCloudTrail:
		return readCloudTrail(in, f, opts, st)
	default:
		st.Format = string(FormatVault)
		vr := newVaultReader(in.Name, st, newInterner())
		var lastProgress int64
		n, err := forEachLine(f.r, opts.MaxLineBytes, func(line []byte, n int, tooLong bool) {
			st.Lines++
			if opts.Progress != nil && (n%progressEvery == 0 || f.raw.n-lastProgress >= progressBytes) {
				lastProgress = f.raw.n
				opts.Progress(Progress{File: in.Name, Read: f.raw.n, Size: f.size, Lines: n})
			}
			if tooLong {
				st.Skip("too-long")
				if len(st.Problems) < MaxProblemsListed {
					st.Problems = append(st.Problems, Problem{Line: n, Reason: fmt.Sprintf("line longer than %d bytes, skipped", opts.MaxLineBytes)})
				}
				return
			}
			vr.line(line, n)
		})
		st.Bytes = n
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s after line %d (byte %d): %v (everything before it is kept)", in.Name, st.Lines, n, err)
		}
		st.Note = f.note()
		return vr.finish(), nil, nil
	}
}

// Span is the time covered by events.
func Span(evs []Event) (first, last time.Time) {
	if len(evs) == 0 {
		return
	}
	return evs[0].Time, evs[len(evs)-1].Time
}
