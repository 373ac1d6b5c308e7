package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/gofrs/flock"
	"github.com/klauspost/compress/gzip"
)

// Format names the file format; FormatVersion is its version. A file with a
// newer version is refused (never overwritten); older versions are upgraded on load.
const (
	Format        = "vaultsentry-baseline"
	FormatVersion = 1
)

// Baseline file errors.
var (
	// ErrCorrupt: the file is not a baseline, or is truncated.
	ErrCorrupt = errors.New("baseline file is corrupt or truncated")
	// ErrFuture: the file was written by a newer vaultsentry.
	ErrFuture = errors.New("baseline file was written by a newer format version")
	// ErrLocked: another process holds the baseline's lock.
	ErrLocked = errors.New("baseline file is locked by another vaultsentry run")
)

// The encoding is gzip-compressed JSON: evolvable (new fields are ignored by old readers and
// default to zero in new ones, the version field gates incompatible changes), inspectable with
// zcat | jq when a responder needs to, fast enough with sonic (a baseline of a few MB loads in
// milliseconds), and small once compressed (paths and addresses repeat heavily).
type baselineWire struct {
	Format        string                  `json:"format"`
	FormatVersion int                     `json:"format_version"`
	ToolVersion   string                  `json:"tool_version"`
	Written       time.Time               `json:"written"`
	First         time.Time               `json:"first,omitzero"`
	Last          time.Time               `json:"last,omitzero"`
	Inputs        []Input                 `json:"inputs"`
	Principals    map[string]*historyWire `json:"principals"`
	// Alerted: fingerprint -> Unix seconds of delivery. Absent in files written before
	// --notify existed (testdata/v1.vsb), which load with no alert recorded.
	Alerted map[string]int64 `json:"alerted,omitempty"`
	// Secrets: absent in files written before secret hygiene existed, which load with none.
	Secrets map[string]*secretWire `json:"secrets,omitempty"`
}

// secretWire is a Secret with Unix seconds.
type secretWire struct {
	Store     string   `json:"store"`
	First     int64    `json:"first"`
	LastWrite int64    `json:"last_write,omitempty"`
	LastRead  int64    `json:"last_read,omitempty"`
	Writer    string   `json:"writer,omitempty"`
	Readers   []string `json:"readers,omitempty"`
}

// historyWire stores times as Unix seconds to keep the file small.
type historyWire struct {
	DisplayName string            `json:"display_name,omitempty"`
	First       int64             `json:"first"`
	Last        int64             `json:"last"`
	Events      int64             `json:"events"`
	Resources   map[string]int64  `json:"resources,omitempty"`
	Addrs       map[string]int64  `json:"addrs,omitempty"`
	Nets        map[string]int64  `json:"nets,omitempty"`
	Lists       map[string]int64  `json:"lists,omitempty"`
	Clients     map[string]int64  `json:"clients,omitempty"`
	Hours       []uint32          `json:"hours,omitempty"`
	MaxBurst    int               `json:"max_burst,omitempty"`
	Bursts      int               `json:"bursts,omitempty"`
	LastBurst   int64             `json:"last_burst,omitempty"`
	BurstPaths  []string          `json:"burst_paths,omitempty"`
	Interactive int64             `json:"interactive,omitempty"`
	Rotations   map[string][2]int `json:"rotations,omitempty"`
}

func toUnix(m map[string]time.Time) map[string]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v.Unix()
	}
	return out
}

func fromUnix(m map[string]int64) map[string]time.Time {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]time.Time, len(m))
	for k, v := range m {
		out[k] = time.Unix(v, 0).UTC()
	}
	return out
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}

