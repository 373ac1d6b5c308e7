package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestManySourceIPs(t *testing.T) {
	recon := "userpass-bo-reconciliation"
	login := func(at time.Duration, addr string) event.Event {
		return vev(at, recon, event.OpLogin, "auth/userpass/login/bo-reconciliation", from(addr))
	}
	stuffing := []event.Event{
		login(0, "89.101.34.17"),
		vev(4*time.Second, recon, event.OpRead, "bo/data/reconciliation/bank-portal", from("89.101.34.17")),
		login(9*time.Minute, "37.228.251.90"),
		login(16*time.Minute, "176.61.44.203"),
		login(28*time.Minute, "109.255.18.66"),
		login(36*time.Minute, "86.40.119.5"),
		vev(36*time.Minute+8*time.Second, recon, event.OpRead, "bo/data/treasury/bank-sftp", from("86.40.119.5"), denied),
	}
	ci := every(8, func(i int) event.Event {
		return vev(time.Duration(i)*70*time.Minute, "gitlab-kestrel/ledger-api", event.OpLogin, "auth/gitlab/login",
			from(fmt.Sprintf("34.23.%d.90", 10+i)))
	})
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"five public addresses within 43 minutes", stuffing, 1},
		{"exactly four addresses within the hour", stuffing[:5], 1},
		{"three addresses are not more than three", stuffing[:4], 0},
		{"CI runs from a new cloud address each, 70 minutes apart", ci, 0},
		{"internal addresses (pods, VPN) do not count", every(10, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "app", event.OpRead, "kv/data/app", from(fmt.Sprintf("100.64.%d.7", i)))
		}), 0},
		{"IPv6 privacy addresses inside one /64 are one client", every(6, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "aisling", event.OpRead, "bo/data/x", from(fmt.Sprintf("2a02:8084:d1a0:4f00::%x", i+1)))
		}), 0},
		{"IPv6 addresses in four /64s are four clients", every(4, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "x", event.OpRead, "bo/data/x", from(fmt.Sprintf("2a02:8084:d1a0:%x::1", i+1)))
		}), 1},
		{"AWS-internal sources do not count", every(6, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "x", event.OpRead, "kv/data/x", from(fmt.Sprintf("3.5.%d.1", i)),
				func(e *event.Event) { e.Flags |= event.FlagAWSInternal })
		}), 0},
		{"requests without an identity do not count", every(6, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "", event.OpLogin, "auth/userpass/login/x", from(fmt.Sprintf("5.188.62.%d", i)),
				func(e *event.Event) {
					e.Principal, e.DisplayName, e.Credential = "", "", ""
					e.Flags |= event.FlagUnauthenticated
				})
		}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewManySourceIPs, DefaultConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "many-source-ips" || len(f.SourceIPs) < 4 || f.Severity != High {
					t.Errorf("finding %+v: want many-source-ips, high, >= 4 addresses", f)
				}
			}
		})
	}
	t.Run("the finding lists every address of the burst", func(t *testing.T) {
		got := runDetector(t, NewManySourceIPs, DefaultConfig(), slices.Clone(stuffing))
		want := []string{"89.101.34.17", "37.228.251.90", "176.61.44.203", "109.255.18.66", "86.40.119.5"}
		if len(got) != 1 || !slices.Equal(got[0].SourceIPs, want) || !got[0].FirstSeen.Equal(t0) {
			t.Fatalf("got %+v, want one finding from %s with %v", got, t0, want)
		}
	})
}

// An identity idle for two windows is settled while the input goes on: its run is closed, its
// window and addresses released; the findings are those of the identity alone.
func TestManySourceIPsSettlesIdleIdentities(t *testing.T) {
	burst := every(5, func(i int) event.Event {
		return vev(time.Duration(i)*5*time.Minute, "stolen", event.OpRead, "kv/data/x", from(fmt.Sprintf("89.101.34.%d", 10+i)))
	})
	alone := observeAll[*ManySourceIPs](NewManySourceIPs, slices.Clone(burst)).Finish()
	// Someone else keeps reading from one public address for five hours.
	mixed := append(slices.Clone(burst), every(30, func(i int) event.Event {
		return vev(30*time.Minute+time.Duration(i)*10*time.Minute, "other", event.OpRead, "kv/data/y", from("37.228.251.90"))
	})...)
	d := observeAll[*ManySourceIPs](NewManySourceIPs, mixed)
	st := d.state["entity-stolen"]
	if st.open != nil || st.win.Len() != 0 || st.addr != nil || len(d.found) != 1 {
		t.Fatalf("idle identity not settled: run open %v, %d in its window, %d addresses, %d findings",
			st.open != nil, st.win.Len(), len(st.addr), len(d.found))
	}
	if got := d.Finish(); len(got) != 1 || len(alone) != 1 || got[0].Message != alone[0].Message || got[0].Count != alone[0].Count {
		t.Fatalf("settled %+v, want %+v", got, alone)
	}
	// Coming back after settling starts from an empty window.
	back := append(mixed, vev(6*time.Hour, "stolen", event.OpRead, "kv/data/x", from("89.101.34.99")))
	d = observeAll[*ManySourceIPs](NewManySourceIPs, back)
	if st := d.state["entity-stolen"]; st.win.Len() != 1 || st.win.Distinct() != 1 || len(st.addr) != 1 {
		t.Fatalf("after coming back: %d in the window, %d distinct, %d addresses; want 1, 1, 1", st.win.Len(), st.win.Distinct(), len(st.addr))
	}
}
