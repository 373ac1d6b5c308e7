package analyze

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// rootCall is a call by the account's root user (as the CloudTrail reader marks it).
func rootCall(at time.Duration, action string, opts ...func(*event.Event)) event.Event {
	ev := aev(at, "admin", "", action, event.OpOther, "", opts...)
	ev.Principal, ev.DisplayName = "arn:aws:iam::"+testAccount+":root", "root"
	ev.Flags |= event.FlagRootToken
	return ev
}

// TestRootActivity: a root session that changes something is reported inside working hours
// (high) and outside them (critical); read-only root calls alone, a failed root sign-in and
// an administrator role's changes are not root activity.
func TestRootActivity(t *testing.T) {
	readOnly := withFlags(event.FlagReadOnly)
	wedNight := func(e *event.Event) { e.Time = time.Date(2026, 9, 23, 3, 14, 0, 0, time.UTC).Add(e.Time.Sub(t0)) }
	tests := []struct {
		name   string
		events []event.Event
		want   []Severity
	}{
		{"root creates an access key at 10:00", seqOf(rootCall(0, "ConsoleLogin"), rootCall(time.Minute, "CreateAccessKey")), []Severity{High}},
		{"the same at 03:14", seqOf(rootCall(0, "ConsoleLogin", wedNight), rootCall(time.Minute, "CreateAccessKey", wedNight)), []Severity{Critical}},
		{"two sessions a day apart", seqOf(rootCall(0, "PutBucketPolicy"), rootCall(24*time.Hour, "DeleteTrail")), []Severity{High, High}},
		{"read-only root calls", seqOf(rootCall(0, "GetAccountSummary", readOnly), rootCall(time.Minute, "ListUsers", readOnly)), nil},
		{"a failed root sign-in", seqOf(rootCall(0, "ConsoleLogin", denied)), nil},
		{"an administrator role is not the root user", seqOf(aev(0, "Admin", "ops", "CreateAccessKey", event.OpOther, "")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewRootActivity, DefaultConfig(), tt.events)
			if len(got) != len(tt.want) {
				t.Fatalf("got %s, want %d", describe(got), len(tt.want))
			}
			for i, f := range got {
				if f.Severity != tt.want[i] || f.Identity != "arn:aws:iam::"+testAccount+":root" {
					t.Errorf("finding %s, want severity %s", describe([]Finding{f}), tt.want[i])
				}
			}
		})
	}
}