// Encode writes b in the baseline file format.
func (b *Baseline) Encode(w io.Writer) error {
	wire := baselineWire{
		Format: Format, FormatVersion: FormatVersion, ToolVersion: b.ToolVersion,
		Written: b.Written, First: b.First, Last: b.Last, Inputs: b.Inputs,
		Principals: make(map[string]*historyWire, len(b.Principals)), Alerted: toUnix(b.Alerted),
	}
	if wire.Inputs == nil {
		wire.Inputs = []Input{}
	}
	if len(b.Secrets) > 0 {
		wire.Secrets = make(map[string]*secretWire, len(b.Secrets))
		for k, s := range b.Secrets {
			wire.Secrets[k] = &secretWire{Store: s.Store, First: unixOrZero(s.First), LastWrite: unixOrZero(s.LastWrite),
				LastRead: unixOrZero(s.LastRead), Writer: s.Writer, Readers: s.Readers}
		}
	}
	for id, h := range b.Principals {
		hw := &historyWire{
			DisplayName: h.DisplayName, First: unixOrZero(h.First), Last: unixOrZero(h.Last), Events: h.Events,
			Resources: toUnix(h.Resources), Addrs: toUnix(h.Addrs), Nets: toUnix(h.Nets), Lists: toUnix(h.Lists),
			Clients: toUnix(h.Clients), MaxBurst: h.MaxBurst, Bursts: h.Bursts, LastBurst: unixOrZero(h.LastBurst),
			Interactive: unixOrZero(h.Interactive), Rotations: h.Rotations,
		}
		if h.Hours != ([168]uint32{}) {
			hw.Hours = h.Hours[:]
		}
		for p := range h.BurstPaths {
			hw.BurstPaths = append(hw.BurstPaths, p)
		}
		slices.Sort(hw.BurstPaths)
		wire.Principals[id] = hw
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	enc := sonic.ConfigStd.NewEncoder(zw)
	if err := enc.Encode(&wire); err != nil {
		return fmt.Errorf("encode baseline: %w", err)
	}
	return zw.Close()
}

// Limits on what decompressing a baseline file may cost: Decode holds the whole JSON document in
// memory, so they bound its memory, not only its time. Baselines compress 4-16 times (every entry
// carries its own path and time: measured on learned baselines of 10^3 to 10^6 events); a gzip
// bomb expands about 1000 times, DEFLATE's limit.
const (
	// MaxDecompressedBytes is the most a baseline file may decompress to: 4 GiB, some 200 times
	// the 21 MB of a baseline of a thousand identities with fifty secrets each.
	MaxDecompressedBytes int64 = 4 << 30
	// MaxGzipRatio is how many times a baseline file may expand once more than gzipRatioFloor
	// bytes came out of it.
	MaxGzipRatio = 200
	// gzipRatioFloor keeps a small, very repetitive file (an empty baseline) from being judged by
	// its ratio.
	gzipRatioFloor int64 = 16 << 20
)

// decodeLimits are the limits Decode applies; tests lower them.
type decodeLimits struct {
	max   int64
	ratio int
	floor int64
}

var defaultLimits = decodeLimits{max: MaxDecompressedBytes, ratio: MaxGzipRatio, floor: gzipRatioFloor}

// Decode reads a baseline file's content. A stream that decompresses to more than
// MaxDecompressedBytes, or past 16 MiB to more than MaxGzipRatio times its compressed size,
// is ErrCorrupt: it is stopped there, before it costs more memory.
func Decode(r io.Reader) (*Baseline, error) { return decode(r, defaultLimits) }

func decode(r io.Reader, lim decodeLimits) (*Baseline, error) {
	in := &countingReader{r: r}
	zr, err := gzip.NewReader(in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	data, err := io.ReadAll(&limitReader{r: zr, in: in, lim: lim})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	var wire baselineWire
	if err := sonic.Unmarshal(data, &wire); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON inside the gzip stream", ErrCorrupt)
	}
	if wire.Format != Format {
		return nil, fmt.Errorf("%w: format is %q, want %q", ErrCorrupt, wire.Format, Format)
	}
	if wire.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("%w: version %d, this vaultsentry reads up to %d (written by vaultsentry %s; upgrade vaultsentry)",
			ErrFuture, wire.FormatVersion, FormatVersion, wire.ToolVersion)
	}
	if wire.FormatVersion < 1 {
		return nil, fmt.Errorf("%w: format version %d", ErrCorrupt, wire.FormatVersion)
	}
	b := New()
	b.First, b.Last, b.Inputs, b.ToolVersion, b.Written = wire.First, wire.Last, wire.Inputs, wire.ToolVersion, wire.Written
	b.Alerted = fromUnix(wire.Alerted)
	for k, sw := range wire.Secrets {
		if sw == nil {
			continue
		}
		if b.Secrets == nil {
			b.Secrets = make(map[string]*Secret, len(wire.Secrets))
		}
		b.Secrets[k] = &Secret{Store: sw.Store, First: timeOrZero(sw.First), LastWrite: timeOrZero(sw.LastWrite),
			LastRead: timeOrZero(sw.LastRead), Writer: sw.Writer, Readers: sw.Readers}
	}
	for id, hw := range wire.Principals {
		if hw == nil {
			continue
		}
		h := &History{
			DisplayName: hw.DisplayName, First: timeOrZero(hw.First), Last: timeOrZero(hw.Last), Events: hw.Events,
			Resources: fromUnix(hw.Resources), Addrs: fromUnix(hw.Addrs), Nets: fromUnix(hw.Nets), Lists: fromUnix(hw.Lists),
			Clients: fromUnix(hw.Clients), MaxBurst: hw.MaxBurst, Bursts: hw.Bursts, LastBurst: timeOrZero(hw.LastBurst),
			Interactive: timeOrZero(hw.Interactive), Rotations: hw.Rotations,
		}
		copy(h.Hours[:], hw.Hours)
		if len(hw.BurstPaths) > 0 {
			h.BurstPaths = make(map[string]struct{}, len(hw.BurstPaths))
			for _, p := range hw.BurstPaths {
				h.BurstPaths[p] = struct{}{}
			}
		}
		b.Principals[id] = h
	}
	return b, nil
}

