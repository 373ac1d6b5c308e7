package analyze

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// mountedAt sets the mount point the audit entry logs (request.mount_point) and recomputes the
// resource the way the Vault reader does.
func mountedAt(mount string) func(*event.Event) {
	return func(e *event.Event) {
		e.Mount, e.MountType = mount, "kv"
		e.Resource = vault.NormalizePath(e.Path, mount, "kv")
	}
}

// namespaced puts a Vault event in namespace ns (its path and mount carry the prefix).
func namespaced(ns string) func(*event.Event) {
	return func(e *event.Event) {
		e.Namespace = ns
		e.Path = ns + e.Path
		if e.Mount != "" {
			e.Mount = ns + e.Mount
		}
		e.Resource = vault.NormalizePath(e.Path, e.Mount, e.MountType)
	}
}

func actionIs(a string) func(*event.Event) { return func(e *event.Event) { e.Action = a } }

// ctev builds a CloudTrail event for a principal ARN.
func ctev(at time.Duration, arn, action string, op event.Op, resource string, opts ...func(*event.Event)) event.Event {
	ev := event.Event{
		Time: t0.Add(at), Kind: event.KindCloudTrail, Op: op, Action: action,
		Principal: arn, DisplayName: arn[len(arn)-min(len(arn), 20):], Credential: "ASIAEXAMPLE",
		Path: resource, Resource: resource, Namespace: "428190375562", Region: "eu-west-1",
		RemoteAddr: netip.MustParseAddr("198.51.100.24"),
		Pos:        event.Pos{File: "ct.json", Line: int(at / time.Second)},
	}
	for _, o := range opts {
		o(&ev)
	}
	return ev
}

func enumConfig() Config {
	c := DefaultConfig()
	c.AdminPolicies = []string{"root", "vault-operators", "bo-admins"}
	c.AdminARNs = []string{"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_PlatformAdmin_*"}
	return c
}

func TestEnumeration(t *testing.T) {
	kyc := "k8s-eu1-onboarding-kyc-worker"
	kycPolicies := withPolicies("default", "kyc-worker")
	walk := []event.Event{
		vev(0, kyc, event.OpList, "legacy/", mountedAt("legacy/"), kycPolicies),
		vev(34*time.Second, kyc, event.OpList, "legacy/treasury/", mountedAt("legacy/"), kycPolicies),
		vev(61*time.Second, kyc, event.OpList, "legacy/cards/", mountedAt("legacy/"), kycPolicies),
		vev(88*time.Second, kyc, event.OpList, "legacy/backoffice/", mountedAt("legacy/"), kycPolicies),
		vev(115*time.Second, kyc, event.OpList, "kv/metadata/prod/", mountedAt("kv/"), kycPolicies, denied),
		vev(139*time.Second, kyc, event.OpList, "kv/metadata/prod/treasury/", mountedAt("kv/"), kycPolicies, denied),
	}
	subfolders := func(n int) []event.Event {
		return every(n, func(i int) event.Event {
			return vev(time.Duration(i)*time.Minute, "app", event.OpList, fmt.Sprintf("kv/metadata/prod/team%d/", i), mountedAt("kv/"))
		})
	}
	// Back-office staff open the web UI on the mount root and their folder every business day.
	var staff []event.Event
	for d := range 10 {
		at := time.Duration(d) * 24 * time.Hour
		staff = append(staff,
			vev(at, "oidc-aisling", event.OpList, "bo/metadata/", mountedAt("bo/"), withPolicies("bo-chargebacks", "default")),
			vev(at+9*time.Second, "oidc-aisling", event.OpList, "bo/metadata/chargebacks/", mountedAt("bo/"), withPolicies("bo-chargebacks", "default")))
	}
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"a workload walking legacy/ and kv/metadata/ (one finding)", walk, 1},
		{"LIST of a KV v1 mount root", walk[:1], 1},
		{"LIST of kv/metadata/ (a KV v2 mount root)", evs1(vev(0, "app", event.OpList, "kv/metadata/", mountedAt("kv/"))), 1},
		{"LIST of a mount root without mount_point in the log", evs1(vev(0, "app", event.OpList, "kv/metadata/")), 1},
		{"LIST of a mount root in a namespace", evs1(vev(0, "app", event.OpList, "kv/metadata/", mountedAt("kv/"), namespaced("ns1/"))), 1},
		{"LIST sys/policies/acl by a non-administrator", evs1(vev(0, "app", event.OpList, "sys/policies/acl")), 1},
		{"LIST identity/entity/id by a non-administrator", evs1(vev(0, "app", event.OpList, "identity/entity/id")), 1},
		{"LIST auth/token/accessors by a non-administrator", evs1(vev(0, "app", event.OpList, "auth/token/accessors")), 1},
		{"five distinct subfolders in five minutes", subfolders(5), 1},
		{"four distinct subfolders stay below the count", subfolders(4), 0},
		{"five subfolders an hour apart stay quiet", every(5, func(i int) event.Event {
			return vev(time.Duration(i)*time.Hour, "app", event.OpList, fmt.Sprintf("kv/metadata/prod/team%d/", i), mountedAt("kv/"))
		}), 0},
		{"an operator listing sys/policies/acl is not enumeration",
			evs1(vev(0, "oidc-maria", event.OpList, "sys/policies/acl", withPolicies("default", "vault-operators"))), 0},
		{"the root token listing mounts is not enumeration",
			evs1(vev(0, "root", event.OpList, "kv/metadata/", mountedAt("kv/"), withPolicies("root"), func(e *event.Event) { e.Flags |= event.FlagRootToken })), 0},
		{"metadata reads are reads, not lists", every(10, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "fraud", event.OpRead, fmt.Sprintf("kv/metadata/prod/s%d", i), mountedAt("kv/"))
		}), 0},
		{"Terraform reading sys/auth and sys/mounts before a change is quiet", []event.Event{
			vev(0, "token-terraform-cards", event.OpAdmin, "sys/auth", actionIs("read"), namespaced("ns1/")),
			vev(time.Second, "token-terraform-cards", event.OpAdmin, "sys/mounts", actionIs("read"), namespaced("ns1/")),
		}, 0},
		{"listing one's own cubbyhole is quiet", evs1(vev(0, "app", event.OpList, "cubbyhole/")), 0},
		{"the same denied subfolder listed ten times is one path", every(10, func(i int) event.Event {
			return vev(time.Duration(i)*time.Second, "app", event.OpList, "kv/metadata/prod/x/", mountedAt("kv/"), denied)
		}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewEnumeration, enumConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "enumeration" || f.Severity != High || len(f.Resources) == 0 {
					t.Errorf("finding %+v: want enumeration, high, with the listed paths", f)
				}
			}
		})
	}
	t.Run("a listing habit learned earlier is not new", func(t *testing.T) {
		got := runDetector(t, NewEnumeration, enumConfig(), slices.Clone(staff))
		// Only the very first session, before anything was learned, is reported.
		if len(got) != 1 || !got[0].FirstSeen.Equal(t0) {
			t.Fatalf("got %d findings, want only the first session's: %+v", len(got), got)
		}
	})
	t.Run("the walk lists every path", func(t *testing.T) {
		got := runDetector(t, NewEnumeration, enumConfig(), slices.Clone(walk))
		want := []string{"kv/metadata/prod/", "kv/metadata/prod/treasury/", "legacy/", "legacy/backoffice/", "legacy/cards/", "legacy/treasury/"}
		if len(got) != 1 || !slices.Equal(got[0].Resources, want) || got[0].Count != 6 {
			t.Fatalf("got %+v, want one finding listing %v", got, want)
		}
	})
}

