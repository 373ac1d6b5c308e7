package analyze

import (
	"fmt"
	"strings"
)

// revokeHint says how to cut off the credential behind a finding.
func revokeHint(f Finding) string {
	switch {
	case f.Source == "cloudtrail" && f.Credential != "":
		return fmt.Sprintf("deactivate the access key: aws iam update-access-key --access-key-id %s --status Inactive "+
			"(for an assumed-role session, revoke the role's active sessions: aws iam put-role-policy with an "+
			"aws:TokenIssueTime condition, or the console's \"Revoke active sessions\"); then "+rotateListed, f.Credential)
	case f.Source == "cloudtrail":
		return "review the principal's permissions and " + rotateListed
	case f.Credential == "":
		return "the request carried no accessor (batch token or login); revoke the identity's tokens with vault token revoke -mode=path on its auth mount, then " + rotateListed
	case strings.HasPrefix(f.Credential, "hmac-sha256:"):
		return "the accessor is HMAC'd by the audit device: find the live accessor with vault list auth/token/accessors and " +
			"vault write sys/audit-hash/<device> input=<accessor> until the hash matches " + f.Credential +
			", then vault token revoke -accessor <accessor>; " + rotateListed
	}
	return fmt.Sprintf("vault token revoke -accessor %s; "+rotateListed, f.Credential)
}
