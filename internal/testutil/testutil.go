// Package testutil holds fixture builders that the tests of several packages share. Only tests
// import it.
package testutil

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CTRecord builds a CloudTrail record for tests, in the scenario's shapes.
func CTRecord(id string, at time.Time, name string, params string, extra string) map[string]any {
	r := map[string]any{
		"eventVersion": "1.10", "eventTime": at.UTC().Format(time.RFC3339), "eventSource": "secretsmanager.amazonaws.com",
		"eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "10.42.30.5", "userAgent": "aws-sdk-go-v2/1.30.4",
		"eventID": id, "eventType": "AwsApiCall", "recipientAccountId": "111122223333", "readOnly": true,
		"userIdentity": map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLE:sync", "accountId": "111122223333",
			"arn": "arn:aws:sts::111122223333:assumed-role/secret-sync/sync", "accessKeyId": "ASIAEXAMPLESYNC",
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::111122223333:role/secret-sync"}}},
	}
	if params != "" {
		r["requestParameters"] = json.RawMessage(params)
	}
	if extra != "" {
		var m map[string]any
		json.Unmarshal([]byte(extra), &m)
		for k, v := range m {
			r[k] = v
		}
	}
	return r
}

// Mutations returns variants of line that break it in the ways real files break: cut short,
// a byte changed, a key's case changed, white space added.
func Mutations(r *rand.Rand, line []byte) [][]byte {
	var out [][]byte
	for range 20 {
		out = append(out, line[:r.IntN(len(line)+1)])
		m := bytes.Clone(line)
		m[r.IntN(len(m))] = `{}[]",:0123456789.-+eEtfnul \\x`[r.IntN(31)]
		out = append(out, m)
	}
	out = append(out, bytes.ToUpper(line), bytes.ReplaceAll(line, []byte(`":`), []byte(`" : `)), bytes.ReplaceAll(line, []byte(`,"`), []byte(`,"x":null,"`)))
	return out
}

// LineGen yields n lines made by line(i), one at a time.
type LineGen struct {
	N    int
	Line func(int) string
	i    int
	buf  []byte
}

func (g *LineGen) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i >= g.N {
			return 0, io.EOF
		}
		g.buf = append(g.buf[:0], g.Line(g.i)...)
		g.buf = append(g.buf, '\n')
		g.i++
	}
	c := copy(p, g.buf)
	g.buf = g.buf[c:]
	return c, nil
}

// WriteFile writes data to p, making its directory.
func WriteFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
