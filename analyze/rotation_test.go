package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources/vault"
)

// onMount sets the mount the log names (Vault >= 1.14) and normalises the resource with it.
func onMount(mount, typ string) func(*event.Event) {
	return func(e *event.Event) {
		e.Mount, e.MountType = mount, typ
		e.Resource = vault.NormalizePath(e.Path, mount, typ)
	}
}

var kv2 = onMount("kv/", "kv")

// rotationConfig maps the practice scenario's paths to deployments.
func rotationConfig(rollouts ...Rollout) Config {
	c := DefaultConfig()
	c.Rotation.Deployments = []DeploymentMap{
		{Glob: "legacy/backoffice/*", Namespace: "backoffice", Deployment: "backoffice-portal"},
		{Glob: "kv/data/prod/card-gateway/*", Namespace: "payments", Deployment: "card-gateway"},
	}
	c.Rotation.Rollouts = rollouts
	return c
}

func rollout(after time.Duration, ns, dep, reason string) Rollout {
	return Rollout{Time: t0.Add(after).Truncate(time.Second), Namespace: ns, Deployment: dep, Reason: reason}
}

func TestRotationWithoutRead(t *testing.T) {
	const w = "rotations" // the rotation pipeline
	write := func(at time.Duration, path string, opts ...func(*event.Event)) event.Event {
		return vev(at, w, event.OpWrite, path, opts...)
	}
	read := func(at time.Duration, who, path string, opts ...func(*event.Event)) event.Event {
		return vev(at, who, event.OpRead, path, opts...)
	}
	end := func(at time.Duration) event.Event { // unrelated traffic that marks the end of the input
		return vev(at, "agent", event.OpOther, "auth/token/renew-self")
	}
	v1 := onMount("legacy/", "kv")
	tests := []struct {
		name     string
		cfg      Config
		events   []event.Event
		want     []Severity
		resource string // the finding must list it
	}{
		{"consumer reads the new version 144 s later", rotationConfig(), seqOf(
			read(-time.Hour, "kyc", "kv/data/prod/kyc/sanctions", kv2),
			write(0, "kv/data/prod/kyc/sanctions", kv2), read(144*time.Second, "kyc", "kv/data/prod/kyc/sanctions", kv2),
			end(2*time.Hour)), nil, ""},
		{"a versioned read of the same secret counts", rotationConfig(), seqOf(
			write(0, "kv/data/prod/kyc/sanctions", kv2), read(time.Minute, "kyc", "kv/data/prod/kyc/sanctions?version=3", kv2),
			end(2*time.Hour)), nil, ""},
		{"only the writer reads it back; the consumer read it before", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db", kv2),
			read(-time.Second, w, "kv/metadata/prod/app/db", kv2),
			write(0, "kv/data/prod/app/db", kv2), read(time.Second, w, "kv/data/prod/app/db", kv2),
			end(2*time.Hour)), []Severity{Medium}, "kv/data/prod/app/db"},
		{"nobody but the writer ever reads it: lower severity", rotationConfig(), seqOf(
			write(0, "kv/data/prod/card-gateway/acquirer-mtls", kv2), read(time.Second, w, "kv/data/prod/card-gateway/acquirer-mtls", kv2),
			end(2*time.Hour)), []Severity{Low}, "kv/prod/card-gateway/acquirer-mtls"},
		{"the consumer's read comes after the grace window", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db", kv2),
			write(0, "kv/data/prod/app/db", kv2), read(45*time.Minute, "app", "kv/data/prod/app/db", kv2)),
			[]Severity{Medium}, "kv/prod/app/db"},
		{"a metadata read does not fetch the value", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db", kv2),
			write(0, "kv/data/prod/app/db", kv2), read(time.Minute, "app", "kv/metadata/prod/app/db", kv2),
			end(2*time.Hour)), []Severity{Medium}, "kv/data/prod/app/db"},
		{"a denied read does not count", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db", kv2),
			write(0, "kv/data/prod/app/db", kv2), read(time.Minute, "app", "kv/data/prod/app/db", kv2, denied),
			end(2*time.Hour)), []Severity{Medium}, "kv/data/prod/app/db"},
		{"written 12 minutes before the end of the input: not yet due", rotationConfig(), seqOf(
			write(0, "kv/data/prod/reporting/bi-export", kv2), read(time.Second, w, "kv/data/prod/reporting/bi-export", kv2),
			end(12*time.Minute)), nil, ""},
		{"KV v1 rotation propagated by a rollout of the mapped deployment", rotationConfig(
			rollout(2*time.Minute, "backoffice", "backoffice-portal", "ScalingReplicaSet")), seqOf(
			write(0, "legacy/backoffice/smtp-relay", v1), read(time.Second, w, "legacy/backoffice/smtp-relay", v1),
			end(2*time.Hour)), nil, ""},
		{"KV v1 rotation without the events file", rotationConfig(), seqOf(
			write(0, "legacy/backoffice/smtp-relay", v1), end(2*time.Hour)), []Severity{Low}, "legacy/backoffice/smtp-relay"},
		{"a pod of the mapped deployment started", rotationConfig(
			rollout(5*time.Minute, "payments", "card-gateway", "Started")), seqOf(
			write(0, "kv/data/prod/card-gateway/acquirer-mtls", kv2), end(2*time.Hour)), nil, ""},
		{"rollouts of a similar name and of the same name elsewhere do not count", rotationConfig(
			rollout(4*time.Minute, "payments", "card-gateway-canary", "ScalingReplicaSet"),
			rollout(6*time.Minute, "payments-staging", "card-gateway", "ScalingReplicaSet")), seqOf(
			write(0, "kv/data/prod/card-gateway/acquirer-mtls", kv2), end(2*time.Hour)),
			[]Severity{Low}, "kv/data/prod/card-gateway/acquirer-mtls"},
		{"a pod stopping is not propagation", rotationConfig(
			rollout(4*time.Minute, "payments", "card-gateway", "Killing")), seqOf(
			write(0, "kv/data/prod/card-gateway/acquirer-mtls", kv2), end(2*time.Hour)),
			[]Severity{Low}, "kv/data/prod/card-gateway/acquirer-mtls"},
		{"a rollout before the write does not count", rotationConfig(
			rollout(-4*time.Minute, "payments", "card-gateway", "ScalingReplicaSet")), seqOf(
			write(0, "kv/data/prod/card-gateway/acquirer-mtls", kv2), end(2*time.Hour)),
			[]Severity{Low}, "kv/data/prod/card-gateway/acquirer-mtls"},
		{"a deployment annotated with the secret", rotationConfig(Rollout{Time: t0.Add(3 * time.Minute), Namespace: "web",
			Deployment: "portal", Reason: "ScalingReplicaSet", Secrets: []string{"kv/data/prod/web/*"}}), seqOf(
			write(0, "kv/data/prod/web/session-key", kv2), end(2*time.Hour)), nil, ""},
		{"transit encryption is not a secret write", rotationConfig(), seqOf(
			write(0, "transit/encrypt/pan", onMount("transit/", "transit")), end(2*time.Hour)), nil, ""},
		{"KV v2 metadata and delete writes are not rotations", rotationConfig(), seqOf(
			write(0, "kv/metadata/prod/app/db", kv2), write(time.Second, "kv/delete/prod/app/db", kv2), end(2*time.Hour)), nil, ""},
		{"a KV v2 write in an old log without mount_point", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db"),
			write(0, "kv/data/prod/app/db"), end(2*time.Hour)), []Severity{Medium}, "kv/prod/app/db"},
		{"database static role rotated, consumer reads static-creds", rotationConfig(), seqOf(
			write(0, "database/rotate-role/ledger", onMount("database/", "database")),
			read(time.Minute, "ledger", "database/static-creds/ledger", onMount("database/", "database")),
			end(2*time.Hour)), nil, ""},
		{"database static role rotated, nobody reads", rotationConfig(), seqOf(
			read(-time.Hour, "ledger", "database/static-creds/ledger", onMount("database/", "database")),
			write(0, "database/rotate-role/ledger", onMount("database/", "database")),
			end(2*time.Hour)), []Severity{Medium}, "database/static-creds/ledger"},
		{"two writes of one secret are one rotation", rotationConfig(), seqOf(
			read(-time.Hour, "app", "kv/data/prod/app/db", kv2),
			write(0, "kv/data/prod/app/db", kv2), write(time.Minute, "kv/data/prod/app/db", kv2),
			end(2*time.Hour)), []Severity{Medium}, "kv/data/prod/app/db"},
		{"the consumer reads between two writes, not after the second", rotationConfig(), seqOf(
			write(0, "kv/data/prod/app/db", kv2), read(time.Minute, "app", "kv/data/prod/app/db", kv2),
			write(20*time.Minute, "kv/data/prod/app/db", kv2), end(2*time.Hour)), []Severity{Medium}, "kv/data/prod/app/db"},
		{"AWS secret updated and read by the workload", rotationConfig(), seqOf(
			vev(0, "x", event.OpWrite, "prod/ledger/pg", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			vev(28*time.Second, "x", event.OpRead, "prod/ledger/pg", asCloudTrail("arn:aws:iam::1:role/ledger-api", "pod")),
			end(2*time.Hour)), nil, ""},
		{"AWS RotateSecret by an operator; the rotation function reads, then writes the new version", rotationConfig(), seqOf(
			vev(-time.Hour, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/card-gateway", "pod")),
			vev(0, "x", event.OpWrite, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda-admin", "maria")),
			vev(time.Second, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			vev(2*time.Second, "x", event.OpWrite, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			end(2*time.Hour)), []Severity{Medium}, "prod/cg/api"},
		{"the same rotation, then the consumer reads", rotationConfig(), seqOf(
			vev(0, "x", event.OpWrite, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda-admin", "maria")),
			vev(time.Second, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			vev(2*time.Second, "x", event.OpWrite, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			vev(5*time.Minute, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/card-gateway", "pod")),
			end(2*time.Hour)), nil, ""},
		{"AWS secret read only by the rotation function", rotationConfig(), seqOf(
			vev(-time.Hour, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/card-gateway", "pod")),
			vev(0, "x", event.OpWrite, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			vev(time.Second, "x", event.OpRead, "prod/cg/api", asCloudTrail("arn:aws:iam::1:role/rotation-lambda", "rot")),
			end(2*time.Hour)), []Severity{Medium}, "prod/cg/api"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewRotationWithoutRead, tt.cfg, slices.Clone(tt.events))
			var sev []Severity
			for _, f := range got {
				sev = append(sev, f.Severity)
				if f.Rule != "rotation-without-read" || !slices.Contains(f.Resources, tt.resource) {
					t.Errorf("finding %+v: want rule rotation-without-read listing %s", f, tt.resource)
				}
				if f.Identity != "entity-"+w && !strings.Contains(f.Identity, "rotation-lambda") {
					t.Errorf("identity %q: want the writer", f.Identity)
				}
				if f.Severity == Low && !strings.Contains(f.Message, "nobody but the writer") {
					t.Errorf("low-severity message %q must say nobody else read the secret", f.Message)
				}
			}
			if !slices.Equal(sev, tt.want) {
				t.Fatalf("severities %v, want %v: %+v", sev, tt.want, got)
			}
		})
	}
}

// TestRotationWithoutReadTrigger: the finding becomes true when the grace window ends, so a
// write just before the learning period ends is still reported.
func TestRotationWithoutReadTrigger(t *testing.T) {
	evs := seqOf(vev(0, "rot", event.OpWrite, "kv/data/x", kv2), vev(3*time.Hour, "a", event.OpOther, "sys/x"))
	got := runDetector(t, NewRotationWithoutRead, rotationConfig(), evs)
	if len(got) != 1 || !got[0].TriggerTime.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("got %+v, want one finding triggered at the end of the grace window", got)
	}
}
