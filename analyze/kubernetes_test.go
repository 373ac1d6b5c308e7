package analyze

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// k8sHarvest: a service account reads 30 distinct Secrets in four minutes from its pod.
func k8sHarvest(user string) []event.Event {
	var evs []event.Event
	for i := range 30 {
		evs = append(evs, kev(time.Duration(i)*8*time.Second, user, fmt.Sprintf("ns%d/secret-%d", i%6, i), from("100.96.14.77")))
	}
	return evs
}

// TestKubernetesBulkRead: the same rule reads Kubernetes Secrets; an identity configured as an
// operator (a secret syncer) stays quiet doing the same.
func TestKubernetesBulkRead(t *testing.T) {
	cfg := DefaultConfig()
	fs := runDetector(t, NewBulkRead, cfg, k8sHarvest("system:serviceaccount:disputes:evidence-ingest"))
	if len(fs) != 1 || fs[0].Source != "kubernetes" {
		t.Fatalf("harvest: %s", describe(fs))
	}
	cfg.Kubernetes.Operators = []string{"system:serviceaccount:external-secrets:*"}
	if fs := runDetector(t, NewBulkRead, cfg, k8sHarvest("system:serviceaccount:external-secrets:external-secrets")); len(fs) != 0 {
		t.Errorf("an operator: %s", describe(fs))
	}
}

// TestKubernetesNewResourceQuiet: Helm's release Secrets (upkeep, marked by the reader) and
// operators never make a first access.
func TestKubernetesNewResourceQuiet(t *testing.T) {
	var evs []event.Event
	day := 24 * time.Hour
	for d := range 3 {
		evs = append(evs, kev(time.Duration(d)*day, "system:serviceaccount:ci-deploy:deployer", "tokenizer/app-config"),
			kev(time.Duration(d)*day, "system:serviceaccount:cert-manager:cert-manager", "ingress/tls-a"))
	}
	helm := kev(4*day, "system:serviceaccount:ci-deploy:deployer", "tokenizer/sh.helm.release.v1.api.v42", withFlags(event.FlagMaintenance))
	cert := kev(4*day, "system:serviceaccount:cert-manager:cert-manager", "ingress/wildcard-tls")
	app := kev(4*day, "system:serviceaccount:ci-deploy:deployer", "issuing/bin-routing-keys")
	cfg := DefaultConfig()
	cfg.Kubernetes.Operators = []string{"system:serviceaccount:cert-manager:*"}
	fs := runDetector(t, NewNewResource, cfg, append(evs, helm, cert, app))
	if len(fs) != 1 || fs[0].Resources[0] != "k8s:issuing/bin-routing-keys" {
		t.Errorf("want only the application secret: %s", describe(fs))
	}
}

// klist builds a Kubernetes list of Secrets: in one namespace, or in all of them ("").
func klist(at time.Duration, user, ns string, opts ...func(*event.Event)) event.Event {
	ev := kev(at, user, ns+"/", opts...)
	ev.Op, ev.Action, ev.Namespace = event.OpList, "list", ns
	ev.SetName(-1)
	if ns == "" {
		ev.Resource, ev.Flags = "k8s:*", ev.Flags|event.FlagListAll
	}
	return ev
}

// TestKubernetesEnumeration: a list of every namespace's Secrets, or of kube-system's, is
// enumeration; an operator's list, and a workload listing its own namespace, are not.
func TestKubernetesEnumeration(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kubernetes.Operators = []string{"system:kube-controller-manager"}
	for _, c := range []struct {
		name string
		ev   event.Event
		want int
	}{
		{"all namespaces", klist(time.Hour, "system:serviceaccount:pci-logging:log-shipper", ""), 1},
		{"kube-system, denied", klist(time.Hour, "system:serviceaccount:settlement:recon-batch", "kube-system", denied), 1},
		{"an operator, all namespaces", klist(time.Hour, "system:kube-controller-manager", ""), 0},
		{"its own namespace", klist(time.Hour, "system:serviceaccount:settlement:recon-batch", "settlement"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if fs := runDetector(t, NewEnumeration, cfg, []event.Event{c.ev}); len(fs) != c.want {
				t.Errorf("%d findings, want %d: %s", len(fs), c.want, describe(fs))
			}
		})
	}
}

