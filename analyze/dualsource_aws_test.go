package analyze

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestDualSourceIPAWS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.InternalCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2a05:d018:1f4:ab00::/56")}
	inst := "i-0b7d3e9a1c4f25e60"
	read := func(at time.Duration, session, addr string, opts ...func(*event.Event)) event.Event {
		if strings.HasPrefix(session, "i-") { // as the CloudTrail reader marks an instance profile's session
			opts = append(opts, withFlags(event.FlagInstanceCredential))
		}
		return aev(at, "batch-reconciler", session, "GetSecretValue", event.OpRead, "prod/reconciler/bank-api",
			append([]func(*event.Event){from(addr)}, opts...)...)
	}
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"instance credentials from a public address, no internal use in the input", []event.Event{
			read(0, inst, "185.220.101.47")}, 1},
		{"instance credentials inside, then outside, within the hour", []event.Event{
			read(0, inst, "10.42.31.77"), read(30*time.Minute, inst, "185.220.101.47")}, 1},
		{"dual-stack instance: IPv4 and IPv6 inside the VPC's block", []event.Event{
			read(0, "i-07c1f4e2d9a8b3c51", "10.42.12.9"), read(40*time.Minute, "i-07c1f4e2d9a8b3c51", "2a05:d018:1f4:ab12:9c3e:4f1a:77d0:2b15"),
			read(80*time.Minute, "i-07c1f4e2d9a8b3c51", "10.42.12.9")}, 0},
		{"the KMS call Secrets Manager makes for the caller is not a second source", []event.Event{
			read(0, inst, "10.42.31.77"),
			aev(time.Second, "batch-reconciler", inst, "Decrypt", event.OpOther, "", noAddr, withFlags(event.FlagServiceActor|event.FlagAWSInternal))}, 0},
		// only the first sighting (no history yet) is reported; the next day's key is quiet
		{"instance credentials from a public address the role used before (a NAT gateway)", []event.Event{
			read(0, inst, "52.16.1.1", withCred("ASIAOLD")), read(24*time.Hour, inst, "52.16.1.1", withCred("ASIANEW"))}, 1},
		{"a session not named after an instance, outside only", []event.Event{
			read(0, "aws-go-sdk-1789041637", "34.138.44.201")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewDualSourceIP, cfg, tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			if tt.want > 0 && got[0].Credential == "ASIANEW" {
				t.Errorf("the known address was reported again: %+v", got[0])
			}
		})
	}
}
