package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

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
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA(cloudShellUA), from("3.252.47.118"))), 1},
		{"console session after an SDK-only history", append(history(sdk),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA("AWS Internal"), withFlags(event.FlagConsole))), 1},
		{"a newer SDK version is the same client", append(history(sdk),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA("aws-sdk-java/2.26.0 Linux/6.1"))), 0},
		{"an analyst who always works in the console", append(history("AWS Internal", withFlags(event.FlagConsole)),
			aev(later, "svc-treasury-export", "", "GetSecretValue", event.OpRead, "prod/treasury/bank-sftp", withUA(cloudShellUA))), 0},
		{"no history: nothing to compare with", []event.Event{
			aev(0, "new-user", "", "GetSecretValue", event.OpRead, "prod/x", withUA(cloudShellUA))}, 0},
		{"CloudShell listing is not a read", append(history(sdk),
			aev(later, "svc-treasury-export", "", "ListSecrets", event.OpList, "*", withUA(cloudShellUA))), 0},
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
