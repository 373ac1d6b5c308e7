package vault

import "github.com/vaultsentry/vaultsentry/sources"

// principal interns vaultPrincipal(entityID, ns, displayName).
func internPrincipal(l *sources.LocalInterner, entityID, ns, displayName string) string {
	switch {
	case entityID != "":
		return l.Str(entityID)
	case displayName == "":
		return ""
	}
	return l.Concat(ns, displayName)
}

// internPolicies interns a token's effective policies (see effectivePolicies).
func internPolicies(l *sources.LocalInterner, policies, tokenPolicies, identityPolicies []string) []string {
	return l.ListOf(func(dst []string) []string { return effectivePolicies(dst, policies, tokenPolicies, identityPolicies) })
}
