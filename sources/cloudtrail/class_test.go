package cloudtrail

import (
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
)

// TestCTClass: IAM Identity Center sessions, the root user and console sessions are people;
// assumed roles and AWS services are workloads; an IAM user's access key could be either.
func TestCTClass(t *testing.T) {
	sso := "arn:aws:iam::428190375562:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUserAccess_3f1c2d9e8a7b6c5d"
	for _, tc := range []struct {
		name      string
		id        *ctIdentity
		principal string
		service   bool
		console   bool
		want      event.Class
	}{
		{"SSO session", &ctIdentity{Type: "AssumedRole"}, sso, false, false, event.ClassPerson},
		{"instance role", &ctIdentity{Type: "AssumedRole"}, "arn:aws:iam::428190375562:role/kp-prod-batch-reconciler", false, false, event.ClassWorkload},
		{"root", &ctIdentity{Type: "Root"}, "arn:aws:iam::428190375562:root", false, false, event.ClassPerson},
		{"IAM user with a key", &ctIdentity{Type: "IAMUser"}, "arn:aws:iam::428190375562:user/svc-treasury-export", false, false, event.ClassUnknown},
		{"IAM user in the console", &ctIdentity{Type: "IAMUser"}, "arn:aws:iam::428190375562:user/alice", false, true, event.ClassPerson},
		{"AWS service", &ctIdentity{Type: "AWSService"}, "secretsmanager.amazonaws.com", true, false, event.ClassWorkload},
		{"no identity", nil, "", false, false, event.ClassUnknown},
	} {
		if got := ctClass(tc.id, tc.principal, tc.service, tc.console); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
