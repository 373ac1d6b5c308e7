package lakefile

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"
	"github.com/parquet-go/parquet-go"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/lake"
	"github.com/vaultsentry/vaultsentry/sources"
)

func rows() []lake.Row {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	var out []lake.Row
	for i := range 3 {
		ev := event.Event{Time: t0.Add(time.Duration(i) * time.Minute), Pos: event.Pos{File: "audit.log", Line: i + 1},
			Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead, Action: "read", Principal: "entity-1",
			Resource: "secret/app" + string(rune('a'+i)), Path: "secret/data/app"}
		ev.SetName(len("secret/"))
		out = append(out, lake.FromEvent(&ev))
	}
	return out
}

func writeParquet(t *testing.T, rs []lake.Row, meta bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var opts []parquet.WriterOption
	if meta {
		opts = append(opts, parquet.KeyValueMetadata(lake.SchemaKey, "1"))
	}
	w := parquet.NewGenericWriter[lake.Row](&buf, opts...)
	if _, err := w.Write(rs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func load(t *testing.T, ins []sources.Input, stdin []byte) *sources.Loaded {
	t.Helper()
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}, Stdin: bytes.NewReader(stdin)})
	if err != nil && len(l.Events) > 0 {
		t.Fatal(err)
	}
	return l
}

// A row the detectors cannot use is malformed with its row number; the others are read.
func TestParquetBadRowLocated(t *testing.T) {
	rs := rows()
	rs[1].Store = "splunk"
	p := filepath.Join(t.TempDir(), "x.parquet")
	os.WriteFile(p, writeParquet(t, rs, true), 0o644)
	l := load(t, []sources.Input{{Name: p}}, nil)
	st := l.Files[0]
	if len(l.Events) != 2 || st.Lines != 3 || st.Parsed != 2 || st.Malformed != 1 || !st.Balanced() {
		t.Fatalf("events %d, stats %+v", len(l.Events), st)
	}
	if st.Problems[0].Line != 2 || !strings.Contains(st.Problems[0].Reason, `store "splunk"`) {
		t.Errorf("problem %+v, want row 2 and the store", st.Problems[0])
	}
	if l.Events[1].Name() != "appc" || l.Events[0].Pos.File != "audit.log" {
		t.Errorf("events keep their name and their original file: %+v", l.Events)
	}
}

// Standard input and a gzip copy have no random access: they are spooled, and read the same.
func TestParquetSpooled(t *testing.T) {
	data := writeParquet(t, rows(), true)
	if l := load(t, []sources.Input{{Name: "-"}}, data); len(l.Events) != 3 {
		t.Errorf("stdin: %d events, %+v", len(l.Events), l.Files)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	p := filepath.Join(t.TempDir(), "x.parquet.gz")
	os.WriteFile(p, gz.Bytes(), 0o644)
	if l := load(t, []sources.Input{{Name: p}}, nil); len(l.Events) != 3 || !l.Files[0].Compressed {
		t.Errorf("gzip: %d events, %+v", len(l.Events), l.Files)
	}
}

// A Parquet file that is not an export (another tool's, an OCSF file) says so instead of
// yielding nothing silently.
func TestParquetNotOurs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "other.parquet")
	os.WriteFile(p, writeParquet(t, rows(), false), 0o644)
	l := load(t, []sources.Input{{Name: p}}, nil)
	if len(l.Events) != 0 || !strings.Contains(l.Files[0].ReadError, "not a vaultsentry export") {
		t.Errorf("events %d, stats %+v", len(l.Events), l.Files[0])
	}
}

// NDJSON rows: a broken line and a row of a newer schema are located; the rest are read.
func TestNDJSON(t *testing.T) {
	var b strings.Builder
	for i, r := range rows() {
		r.TimeText = time.Unix(0, r.Time).UTC().Format(time.RFC3339Nano)
		if i == 2 {
			r.Schema = lake.SchemaVersion + 1
		}
		line, _ := jsonMarshal(r)
		b.Write(line)
		b.WriteByte('\n')
		if i == 0 {
			b.WriteString(`{"vaultsentry_schema":1,"store":"vault","op_class":"read","file":"a","line":1,"time":` + "\n")
		}
	}
	p := filepath.Join(t.TempDir(), "x.ndjson")
	os.WriteFile(p, []byte(b.String()), 0o644)
	l := load(t, []sources.Input{{Name: p}}, nil)
	st := l.Files[0]
	if st.Format != "vaultsentry-export" || len(l.Events) != 2 || st.Malformed != 2 || !st.Balanced() {
		t.Fatalf("events %d, stats %+v", len(l.Events), st)
	}
	if st.Problems[0].Line != 2 || st.Problems[1].Line != 4 || !strings.Contains(st.Problems[1].Reason, "upgrade vaultsentry") {
		t.Errorf("problems %+v", st.Problems)
	}
}

func jsonMarshal(r lake.Row) ([]byte, error) { return sonicMarshal(&r) }

var sonicMarshal = sonic.ConfigStd.Marshal
