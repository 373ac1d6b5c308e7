package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
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

// TestDualSourceIPForgetsIdle: a credential idle for longer than the window is forgotten (the
// state holds the credentials in use, not every short-lived token of a week), and forgetting
// changes nothing: a switch within the window across a sweep still fires, one just past it
// does not.
func TestDualSourceIPForgetsIdle(t *testing.T) {
	var evs []event.Event
	for i := range 2000 { // a fresh token every three minutes for four days, each used a few times
		cred := fmt.Sprintf("tok-%d", i)
		for k := range 3 {
			evs = append(evs, vev(time.Duration(i)*3*time.Minute+time.Duration(k)*time.Second, "app", event.OpRead, "kv/data/a",
				from("10.1.2.3"), withCred(cred)))
		}
	}
	// Within the window, across the sweeps the other tokens trigger: fires.
	evs = append(evs, vev(10*time.Hour, "stolen", event.OpRead, "kv/data/a", from("10.9.9.9"), withCred("s1")),
		vev(10*time.Hour+59*time.Minute, "stolen", event.OpRead, "kv/data/b", from("203.0.113.50"), withCred("s1")))
	// Just past it: quiet.
	evs = append(evs, vev(20*time.Hour, "late", event.OpRead, "kv/data/a", from("10.9.9.8"), withCred("s2")),
		vev(21*time.Hour+time.Minute, "late", event.OpRead, "kv/data/b", from("203.0.113.51"), withCred("s2")))
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	cfg := DefaultConfig()
	d := NewDualSourceIP(Env{Config: &cfg, Baseline: baseline.New()}).(*DualSourceIP)
	peak := 0
	for i := range evs {
		d.Observe(&evs[i])
		peak = max(peak, len(d.state))
	}
	got := d.Finish()
	if len(got) != 1 || got[0].Credential != "s1" {
		t.Fatalf("got %+v, want one finding for s1", got)
	}
	if peak > 100 { // a window holds 20 tokens of this log, and a sweep runs once a window
		t.Errorf("%d credentials held at once, want the ones of about two windows", peak)
	}
}
