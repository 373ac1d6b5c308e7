package analyze

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// The control-plane detectors report the Vault / OpenBao changes that peers (Elastic, Panther,
// Splunk, Sigma) alert on, one rule per family. Each finding says who made the change (identity
// and display name), from where (source addresses) and what changed (the request paths, with
// their namespace prefix). Only successful requests are changes: a denied attempt changed
// nothing (denied-burst and decoy-access see the probing). Reads and lists (GET
// sys/policies/acl/x, sys/mounts) are not changes. Paths are compared without their namespace
// prefix, so "ns1/sys/auth/x" in namespace ns1/ is an auth method change like "sys/auth/x".
// Changes by one identity less than an hour apart make one finding that lists them all.
//
// Severities (README, "Severity"):
//
//	privileged-token    high; critical for a token with the root policy and for sys/generate-root
//	policy-change       high
//	auth-config-change  high; critical for sys/raw (raw storage bypasses every ACL and the
//	                    barrier's audit semantics); medium for sys/unseal (every restart)
//
// Known false positives: every one of these is also routine administration (Terraform applies,
// an operator's change window). They are reported because they are rare and each is worth a
// look; ignore entries with an expiry can silence a planned change.

// controlChange is one classified control-plane request.
type controlChange struct {
	rule string
	sev  Severity
	verb string // what happened, e.g. "enabled auth method"
}

// classifyControl says which control-plane rule a Vault request belongs to, if any.
func classifyControl(c *Config, ev *event.Event) (controlChange, bool) {
	if ev.Kind != event.KindVault || ev.Outcome != event.OutcomeOK {
		return controlChange{}, false
	}
	rel := nsRelative(ev)
	act := ev.Action
	write := act == "create" || act == "update" || act == "patch" || act == "delete"
	after := func(prefix string) (string, bool) {
		if !strings.HasPrefix(rel, prefix) {
			return "", false
		}
		rest := strings.Trim(rel[len(prefix):], "/")
		return rest, rest != ""
	}

	// privileged-token
	if strings.HasPrefix(rel, "auth/token/create") && write && !ev.Has(event.FlagRootToken) {
		switch {
		case slices.Contains(ev.NewPolicies, "root"):
			return controlChange{"privileged-token", Critical, "created a token with the root policy"}, true
		case c.IsAdminPolicy(ev.NewPolicies) && ev.Has(event.FlagOrphan):
			return controlChange{"privileged-token", High, "created an orphan token with administrator policies " + strings.Join(ev.NewPolicies, ",")}, true
		case c.IsAdminPolicy(ev.NewPolicies):
			return controlChange{"privileged-token", High, "created a token with administrator policies " + strings.Join(ev.NewPolicies, ",")}, true
		case ev.Has(event.FlagOrphan):
			return controlChange{"privileged-token", High, "created an orphan token"}, true
		}
		return controlChange{}, false
	}
	if rel == "sys/generate-root" || strings.HasPrefix(rel, "sys/generate-root/") {
		if write {
			return controlChange{"privileged-token", Critical, "root token generation (" + act + ")"}, true
		}
		return controlChange{}, false
	}

	// policy-change
	for _, p := range []string{"sys/policy/", "sys/policies/acl/", "sys/policies/rgp/", "sys/policies/egp/"} {
		if _, ok := after(p); ok && write {
			verb := "wrote policy"
			if act == "delete" {
				verb = "deleted policy"
			}
			return controlChange{"policy-change", High, verb}, true
		}
	}

	// auth-config-change
	if rel == "sys/raw" || strings.HasPrefix(rel, "sys/raw/") {
		return controlChange{"auth-config-change", Critical, "raw storage access (" + act + ")"}, true
	}
	if !write {
		return controlChange{}, false
	}
	if rest, ok := after("sys/auth/"); ok {
		return controlChange{"auth-config-change", High, mountVerb(act, rest, "auth method")}, true
	}
	if rest, ok := after("sys/mounts/"); ok {
		return controlChange{"auth-config-change", High, mountVerb(act, rest, "secrets engine")}, true
	}
	switch {
	case rel == "sys/remount" || strings.HasPrefix(rel, "sys/remount/"):
		return controlChange{"auth-config-change", High, "moved a mount"}, true
	case rel == "sys/seal":
		return controlChange{"auth-config-change", High, "sealed the cluster"}, true
	case rel == "sys/unseal":
		return controlChange{"auth-config-change", Medium, "submitted an unseal key"}, true
	case strings.HasPrefix(rel, "sys/replication/"):
		return controlChange{"auth-config-change", High, "changed replication (" + act + ")"}, true
	case strings.HasPrefix(rel, "sys/namespaces/"):
		if act == "delete" {
			return controlChange{"auth-config-change", High, "deleted a namespace"}, true
		}
		return controlChange{"auth-config-change", High, "created or changed a namespace"}, true
	case strings.HasPrefix(rel, "sys/plugins/catalog/"):
		return controlChange{"auth-config-change", High, "registered or removed a plugin (" + act + ")"}, true
	}
	// auth/<mount>/config: the trust an auth method places in its issuer (JWT keys, Kubernetes
	// CA, LDAP server); rewriting it lets anyone the new issuer vouches for log in.
	if strings.HasPrefix(rel, "auth/") && !strings.HasPrefix(rel, "auth/token/") {
		parts := strings.SplitN(rel, "/", 4)
		if len(parts) >= 3 && parts[2] == "config" {
			return controlChange{"auth-config-change", High, "configured auth method"}, true
		}
	}
	return controlChange{}, false
}

