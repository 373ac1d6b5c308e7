package analyze

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// kev builds a Kubernetes Secret read as the audit reader makes it.
func kev(at time.Duration, user, secret string, opts ...func(*event.Event)) event.Event {
	ev := vev(at, user, event.OpRead, secret, opts...)
	ev.Kind, ev.Action = event.KindKubernetes, "get"
	ev.Principal, ev.DisplayName = user, user
	ev.Resource, ev.Path = "k8s:"+secret, "/api/v1/namespaces/"+secret
	ev.SetName(len("k8s:"))
	return ev
}

// crossRun runs the whole engine over evs, the first two days learning only, and returns the
// cross-store findings.
func crossRun(t *testing.T, evs []event.Event) []Finding {
	t.Helper()
	cfg := DefaultConfig()
	evs = sortedByTime(evs)
	cfg.LearnUntil = evs[0].Time.Add(48 * time.Hour)
	res := Run(evs, Env{Config: &cfg})
	var out []Finding
	for _, f := range res.Findings {
		if f.Rule == "cross-store-access" {
			out = append(out, f)
		}
	}
	return out
}

func sortedByTime(evs []event.Event) []event.Event {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time.Before(evs[j-1].Time); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	return evs
}

const attacker = "194.165.16.73"

// harvestAcross: the stolen Kubernetes token reads secrets from the attacker's address, then
// the AWS key found among them reads Secrets Manager from the same address 30 minutes later.
func harvestAcross(gap time.Duration, addr string) []event.Event {
	var evs []event.Event
	// History: both identities at home (pod address, data centre NAT) for days.
	for d := range 3 {
		day := time.Duration(d) * 24 * time.Hour
		evs = append(evs,
			kev(day, "system:serviceaccount:disputes:evidence-ingest", "disputes/evidence-store-creds", from("100.96.14.77")),
			aev(day+time.Hour, "svc-archive", "", "GetSecretValue", event.OpRead, "prod/cde/archive-gpg-passphrase", from("198.51.100.40")))
	}
	at := 3*24*time.Hour + 2*time.Hour
	for i, s := range []string{"card-archive/aws-archive-writer", "issuing/issuing-db", "card-vault/kek"} {
		evs = append(evs, kev(at+time.Duration(i)*time.Minute, "system:serviceaccount:disputes:evidence-ingest", s, from(addr)))
	}
	evs = append(evs,
		aev(at+gap, "svc-archive", "", "GetSecretValue", event.OpRead, "prod/cde/hsm-backup-wrap-key", from(addr)),
		aev(at+gap+2*time.Minute, "svc-archive", "", "GetSecretValue", event.OpRead, "prod/cde/archive-s3-sse-key", from(addr)))
	return evs
}

func TestCrossStore(t *testing.T) {
	fs := crossRun(t, harvestAcross(30*time.Minute, attacker))
	if len(fs) != 1 {
		t.Fatalf("%d cross-store findings, want 1: %s", len(fs), describe(fs))
	}
	f := fs[0]
	if f.Identity != attacker || f.Severity != High || f.Source != "cloudtrail+kubernetes" {
		t.Errorf("finding %+v", f)
	}
	if !strings.Contains(f.DisplayName, "evidence-ingest") || !strings.Contains(f.DisplayName, "svc-archive") {
		t.Errorf("display name %q should name both identities", f.DisplayName)
	}
	if len(f.Resources) != 4 || f.Resources[0] != "k8s:card-archive/aws-archive-writer" {
		t.Errorf("resources %q", f.Resources)
	}
}

// TestCrossStoreDeniedFirst: a denied request before the reads teaches the baseline the
// address; the address is still new to the identity for this episode.
func TestCrossStoreDeniedFirst(t *testing.T) {
	evs := harvestAcross(30*time.Minute, attacker)
	first := kev(3*24*time.Hour+2*time.Hour-time.Minute, "system:serviceaccount:disputes:evidence-ingest", "*", from(attacker), denied)
	first.Op = event.OpList
	if fs := crossRun(t, append(evs, first)); len(fs) != 1 {
		t.Errorf("%d findings, want 1: %s", len(fs), describe(fs))
	}
}

