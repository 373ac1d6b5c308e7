package vault

import (
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestVaultClass: people log in through OIDC, userpass or LDAP; a token whose metadata names a
// service account is a workload's whatever its mount is called; a mount at a custom path says
// nothing.
func TestVaultClass(t *testing.T) {
	for _, tc := range []struct {
		display, workload string
		want              event.Class
	}{
		{"oidc-liam.byrne@kestrelpay.io", "", event.ClassPerson},
		{"userpass-tkowalski", "", event.ClassPerson},
		{"ldap-maria", "", event.ClassPerson},
		{"approle", "", event.ClassWorkload},
		{"k8s-eu1-risk-fraud-model", "system:serviceaccount:risk:fraud-model", event.ClassWorkload},
		{"people-alice", "system:serviceaccount:a:b", event.ClassWorkload},
		{"people-alice", "", event.ClassUnknown},
		{"token-backup-operator", "", event.ClassUnknown},
	} {
		if got := vaultClass(tc.display, tc.workload); got != tc.want {
			t.Errorf("vaultClass(%q, %q) = %s, want %s", tc.display, tc.workload, got, tc.want)
		}
	}
}