// mountVerb names a change under sys/auth/ or sys/mounts/.
func mountVerb(act, rest, kind string) string {
	switch {
	case strings.HasSuffix(rest, "/tune"):
		return "tuned " + kind
	case act == "delete":
		return "disabled " + kind
	}
	return "enabled " + kind
}

// controlPlane is one control-plane rule.
type controlPlane struct {
	env   Env
	rule  Rule
	open  map[string]*controlRun
	due   window.Deadlines[string] // when each open run has been quiet for mergeWindow
	found []Finding
}

type controlRun struct {
	f       Finding
	changes []string // "verb path", in order, at most MaxResources
	paths   set
	n       int
}

// NewPrivilegedToken builds privileged-token: creation of a token with the root policy or an
// administrator policy, or of an orphan token, by any identity but the root token (bootstrap
// work is root-token-use's concern); and sys/generate-root.
//
// Why: a new privileged or orphan token is how an intruder keeps access after the credential
// they came in with is revoked: an orphan token survives the revocation of its parent, and a
// periodic one never expires. The created token's policies come from the response
// (ev.NewPolicies); a token created from a role without them in the log is missed.
func NewPrivilegedToken(env Env) Detector {
	return &controlPlane{env: env, open: map[string]*controlRun{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault), Group: GroupIdentity, ID: "privileged-token", Name: "Privileged or orphan token created", Severity: High,
		Summary: "a token with the root or an administrator policy, or an orphan token, is created; or root generation starts",
		Help: "Creating a token with the root policy or an administrator policy (admin_policies), or an orphan token " +
			"(auth/token/create-orphan, no_parent), gives its holder access that outlives the creator's own token. " +
			"sys/generate-root builds a new root token from unseal key shares. Severity high; critical for root-policy tokens " +
			"and root generation. The root token's own bootstrap work is not reported here.",
		Guide: "Find the created token's accessor in the response of the logged request and revoke it (vault token revoke " +
			"-accessor ...) unless the creation was planned; ask the creator why; for generate-root, confirm with the key holders.",
		MITRE: []string{"T1136", "T1078", "T1098"},
	}}
}

// NewPolicyChange builds policy-change: writes and deletes of ACL, RGP and EGP policies.
//
// Why: rewriting a policy is the quietest privilege escalation there is: the attacker's
// existing token gains the new rights at its next request, with no new login to notice.
func NewPolicyChange(env Env) Detector {
	return &controlPlane{env: env, open: map[string]*controlRun{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault), Group: GroupIdentity, ID: "policy-change", Name: "Vault policy changed", Severity: High,
		Summary: "a policy is written or deleted (sys/policy/*, sys/policies/acl|rgp|egp/*)",
		Help: "Every token that carries a policy gains what a rewrite adds, at its next request. Reports writes and deletes of " +
			"sys/policy/<name> and sys/policies/acl|rgp|egp/<name>; reads are not changes. Known false positives: planned changes " +
			"by Terraform or an operator (add an ignore entry with an expiry for a change window).",
		Guide: "Compare the policy with its version in source control (vault policy read <name>); check who holds it and what " +
			"those tokens read after the change.",
		MITRE: []string{"T1098", "T1484"},
	}}
}

