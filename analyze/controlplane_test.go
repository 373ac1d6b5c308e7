package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// cpEvent is a Vault control-plane request as the reader shapes it: sys/ and auth/ writes are
// OpAdmin, with the Vault operation as Action.
func cpEvent(at time.Duration, actor, action, path string, opts ...func(*event.Event)) event.Event {
	ev := vev(at, actor, event.OpAdmin, path, actionIs(action))
	if action == "list" {
		ev.Op = event.OpList
	}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func createdPolicies(ps ...string) func(*event.Event) {
	return func(e *event.Event) { e.NewPolicies = ps }
}

func flagsSet(f event.Flags) func(*event.Event) { return func(e *event.Event) { e.Flags |= f } }

func unauthenticated(e *event.Event) {
	e.Principal, e.DisplayName, e.Credential, e.Policies = "", "", "", nil
	e.Flags |= event.FlagUnauthenticated
	e.Op = event.OpOther
}

func TestControlPlane(t *testing.T) {
	const liam = "oidc-liam.byrne@kestrelpay.io"
	ops := withPolicies("default", "vault-operators")
	tf := "token-terraform-cards"
	tests := []struct {
		name   string
		events []event.Event
		want   []string // rule ids, sorted
		sev    Severity // of the first finding, when one is wanted
	}{
		// policy-change
		{"a policy rewritten", evs1(cpEvent(0, liam, "update", "sys/policies/acl/fraud-model", ops)), []string{"policy-change"}, High},
		{"a policy deleted through the old endpoint", evs1(cpEvent(0, liam, "delete", "sys/policy/legacy-app", ops)), []string{"policy-change"}, High},
		{"a sentinel policy written", evs1(cpEvent(0, liam, "create", "sys/policies/egp/business-hours", ops)), []string{"policy-change"}, High},
		{"a policy written inside a namespace", evs1(cpEvent(0, tf, "update", "sys/policies/acl/cards-ci", namespaced("ns1/"))), []string{"policy-change"}, High},
		{"a policy read is not a change", evs1(cpEvent(0, liam, "read", "sys/policies/acl/fraud-model", ops)), nil, 0},
		{"listing policies is not a change", evs1(cpEvent(0, liam, "list", "sys/policies/acl", ops)), nil, 0},
		{"a denied policy write changed nothing", evs1(cpEvent(0, "app", "update", "sys/policies/acl/app", denied)), nil, 0},

		// privileged-token
		{"an orphan token with the operators' policy", evs1(cpEvent(0, liam, "update", "auth/token/create", ops,
			createdPolicies("default", "vault-operators"), flagsSet(event.FlagOrphan))), []string{"privileged-token"}, High},
		{"a token with the root policy", evs1(cpEvent(0, liam, "update", "auth/token/create", ops, createdPolicies("root"))),
			[]string{"privileged-token"}, Critical},
		{"an orphan token through create-orphan", evs1(cpEvent(0, "ci", "update", "auth/token/create-orphan",
			createdPolicies("default", "deploy"), flagsSet(event.FlagOrphan))), []string{"privileged-token"}, High},
		{"an ordinary child token is not privileged", evs1(cpEvent(0, "ci", "update", "auth/token/create",
			createdPolicies("default", "deploy"))), nil, 0},
		{"a policy named like an admin's only in part is not privileged", evs1(cpEvent(0, "ci", "update", "auth/token/create",
			createdPolicies("default", "vault-operators-readonly"))), nil, 0},
		{"the root token bootstrapping is not reported here", evs1(cpEvent(0, "root", "update", "auth/token/create",
			withPolicies("root"), flagsSet(event.FlagRootToken), createdPolicies("vault-operators"))), nil, 0},
		{"root generation started", evs1(cpEvent(0, "", "update", "sys/generate-root/attempt", unauthenticated)),
			[]string{"privileged-token"}, Critical},
		{"reading root generation's progress is not a change", evs1(cpEvent(0, "", "read", "sys/generate-root/attempt", unauthenticated)), nil, 0},

		// auth-config-change
		{"Terraform replaces an auth method in a namespace (one finding)", []event.Event{
			cpEvent(0, tf, "read", "sys/auth", namespaced("ns1/")),
			cpEvent(4*time.Second, tf, "delete", "sys/auth/approle-legacy", namespaced("ns1/")),
			cpEvent(7*time.Second, tf, "update", "sys/auth/jwt-gha", namespaced("ns1/")),
			cpEvent(9*time.Second, tf, "update", "auth/jwt-gha/config", namespaced("ns1/")),
			cpEvent(11*time.Second, tf, "update", "auth/jwt-gha/role/cards-ci", namespaced("ns1/")),
		}, []string{"auth-config-change"}, High},
		{"a secrets engine tuned", evs1(cpEvent(0, liam, "update", "sys/mounts/kv/tune", ops)), []string{"auth-config-change"}, High},
		{"a secrets engine disabled", evs1(cpEvent(0, liam, "delete", "sys/mounts/legacy", ops)), []string{"auth-config-change"}, High},
		{"raw storage read", evs1(cpEvent(0, liam, "read", "sys/raw/core/mounts", ops)), []string{"auth-config-change"}, Critical},
		{"the cluster sealed", evs1(cpEvent(0, liam, "update", "sys/seal", ops)), []string{"auth-config-change"}, High},
		{"an unseal key submitted", evs1(cpEvent(0, "", "update", "sys/unseal", unauthenticated)), []string{"auth-config-change"}, Medium},
		{"a namespace deleted", evs1(cpEvent(0, liam, "delete", "sys/namespaces/ns2", ops)), []string{"auth-config-change"}, High},
		{"replication demoted", evs1(cpEvent(0, liam, "update", "sys/replication/performance/primary/demote", ops)), []string{"auth-config-change"}, High},
		{"reading mounts and auth methods is not a change", []event.Event{
			cpEvent(0, "oidc-maria", "read", "sys/mounts", ops),
			cpEvent(time.Second, "oidc-maria", "read", "sys/auth", ops),
			cpEvent(2*time.Second, "oidc-maria", "read", "sys/mounts/kv/tune", ops),
		}, nil, 0},
		{"an auth method role is not the method's configuration", evs1(cpEvent(0, tf, "update", "auth/k8s-eu1/role/app")), nil, 0},
		{"lease renewals are not changes", evs1(cpEvent(0, "agent", "update", "sys/leases/renew")), nil, 0},
		{"disabling an audit device is audit-disabled's, not this family's", evs1(cpEvent(0, liam, "delete", "sys/audit/siem-socket", ops)), nil, 0},
	}
	all := []func(Env) Detector{NewPrivilegedToken, NewPolicyChange, NewAuthConfigChange}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Finding
			for _, mk := range all {
				got = append(got, runDetector(t, mk, enumConfig(), slices.Clone(tt.events))...)
			}
			ids := rulesOf(got)
			slices.Sort(ids)
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("rules %v, want %v: %+v", ids, tt.want, got)
			}
			if len(got) > 0 && got[0].Severity != tt.sev {
				t.Errorf("severity %s, want %s", got[0].Severity, tt.sev)
			}
		})
	}
}

func TestControlPlaneSaysWhoWhereWhat(t *testing.T) {
	tf := "token-terraform-cards"
	evs := []event.Event{
		cpEvent(0, tf, "delete", "sys/auth/approle-legacy", namespaced("ns1/"), from("100.76.30.8")),
		cpEvent(3*time.Second, tf, "update", "sys/auth/jwt-gha", namespaced("ns1/"), from("100.76.30.8")),
	}
	got := runDetector(t, NewAuthConfigChange, DefaultConfig(), evs)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	f := got[0]
	want := []string{"ns1/sys/auth/approle-legacy", "ns1/sys/auth/jwt-gha"}
	if f.DisplayName != tf || !slices.Equal(f.Resources, want) || !slices.Equal(f.SourceIPs, []string{"100.76.30.8"}) || f.Count != 2 {
		t.Fatalf("finding %+v: want %s, %v, from 100.76.30.8, count 2", f, tf, want)
	}
	for _, s := range []string{tf, "100.76.30.8", "disabled auth method", "enabled auth method"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
}
