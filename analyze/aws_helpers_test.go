package analyze

import (
	"net/netip"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

const testAccount = "111122223333"

// aev builds a CloudTrail event of role (an assumed-role session named session) in the shape
// the CloudTrail source produces.
func aev(at time.Duration, role, session, action string, op event.Op, secret string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindCloudTrail, Op: op, Action: action,
		Path: secret, Resource: secret,
		Principal:   "arn:aws:iam::" + testAccount + ":role/" + role,
		DisplayName: session,
		Credential:  "ASIA" + role,
		Namespace:   testAccount,
		Region:      "eu-west-1",
		RemoteAddr:  netip.MustParseAddr("10.42.0.1"),
		UserAgent:   "aws-sdk-java/2.25.61 Linux/5.10 OpenJDK_64-Bit_Server_VM/21.0.4",
		Pos:         event.Pos{File: "AWSLogs/x.json.gz", Line: int(at/time.Second) + 1},
	}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func withUA(ua string) func(*event.Event) { return func(e *event.Event) { e.UserAgent = ua } }

func withFlags(f event.Flags) func(*event.Event) { return func(e *event.Event) { e.Flags |= f } }

func withDetail(d string) func(*event.Event) { return func(e *event.Event) { e.Detail = d } }

func noAddr(e *event.Event) { e.RemoteAddr = netip.Addr{} }