// countingReader counts the compressed bytes gzip read (including what it buffered ahead).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader stops a decompressed stream at lim.max bytes, or once it came to more than lim.floor
// bytes and more than lim.ratio times what was read from in.
type limitReader struct {
	r   io.Reader
	in  *countingReader
	lim decodeLimits
	out int64
	err error
}

// limitReadMax bounds one read, so the ratio check runs at least every this many bytes.
const limitReadMax = 1 << 20

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	// Read one byte past the maximum, so a stream of exactly the maximum is still accepted.
	if room := l.lim.max + 1 - l.out; int64(len(p)) > room {
		p = p[:room]
	}
	if len(p) > limitReadMax {
		p = p[:limitReadMax]
	}
	n, err := l.r.Read(p)
	l.out += int64(n)
	switch {
	case l.out > l.lim.max:
		l.err = fmt.Errorf("decompresses to more than %d bytes, the most a baseline file may hold (a decompression bomb?)", l.lim.max)
		return 0, l.err
	case l.out > l.lim.floor && l.out > int64(l.lim.ratio)*max(l.in.n, 1):
		l.err = fmt.Errorf("%d bytes decompressed from %d, more than %d times (baselines expand 4-16 times: a decompression bomb?)",
			l.out, l.in.n, l.lim.ratio)
		return 0, l.err
	}
	return n, err
}

// Store is a baseline file held under an advisory lock for the length of a run, so two
// concurrent cron runs cannot interleave their updates.
type Store struct {
	Path string
	lock *flock.Flock
}

// Open locks path (through path + ".lock") and loads it. A missing file is an empty
// baseline. A corrupt, truncated or future-version file is an error and is left untouched.
func Open(path string, write bool) (*Store, *Baseline, error) {
	st := &Store{Path: path}
	if write {
		st.lock = flock.New(path + ".lock")
		ok, err := st.lock.TryLock()
		if err != nil {
			return nil, nil, fmt.Errorf("lock baseline %s: %w", path, err)
		}
		if !ok {
			return nil, nil, fmt.Errorf("lock baseline %s: %w", path, ErrLocked)
		}
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, New(), nil
	}
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("read baseline %s: %w", path, err)
	}
	defer f.Close()
	b, err := Decode(f)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("read baseline %s: %w", path, err)
	}
	return st, b, nil
}

