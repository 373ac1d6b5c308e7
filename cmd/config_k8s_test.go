package cmd

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubernetesConfig: the kubernetes section decodes; cluster networks count as internal;
// mistakes name the key.
func TestKubernetesConfig(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "vaultsentry.yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lc, err := loadConfig(write(`internal_cidrs: [10.8.0.0/16]
kubernetes:
  admins: [system:masters, "oidc:*-admins"]
  operators: ["system:serviceaccount:external-secrets:*"]
  clusters:
    - name: cde-dub1
      pod_cidrs: [100.96.0.0/16]
      node_cidrs: [10.60.8.0/22]
`))
	if err != nil {
		t.Fatal(err)
	}
	k := lc.Analyze.Kubernetes
	if len(k.Admins) != 2 || len(k.Operators) != 1 || len(k.Clusters) != 1 || k.Clusters[0].Name != "cde-dub1" {
		t.Fatalf("kubernetes %+v", k)
	}
	for addr, want := range map[string]bool{"100.96.3.7": true, "10.60.9.21": true, "10.8.1.1": true, "203.0.113.9": false, "100.97.0.1": false} {
		if got := lc.Analyze.IsInternal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsInternal(%s) = %v, want %v", addr, got, want)
		}
	}
	for body, want := range map[string]string{
		"kubernetes:\n  clusters:\n    - pod_cidrs: [100.96.0.0/16]\n":             "kubernetes.clusters[0]: name is required",
		"kubernetes:\n  clusters:\n    - name: a\n      node_cidrs: [10.60.8.0]\n": `kubernetes.clusters[0].node_cidrs: "10.60.8.0" is not a CIDR`,
		"kubernetes:\n  admins: [\"[\"]\n":                                         "kubernetes.admins",
		"kubernetes:\n  operator: [x]\n":                                           "operator",
	} {
		_, err := loadConfig(write(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", body, err, want)
		}
	}
}
