package baseline

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// TestGoldenV1 loads testdata/v1.vsb, a baseline file written by vaultsentry before the baseline
// left the analyze package (format version 1: a few identities with secrets, addresses, networks,
// listings, clients, hours, bursts and two inputs), and writes it back. Users carry baseline files
// from one day to the next, so an old file must load and the same fields must be written: the
// JSON inside the gzip stream must come out byte for byte as it went in.
func TestGoldenV1(t *testing.T) {
	raw, err := os.ReadFile("testdata/v1.vsb")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("decode a version 1 file: %v", err)
	}
	h := b.Get("entity-app")
	if len(b.Principals) != 3 || h == nil || h.Events != 2 || h.Bursts != 2 || h.MaxBurst != 2 || len(h.BurstPaths) != 3 ||
		!h.LastBurst.Equal(time.Date(2026, 9, 23, 12, 0, 0, 0, time.UTC)) || len(b.Inputs) != 2 || b.ToolVersion != "v0.9.0" {
		t.Fatalf("decoded %d principals, entity-app = %+v, inputs %+v", len(b.Principals), h, b.Inputs)
	}
	if _, ok := b.Get("arn:aws:iam::123456789012:role/treasury").Lists["ListSecrets filters=name"]; !ok {
		t.Error("the AWS listing habit was not loaded")
	}
	var out bytes.Buffer
	if err := b.Encode(&out); err != nil {
		t.Fatal(err)
	}
	if want, got := gunzip(t, raw), gunzip(t, out.Bytes()); !bytes.Equal(want, got) {
		t.Errorf("re-encoded baseline differs from the file it was loaded from:\nwant %s\n got %s", want, got)
	}
	again, err := Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	again.addrNames, again.families = b.addrNames, b.families
	if !reflect.DeepEqual(again, b) {
		t.Error("the baseline changed in a second round trip")
	}
}

func gunzip(t *testing.T, p []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