// Save writes b atomically: a temporary file in the same directory, fsync, rename over the old
// file, fsync of the directory. A crash or a full disk leaves the previous baseline intact.
func (st *Store) Save(b *Baseline) error {
	return st.save(b, func(w io.Writer, p []byte) error { _, err := w.Write(p); return err })
}

// save is Save with the final write injectable, so a test can kill a process in the middle of it.
func (st *Store) save(b *Baseline, write func(io.Writer, []byte) error) error {
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		return err
	}
	dir := filepath.Dir(st.Path)
	tmp, err := os.CreateTemp(dir, tempPrefix(st.Path)+"*")
	if err != nil {
		return fmt.Errorf("write baseline %s: %w", st.Path, err)
	}
	tmpName := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmpName)
		return fmt.Errorf("write baseline %s: %w", st.Path, err)
	}
	// The file being replaced keeps its permissions (someone may have made it readable to a
	// reporting job); CreateTemp's 0600 stays the mode of a new file.
	if fi, err := os.Stat(st.Path); err == nil && fi.Mode().IsRegular() {
		if err := tmp.Chmod(fi.Mode().Perm()); err != nil {
			return fail(err)
		}
	}
	if err := write(tmp, buf.Bytes()); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("write baseline %s: %w", st.Path, err)
	}
	if err := os.Rename(tmpName, st.Path); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("write baseline %s: %w", st.Path, err)
	}
	syncDir(dir)
	if st.lock != nil && st.lock.Locked() {
		removeStaleTemps(st.Path, time.Now().Add(-staleTempAge))
	}
	return nil
}

// staleTempAge is how old a temporary file of this baseline must be before a save removes it.
// The lock already keeps every other writer out; the age also spares the file of a writer the
// lock cannot see (flock emulated per host on some network file systems), which never lives
// more than the seconds a save takes.
const staleTempAge = time.Hour

// tempPrefix is the name of path's temporary files up to the random part, which os.CreateTemp
// makes of decimal digits.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// removeStaleTemps removes what a killed save of path left behind: regular files in path's
// directory named exactly as Save names its temporary files, last modified before cut. It is
// best effort: a file it cannot remove is left for the next save.
func removeStaleTemps(path string, cut time.Time) {
	dir, prefix := filepath.Dir(path), tempPrefix(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cut) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Close releases the lock.
func (st *Store) Close() {
	if st != nil && st.lock != nil {
		st.lock.Unlock()
	}
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not supported on every platform
		d.Close()
	}
}

// Prune drops what was last seen more than maxAge before the newest event the baseline knows,
// and the alerts delivered more than maxAge before the newest alert (alerts are dated by the
// wall clock, events by log time: each is measured against its own clock). Nothing expires
// unless asked: entries never silently disappear.
func (b *Baseline) Prune(maxAge time.Duration) (dropped int) {
	if maxAge <= 0 {
		return 0
	}
	dropped = b.pruneAlerted(maxAge)
	if b.Last.IsZero() {
		return dropped
	}
	cut := b.Last.Add(-maxAge)
	prune := func(m map[string]time.Time) {
		for k, t := range m {
			if t.Before(cut) {
				delete(m, k)
				dropped++
			}
		}
	}
	for id, h := range b.Principals {
		if h.Last.Before(cut) {
			delete(b.Principals, id)
			dropped++
			continue
		}
		prune(h.Resources)
		prune(h.Addrs)
		prune(h.Nets)
		prune(h.Lists)
		prune(h.Clients)
	}
	for k, sec := range b.Secrets {
		if !sec.First.After(cut) && !sec.LastWrite.After(cut) && !sec.LastRead.After(cut) {
			delete(b.Secrets, k)
			dropped++
		}
	}
	return dropped
}

// pruneAlerted drops the alerts delivered more than maxAge before the newest one.
func (b *Baseline) pruneAlerted(maxAge time.Duration) (dropped int) {
	var newest time.Time
	for _, t := range b.Alerted {
		if t.After(newest) {
			newest = t
		}
	}
	cut := newest.Add(-maxAge)
	for fp, t := range b.Alerted {
		if t.Before(cut) {
			delete(b.Alerted, fp)
			dropped++
		}
	}
	return dropped
}
