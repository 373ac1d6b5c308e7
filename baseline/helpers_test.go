package baseline

import (
	"net/netip"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// t0 is a Wednesday, 10:00 UTC (the same instant as analyze's tests).
var t0 = time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)

// vev builds a Vault event the way analyze's tests do; the resource drops KV v2's "data/"
// (what vault.NormalizePath does for such paths), which the baseline tests need no more of.
func vev(at time.Duration, actor string, op event.Op, path string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindVault, Op: op, Path: path,
		Resource:    strings.Replace(path, "/data/", "/", 1),
		Principal:   "entity-" + actor,
		DisplayName: actor,
		Credential:  "hmac-sha256:acc-" + actor,
		RemoteAddr:  netip.MustParseAddr("10.0.0.1"),
		Pos:         event.Pos{File: "audit.log", Line: int(at / time.Second)},
		Action:      "read",
	}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func from(addr string) func(*event.Event) {
	return func(e *event.Event) { e.RemoteAddr = netip.MustParseAddr(addr) }
}
