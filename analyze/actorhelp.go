package analyze

import (
	"net/netip"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// actorIsAdmin reports whether ev was made by an administrator: a Vault token with the root
// policy or one of the configured administrator policies, or an AWS principal matching the
// configured administrator ARNs, or a Kubernetes user or group in kubernetes.admins.
func actorIsAdmin(c *Config, ev *event.Event) bool {
	switch ev.Kind {
	case event.KindCloudTrail:
		return c.IsAdminARN(ev.Principal)
	case event.KindVault:
		return ev.Has(event.FlagRootToken) || c.IsAdminPolicy(ev.Policies)
	case event.KindKubernetes:
		return c.IsClusterAdmin(ev.Principal, ev.Policies) // the reader keeps the user's groups in Policies
	}
	return false
}

// isServicePrincipal reports whether ev was made by a cloud service rather than by an actor of
// its own: an AWS service acting on a caller's behalf (invokedBy), or a service-linked role
// such as AWS Config's AWSServiceRoleForConfig.
func isServicePrincipal(ev *event.Event) bool {
	if ev.Has(event.FlagServiceActor) {
		return true
	}
	if ev.Kind != event.KindCloudTrail {
		return false
	}
	p := ev.Principal
	return strings.Contains(p, ":role/aws-service-role/") || strings.Contains(p, "/AWSServiceRoleFor")
}

// nsRelative is a Vault event's path without its namespace prefix ("ns1/sys/auth/x" in
// namespace "ns1/" is "sys/auth/x"), so control-plane paths compare the same in every namespace.
func nsRelative(ev *event.Event) string {
	return strings.TrimPrefix(ev.Path, ev.Namespace)
}

// burstFor applies a per-identity override of rule to base (see Config.BurstFor).
func burstFor(c *Config, rule string, ev *event.Event, base BurstConfig) BurstConfig {
	return c.BurstFor(rule, base, ev.Actor(), ev.DisplayName)
}

// countFor applies a per-identity override of rule to base (see Config.CountFor).
func countFor(c *Config, rule string, ev *event.Event, base CountConfig) CountConfig {
	return c.CountFor(rule, base, ev.Actor(), ev.DisplayName)
}

// clientKey is how an address counts as one client: an IPv4 address by itself, an IPv6 address
// by its /64, because one host rotates its privacy addresses inside its /64 all day.
func clientKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// timedKey is one event in a sliding window: when, which key it counts under, and where.
type timedKey struct {
	t      time.Time
	pos    event.Pos
	key    string
	denied bool
}

func newTimedKey(ev *event.Event, key string) timedKey {
	return timedKey{t: ev.Time, pos: ev.Pos, key: key, denied: ev.Outcome == event.OutcomeDenied}
}

func (k timedKey) evidence() Evidence { return Evidence{File: k.pos.File, Line: k.pos.Line, Time: k.t} }

// credentialHint says briefly how to revoke the credential behind a finding, for remediations
// that are not about stolen secret values.
func credentialHint(f Finding) string {
	switch {
	case f.Source == "cloudtrail" && f.Credential != "":
		return "aws iam update-access-key --access-key-id " + f.Credential + " --status Inactive, or revoke the role's sessions"
	case f.Source == "cloudtrail":
		return "review the principal's permissions"
	case f.Credential == "":
		return "vault token revoke -mode=path on the identity's auth mount"
	case strings.HasPrefix(f.Credential, "hmac-sha256:"):
		return "find the live accessor whose sys/audit-hash matches " + f.Credential + ", then vault token revoke -accessor"
	}
	return "vault token revoke -accessor " + f.Credential
}

// readsForOthers reports whether ev's actor is expected to read, list or watch many secrets:
// an operator named in the config (kubernetes.operators), or a node agent reading for its pods
// (event.FlagNodeAgent). bulk-read, enumeration and new-resource leave them out.
func readsForOthers(c *Config, ev *event.Event) bool {
	return ev.Has(event.FlagNodeAgent) || c.IsOperator(ev.Actor(), ev.DisplayName)
}
