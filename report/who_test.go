package report

import (
	"testing"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// TestWho: an AWS finding names the role or user and the account, not only the session.
func TestWho(t *testing.T) {
	for _, tc := range []struct{ identity, display, want string }{
		{"arn:aws:iam::428190375562:role/kp-prod-batch-reconciler", "i-0b7d3e9a1c4f25e60", "kp-prod-batch-reconciler/i-0b7d3e9a1c4f25e60 (428190375562)"},
		{"arn:aws:iam::428190375562:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUserAccess_3f1c2d9e8a7b6c5d", "ciaran.walsh",
			"ciaran.walsh (SSO PowerUserAccess, 428190375562)"},
		{"arn:aws:iam::428190375562:user/svc-treasury-export", "svc-treasury-export", "svc-treasury-export (428190375562)"},
		{"arn:aws:sts::428190375562:assumed-role/kp-ci/gha-run-17", "gha-run-17", "kp-ci/gha-run-17 (428190375562)"},
		{"arn:aws:sts::428190375562:federated-user/recon-partner", "recon-partner", "recon-partner (428190375562)"},
		{"5ec56e42-4afe-b267-3f21-6f8f586d16bb", "k8s-eu1-ledger-ledger-api", "k8s-eu1-ledger-ledger-api"},
		{"arn:aws:iam::428190375562:root", "root", "root"},
		{"arn:aws:secretsmanager:eu-west-1:428190375562:secret:x", "", "arn:aws:secretsmanager:eu-west-1:428190375562:secret:x"},
	} {
		if got := who(analyze.Finding{Identity: tc.identity, DisplayName: tc.display}); got != tc.want {
			t.Errorf("who(%s, %s) = %q, want %q", tc.identity, tc.display, got, tc.want)
		}
	}
}
