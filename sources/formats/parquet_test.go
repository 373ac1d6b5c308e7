package formats

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/vaultsentry/vaultsentry/internal/ocsfgen"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestParquetByFooter: every Parquet file starts with the same magic, so the footer decides:
// Security Lake's OCSF events (a class_uid column) are CloudTrail's, vaultsentry's own export
// (its vaultsentry.version key, OCSF or not) and any other Parquet file go to the export's
// reader, which says what a foreign file holds.
func TestParquetByFooter(t *testing.T) {
	dir := t.TempDir()
	rec := map[string]any{"eventVersion": "1.08", "eventTime": "2026-09-11T10:00:00Z", "eventSource": "secretsmanager.amazonaws.com",
		"eventName": "GetSecretValue", "awsRegion": "eu-west-1", "eventID": "e1", "recipientAccountId": "111122223333",
		"requestParameters": map[string]any{"secretId": "prod/db"},
		"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a", "accountId": "111122223333"}}
	ev, err := ocsfgen.Event(rec)
	if err != nil {
		t.Fatal(err)
	}
	row, err := ocsfgen.RowOf(ev)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, opts ...parquet.WriterOption) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := parquet.NewGenericWriter[ocsfgen.Row](f, opts...)
		if _, err := w.Write([]ocsfgen.Row{row}); err != nil {
			t.Fatal(err)
		}
		w.Close()
		f.Close()
		return p
	}
	lake := write("security-lake.parquet")
	ours := write("export-ocsf.parquet", parquet.KeyValueMetadata("vaultsentry.version", "dev"), parquet.KeyValueMetadata("ocsf.class_uid", "6003"))
	type other struct {
		Name string `parquet:"name"`
	}
	op := filepath.Join(dir, "other.parquet")
	f, _ := os.Create(op)
	w := parquet.NewGenericWriter[other](f)
	w.Write([]other{{"x"}})
	w.Close()
	f.Close()
	ins, errs := sources.Expand([]string{lake, ours, op})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: Files()})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]sources.FileStats{}
	for _, st := range l.Files {
		byName[filepath.Base(st.File)] = st
	}
	if st := byName["security-lake.parquet"]; st.Format != "cloudtrail" || st.Parsed != 1 || st.Shapes["ocsf-6003"] != 1 {
		b, _ := json.Marshal(st)
		t.Errorf("Security Lake file: %s", b)
	}
	for _, n := range []string{"export-ocsf.parquet", "other.parquet"} {
		if st := byName[n]; st.Format == "cloudtrail" || !strings.Contains(st.ReadError, "not a vaultsentry export") {
			b, _ := json.Marshal(st)
			t.Errorf("%s: %s", n, b)
		}
	}
}
