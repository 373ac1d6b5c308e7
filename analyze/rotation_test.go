package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
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

// kwrite is a Kubernetes update of a Secret.
func kwrite(at time.Duration, user, secret string, opts ...func(*event.Event)) event.Event {
	ev := kev(at, user, secret, opts...)
	ev.Op, ev.Action = event.OpWrite, "patch"
	ev.Flags &^= event.FlagValueRead
	return ev
}

// TestRotationWithoutReadKubernetes: a person's patch of a Secret that no consumer reads is
// reported; the kubelet of a restarted pod reading it picks it up; Helm's release secrets are
// never rotations; a write less than the grace window before the end is not yet due.
func TestRotationWithoutReadKubernetes(t *testing.T) {
	const sre = "oidc:priya.raman@example.io"
	end := func(at time.Duration) event.Event { return kev(at, "system:node:kw-1", "other/unrelated") }
	tests := []struct {
		name   string
		events []event.Event
		want   int
	}{
		{"patched, nobody reads it", seqOf(kev(-time.Hour, "system:serviceaccount:issuing:card-issuer", "issuing/processor-api-token"),
			kev(-time.Minute, sre, "issuing/processor-api-token"), kwrite(0, sre, "issuing/processor-api-token"), end(8*time.Hour)), 1},
		{"patched, the kubelet of a new pod reads it", seqOf(kwrite(0, sre, "ingress/wildcard-tls"),
			kev(40*time.Second, "system:node:kw-3", "ingress/wildcard-tls"), end(8*time.Hour)), 0},
		{"Helm's release secret", seqOf(kwrite(0, "system:serviceaccount:ci:deployer", "app/sh.helm.release.v1.app.v7", withFlags(event.FlagMaintenance)),
			end(8*time.Hour)), 0},
		{"patched 18 minutes before the end", seqOf(kwrite(0, sre, "chargeback/partner-api"), end(18*time.Minute)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewRotationWithoutRead, DefaultConfig(), tt.events)
			if len(got) != tt.want {
				t.Fatalf("got %s, want %d", describe(got), tt.want)
			}
			if tt.want > 0 && (got[0].Source != "kubernetes" || !slices.Contains(got[0].Resources, "k8s:issuing/processor-api-token")) {
				t.Errorf("finding %s", describe(got))
			}
		})
	}
}

// TestRotationWithoutReadHabit: a sync operator that writes a fixed secret every hour that
// nobody reads is reported for its first two writes, then learned; a person whose earlier
// rotation was picked up and this one is not is reported; a writer that wrote a secret six
// times before (a sync whose consumers read on their own schedule) is a habit.
func TestRotationWithoutReadHabit(t *testing.T) {
	const eso, sre = "system:serviceaccount:external-secrets:external-secrets", "oidc:priya.raman@example.io"
	hourly := func(n int, picked func(i int) bool) []event.Event {
		var evs []event.Event
		for i := range n {
			at := time.Duration(i) * time.Hour
			evs = append(evs, kwrite(at, eso, "cards-batch/statement-smtp"))
			if picked(i) {
				evs = append(evs, kev(at+10*time.Minute, "system:serviceaccount:cards-batch:renderer", "cards-batch/statement-smtp"))
			}
		}
		return evs
	}
	never := func(int) bool { return false }
	if got := runDetector(t, NewRotationWithoutRead, DefaultConfig(), seqOf(hourly(10, never)...)); count(got, "rotation-without-read") != 2 {
		t.Errorf("an hourly sync nobody reads: want its first two writes only, got %s", describe(got))
	}
	// Read after its first seven writes (six settled picked up), then not.
	mixed := hourly(10, func(i int) bool { return i < 7 })
	if got := runDetector(t, NewRotationWithoutRead, DefaultConfig(), seqOf(mixed...)); len(got) != 0 {
		t.Errorf("a sync whose consumer read it six times before: %s", describe(got))
	}
	person := seqOf(kwrite(0, sre, "issuing/processor-api-token"), kev(90*time.Second, "system:node:kw-2", "issuing/processor-api-token"),
		kwrite(13*24*time.Hour, sre, "issuing/processor-api-token"), kev(14*24*time.Hour, "system:node:kw-2", "other/x"))
	if got := runDetector(t, NewRotationWithoutRead, DefaultConfig(), person); len(got) != 1 || got[0].FirstSeen.Before(t0.Add(13*24*time.Hour)) {
		t.Errorf("a rotation picked up once, missed the second time: %s", describe(got))
	}
}

// TestRotationHabitCarries: the settled writes go into the baseline, so tomorrow's run knows
// the sync from its first write.
func TestRotationHabitCarries(t *testing.T) {
	const eso = "system:serviceaccount:external-secrets:external-secrets"
	var day1, day2 []event.Event
	for i := range 4 {
		day1 = append(day1, kwrite(time.Duration(i)*time.Hour, eso, "cards-batch/statement-smtp"))
		day2 = append(day2, kwrite(24*time.Hour+time.Duration(i)*time.Hour, eso, "cards-batch/statement-smtp"))
	}
	cfg := DefaultConfig()
	env := Env{Config: &cfg, Baseline: baseline.New()}
	res := Run(seqOf(day1...), env)
	if n := count(res.Findings, "rotation-without-read"); n != 2 {
		t.Fatalf("day 1: %d findings, want the first two writes", n)
	}
	if r := env.Baseline.Get(eso); r == nil || r.Rotations["k8s:cards-batch/statement-smtp"][1] != 3 {
		t.Fatalf("day 1 learned %+v", r)
	}
	if n := count(Run(seqOf(day2...), env).Findings, "rotation-without-read"); n != 0 {
		t.Errorf("day 2 with day 1's baseline: %d findings", n)
	}
}

// count sums the writes (Count) of rule's findings: Run merges those of one identity within
// an hour into one.
func count(fs []Finding, rule string) int {
	n := 0
	for _, f := range fs {
		if f.Rule == rule {
			n += f.Count
		}
	}
	return n
}
