package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestDualSourceIP(t *testing.T) {
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"pod address then external address 10 minutes later", []event.Event{
			vev(0, "fraud", event.OpRead, "kv/data/a", from("100.73.2.14")),
			vev(10*time.Minute, "fraud", event.OpRead, "kv/data/b", from("2a0e:97c0:5c6:11::2f")),
		}, 1},
		{"external first, then the pod", []event.Event{
			vev(0, "fraud", event.OpRead, "kv/data/a", from("203.0.113.9")),
			vev(20*time.Minute, "fraud", event.OpRead, "kv/data/a", from("10.1.2.3")),
		}, 1},
		{"two internal pod addresses (a rollout) are quiet", []event.Event{
			vev(0, "app", event.OpRead, "kv/data/a", from("100.73.2.14")),
			vev(time.Minute, "app", event.OpRead, "kv/data/a", from("100.73.9.99")),
			vev(2*time.Minute, "app", event.OpRead, "kv/data/a", from("fd3a:9c41:7d20:21::3c")),
		}, 0},
		{"internal and external three hours apart are quiet", []event.Event{
			vev(0, "op", event.OpRead, "kv/data/a", from("10.8.1.1")),
			vev(3*time.Hour, "op", event.OpRead, "kv/data/a", from("193.233.48.71")),
		}, 0},
		{"different credentials of one identity are quiet", []event.Event{
			vev(0, "ci", event.OpRead, "kv/data/a", from("10.8.1.1"), withCred("a1")),
			vev(time.Minute, "ci", event.OpRead, "kv/data/a", from("35.1.2.3"), withCred("a2")),
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewDualSourceIP, DefaultConfig(), tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			if tt.want > 0 && len(got[0].SourceIPs) != 2 {
				t.Errorf("source_ips = %v, want the internal and the external address", got[0].SourceIPs)
			}
		})
	}
}
