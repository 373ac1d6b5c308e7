package ctgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWriteIsDeterministicAndValid: the same options give the same tree; every log file is one
// line {"Records":[...]} of records with an eventID, some delivered twice; every digest lists
// log files that exist, with their SHA-256.
func TestWriteIsDeterministicAndValid(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	st, err := Write(a, 4<<20, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(b, 4<<20, Options{}); err != nil {
		t.Fatal(err)
	}
	fa, fb := readTree(t, a), readTree(t, b)
	if len(fa) != len(fb) || len(fa) != st.Files+st.Digests {
		t.Fatalf("%d and %d files, stats say %d + %d", len(fa), len(fb), st.Files, st.Digests)
	}
	for p, data := range fa {
		if !bytes.Equal(data, fb[p]) {
			t.Fatalf("%s differs between two runs", p)
		}
	}
	ids := map[string]int{}
	sources := map[string]int{}
	records := 0
	for p, data := range fa {
		if !strings.Contains(p, "/CloudTrail/") {
			continue
		}
		doc := gunzip(t, data)
		if bytes.Count(doc, []byte{'\n'}) != 0 {
			t.Errorf("%s: a delivered log file is one line", p)
		}
		var f struct {
			Records []struct {
				EventID     string `json:"eventID"`
				EventSource string `json:"eventSource"`
				EventName   string `json:"eventName"`
			}
		}
		if err := json.Unmarshal(doc, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, r := range f.Records {
			ids[r.EventID]++
			sources[r.EventSource+" "+r.EventName]++
			records++
		}
	}
	if records != st.Records {
		t.Errorf("%d records read, stats say %d", records, st.Records)
	}
	twice := 0
	for _, n := range ids {
		if n > 1 {
			twice++
		}
	}
	if twice == 0 || twice != st.Duplicates {
		t.Errorf("%d records delivered twice, stats say %d", twice, st.Duplicates)
	}
	for _, k := range []string{"secretsmanager.amazonaws.com GetSecretValue", "secretsmanager.amazonaws.com DescribeSecret",
		"secretsmanager.amazonaws.com ListSecrets", "secretsmanager.amazonaws.com BatchGetSecretValue", "kms.amazonaws.com Decrypt",
		"sts.amazonaws.com AssumeRoleWithWebIdentity", "cloudtrail.amazonaws.com StopLogging"} {
		if sources[k] == 0 {
			t.Errorf("no %s record", k)
		}
	}
	digests := 0
	for p, data := range fa {
		if !strings.Contains(p, "/CloudTrail-Digest/") {
			continue
		}
		digests++
		var d struct {
			LogFiles []struct{ S3Object, HashValue string } `json:"logFiles"`
		}
		if err := json.Unmarshal(gunzip(t, data), &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, l := range d.LogFiles {
			sum := sha256.Sum256(fa[l.S3Object])
			if fa[l.S3Object] == nil || hex.EncodeToString(sum[:]) != l.HashValue {
				t.Errorf("%s lists %s with a wrong hash or a missing file", p, l.S3Object)
			}
		}
	}
	if digests == 0 {
		t.Error("no digest files")
	}
}

func TestRecordsKeepsSources(t *testing.T) {
	recs := Records(500, Options{Accounts: 1, Regions: []string{"r1", "r2"}}, LookupSources)
	if len(recs) != 500 {
		t.Fatalf("%d records", len(recs))
	}
	regions := map[string]int{}
	for _, r := range recs {
		var rec struct{ EventSource, AWSRegion string }
		if err := json.Unmarshal(r, &rec); err != nil {
			t.Fatal(err)
		}
		if !LookupSources(rec.EventSource) {
			t.Errorf("record of %s", rec.EventSource)
		}
		regions[rec.AWSRegion]++
	}
	if regions["r1"] == 0 || regions["r2"] == 0 {
		t.Errorf("records by region: %v", regions)
	}
}
