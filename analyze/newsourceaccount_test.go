package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// acctRead is a read of the secret by another account's principal.
func acctRead(at time.Duration, principal string, opts ...func(*event.Event)) event.Event {
	ev := aev(at, "x", "", "GetSecretValue", event.OpRead, "prod/shared/api-key", append(opts, withFlags(event.FlagValueRead|event.FlagCrossAccount))...)
	ev.Principal, ev.DisplayName = principal, principal
	return ev
}

// TestNewSourceAccount: the first read from an account never seen is reported (a denied probe
// too); an account seen before, and a read by the secret's own account, are not.
func TestNewSourceAccount(t *testing.T) {
	const other = "arn:aws:iam::999988887777:role/build"
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"a role of an account never seen", seqOf(acctRead(0, other)), 1},
		{"another account's principal (AWSAccount)", seqOf(acctRead(0, "aws-account:444455556666:AROAOTHER:s")), 1},
		{"a denied probe from a new account", seqOf(acctRead(0, other, denied)), 1},
		{"an account seen the day before", seqOf(acctRead(0, other), acctRead(24*time.Hour, "arn:aws:iam::999988887777:role/deploy")), 1},
		{"the secret's own account", seqOf(aev(0, "app", "", "GetSecretValue", event.OpRead, "prod/shared/api-key", withFlags(event.FlagValueRead))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runDetector(t, NewNewSourceAccount, DefaultConfig(), tt.events); len(got) != tt.want {
				t.Errorf("got %s, want %d", describe(got), tt.want)
			}
		})
	}
}
