package analyze

import (
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// kindOther is a store no rule was written for, as a new input format is before any rule
// declares it.
const kindOther event.Kind = 42

// TestEveryRuleDeclaresKinds: a rule without kinds would never see an event.
func TestEveryRuleDeclaresKinds(t *testing.T) {
	for _, r := range Rules() {
		if r.Kinds == 0 {
			t.Errorf("rule %s declares no event kinds", r.ID)
		}
		if r.Kinds.Has(kindOther) {
			t.Errorf("rule %s claims the test-only kind %d", r.ID, kindOther)
		}
	}
}

// harvest is the same traffic as a Vault harvest: a root token reading 200 secrets in a
// minute from a new external address on a Sunday night, after a policy change and with an
// audit device disabled.
func harvest(kind event.Kind) []event.Event {
	sunday := time.Date(2026, 9, 27, 3, 14, 0, 0, time.UTC)
	var evs []event.Event
	add := func(at time.Duration, op event.Op, path string, opts ...func(*event.Event)) {
		ev := vev(0, "intruder", op, path, append(opts, withPolicies("root"), from("203.0.113.9"))...)
		ev.Time = sunday.Add(at)
		ev.Kind = kind
		ev.Flags |= event.FlagRootToken
		evs = append(evs, ev)
	}
	add(0, event.OpAdmin, "sys/policies/acl/admin")
	add(time.Second, event.OpAudit, "sys/audit/file")
	for i := range 200 {
		add(2*time.Second+time.Duration(i)*100*time.Millisecond, event.OpRead, "kv/data/prod/app"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"/"+string(rune('a'+i/26)))
	}
	return evs
}

// TestUnknownKindGetsNoVaultRule: events of a kind no rule declares flow through Run and
// produce nothing, in particular no finding with a Vault remedy. The same events as Vault's
// are a harvest, which proves the test input would be loud if it were read as Vault.
func TestUnknownKindGetsNoVaultRule(t *testing.T) {
	cfg := DefaultConfig()
	asVault := Run(harvest(event.KindVault), Env{Config: &cfg})
	if !hasRule(asVault.Findings, "bulk-read") {
		t.Fatalf("the Vault version of the input should be a bulk-read, got %v", rulesOf(asVault.Findings))
	}
	cfg = DefaultConfig()
	res := Run(harvest(kindOther), Env{Config: &cfg})
	for _, f := range res.Findings {
		t.Errorf("kind %d got finding %s (%s), remedy %q", kindOther, f.Rule, f.Message, f.Remediation)
	}
}

func hasRule(fs []Finding, id string) bool {
	for _, f := range fs {
		if f.Rule == id {
			return true
		}
	}
	return false
}
