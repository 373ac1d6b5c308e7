package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/s3store"
)

// TestListingProgress: on a terminal the listing redraws one line and erases it when done;
// elsewhere (pipes, CI logs) it writes nothing.
func TestListingProgress(t *testing.T) {
	var buf bytes.Buffer
	st := &s3store.Stats{}
	stop := listingProgress(IO{Err: &buf, ErrTTY: true}, false, st)
	time.Sleep(2 * redrawEvery)
	stop()
	out := buf.String()
	if !strings.Contains(out, "\r\x1b[Klisting S3 · 0 requests") || !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("terminal: %q", out)
	}
	buf.Reset()
	listingProgress(IO{Err: &buf}, false, st)()
	listingProgress(IO{Err: &buf, ErrTTY: true}, true, st)()
	if buf.Len() != 0 {
		t.Errorf("not a terminal, or --quiet: %q", buf.String())
	}
}

// TestWriteS3Summary: the summary's S3 lines, failures located, SSE-KMS explained; nothing
// without S3 inputs.
func TestWriteS3Summary(t *testing.T) {
	var buf bytes.Buffer
	writeS3Summary(&buf, nil)
	if buf.Len() != 0 {
		t.Errorf("no S3: %q", buf.String())
	}
	writeS3Summary(&buf, &sources.S3Stats{ListRequests: 4, Listed: 10, PrunedPrefixes: 3, Skipped: 2, Fetched: 8, Bytes: 2048, Failed: 1,
		Failures: []sources.S3Failure{{Object: "s3://b/AWSLogs/x\x1b[31m.json.gz", Offset: 400, Error: "unexpected EOF"}}, KMSObjects: 8,
		NewestDelivery: "2026-09-12T12:03:00Z"})
	out := buf.String()
	for _, want := range []string{"10 objects listed (4 requests), 3 folders pruned, 2 skipped; 8 fetched (2.0 KiB); 1 failed",
		"failed after 400 bytes: unexpected EOF", "delivered 2026-09-12T12:03:00Z", "8 objects were SSE-KMS encrypted", "KMS Decrypt event"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[31m") {
		t.Errorf("an object key reached the terminal unescaped: %q", out)
	}
}

// TestS3Filter: what may prune. --since only where nothing before it is used.
func TestS3Filter(t *testing.T) {
	at := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		o       Options
		command string
		since   time.Time
		back    time.Duration
		until   time.Time
	}{
		{"absolute window", Options{Since: At(at), Until: At(at.Add(time.Hour))}, "scan", at, 0, at.Add(time.Hour)},
		{"duration", Options{Since: Ago(24 * time.Hour)}, "cloudtrail", time.Time{}, 24 * time.Hour, time.Time{}},
		{"a baseline file learns what is before --since", Options{Since: At(at), BaselinePath: "b.vsb"}, "scan", time.Time{}, 0, time.Time{}},
		{"--learn-until", Options{Since: At(at), LearnUntil: At(at)}, "cloudtrail", time.Time{}, 0, time.Time{}},
		{"review learns the history before the period", Options{Since: At(at), Until: At(at.Add(time.Hour))}, "review", time.Time{}, 0, at.Add(time.Hour)},
		{"an --until duration is not pruned", Options{Until: Ago(time.Hour)}, "scan", time.Time{}, 0, time.Time{}},
	} {
		f := tt.o.s3Filter(tt.command)
		if !f.Since.Equal(tt.since) || f.SinceBack != tt.back || !f.Until.Equal(tt.until) {
			t.Errorf("%s: %+v", tt.name, f)
		}
	}
}
