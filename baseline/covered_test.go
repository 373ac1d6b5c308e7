package baseline

import (
	"testing"
	"time"
)

// TestCovered: a file continues a stream the baseline learned when it starts with the same event
// and has the same path, or, for logs rotated by renaming, any path; otherwise nothing of it is
// known, whatever its times.
func TestCovered(t *testing.T) {
	t0 := time.Date(2026, 9, 22, 10, 26, 15, 123456789, time.UTC)
	last := t0.Add(24 * time.Hour)
	b := New()
	b.Inputs = []Input{
		{File: "vault/audit.log", Format: "vault", First: t0, Last: last},
		{File: "ct/a.json.gz", Format: "cloudtrail", First: t0, Last: t0.Add(5 * time.Minute)},
	}
	for _, tc := range []struct {
		name, path, format string
		renamed            bool
		first              time.Time
		want               time.Time
	}{
		{"the same file, grown", "vault/audit.log", "vault", true, t0, last},
		{"rotated under a new name", "vault/audit.log-20260923.gz", "vault", true, t0, last},
		{"another first event is another stream", "vault/audit.log", "vault", true, t0.Add(time.Nanosecond), time.Time{}},
		{"an immutable object under another name", "ct/b.json.gz", "cloudtrail", false, t0, time.Time{}},
		{"the same object again", "ct/a.json.gz", "cloudtrail", false, t0, t0.Add(5 * time.Minute)},
		{"a file without events", "vault/audit.log", "vault", true, time.Time{}, time.Time{}},
	} {
		if got := b.Covered(tc.path, tc.format, tc.renamed, tc.first); !got.Equal(tc.want) {
			t.Errorf("%s: Covered = %v, want %v", tc.name, got, tc.want)
		}
	}
}