// TestKubernetesAdminOffHours: a member of an admins group reading Secrets at night is
// admin-off-hours; the same at noon, and a user outside the group at night, are not.
func TestKubernetesAdminOffHours(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kubernetes.Admins = []string{"oidc:kp-cde-admins"}
	admin := withPolicies("oidc:kp-cde-admins", "system:authenticated")
	for _, c := range []struct {
		name string
		ev   event.Event
		want int
	}{
		{"admin at 23:00", kev(13*time.Hour, "oidc:siobhan.kelly@kestrelpay.io", "card-vault/pan-db", admin), 1},
		{"admin at 10:00", kev(0, "oidc:siobhan.kelly@kestrelpay.io", "card-vault/pan-db", admin), 0},
		{"no admin at 23:00", kev(13*time.Hour, "oidc:tomas.novak@kestrelpay.io", "acquiring/acq-db", withPolicies("oidc:kp-developers")), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if fs := runDetector(t, NewAdminOffHours, cfg, []event.Event{c.ev}); len(fs) != c.want {
				t.Errorf("%d findings, want %d: %s", len(fs), c.want, describe(fs))
			}
		})
	}
}

// TestKubernetesNodeAgent: a kubelet restarting on a full node re-reads the Secrets of its 40
// pods within a minute: no bulk-read and no new-resource (the Node authorizer limits it to its
// pods' Secrets); the same reads by a service account are a harvest.
func TestKubernetesNodeAgent(t *testing.T) {
	restart := func(user string, opts ...func(*event.Event)) []event.Event {
		var evs []event.Event
		for d := range 3 { // a known history of one secret
			evs = append(evs, kev(time.Duration(d)*24*time.Hour, user, "ns0/app-0", opts...))
		}
		for i := range 40 {
			evs = append(evs, kev(72*time.Hour+time.Duration(i)*time.Second, user, fmt.Sprintf("ns%d/app-%d", i%9, i), opts...))
		}
		return evs
	}
	cfg := DefaultConfig()
	cfg.LearnUntil = t0.Add(48 * time.Hour)
	res := Run(restart("system:node:kw-dub1-05", withFlags(event.FlagNodeAgent), from("10.60.9.25")), Env{Config: &cfg})
	if len(res.Findings) != 0 {
		t.Errorf("a kubelet restart: %s", describe(res.Findings))
	}
	res = Run(restart("system:serviceaccount:disputes:evidence-ingest", from("10.60.9.25")), Env{Config: &cfg})
	if got := rulesOf(res.Findings); !slices.Contains(got, "bulk-read") || !slices.Contains(got, "new-resource") {
		t.Errorf("the same reads by a service account: %v", got)
	}
}

// TestKubernetesRolloutQuiet: a rollout restarting 40 pods that each read their two secrets
// within a minute (80 gets of 2 distinct secrets, each pod with its own token) is no harvest
// and no first access.
func TestKubernetesRolloutQuiet(t *testing.T) {
	const sa = "system:serviceaccount:authorisation:auth-router"
	var evs []event.Event
	for d := range 3 { // the deployment's history
		evs = append(evs, kev(time.Duration(d)*24*time.Hour, sa, "authorisation/auth-router-hmac", withCred("JTI=old")),
			kev(time.Duration(d)*24*time.Hour+time.Second, sa, "authorisation/auth-router-db", withCred("JTI=old")))
	}
	for p := range 40 {
		at := 72*time.Hour + time.Duration(p)*time.Second
		cred := withCred(fmt.Sprintf("JTI=pod-%d", p))
		evs = append(evs, kev(at, sa, "authorisation/auth-router-hmac", cred, from(fmt.Sprintf("100.96.3.%d", p+10))),
			kev(at+200*time.Millisecond, sa, "authorisation/auth-router-db", cred, from(fmt.Sprintf("100.96.3.%d", p+10))))
	}
	cfg := DefaultConfig()
	cfg.LearnUntil = t0.Add(48 * time.Hour)
	if res := Run(sortedByTime(evs), Env{Config: &cfg}); len(res.Findings) != 0 {
		t.Errorf("a rollout of 40 pods: %s", describe(res.Findings))
	}
}
