package sources_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vaultsentry/vaultsentry/internal/race"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/cloudtrail"
	"github.com/vaultsentry/vaultsentry/sources/k8saudit"
)

// A log line of each format whose reader goes through sources.ForEachLine. (The Vault reader
// cuts its own chunks; its short-line memory is tested beside it.)
const (
	k8sLine = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete",` +
		`"requestURI":"/api/v1/namespaces/d/secrets/x","verb":"get","user":{"username":"u"},"sourceIPs":["10.0.0.1"],` +
		`"objectRef":{"resource":"secrets","namespace":"d","name":"x","apiVersion":"v1"},` +
		`"requestReceivedTimestamp":"2026-10-14T02:19:55.100000Z","stageTimestamp":"2026-10-14T02:19:55.200000Z"}`
	ctLine = `{"eventVersion":"1.08","eventTime":"2026-10-14T02:19:55Z","eventSource":"secretsmanager.amazonaws.com",` +
		`"eventName":"GetSecretValue","awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.1",` +
		`"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/app/i-1","accountId":"111122223333"},` +
		`"requestParameters":{"secretId":"prod/db"},"eventID":"e1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
)

// repeatReader yields head and then n copies of line, without holding them: the input takes
// no memory of its own.
type repeatReader struct {
	head []byte
	line []byte
	n    int
	buf  []byte
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		c := copy(p, r.head)
		r.head = r.head[c:]
		return c, nil
	}
	if len(r.buf) == 0 {
		if r.n == 0 {
			return 0, io.EOF
		}
		k := min(r.n, 1<<16)
		r.buf = bytes.Repeat(r.line, k)
		r.n -= k
	}
	c := copy(p, r.buf)
	r.buf = r.buf[c:]
	return c, nil
}

// heapCost runs f and returns the bytes allocated on the heap meanwhile (every allocation,
// freed or not: an upper bound on the peak live heap f added) and the live heap it left
// (what f's results hold, once garbage is collected).
func heapCost(f func()) (allocated, live int64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(s)
	a0, l0 := s[0].Value.Uint64(), s[1].Value.Uint64()
	f()
	runtime.GC()
	metrics.Read(s)
	return int64(s[0].Value.Uint64() - a0), int64(s[1].Value.Uint64()) - int64(l0)
}

// TestShortLinesMemory: blank and one-byte lines are counted, not stored. A Load of 8 million
// blank lines allocates a bounded amount whatever the number of lines (buffers, not a kilobyte a
// line); 200,000 malformed one-byte lines leave nothing behind but their count and the first
// positions listed.
func TestShortLinesMemory(t *testing.T) {
	blank := 8 << 20
	if testing.Short() || race.Enabled {
		blank = 1 << 20
	}
	for _, tc := range []struct {
		name   string
		format sources.FileFormat
		head   string
		line   string
		n      int
		// maxAlloc bounds what Load allocates in all; 0: only what it keeps is bounded (the
		// format's reader builds a message for each malformed line and drops it).
		maxAlloc int64
	}{
		{"k8saudit blank", k8saudit.Format{}, k8sLine + "\n", "\n", blank, 64 << 20},
		{"k8saudit one byte", k8saudit.Format{}, k8sLine + "\n", "x\n", 200_000, 0},
		{"cloudtrail blank", cloudtrail.Format{}, ctLine + "\n", "\n", blank, 64 << 20},
		{"k8saudit CR", k8saudit.Format{}, k8sLine + "\r", "\r", blank, 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l *sources.Loaded
			var err error
			alloc, live := heapCost(func() {
				in := &repeatReader{head: []byte(tc.head), line: []byte(tc.line), n: tc.n}
				l, err = sources.Load(context.Background(), []sources.Input{{Name: "-"}},
					sources.LoadOptions{Formats: []sources.FileFormat{tc.format}, Stdin: in})
			})
			if err != nil {
				t.Fatal(err)
			}
			st := l.Files[0]
			if st.Lines != tc.n+1 || st.Parsed != 1 || !st.Balanced() {
				t.Errorf("%d lines, %d parsed, %d malformed, skipped %v", st.Lines, st.Parsed, st.Malformed, st.Skipped)
			}
			t.Logf("%d lines of %q: %.1f MiB allocated (%.1f bytes a line), %.1f KiB kept",
				tc.n, tc.line, float64(alloc)/(1<<20), float64(alloc)/float64(tc.n), float64(live)/(1<<10))
			if tc.maxAlloc > 0 && alloc > tc.maxAlloc {
				t.Errorf("%d bytes allocated for %d short lines, want <= %d", alloc, tc.n, tc.maxAlloc)
			}
			const maxLive = 4 << 20
			if live > maxLive {
				t.Errorf("%d bytes kept after reading %d short lines, want <= %d", live, tc.n, maxLive)
			}
			runtime.KeepAlive(l)
		})
	}
}

// TestNewlineBombMemory: a gzip of newlines (64 MiB of them in 64 KiB) is stopped by the
// guard's line count after about a million lines, long before the byte ratio's floor, and costs
// a bounded amount of memory.
func TestNewlineBombMemory(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte(k8sLine + "\n"))
	nl := bytes.Repeat([]byte{'\n'}, 1<<20)
	for range 64 {
		zw.Write(nl)
	}
	zw.Close()
	var l *sources.Loaded
	var err error
	alloc, _ := heapCost(func() {
		l, err = sources.Load(context.Background(), []sources.Input{{Name: "-"}},
			sources.LoadOptions{Formats: []sources.FileFormat{k8saudit.Format{}}, Stdin: bytes.NewReader(bomb.Bytes())})
	})
	if err != nil {
		t.Fatal(err)
	}
	st := l.Files[0]
	if !strings.Contains(st.ReadError, "decompression limit") || !strings.Contains(st.ReadError, "lines decompressed") {
		t.Errorf("read error %q", st.ReadError)
	}
	if st.Parsed != 1 || st.Lines > 2<<20 {
		t.Errorf("%d lines read, %d parsed: the guard should stop near a million", st.Lines, st.Parsed)
	}
	const maxAlloc = 64 << 20
	t.Logf("%d compressed bytes: stopped after %d lines, %.1f MiB allocated", bomb.Len(), st.Lines, float64(alloc)/(1<<20))
	if alloc > maxAlloc {
		t.Errorf("%d bytes allocated, want <= %d", alloc, maxAlloc)
	}
}
