package k8saudit_test

// An external test: it asks every format in sources/formats' list, which a format package
// itself must not import, whether it claims the files of the others.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

func head(t *testing.T, p string) *sources.Head {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(zr)
		data = buf.Bytes()
	}
	return sources.ScanHead(data[:min(len(data), sources.HeadBytes)], len(data) <= sources.HeadBytes)
}

// TestSniffWrapperFiles: the wrapper fixtures are claimed by k8saudit and by no other format,
// and k8saudit claims none of the Vault and CloudTrail fixtures.
func TestSniffWrapperFiles(t *testing.T) {
	ours, _ := filepath.Glob("../../testdata/k8saudit/*")
	more, _ := filepath.Glob("../../testdata/k8saudit/same-request/*")
	ours = append(ours, more...)
	n := 0
	for _, p := range ours {
		if strings.HasSuffix(p, ".md") || filepath.Base(p) == "same-request" {
			continue
		}
		n++
		h := head(t, p)
		for _, f := range formats.Files() {
			if got, want := f.Sniff(p, h), f.Name() == "k8saudit"; got != want {
				t.Errorf("%s: %s claims it: %v, want %v", p, f.Name(), got, want)
			}
		}
	}
	if n < 9 {
		t.Fatalf("only %d fixtures", n)
	}
	others, _ := filepath.Glob("../../testdata/vault/*")
	ct, _ := filepath.Glob("../../testdata/cloudtrail/*")
	for _, p := range append(others, ct...) {
		if strings.HasSuffix(p, ".md") {
			continue
		}
		if fi, err := os.Stat(p); err != nil || fi.IsDir() {
			continue
		}
		if formats.Named("k8saudit").Sniff(p, head(t, p)) {
			t.Errorf("%s: k8saudit claims it", p)
		}
	}
}
