package analyze

import (
	"fmt"
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