// NewAuthConfigChange builds auth-config-change: auth methods and secrets engines enabled,
// disabled or tuned; auth method configuration; raw storage; seal and unseal; replication,
// namespace and plugin administration.
//
// Why: a new auth method, or a rewritten issuer in an existing one, is a door the attacker
// controls; disabling a secrets engine destroys its data; sys/raw reads and writes storage
// beneath every ACL.
func NewAuthConfigChange(env Env) Detector {
	return &controlPlane{env: env, open: map[string]*controlRun{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault), Group: GroupIdentity, ID: "auth-config-change", Name: "Auth method, secrets engine or cluster configuration changed", Severity: High,
		Summary: "an auth method or secrets engine is enabled, disabled, tuned or reconfigured, or the cluster is administered",
		Help: "Reports sys/auth/* and sys/mounts/* enable, disable and tune, writes of auth/<mount>/config, sys/remount, sys/raw " +
			"(critical), sys/seal, sys/unseal (medium, when audited), sys/replication/*, sys/namespaces/* and sys/plugins/catalog/* " +
			"writes. Known false positives: planned Terraform applies and upgrades.",
		Guide: "Check the change against the infrastructure code (vault auth list -detailed, vault secrets list -detailed); a new " +
			"auth method or a changed issuer can mint logins: disable it and revoke the tokens it issued (vault token revoke " +
			"-mode=path auth/<mount>).",
		MITRE: []string{"T1556", "T1098", "T1562"},
	}}
}

// Rule describes the detector's rule.
func (d *controlPlane) Rule() Rule { return d.rule }

// Observe records one change of this rule.
func (d *controlPlane) Observe(ev *event.Event) {
	d.due.Due(ev.Time, d.close) // runs quiet for a window end, whatever comes next
	ch, ok := classifyControl(d.env.Config, ev)
	if !ok || ch.rule != d.rule.ID {
		return
	}
	key := ev.Actor()
	if key == "" {
		key = "addr:" + ev.RemoteAddr.String() // generate-root and unseal take no token
	}
	r := d.open[key]
	if r != nil && ev.Time.Sub(r.f.LastSeen) > mergeWindow {
		d.close(key)
		r = nil
	}
	if r == nil {
		r = &controlRun{f: newFinding(d.rule, ev)}
		r.f.Severity = ch.sev
		d.open[key] = r
	}
	r.n++
	r.f.Count++
	r.f.LastSeen = ev.Time
	if ch.sev > r.f.Severity {
		r.f.Severity = ch.sev
	}
	if len(r.changes) < MaxResources {
		r.changes = append(r.changes, ev.Path+": "+ch.verb)
	}
	r.paths.add(ev.Path)
	r.f.addEvidence(evidenceOf(ev))
	r.f.SourceIPs = appendAddr(r.f.SourceIPs, ev.RemoteAddr)
	d.due.Set(key, ev.Time.Add(mergeWindow))
}

func (d *controlPlane) close(key string) {
	r := d.open[key]
	delete(d.open, key)
	d.due.Remove(key)
	f := r.f
	f.Resources = r.paths.sorted(MaxResources)
	who := f.DisplayName
	if who == "" {
		who = f.Identity
	}
	if who == "" {
		who = "an unauthenticated client"
	}
	from := "an unknown address"
	if len(f.SourceIPs) > 0 {
		from = strings.Join(f.SourceIPs, ", ")
	}
	when := f.FirstSeen.UTC().Format(time.RFC3339)
	if f.LastSeen.After(f.FirstSeen) {
		when += " to " + f.LastSeen.UTC().Format(time.RFC3339)
	}
	f.Message = fmt.Sprintf("%s from %s, %s: %s", who, from, when, strings.Join(r.changes, "; "))
	if r.n > len(r.changes) {
		f.Message += fmt.Sprintf(" (and %d more)", r.n-len(r.changes))
	}
	switch d.rule.ID {
	case "privileged-token":
		f.Remediation = "unless planned, revoke the created token (vault token revoke -accessor <accessor>; the accessor is in the " +
			"response entry of the logged request, HMAC'd unless hmac_accessor=false) and find out how the creator's token was used"
	case "policy-change":
		f.Remediation = "restore the policy from source control (vault policy write <name> <file>) unless the change was planned"
	default:
		f.Remediation = "compare with the infrastructure code; disable an unplanned auth method (vault auth disable <path>) and revoke the tokens it issued"
	}
	d.found = append(d.found, f)
}

// Finish closes the open findings.
func (d *controlPlane) Finish() []Finding {
	for key := range d.open {
		d.close(key)
	}
	SortFindings(d.found)
	return d.found
}