func TestEnumerationAWS(t *testing.T) {
	const acct = "arn:aws:iam::428190375562:role/"
	reconciler := acct + "kp-prod-batch-reconciler"
	admin := acct + "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PlatformAdmin_3f8a2c1d9e7b4a60"
	analyst := acct + "aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_TreasuryAnalyst_91c0d7e4a2b35f18"
	config := acct + "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	filtered := func(e *event.Event) { e.Detail = "filters=name:prod/treasury/" }
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"ListSecrets then a filtered batch by a workload role (one finding)", []event.Event{
			ctev(0, reconciler, "ListSecrets", event.OpList, ""),
			ctev(2*time.Second, reconciler, "ListSecrets", event.OpList, ""),
			ctev(5*time.Second, reconciler, "BatchGetSecretValue", event.OpList, "", func(e *event.Event) { e.Detail = "filters=all:prod" }),
		}, 1},
		{"a filtered batch alone", evs1(ctev(0, reconciler, "BatchGetSecretValue", event.OpList, "", func(e *event.Event) { e.Detail = "filters=all:prod" })), 1},
		{"a batch by a list of secret ids is not enumeration",
			evs1(ctev(0, reconciler, "BatchGetSecretValue", event.OpRead, "", func(e *event.Event) { e.Detail = "secretIdList=26" })), 0},
		{"DescribeSecret is not enumeration on its own", every(10, func(i int) event.Event {
			return ctev(time.Duration(i)*time.Second, reconciler, "DescribeSecret", event.OpList, fmt.Sprintf("prod/app/%d", i))
		}), 0},
		{"an administrator's ListSecrets is quiet", evs1(ctev(0, admin, "ListSecrets", event.OpList, "")), 0},
		{"AWS Config's service-linked role is quiet", evs1(ctev(0, config, "ListSecrets", event.OpList, "")), 0},
		{"a service acting on a caller's behalf is quiet",
			evs1(ctev(0, reconciler, "ListSecrets", event.OpList, "", func(e *event.Event) { e.Flags |= event.FlagServiceActor })), 0},
		{"an analyst's filtered ListSecrets habit: only the first is new", []event.Event{
			ctev(0, analyst, "ListSecrets", event.OpList, "", filtered),
			ctev(24*time.Hour, analyst, "ListSecrets", event.OpList, "", filtered),
			ctev(48*time.Hour, analyst, "ListSecrets", event.OpList, "", filtered),
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewEnumeration, enumConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
		})
	}
}

func evs1(e ...event.Event) []event.Event { return e }
