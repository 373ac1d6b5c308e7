// Package lakefile reads vaultsentry's own export back (vaultsentry export --format parquet or
// ndjson): the normalised events, one row each, much smaller and faster to read than the logs
// they came from, so an investigation over months can run over the lake instead of the raw
// logs. A row keeps its original file and line, so findings cite the logs, not the export.
package lakefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/bytedance/sonic"
	"github.com/parquet-go/parquet-go"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/lake"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Format is the export as an input.
type Format struct{}

var _ sources.FileFormat = Format{}

func (Format) Name() string  { return "vaultsentry-export" }
func (Format) Title() string { return "vaultsentry export (Parquet or NDJSON events)" }

// Sniff claims a Parquet file (its magic number; the footer says whose schema it holds, which
// Read checks) and NDJSON whose lines carry the export's schema column.
func (Format) Sniff(_ string, h *sources.Head) bool {
	if bytes.HasPrefix(h.Bytes, magic) {
		return true
	}
	for _, v := range h.Values {
		if !v.Array && v.Has("vaultsentry_schema", "store", "op_class", "file", "line") {
			return true
		}
	}
	return false
}

var magic = []byte("PAR1")

// Read decodes the rows into events. A row is a line of the statistics: a row that lacks what
// the detectors need is malformed with its row number and the reason.
func (f Format) Read(ctx context.Context, in *sources.File, st *sources.FileStats) sources.Batch {
	if b, _ := in.R.Peek(len(magic)); bytes.Equal(b, magic) {
		return readParquet(ctx, in, st)
	}
	return readNDJSON(in, st)
}

func readNDJSON(in *sources.File, st *sources.FileStats) sources.Batch {
	var out []event.Event
	n, err := sources.ForEachLine(in.R, in.MaxLineBytes, func(line []byte, ln int, tooLong bool) {
		st.Lines++
		if tooLong {
			st.Skip("too-long")
			return
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			st.Skip("blank")
			return
		}
		var r lake.Row
		if err := sonic.ConfigStd.Unmarshal(line, &r); err != nil {
			st.Bad(ln, "not an export row: "+err.Error())
			return
		}
		if r.Schema > lake.SchemaVersion {
			st.Bad(ln, fmt.Sprintf("export schema %d is newer than this version reads (%d): upgrade vaultsentry", r.Schema, lake.SchemaVersion))
			return
		}
		t, err := time.Parse(time.RFC3339Nano, r.TimeText)
		if err != nil {
			st.Bad(ln, "time: "+err.Error())
			return
		}
		r.Time = t.UnixNano()
		ev, err := r.Event(in.Local)
		if err != nil {
			st.Bad(ln, "export row: "+err.Error())
			return
		}
		st.Parsed++
		st.Seen(ev.Time)
		out = append(out, ev)
		if len(out) >= emitEvery {
			out = give(in, st, out)
		}
	})
	st.Bytes = n
	if err != nil {
		st.ReadError = "read " + in.Name + ": " + err.Error() + " (everything before it is kept)"
	}
	out = give(in, st, out)
	st.Events += len(out)
	return sources.Batch{Events: sources.StoreOf(out)}
}

// emitEvery is how many events a streamed read (sources.File.Emit) gives at once.
const emitEvery = 4096

// give hands the events read so far to a streamed read and returns the emptied slice; without
// one it returns them as they are (the Batch holds them).
func give(in *sources.File, st *sources.FileStats, out []event.Event) []event.Event {
	if in.Emit == nil || len(out) == 0 {
		return out
	}
	in.Emit(out)
	st.Events += len(out)
	clear(out)
	return out[:0]
}

// readParquet reads a Parquet export. Parquet's index is at the end of the file, so it needs
// random access: a local file as stored is opened again by name; anything else (standard
// input, a compressed copy, an object) is first copied to a temporary file.
func readParquet(ctx context.Context, in *sources.File, st *sources.FileStats) sources.Batch {
	ra, size, cleanup, err := randomAccess(in)
	if err != nil {
		st.ReadError = "read " + in.Name + ": " + err.Error()
		return sources.Batch{}
	}
	defer cleanup()
	st.Bytes = size
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		st.ReadError = "read " + in.Name + ": not a readable Parquet file: " + err.Error()
		return sources.Batch{}
	}
	v, ok := pf.Lookup(lake.SchemaKey)
	if !ok {
		what := "its footer has no " + lake.SchemaKey + " key"
		if c, ok := pf.Lookup("ocsf.class_uid"); ok {
			what = "it holds OCSF class " + c + " records"
		}
		st.ReadError = "read " + in.Name + ": a Parquet file that is not a vaultsentry export (" + what +
			"); write one with vaultsentry export --format parquet"
		return sources.Batch{}
	}
	if n, err := strconv.Atoi(v); err != nil || n > lake.SchemaVersion {
		st.ReadError = fmt.Sprintf("read %s: export schema %q is newer than this version reads (%d): upgrade vaultsentry", in.Name, v, lake.SchemaVersion)
		return sources.Batch{}
	}
	r := parquet.NewGenericReader[lake.Row](pf)
	defer r.Close()
	rows := r.NumRows()
	if in.Emit != nil {
		rows = min(rows, emitEvery)
	}
	out := make([]event.Event, 0, rows)
	buf := make([]lake.Row, 1024)
	row := 0
	for {
		if ctx.Err() != nil {
			st.ReadError = "read " + in.Name + ": " + ctx.Err().Error()
			break
		}
		n, err := r.Read(buf)
		for i := range buf[:n] {
			row++
			st.Lines++
			ev, perr := buf[i].Event(in.Local)
			if perr != nil {
				st.Bad(row, "export row: "+perr.Error())
				continue
			}
			st.Parsed++
			st.Seen(ev.Time)
			out = append(out, ev)
		}
		if len(out) >= emitEvery {
			out = give(in, st, out)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: row %d: %v (everything before it is kept)", in.Name, row+1, err)
			break
		}
		if in.Progress != nil {
			in.Progress(row)
		}
	}
	out = give(in, st, out)
	st.Events += len(out)
	return sources.Batch{Events: sources.StoreOf(out)}
}

func randomAccess(in *sources.File) (io.ReaderAt, int64, func(), error) {
	if !in.Compressed && in.Name != "-" {
		if f, err := os.Open(in.Name); err == nil {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && (in.Size == 0 || fi.Size() == in.Size) {
				return f, fi.Size(), func() { f.Close() }, nil
			}
			f.Close()
		}
	}
	tmp, err := os.CreateTemp("", "vaultsentry-parquet-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, in.R)
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return tmp, n, cleanup, nil
}
