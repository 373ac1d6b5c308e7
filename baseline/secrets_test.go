package baseline

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestLearnSecret: a write resets who read the secret since; a consumer's value read counts, a
// denied read, a metadata read and a control-plane path do not; the history survives the file.
func TestLearnSecret(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	ev := func(at time.Duration, who string, op event.Op, flags event.Flags, out event.Outcome) *event.Event {
		return &event.Event{Time: t0.Add(at), Kind: event.KindVault, Op: op, Flags: flags, Outcome: out,
			Principal: who, Resource: "kv/prod/db"}
	}
	b := New()
	for _, e := range []*event.Event{
		ev(0, "app", event.OpRead, event.FlagValueRead, event.OutcomeOK),
		ev(time.Hour, "rotator", event.OpWrite, 0, event.OutcomeOK),
		ev(2*time.Hour, "rotator", event.OpRead, event.FlagValueRead, event.OutcomeOK), // the writer reading back
		ev(3*time.Hour, "thief", event.OpRead, event.FlagValueRead, event.OutcomeDenied),
		ev(4*time.Hour, "auditor", event.OpRead, 0, event.OutcomeOK), // metadata
		ev(5*time.Hour, "app", event.OpRead, event.FlagValueRead, event.OutcomeOK),
	} {
		b.Learn(e)
	}
	b.Learn(&event.Event{Time: t0, Kind: event.KindVault, Op: event.OpRead, Flags: event.FlagValueRead | event.FlagControl,
		Outcome: event.OutcomeOK, Principal: "ops", Resource: "sys/policies/acl/x"})
	check := func(b *Baseline) {
		t.Helper()
		s := b.Secrets["kv/prod/db"]
		if s == nil || !s.LastWrite.Equal(t0.Add(time.Hour)) || !s.LastRead.Equal(t0.Add(5*time.Hour)) || s.Writer != "rotator" ||
			!slices.Equal(s.Readers, []string{"app"}) || !s.First.Equal(t0) || s.Store != "vault" {
			t.Errorf("secret history %+v", s)
		}
		if _, ok := b.Secrets["sys/policies/acl/x"]; ok || len(b.Secrets) != 1 {
			t.Errorf("secrets %v, want only kv/prod/db", b.Secrets)
		}
	}
	check(b)
	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	check(back)
	if n := back.Prune(time.Hour); n == 0 || len(back.Secrets) != 1 {
		t.Errorf("pruning to the last hour keeps the secret read in it: dropped %d, %d secrets", n, len(back.Secrets))
	}
}
