//go:build unix

package cmd

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestNotifyContextNamesTheSignal: the context ends on each signal, and Main's exit code
// follows the one that ended it.
func TestNotifyContextNamesTheSignal(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, ExitTerminated}, {syscall.SIGINT, ExitInterrupted}} {
		ctx, stop := NotifyContext(context.Background())
		if err := syscall.Kill(os.Getpid(), tt.sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%v: context not done", tt.sig)
		}
		if sig, ok := endedBy(ctx); !ok || sig != tt.sig {
			t.Errorf("endedBy = %v, %v; want %v", sig, ok, tt.sig)
		}
		s, _, _ := TestStreams()
		if code := Main(ctx, []string{"scan", "-q", "../testdata/vault/incident.jsonl"}, s); code != tt.code {
			t.Errorf("%v: exit %d, want %d", tt.sig, code, tt.code)
		}
		stop()
	}
}

// TestMainCancelled: a context cancelled by its caller (no signal) is an interrupted run too.
func TestMainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, out, errb := TestStreams()
	if code := Main(ctx, []string{"scan", "../testdata/vault/incident.jsonl"}, s); code != ExitInterrupted {
		t.Errorf("exit %d, want %d\n%s", code, ExitInterrupted, errb)
	}
	if out.Len() != 0 {
		t.Errorf("report written: %q", out)
	}
}
