package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// interactive marks a person's client, as the sources do (sources.InteractiveClient).
func interactive(e *event.Event) { e.Flags |= event.FlagInteractive }

const cloudShellUA = "aws-cli/2.17.51 md/awscrt#0.21.5 ua/2.0 os/linux#6.1.109 lang/python#3.11.9 exec-env/CloudShell md/command#secretsmanager.get-secret-value"

func TestUnusualClient(t *testing.T) {
	// a nightly export job reading two secrets with the Java SDK, two nights running
	history := func(ua string, opts ...func(*event.Event)) []event.Event {
		var evs []event.Event
		for d := range 2 {
			for i, s := range []string{"prod/treasury/bank-sftp", "prod/treasury/statement-archive"} {
				o := append([]func(*event.Event){withUA(ua)}, opts...)
				evs = append(evs, aev(time.Duration(d)*24*time.Hour+time.Duration(i)*time.Second, "svc-treasury-export", "", "GetSecretValue", event.OpRead, s, o...))
			}
		}
		return evs
	}
	sdk := "aws-sdk-java/2.25.61 Linux/5.10.223 OpenJDK_64-Bit_Server_VM/21.0.4"
	later := 2*24*time.Hour + 19*time.Hour
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"CloudShell after an SDK-only history", append(history(sdk),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA(cloudShellUA), interactive, from("3.252.47.118"))), 1},
		{"console session after an SDK-only history", append(history(sdk),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA("AWS Internal"), withFlags(event.FlagConsole|event.FlagInteractive))), 1},
		{"a newer SDK version is the same client", append(history(sdk),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA("aws-sdk-java/2.26.0 Linux/6.1"))), 0},
		{"an analyst who always works in the console", append(history("AWS Internal", withFlags(event.FlagConsole|event.FlagInteractive)),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA(cloudShellUA), interactive)), 0},
		{"no history: nothing to compare with", []event.Event{
			aev(0, "new-user", "", "GetSecretValue", event.OpRead, "prod/x", withUA(cloudShellUA), interactive)}, 0},
		{"CloudShell listing is not a read", append(history(sdk),
			aev(later, "svc-treasury-export", "", "ListSecrets", event.OpList, "*", withUA(cloudShellUA), interactive)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewUnusualClient, DefaultConfig(), tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			if tt.want > 0 && got[0].Identity != "arn:aws:iam::"+testAccount+":role/svc-treasury-export" {
				t.Errorf("identity %q", got[0].Identity)
			}
		})
	}
}

// TestUnusualClientKubernetes: a workload's service-account token used with python-requests,
// curl or kubectl where its pod always used its own client is reported; a person upgrading
// kubectl, a workload whose history has kubectl already, and the kubelet stay quiet.
func TestUnusualClientKubernetes(t *testing.T) {
	const sa = "system:serviceaccount:hsm-proxy:hsm-gateway"
	own := "hsm-gateway/v0.0.0 (linux/amd64) kubernetes/$Format"
	history := func(user, ua string, opts ...func(*event.Event)) []event.Event {
		return every(6, func(i int) event.Event {
			o := append([]func(*event.Event){withUA(ua)}, opts...)
			return kev(time.Duration(i)*time.Hour, user, "hsm-proxy/hsm-partition-pin", o...)
		})
	}
	later := 30 * time.Hour
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"python-requests from a workload that uses its own client", append(history(sa, own),
			kev(later, sa, "hsm-proxy/hsm-partition-pin", withUA("python-requests/2.31.0"), interactive)), 1},
		{"kubectl from a workload that uses its own client", append(history(sa, own),
			kev(later, sa, "hsm-proxy/hsm-partition-pin", withUA("kubectl/v1.30.2 (linux/amd64) kubernetes/abc"), interactive)), 1},
		{"a new version of its own client", append(history(sa, own),
			kev(later, sa, "hsm-proxy/hsm-partition-pin", withUA("hsm-gateway/v0.1.0 (linux/amd64) kubernetes/$Format"))), 0},
		{"a person upgrading kubectl", append(history("oidc:tomas.novak@example.io", "kubectl/v1.30.5 (linux/amd64) kubernetes/x", interactive),
			kev(later, "oidc:tomas.novak@example.io", "acquiring/acq-db", withUA("kubectl/v1.31.4 (linux/amd64) kubernetes/y"), interactive)), 0},
		{"curl twice: the second use is a habit", append(append(history(sa, own), kev(7*time.Hour, sa, "hsm-proxy/hsm-partition-pin", withUA("curl/8.5.0"), interactive)),
			kev(later, sa, "hsm-proxy/hsm-partition-pin", withUA("curl/8.5.0"), interactive)), 1},
		{"a list with kubectl is not a read", append(history(sa, own),
			klist(later, sa, "hsm-proxy", withUA("kubectl/v1.30.2"), interactive)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewUnusualClient, DefaultConfig(), sortedByTime(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %s", len(got), tt.want, describe(got))
			}
			if tt.want > 0 && (got[0].Identity != sa || got[0].Source != "kubernetes" || got[0].Count != 1) {
				t.Errorf("finding %s", describe(got))
			}
		})
	}
}
