package cmd

import (
	"context"
	"os/signal"
	"syscall"
)

// Exit codes of a run that a signal ended: 128 + the signal's number, what a shell reports for
// a process the signal killed, so scripts and CI see an interrupted run as one.
const (
	ExitInterrupted = 128 + int(syscall.SIGINT)  // 130
	ExitTerminated  = 128 + int(syscall.SIGTERM) // 143
)

// NotifyContext returns a context that ends on SIGINT or SIGTERM (signal.NotifyContext, one per
// signal, so that Main can tell which one ended the run). The first signal restores the default
// action of both: a second Ctrl-C kills a run that is slow to stop.
func NotifyContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx := parent
	var ws []watchedSignal
	var stops []context.CancelFunc
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, sig)
		ws = append(ws, watchedSignal{sig: sig, ctx: ctx})
		stops = append(stops, stop)
	}
	stopAll := func() {
		for _, stop := range stops {
			stop()
		}
	}
	context.AfterFunc(ctx, stopAll)
	return context.WithValue(ctx, signalsKey{}, ws), stopAll
}

type signalsKey struct{}

type watchedSignal struct {
	sig syscall.Signal
	ctx context.Context
}

// endedBy is the signal that ended ctx, when a NotifyContext did. The cause of ctx is that of
// the first context that ended; each watched context has its own signal's cause (or, once
// stopped by the other signal, context.Canceled).
func endedBy(ctx context.Context) (syscall.Signal, bool) {
	cause := context.Cause(ctx)
	if cause == nil {
		return 0, false
	}
	ws, _ := ctx.Value(signalsKey{}).([]watchedSignal)
	for _, w := range ws {
		if w.ctx.Err() != nil && context.Cause(w.ctx) == cause {
			return w.sig, true
		}
	}
	return 0, false
}
