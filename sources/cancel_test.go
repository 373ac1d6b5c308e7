package sources_test

import (
	"context"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/cloudtrail"
	"github.com/vaultsentry/vaultsentry/sources/formats"
	"github.com/vaultsentry/vaultsentry/sources/k8saudit"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// endless repeats one line for ever.
type endless struct {
	line []byte
	off  int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.line[e.off:])
		n += c
		e.off = (e.off + c) % len(e.line)
	}
	return n, nil
}

// TestLoadStopsWhenCancelled: every reader stops at its next read once the run is cancelled,
// whatever loop it is in (a log that never ends: standard input from a pipe, /dev/zero).
func TestLoadStopsWhenCancelled(t *testing.T) {
	for name, tc := range map[string]struct {
		format sources.FileFormat
		line   string
	}{
		"vault":      {vault.Format{}, `{"time":"2026-09-23T10:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:a"},"request":{"id":"r","operation":"read","path":"kv/data/x"}}` + "\n"},
		"k8saudit":   {k8saudit.Format{}, `{"kind":"Event","auditID":"a","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"pods"}}` + "\n"},
		"cloudtrail": {cloudtrail.Format{}, `{"eventTime":"2026-09-23T10:00:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"ListSecrets","eventID":"x"}` + "\n"},
		"not a log":  {nil, "hello\n"},
	} {
		t.Run(name, func(t *testing.T) {
			fs := formats.Files()
			if tc.format != nil {
				fs = []sources.FileFormat{tc.format}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = sources.Load(ctx, []sources.Input{{Name: "-"}}, sources.LoadOptions{Formats: fs, Stdin: &endless{line: []byte(tc.line)}})
			}()
			time.Sleep(200 * time.Millisecond)
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // generous for a loaded CI machine; it takes milliseconds
				t.Fatal("Load still reading 10 s after the cancellation")
			}
		})
	}
}
