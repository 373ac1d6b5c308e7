package analyze

import (
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func decoyConfig() Config {
	c := DefaultConfig()
	c.Decoys = []string{
		"kv/data/prod/break-glass/db-root",
		"legacy/treasury/swift-operator",
		"ns1/kv/data/issuing/canary",
		"canary/*",
		"prod/treasury/data/db",
		"prod/treasury/swift-break-glass",
		"arn:aws:secretsmanager:eu-west-1:428190375562:secret:prod/legacy/core-banking-admin-2D2p4u",
	}
	return c
}

func TestDecoyAccess(t *testing.T) {
	const (
		fraud  = "k8s-eu1-risk-fraud-model"
		arnPfx = "arn:aws:secretsmanager:eu-central-1:428190375562:secret:"
		role   = "arn:aws:iam::428190375562:role/kp-prod-batch-reconciler"
		cfgArn = "arn:aws:iam::428190375562:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
	)
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"a read of the decoy", evs1(vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/"))), 1},
		{"a metadata read of a KV v2 decoy given as data/", evs1(vev(0, fraud, event.OpRead, "kv/metadata/prod/break-glass/db-root", mountedAt("kv/"))), 1},
		{"a metadata read without mount_point in the log", evs1(vev(0, fraud, event.OpRead, "kv/metadata/prod/break-glass/db-root")), 1},
		{"a destroy of the decoy", evs1(vev(0, fraud, event.OpWrite, "kv/destroy/prod/break-glass/db-root", mountedAt("kv/"))), 1},
		{"an undelete of the decoy", evs1(vev(0, fraud, event.OpWrite, "kv/undelete/prod/break-glass/db-root", mountedAt("kv/"))), 1},
		{"a denied read of a KV v1 decoy", evs1(vev(0, "kyc", event.OpRead, "legacy/treasury/swift-operator", mountedAt("legacy/"), denied)), 1},
		{"a decoy in a namespace", evs1(vev(0, "issuer", event.OpRead, "kv/metadata/issuing/canary", mountedAt("kv/"), namespaced("ns1/"))), 1},
		{"a glob decoy", evs1(vev(0, "x", event.OpRead, "canary/aws-root-keys", mountedAt("canary/"))), 1},
		{"a request without a token on the decoy", evs1(vev(0, "", event.OpRead, "legacy/treasury/swift-operator", denied,
			func(e *event.Event) {
				e.Principal, e.DisplayName, e.Credential = "", "", ""
				e.Flags |= event.FlagUnauthenticated
			})), 1},
		{"a secret whose name extends the decoy's is not the decoy",
			evs1(vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root-old", mountedAt("kv/"))), 0},
		{"a decoy's sibling is not the decoy", evs1(vev(0, fraud, event.OpRead, "legacy/treasury/swift-gateway", mountedAt("legacy/"))), 0},
		{"listing the decoy's folder does not touch it", evs1(vev(0, fraud, event.OpList, "kv/metadata/prod/break-glass/", mountedAt("kv/"))), 0},
		{"the same path in another namespace is another secret",
			evs1(vev(0, "issuer", event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/"), namespaced("ns2/"))), 0},
		{"AWS: the decoy by name", evs1(ctev(0, role, "GetSecretValue", event.OpRead, "prod/treasury/swift-break-glass")), 1},
		{"AWS: the decoy by full ARN with its suffix", evs1(ctev(0, role, "GetSecretValue", event.OpRead, arnPfx+"prod/treasury/swift-break-glass-Ab12Cd",
			func(e *event.Event) { e.Resource = arnPfx + "prod/treasury/swift-break-glass" }, denied)), 1},
		{"AWS: the decoy by partial ARN", evs1(ctev(0, role, "GetSecretValue", event.OpRead, arnPfx+"prod/treasury/swift-break-glass")), 1},
		{"AWS: a decoy given as an ARN matches the suffix-less ARN",
			evs1(ctev(0, role, "GetSecretValue", event.OpRead, "arn:aws:secretsmanager:eu-west-1:428190375562:secret:prod/legacy/core-banking-admin")), 1},
		{"AWS: a secret whose name extends the decoy's is not the decoy",
			evs1(ctev(0, role, "GetSecretValue", event.OpRead, "prod/treasury/swift-break-glass-v2")), 0},
		{"AWS: a name with data/ in it is not folded like a KV v2 path",
			evs1(ctev(0, role, "GetSecretValue", event.OpRead, "prod/treasury/db", func(e *event.Event) { e.Path = "prod/treasury/db" })), 0},
		{"AWS: AWS Config describing every secret is a service, not a touch",
			evs1(ctev(0, cfgArn, "DescribeSecret", event.OpList, arnPfx+"prod/treasury/swift-break-glass-Ab12Cd")), 0},
		{"AWS: a service acting on the caller's behalf", evs1(ctev(0, role, "Decrypt", event.OpRead, "prod/treasury/swift-break-glass",
			func(e *event.Event) { e.Flags |= event.FlagServiceActor })), 0},
		{"one identity touching decoys three times within the hour is one finding", []event.Event{
			vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/")),
			vev(20*time.Second, fraud, event.OpRead, "kv/metadata/prod/break-glass/db-root", mountedAt("kv/")),
			vev(40*time.Second, fraud, event.OpRead, "legacy/treasury/swift-operator", mountedAt("legacy/"), denied),
		}, 1},
		{"two identities are two findings", []event.Event{
			vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/")),
			vev(time.Minute, "kyc", event.OpRead, "legacy/treasury/swift-operator", mountedAt("legacy/"), denied),
		}, 2},
		{"the same identity two hours apart is two findings", []event.Event{
			vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/")),
			vev(2*time.Hour, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/")),
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewDecoyAccess, decoyConfig(), slices.Clone(tt.events))
			if len(got) != tt.want {
				t.Fatalf("got %d findings, want %d: %+v", len(got), tt.want, got)
			}
			for _, f := range got {
				if f.Rule != "decoy-access" || f.Severity != Critical || len(f.Resources) == 0 {
					t.Errorf("finding %+v: want decoy-access, critical, with the touched paths", f)
				}
			}
		})
	}
	t.Run("no decoys configured, nothing to report", func(t *testing.T) {
		got := runDetector(t, NewDecoyAccess, DefaultConfig(), evs1(vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root")))
		if len(got) != 0 {
			t.Fatalf("got %d findings, want 0", len(got))
		}
	})
	t.Run("the finding lists what was touched", func(t *testing.T) {
		got := runDetector(t, NewDecoyAccess, decoyConfig(), []event.Event{
			vev(0, fraud, event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/")),
			vev(20*time.Second, fraud, event.OpRead, "kv/metadata/prod/break-glass/db-root", mountedAt("kv/")),
		})
		want := []string{"kv/data/prod/break-glass/db-root", "kv/metadata/prod/break-glass/db-root"}
		if len(got) != 1 || got[0].Count != 2 || !slices.Equal(got[0].Resources, want) {
			t.Fatalf("got %+v, want one finding, count 2, resources %v", got, want)
		}
	})
}

func TestSecretNameOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"arn:aws:secretsmanager:eu-west-1:428190375562:secret:prod/db-AbCd12", "prod/db"},
		{"arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:prod/db-AbCd12", "prod/db"},
		{"arn:aws:secretsmanager:eu-west-1:428190375562:secret:prod/db", "prod/db"},
		{"arn:aws:secretsmanager:eu-west-1:428190375562:secret:prod/db-v2", "prod/db-v2"},
		{"prod/app-config", "prod/app-config"}, // a name, not an ARN: never stripped
		{"arn:aws:kms:eu-west-1:1:key/abc", "arn:aws:kms:eu-west-1:1:key/abc"},
	}
	for _, tt := range tests {
		if got := secretNameOf(tt.in); got != tt.want {
			t.Errorf("secretNameOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestOpenRunsEnd: a run (decoy-access, admin-off-hours) that has been quiet for its window
// ends while the input goes on, whatever identity the next event carries, so a long input
// does not hold every identity that ever touched a decoy.
func TestOpenRunsEnd(t *testing.T) {
	cfg := decoyConfig()
	env := Env{Config: &cfg}
	d := NewDecoyAccess(env).(*DecoyAccess)
	touch := vev(0, "thief", event.OpRead, "kv/data/prod/break-glass/db-root", mountedAt("kv/"))
	d.Observe(&touch)
	if len(d.open) != 1 {
		t.Fatalf("open runs %d after the touch", len(d.open))
	}
	other := vev(2*time.Hour, "app", event.OpRead, "kv/data/app/db", mountedAt("kv/"))
	d.Observe(&other)
	if len(d.open) != 0 || len(d.found) != 1 {
		t.Errorf("2 h later: open %d, found %d; want the run closed and reported", len(d.open), len(d.found))
	}
	a := NewAdminOffHours(Env{Config: &cfg}).(*AdminOffHours)
	night := vev(0, "ops", event.OpAdmin, "sys/policies/acl/app", withPolicies("admin"), atTime(time.Date(2026, 9, 23, 3, 0, 0, 0, time.UTC)))
	a.Observe(&night)
	later := vev(0, "app", event.OpRead, "kv/data/app/db", atTime(time.Date(2026, 9, 23, 5, 0, 0, 0, time.UTC)))
	a.Observe(&later)
	if len(a.open) != 0 || len(a.found) != 1 {
		t.Errorf("admin-off-hours 2 h later: open %d, found %d", len(a.open), len(a.found))
	}
}