// TestCrossStoreQuiet: the nearby cases that must stay quiet.
func TestCrossStoreQuiet(t *testing.T) {
	t.Run("two stores more than the window apart", func(t *testing.T) {
		if fs := crossRun(t, harvestAcross(2*time.Hour, attacker)); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("an internal address", func(t *testing.T) {
		if fs := crossRun(t, harvestAcross(30*time.Minute, "10.8.31.77")); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("one store only", func(t *testing.T) {
		var evs []event.Event
		for _, ev := range harvestAcross(30*time.Minute, attacker) {
			if ev.Kind == event.KindKubernetes {
				evs = append(evs, ev)
			}
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("the office NAT both identities always use", func(t *testing.T) {
		office := "198.51.100.24"
		var evs []event.Event
		for d := range 5 {
			day := time.Duration(d) * 24 * time.Hour
			evs = append(evs,
				vev(day, "liam.byrne", event.OpRead, "kv/data/team/a", from(office)),
				aev(day+10*time.Minute, "developer", "liam.byrne", "GetSecretValue", event.OpRead, "dev/a", from(office)))
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("denied reads and the control plane", func(t *testing.T) {
		evs := harvestAcross(30*time.Minute, attacker)
		for i := range evs {
			if evs[i].RemoteAddr.String() != attacker {
				continue
			}
			if evs[i].Kind == event.KindCloudTrail {
				evs[i].Outcome = event.OutcomeDenied
			}
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("denied AWS reads: got %s", describe(fs))
		}
		evs = harvestAcross(30*time.Minute, attacker)
		for i := range evs {
			if evs[i].RemoteAddr.String() == attacker && evs[i].Kind == event.KindCloudTrail {
				evs[i].Flags |= event.FlagControl
			}
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("control-plane calls: got %s", describe(fs))
		}
	})
}

// TestCrossStoreEpisodes: reads that go on are one finding; after a quiet window the address
// is reported again.
func TestCrossStoreEpisodes(t *testing.T) {
	evs := harvestAcross(30*time.Minute, attacker)
	last := evs[len(evs)-1]
	for i := 1; i <= 5; i++ {
		e := last
		e.Time = last.Time.Add(time.Duration(i) * 5 * time.Minute)
		evs = append(evs, e)
	}
	if fs := crossRun(t, evs); len(fs) != 1 {
		t.Fatalf("a harvest that goes on: %d findings, want 1", len(fs))
	}
	later := harvestAcross(30*time.Minute, attacker)
	shift := 6 * time.Hour
	for _, e := range later[len(later)-5:] {
		e.Time = e.Time.Add(shift)
		e.Principal += "-2" // other stolen identities: the address is new to them too
		evs = append(evs, e)
	}
	if fs := crossRun(t, evs); len(fs) != 2 {
		t.Errorf("a second episode six hours later: %d findings, want 2", len(fs))
	}
}

// linkedVault is a Vault read by the entity a service account's pods log in as (kubernetes
// auth: the token's metadata names the service account).
func linkedVault(at time.Duration, sa, path string, opts ...func(*event.Event)) event.Event {
	ev := vev(at, "k8s-ledger-api", event.OpRead, path, append(opts, from("100.96.3.7"))...)
	ev.Workload = sa
	return ev
}

// TestCrossStoreWorkload: a workload that always read Vault through the kubernetes auth method
// starts reading Kubernetes Secrets with its service account's token: one finding named by the
// service account, from internal addresses too. A workload new in both stores (a deployment),
// and one that always read both, stay quiet.
func TestCrossStoreWorkload(t *testing.T) {
	const sa = "system:serviceaccount:ledger:ledger-api"
	var home []event.Event
	for d := range 3 {
		home = append(home, linkedVault(time.Duration(d)*24*time.Hour, sa, "kv/data/ledger/db"))
	}
	at := 3*24*time.Hour + 2*time.Hour
	evs := append(slices.Clone(home), linkedVault(at, sa, "kv/data/ledger/db"),
		kev(at+5*time.Minute, sa, "ledger/ledger-db", from("100.96.3.7")), kev(at+6*time.Minute, sa, "issuing/issuing-db", from("100.96.3.7")))
	fs := crossRun(t, evs)
	if len(fs) != 1 || fs[0].Identity != sa || fs[0].Source != "kubernetes+vault" || !strings.Contains(fs[0].Message, "new for it in kubernetes") {
		t.Fatalf("want one finding for the workload: %s", describe(fs))
	}

	t.Run("a new workload in both stores", func(t *testing.T) {
		evs := []event.Event{linkedVault(at, sa, "kv/data/ledger/db"), kev(at+time.Minute, sa, "ledger/ledger-db", from("100.96.3.7"))}
		if fs := crossRun(t, append(evs, kev(0, "system:node:kw-1", "x/y"))); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("a workload that always read both stores", func(t *testing.T) {
		var evs []event.Event
		for d := range 4 {
			day := time.Duration(d)*24*time.Hour + 2*time.Hour
			evs = append(evs, linkedVault(day, sa, "kv/data/ledger/db"), kev(day+time.Minute, sa, "ledger/ledger-db", from("100.96.3.7")))
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
	t.Run("no link: the Vault identity is not the service account", func(t *testing.T) {
		var evs []event.Event
		for _, ev := range append(slices.Clone(home), linkedVault(at, sa, "kv/data/ledger/db"), kev(at+5*time.Minute, sa, "ledger/ledger-db", from("100.96.3.7"))) {
			ev.Workload = ""
			evs = append(evs, ev)
		}
		if fs := crossRun(t, evs); len(fs) != 0 {
			t.Errorf("got %s", describe(fs))
		}
	})
}

// TestCrossStoreWorkloadConfig: the workloads section links identities the logs do not: an IAM
// role that reads Secrets Manager every day logs in to Vault (userpass, no aws metadata) for the
// first time. Without the section the two are strangers.
func TestCrossStoreWorkloadConfig(t *testing.T) {
	var evs []event.Event
	for d := range 3 {
		evs = append(evs, aev(time.Duration(d)*24*time.Hour, "payments-api", "", "GetSecretValue", event.OpRead, "prod/payments/db", from("10.0.0.5")))
	}
	at := 3*24*time.Hour + 2*time.Hour
	evs = append(evs, aev(at, "payments-api", "", "GetSecretValue", event.OpRead, "prod/payments/db", from("10.0.0.5")),
		vev(at+10*time.Minute, "payments-api-vault", event.OpRead, "kv/data/payments/psp", from("10.0.0.5")))
	run := func(cfg Config) []Finding {
		evs := sortedByTime(slices.Clone(evs))
		cfg.LearnUntil = evs[0].Time.Add(48 * time.Hour)
		var out []Finding
		for _, f := range Run(evs, Env{Config: &cfg}).Findings {
			if f.Rule == "cross-store-access" {
				out = append(out, f)
			}
		}
		return out
	}
	if fs := run(DefaultConfig()); len(fs) != 0 {
		t.Errorf("without the workloads section: %s", describe(fs))
	}
	cfg := DefaultConfig()
	cfg.Workloads = []Workload{{Name: "payments-api", Identities: []string{"arn:aws:iam::*:role/payments-api", "payments-api-vault"}}}
	if fs := run(cfg); len(fs) != 1 || fs[0].Identity != "payments-api" {
		t.Errorf("with the workloads section: %s", describe(fs))
	}
}

// TestCrossStoreWorkloadAndAddress: when the workload's new reads come from an attacker's
// address that is itself a cross-store episode, the address's finding names the workload and
// there is no second finding.
func TestCrossStoreWorkloadAndAddress(t *testing.T) {
	const sa = "system:serviceaccount:disputes:evidence-ingest"
	var evs []event.Event
	for _, ev := range harvestAcross(30*time.Minute, attacker) {
		if ev.Kind != event.KindKubernetes || ev.RemoteAddr.String() == attacker { // its pods read Vault, not Kubernetes
			evs = append(evs, ev)
		}
	}
	for d := range 3 { // the service account's pods read Vault every day through kubernetes auth
		evs = append(evs, linkedVault(time.Duration(d)*24*time.Hour+3*time.Hour, sa, "kv/data/disputes/evidence"))
	}
	evs = append(evs, linkedVault(3*24*time.Hour+2*time.Hour-10*time.Minute, sa, "kv/data/disputes/evidence"))
	fs := crossRun(t, evs)
	if len(fs) != 1 || fs[0].Identity != attacker || !strings.Contains(fs[0].Message, "belong to workload "+sa) {
		t.Errorf("want the address's finding naming the workload: %s", describe(fs))
	}
}
