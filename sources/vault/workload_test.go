package vault

import (
	"testing"

	"github.com/vaultsentry/vaultsentry/sources"
)

// TestWorkloadFromAuthMetadata: the kubernetes auth method's service account and the aws auth
// method's canonical ARN link a Vault identity to its workload in the other store, on every
// request of the token and on the login's response; other metadata (userpass, OIDC) links
// nothing.
func TestWorkloadFromAuthMetadata(t *testing.T) {
	k8s := `{"time":"2026-09-23T10:26:15.698600501Z","type":"request","auth":{"client_token":"hmac-sha256:2c","accessor":"hmac-sha256:6b","display_name":"k8s-eu1-ledger-ledger-api","policies":["default","ledger-api"],"metadata":{"role":"ledger-api","service_account_name":"ledger-api","service_account_namespace":"ledger","service_account_secret_name":"","service_account_uid":"97c85d41"},"entity_id":"5ec56e42","token_type":"service"},"request":{"id":"r1","operation":"read","mount_point":"kv/","mount_type":"kv","path":"kv/data/ledger/db","remote_address":"10.1.2.3"}}`
	login := `{"time":"2026-09-23T10:27:00Z","type":"response","auth":{"accessor":"hmac-sha256:aa","display_name":"aws-payments-api","policies":["default"],"metadata":{"account_id":"123456789012","auth_type":"iam","canonical_arn":"arn:aws:iam::123456789012:role/payments-api","role_id":"x"},"entity_id":"e-aws","token_type":"service"},"request":{"id":"r2","operation":"update","mount_point":"auth/aws/","mount_type":"aws","path":"auth/aws/login","remote_address":"10.1.2.4"},"response":{"auth":{"accessor":"hmac-sha256:aa","display_name":"aws-payments-api","policies":["default"],"metadata":{"canonical_arn":"arn:aws:iam::123456789012:role/payments-api"},"entity_id":"e-aws"}}}`
	user := `{"time":"2026-09-23T10:28:00Z","type":"request","auth":{"accessor":"hmac-sha256:bb","display_name":"userpass-alice","policies":["default"],"metadata":{"username":"alice"},"entity_id":"e-alice","token_type":"service"},"request":{"id":"r3","operation":"read","mount_point":"kv/","mount_type":"kv","path":"kv/data/app","remote_address":"10.1.2.5"}}`
	for _, tt := range []struct{ line, want string }{
		{k8s, "system:serviceaccount:ledger:ledger-api"},
		{login, "arn:aws:iam::123456789012:role/payments-api"},
		{user, ""},
	} {
		if !checkFastMatchesSonic(t, []byte(tt.line)) {
			t.Errorf("not on the fast path: %.80s", tt.line)
		}
		l, _ := loadVaultBytes(t, "audit.log", []byte(tt.line+"\n"), sources.LoadOptions{})
		if len(l.Events) != 1 || l.Events[0].Workload != tt.want {
			t.Errorf("%.60s: workload %+v, want %q", tt.line, l.Events, tt.want)
		}
	}
}
