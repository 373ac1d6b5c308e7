package lake

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bytedance/sonic"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/vaultsentry/vaultsentry/event"
)

// Formats vaultsentry export writes.
const (
	FormatParquet     = "parquet"      // Row, the round-trip format scan reads back
	FormatOCSFParquet = "ocsf-parquet" // OCSFRecord, for Amazon Security Lake custom sources
	FormatNDJSON      = "ndjson"       // Row as JSON, one per line
)

// Formats lists the export formats.
func Formats() []string { return []string{FormatParquet, FormatOCSFParquet, FormatNDJSON} }

// RowGroupRows bounds the rows a Parquet writer holds in memory before it writes a row group:
// the export's memory does not grow with the input.
const RowGroupRows = 64 << 10

// File is one file an export wrote.
type File struct {
	Path  string `json:"path"`
	Day   string `json:"day"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// Writer lays events out by day under a directory: DIR/dt=YYYY-MM-DD/part-ID-NNNN.EXT, the
// Hive-style partition Athena, Trino, Spark and DuckDB prune on (ocsf-parquet: Security Lake's
// DIR/region=R/accountId=A/eventDay=YYYYMMDD/, SecurityLake). Events come in time order
// (the run's merged stream), so one file per day is open at a time; an event of a day already
// closed opens another part of that day. Files are written under a temporary name and renamed
// when complete, so a reader never sees half a file; ID is derived from the inputs, so
// exporting the same inputs again replaces the files instead of adding rows twice.
type Writer struct {
	dir, format, id, version string
	lake                     SecurityLake
	open                     map[string]*dayFile // by partition directory
	parts                    map[string]int
	files                    []File
	rows                     int64
}

// SecurityLake is where ocsf-parquet files an event that names no AWS region and account of
// its own (a Vault or Kubernetes event): Security Lake takes a custom source's objects under
// region=REGION/accountId=ACCOUNT/eventDay=YYYYMMDD/ (Security Lake User Guide, "Collecting
// data from custom sources"). CloudTrail events keep their own region and account.
type SecurityLake struct {
	Region, Account string
}

type dayFile struct {
	File
	tmp  string
	f    *os.File
	buf  *bufio.Writer
	rows []Row
	ocsf []OCSFRecord
	pw   *parquet.GenericWriter[Row]
	po   *parquet.GenericWriter[OCSFRecord]
}

// NewWriter writes format under dir, created when missing. inputs (the names of what is
// exported) make the files' ID; version is written into each Parquet file's metadata.
func NewWriter(dir, format string, inputs []string, version string) (*Writer, error) {
	return NewLakeWriter(dir, format, inputs, version, SecurityLake{})
}

// NewLakeWriter is NewWriter with the Security Lake partition of events that name none
// (ocsf-parquet only).
func NewLakeWriter(dir, format string, inputs []string, version string, sl SecurityLake) (*Writer, error) {
	if !slices.Contains(Formats(), format) {
		return nil, fmt.Errorf("unknown export format %q", format)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	names := slices.Clone(inputs)
	slices.Sort(names)
	for _, n := range names {
		io.WriteString(h, n)
		h.Write([]byte{0})
	}
	io.WriteString(h, format)
	return &Writer{dir: dir, format: format, id: strconv.FormatUint(h.Sum64(), 16), version: version, lake: sl,
		open: map[string]*dayFile{}, parts: map[string]int{}}, nil
}

// Write adds one event.
func (w *Writer) Write(ev *event.Event) error {
	day := ev.Time.UTC().Format(time.DateOnly)
	part := w.partition(ev, day)
	df := w.open[part]
	if df == nil {
		// A new partition: those of the days before it are done (the stream is in time order);
		// a late event of a closed day opens another part of it.
		for p, open := range w.open {
			if open.Day < day {
				if err := w.closeDay(p); err != nil {
					return err
				}
			}
		}
		var err error
		if df, err = w.openDay(part, day); err != nil {
			return err
		}
	}
	w.rows++
	df.Rows++
	switch w.format {
	case FormatParquet:
		df.rows = append(df.rows, FromEvent(ev))
		if len(df.rows) == cap(df.rows) {
			return df.flushRows()
		}
	case FormatOCSFParquet:
		df.ocsf = append(df.ocsf, ToOCSF(ev))
		if len(df.ocsf) == cap(df.ocsf) {
			return df.flushOCSF()
		}
	default:
		r := FromEvent(ev)
		r.TimeText = ev.Time.UTC().Format(time.RFC3339Nano)
		for _, l := range []*[]string{&r.Flags, &r.Policies, &r.NewPolicies} {
			if *l == nil {
				*l = []string{} // [] in the JSON, as the Parquet list is empty, never null
			}
		}
		b, err := sonic.ConfigStd.Marshal(&r)
		if err != nil {
			return err
		}
		df.buf.Write(b)
		return df.buf.WriteByte('\n')
	}
	return nil
}

const writeBatch = 4096

func (d *dayFile) flushRows() error {
	if _, err := d.pw.Write(d.rows); err != nil {
		return err
	}
	d.rows = d.rows[:0]
	return nil
}

func (d *dayFile) flushOCSF() error {
	if _, err := d.po.Write(d.ocsf); err != nil {
		return err
	}
	d.ocsf = d.ocsf[:0]
	return nil
}

// partition is the directory an event's file goes into: dt=YYYY-MM-DD, or for ocsf-parquet
// Security Lake's region=/accountId=/eventDay=.
func (w *Writer) partition(ev *event.Event, day string) string {
	if w.format != FormatOCSFParquet {
		return "dt=" + day
	}
	region, account := w.lake.Region, w.lake.Account
	if ev.Kind == event.KindCloudTrail {
		if ev.Region != "" {
			region = ev.Region
		}
		if ev.Namespace != "" {
			account = ev.Namespace
		}
	}
	return filepath.Join("region="+region, "accountId="+account, "eventDay="+strings.ReplaceAll(day, "-", ""))
}

func (w *Writer) openDay(part, day string) (*dayFile, error) {
	sub := filepath.Join(w.dir, part)
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return nil, err
	}
	w.parts[part]++
	ext := ".parquet"
	if w.format == FormatNDJSON {
		ext = ".ndjson"
	}
	path := filepath.Join(sub, fmt.Sprintf("part-%s-%04d%s", w.id, w.parts[part], ext))
	f, err := os.CreateTemp(sub, ".part-*.tmp")
	if err != nil {
		return nil, err
	}
	df := &dayFile{File: File{Path: path, Day: day}, tmp: f.Name(), f: f, buf: bufio.NewWriterSize(f, 1<<20)}
	meta := []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}), parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.KeyValueMetadata("vaultsentry.version", w.version)}
	switch w.format {
	case FormatParquet:
		df.rows = make([]Row, 0, writeBatch)
		df.pw = parquet.NewGenericWriter[Row](df.buf, append(meta, parquet.KeyValueMetadata(SchemaKey, strconv.Itoa(SchemaVersion)))...)
	case FormatOCSFParquet:
		df.ocsf = make([]OCSFRecord, 0, writeBatch)
		df.po = parquet.NewGenericWriter[OCSFRecord](df.buf, append(meta, parquet.KeyValueMetadata("ocsf.version", OCSFVersion),
			parquet.KeyValueMetadata("ocsf.class_uid", strconv.Itoa(OCSFClassUID)))...)
	}
	w.open[part] = df
	return df, nil
}

func (w *Writer) closeDay(part string) error {
	df := w.open[part]
	delete(w.open, part)
	err := df.finish()
	if err != nil {
		os.Remove(df.tmp)
		return fmt.Errorf("write %s: %w", df.Path, err)
	}
	if fi, serr := os.Stat(df.Path); serr == nil {
		df.Bytes = fi.Size()
	}
	w.files = append(w.files, df.File)
	return nil
}

func (d *dayFile) finish() error {
	var errs []error
	switch {
	case d.pw != nil:
		errs = append(errs, d.flushRows(), d.pw.Close())
	case d.po != nil:
		errs = append(errs, d.flushOCSF(), d.po.Close())
	}
	errs = append(errs, d.buf.Flush(), d.f.Sync(), d.f.Close())
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Rename(d.tmp, d.Path)
}

// Close finishes every open file and returns what was written, sorted by path.
func (w *Writer) Close() ([]File, error) {
	days := make([]string, 0, len(w.open))
	for d := range w.open {
		days = append(days, d)
	}
	slices.Sort(days)
	var errs []error
	for _, d := range days {
		errs = append(errs, w.closeDay(d))
	}
	slices.SortFunc(w.files, func(a, b File) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	return w.files, errors.Join(errs...)
}

// Rows is how many events were written.
func (w *Writer) Rows() int64 { return w.rows }

// Abort removes every file not yet complete (a failed or interrupted export).
func (w *Writer) Abort() {
	for d, df := range w.open {
		df.f.Close()
		os.Remove(df.tmp)
		delete(w.open, d)
	}
}
