package s3fake

import (
	"bytes"
	"fmt"
	"github.com/klauspost/compress/gzip"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// PutTree stores every file under dir (a local CloudTrail export, the folder holding AWSLogs/)
// in bucket under prefix, with the same relative keys. It returns the number of objects.
func (s *Server) PutTree(bucket, prefix, dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s.Put(bucket, prefix+filepath.ToSlash(rel), &Object{Body: body})
		n++
		return nil
	})
	return n, err
}

// Redated is one object of a re-dated tree.
type Redated struct {
	Key  string
	Body []byte
	Day  time.Time // the UTC delivery date of its folder
}

// RedateDays builds a tree of days days ending on last (a UTC date) from the log files and
// digests of the one day folder template of a local CloudTrail export (dir holds AWSLogs/):
// each copy has its folder date and file-name timestamp moved to its day, and for log files
// every record's eventTime moved by the same number of days and its eventID made unique, so
// the copies are distinct events on their own days (digests are copied as they are: they are
// pruned, never read). Keys keep the export's AWSLogs/o-.../ACCOUNT/... layout.
func RedateDays(dir string, template, last time.Time, days int) ([]Redated, error) {
	tdate := template.Format("2006/01/02")
	tstamp := template.Format("20060102")
	var tmpl []string
	err := filepath.WalkDir(filepath.Join(dir, "AWSLogs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if strings.Contains(filepath.ToSlash(p), "/"+tdate+"/") {
			tmpl = append(tmpl, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(tmpl) == 0 {
		return nil, fmt.Errorf("no file in a %s folder under %s", tdate, dir)
	}
	var out []Redated
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	for i := range days {
		day := last.AddDate(0, 0, -(days - 1 - i))
		shift := day.Sub(template)
		for _, p := range tmpl {
			rel, _ := filepath.Rel(dir, p)
			key := filepath.ToSlash(rel)
			key = strings.Replace(key, "/"+tdate+"/", "/"+day.Format("2006/01/02")+"/", 1)
			key = strings.Replace(key, "_"+tstamp+"T", "_"+day.Format("20060102")+"T", 1)
			body, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if strings.Contains(key, "/CloudTrail/") {
				if body, err = shiftRecords(zw, body, shift, i); err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
			}
			out = append(out, Redated{Key: key, Body: body, Day: day})
		}
	}
	return out, nil
}

// shiftRecords moves every record of a gzipped CloudTrail log file by shift and suffixes its
// eventID with the copy's number.
func shiftRecords(zw *gzip.Writer, gz []byte, shift time.Duration, copyN int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	js := eventTimeRE.ReplaceAllFunc(raw, func(m []byte) []byte {
		t, err := time.Parse(time.RFC3339, string(m[len(`"eventTime":"`):len(m)-1]))
		if err != nil {
			return m
		}
		return []byte(`"eventTime":"` + t.Add(shift).UTC().Format(time.RFC3339) + `"`)
	})
	js = eventIDRE.ReplaceAll(js, []byte(fmt.Sprintf(`"eventID":"${1}-%d"`, copyN)))
	var buf bytes.Buffer
	zw.Reset(&buf)
	zw.Write(js)
	zw.Close()
	return buf.Bytes(), nil
}

var (
	eventTimeRE = regexp.MustCompile(`"eventTime":"[^"]*"`)
	eventIDRE   = regexp.MustCompile(`"eventID":"([^"]*)"`)
)
