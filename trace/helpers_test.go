package trace

import (
	"net/netip"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// The event builders of analyze's tests, which the trace tests were written with.

// t0 is a Wednesday, 10:00 UTC.
var t0 = time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)

// vev builds a Vault event. Options adjust it.
func vev(at time.Duration, actor string, op event.Op, path string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindVault, Op: op, Path: path,
		Resource:    vault.NormalizePath(path, "", ""),
		Principal:   "entity-" + actor,
		DisplayName: actor,
		Credential:  "hmac-sha256:acc-" + actor,
		RemoteAddr:  netip.MustParseAddr("10.0.0.1"),
		Pos:         event.Pos{File: "audit.log", Line: int(at / time.Second)},
	}
	switch op {
	case event.OpRead:
		ev.Action = "read"
	case event.OpList:
		ev.Action = "list"
	case event.OpWrite:
		ev.Action = "update"
	case event.OpDelete:
		ev.Action = "delete"
	default:
		ev.Action = "update"
	}
	for _, o := range opts {
		o(&ev)
	}
	vault.SetFacts(&ev)
	return ev
}

func from(addr string) func(*event.Event) {
	return func(e *event.Event) { e.RemoteAddr = netip.MustParseAddr(addr) }
}

func denied(e *event.Event) { e.Outcome = event.OutcomeDenied }

func withCred(c string) func(*event.Event) { return func(e *event.Event) { e.Credential = c } }
