package analyze

// NextStep is the one-line form of a finding's remediation, for the terminal table: the first
// thing to do, in about 40 characters. The full text stays in Finding.Remediation (JSON, SARIF,
// HTML) and in `vaultsentry rules explain <rule>`.
func NextStep(f Finding) string {
	cut := cutOff(f)
	switch f.Rule {
	case "admin-off-hours":
		return "ask the admin; else " + cut
	case "audit-disabled":
		if f.Source == "cloudtrail" {
			return "restart the trail, " + cut
		}
		return "re-enable audit, " + cut
	case "audit-gap":
		return "check the server log for the silence"
	case "bulk-read":
		return cut + ", rotate what it read"
	case "privileged-token":
		return "revoke the new token unless planned"
	case "policy-change":
		return "restore the policy from source control"
	case "auth-config-change":
		return "undo unless planned in infra code"
	case "cross-store-access":
		return "revoke every token from that IP"
	case "decoy-access":
		return cut + ": a decoy was touched"
	case "denied-burst":
		return "compare the denials with its policy"
	case "dormant-identity":
		return "confirm the identity should still exist"
	case "dual-source-ip":
		return cut + ", trace the outside IP"
	case "enumeration":
		return "ask the owner if the listing was theirs"
	case "many-source-ips":
		return cut + ", check the addresses"
	case "new-resource":
		return "ask the owner if access is expected"
	case "new-source-account":
		return "check the secret's resource policy"
	case "new-source-ip":
		return "confirm the address with the owner"
	case "resource-policy-change":
		return "drop the new grant, rotate secret"
	case "root-activity":
		return "ask who holds the root login"
	case "rotation-without-read":
		return "restart the secret's consumers"
	case "secret-in-audit-log":
		return "set level Metadata, rotate secrets"
	case "unusual-client":
		return "unknown client? " + cut
	}
	return "see vaultsentry rules explain " + f.Rule
}

// cutOff is the short form of revokeHint: how to stop the credential behind f.
func cutOff(f Finding) string {
	switch f.Source {
	case "cloudtrail":
		if f.Credential != "" {
			return "disable the key"
		}
		return "restrict the principal"
	case "kubernetes":
		return "revoke the SA token"
	}
	return "revoke the token"
}
