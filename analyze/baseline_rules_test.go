package analyze

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

const day = 24 * time.Hour

// history is an identity reading its own two secrets every 20 minutes for n days from addr.
func history(actor string, days int, addr string) []event.Event {
	return every(days*72, func(i int) event.Event {
		return vev(time.Duration(i)*20*time.Minute, actor, event.OpRead,
			fmt.Sprintf("kv/data/prod/%s/%s", actor, []string{"config", "db"}[i%2]), from(addr))
	})
}

func TestNewResource(t *testing.T) {
	end := 14 * day
	tests := []struct {
		name    string
		events  []event.Event
		want    int
		wantSev Severity
	}{
		{"established identity reads another subtree", append(history("payments", 14, "10.1.1.1"),
			vev(end, "payments", event.OpRead, "kv/data/admin/certificates/signing-key")), 1, High},
		{"a sibling of a known secret is low", append(history("payments", 14, "10.1.1.1"),
			vev(end, "payments", event.OpRead, "kv/data/prod/payments/new-api-key")), 1, Low},
		{"known secrets stay quiet", history("payments", 14, "10.1.1.1"), 0, Info},
		{"a brand-new identity's first paths are quiet", every(20, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "fresh", event.OpRead, fmt.Sprintf("kv/data/prod/fresh/s%d", i))
		}), 0, Info},
		{"denied attempts are not accesses", append(history("payments", 14, "10.1.1.1"),
			vev(end, "payments", event.OpRead, "kv/data/admin/x", denied)), 0, Info},
		{"sys/ paths are not secrets", append(history("payments", 14, "10.1.1.1"),
			vev(end, "payments", event.OpList, "sys/policies/acl")), 0, Info},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewNewResource, DefaultConfig(), tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			if tt.want > 0 && got[0].Severity != tt.wantSev {
				t.Errorf("severity %s, want %s (%s)", got[0].Severity, tt.wantSev, got[0].Message)
			}
		})
	}
}

func TestDormantIdentity(t *testing.T) {
	old := history("contractor", 3, "10.8.0.5")
	tests := []struct {
		name string
		back time.Duration
		want int
	}{
		{"back after 40 days", 40 * day, 1},
		{"seen yesterday", 4 * day, 0},
		{"29 days is below the default 30", 3*day + 29*day, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := append(append([]event.Event(nil), old...),
				vev(tt.back, "contractor", event.OpLogin, "auth/userpass/login/contractor", from("5.188.62.140")),
				vev(tt.back+time.Minute, "contractor", event.OpRead, "kv/data/x", from("5.188.62.140")))
			got := runDetector(t, NewDormantIdentity, DefaultConfig(), evs)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d", len(got), tt.want)
			}
		})
	}
}

func TestNewSourceIP(t *testing.T) {
	base := history("alice", 10, "198.51.100.7")
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"home IPv6 address never seen", append(base, vev(10*day, "alice", event.OpRead, "kv/data/x", from("2a02:8084:d1a0:4f00::1"))), 1},
		{"same /24 as the office is quiet", append(base, vev(10*day, "alice", event.OpRead, "kv/data/x", from("198.51.100.200"))), 0},
		{"an internal address is quiet", append(base, vev(10*day, "alice", event.OpRead, "kv/data/x", from("10.8.3.3"))), 0},
		{"CI roaming over cloud addresses stays quiet", append(every(8, func(i int) event.Event {
			return vev(time.Duration(i)*3*time.Hour, "ci", event.OpRead, "kv/data/ci/key", from(fmt.Sprintf("34.%d.10.1", 100+i)))
		}), every(30, func(i int) event.Event {
			return vev(30*time.Hour+time.Duration(i)*time.Minute, "ci", event.OpRead, "kv/data/ci/key", from("34.99.10.1"))
		})...), 0},
		{"a new identity has no history to compare", []event.Event{vev(0, "bob", event.OpRead, "kv/data/x", from("203.0.113.5"))}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewNewSourceIP, DefaultConfig(), tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
		})
	}
}
