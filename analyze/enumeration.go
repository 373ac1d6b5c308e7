package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// Enumeration reports a non-administrator walking the secret namespace: listing a mount's root
// or a catalogue of the control plane, or listing many distinct paths in a few minutes.
//
// Why: applications know the paths they need and read them directly; listing is what someone
// does who does not know yet what a credential can reach. It usually comes minutes before a
// harvest or a probe (bulk-read, denied-burst, decoy-access).
//
// What counts as a list: on Vault, a LIST request (also when denied), and the reads that return
// a catalogue (sys/mounts, sys/auth, sys/policy; these count towards the distinct paths but
// are not enough alone, since configuration tools such as Terraform read them before every
// change). Metadata reads of one secret are reads, not lists. On AWS, ListSecrets, and
// BatchGetSecretValue with filters (which lists and reads in one call); DescribeSecret and
// BatchGetSecretValue by a list of ids are not enumeration.
//
// Thresholds: one LIST of a mount's root (kv/metadata/, a KV v1 mount such as legacy/) or of a
// catalogue (sys/policies/acl, identity/entity/id, auth/token/accessors, ...) is enough;
// otherwise at least 5 distinct listed paths within 10 minutes (thresholds.enumeration: count,
// window; per-identity overrides apply). On AWS one ListSecrets or filtered batch is enough.
// Lists less than a window apart make one finding.
//
// Quiet: administrators (admin_policies / admin_arns, the root token); AWS services and
// service-linked roles (AWS Config); and a listing habit: a path the identity had already
// listed successfully before (the baseline learns listed paths) is not counted, so staff who
// open the same folder in the web UI every day, or an operator syncing by listing one prefix,
// stay quiet once their habit is known.
//
// Known false positives: the first run of a tool that discovers secrets by listing (External
// Secrets' find, a backup job) before any baseline exists; the Vault web UI, which lists each
// folder a person opens.
type Enumeration struct {
	env   Env
	rule  Rule
	state map[string]*enumState
	found []Finding
}

type enumState struct {
	win  window.Distinct[string, timedKey]
	cfg  CountConfig
	open *enumRun
}

type enumRun struct {
	f        Finding
	paths    set
	roots    set
	denied   int
	lastTrig time.Time
}

// NewEnumeration builds the enumeration detector.
func NewEnumeration(env Env) Detector {
	return &Enumeration{env: env, state: map[string]*enumState{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "enumeration", Name: "Secret namespace enumeration", Severity: High,
		Summary: "a non-administrator lists a mount's root, a control-plane catalogue, or many paths within minutes",
		Help: "Applications read the paths they need; listing is reconnaissance. Fires when a non-administrator lists a mount's root " +
			"(kv/metadata/, a KV v1 mount), a catalogue (LIST sys/policies/acl, identity/entity/id, auth/token/accessors), " +
			"or at least 5 distinct paths within 10 minutes (thresholds.enumeration: count, window); on AWS, ListSecrets, " +
			"BatchGetSecretValue with filters, SSM DescribeParameters or GetParametersByPath of the whole store; on Kubernetes, a list " +
			"of every namespace's Secrets or of kube-system's (a watch is a controller's cache). Administrators, operators, AWS services and listing habits already in the baseline stay quiet. " +
			"Known false positives: the first run of a discovery tool (External Secrets find, backups), the web UI before a baseline exists.",
		Guide: "See what the identity read or was denied right after the listing (vaultsentry trace --identity ...): enumeration " +
			"followed by reads of paths it never used is a stolen credential. Check the decoys and bulk-read findings around it.",
		MITRE: []string{"T1087", "T1580", "T1083"},
	}}
}

// Rule describes enumeration.
func (d *Enumeration) Rule() Rule { return d.rule }

// Observe counts the lists of non-administrators.
func (d *Enumeration) Observe(ev *event.Event) {
	root, ok := d.listOf(ev)
	if !ok {
		return
	}
	if ev.Has(event.FlagUnauthenticated) || isServicePrincipal(ev) || actorIsAdmin(d.env.Config, ev) ||
		readsForOthers(d.env.Config, ev) {
		return
	}
	id := ev.Actor()
	if id == "" {
		return
	}
	key := baseline.ListKey(ev)
	if h := d.env.Baseline.Get(id); h != nil {
		if _, known := h.Lists[key]; known {
			return // a listing habit, not reconnaissance
		}
	}
	st := d.state[id]
	if st == nil {
		st = &enumState{cfg: countFor(d.env.Config, d.rule.ID, ev, d.env.Config.Enumeration)}
		d.state[id] = st
	}
	cfg := st.cfg
	if st.open != nil && ev.Time.Sub(st.open.lastTrig) > cfg.Window {
		d.close(st)
	}
	shown := listShown(ev)
	k := newTimedKey(ev, shown)
	st.win.Add(k.t, k.key, k)
	st.win.Expire(ev.Time.Add(-cfg.Window))
	if root || st.win.Distinct() >= cfg.Min {
		if st.open == nil {
			r := &enumRun{f: newFinding(d.rule, ev)}
			entries := st.win.Entries()
			r.f.FirstSeen = entries[0].Time
			r.f.TriggerTime = ev.Time
			for _, e := range entries[:len(entries)-1] {
				r.add(e.Value, false)
			}
			st.open = r
		}
		st.open.lastTrig = ev.Time
	}
	if st.open != nil {
		st.open.add(k, root)
		st.open.f.SourceIPs = appendAddr(st.open.f.SourceIPs, ev.RemoteAddr)
	}
}

func (r *enumRun) add(k timedKey, root bool) {
	r.f.Count++
	r.paths.add(k.key)
	if root {
		r.roots.add(k.key)
	}
	if k.denied {
		r.denied++
	}
	r.f.addEvidence(k.evidence())
	if k.t.After(r.f.LastSeen) {
		r.f.LastSeen = k.t
	}
}

func (d *Enumeration) close(st *enumState) {
	r := st.open
	st.open = nil
	f := r.f
	f.Resources = r.paths.sorted(MaxResources)
	var b strings.Builder
	fmt.Fprintf(&b, "%s over %s between %s and %s", Count(f.Count, "list request", "list requests"), Count(r.paths.len(), "distinct path", "distinct paths"),
		f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339))
	if r.roots.len() > 0 {
		fmt.Fprintf(&b, "; mount roots or catalogues: %s", strings.Join(r.roots.sorted(10), ", "))
	}
	if r.denied > 0 {
		fmt.Fprintf(&b, "; %d denied", r.denied)
	}
	b.WriteString("; the identity is not an administrator and had not listed these paths before")
	f.Message = b.String()
	f.Remediation = "confirm with the owner of the identity whether the listing was theirs; listing reveals names, not values. " +
		"If it was not, revoke the credential (" + credentialHint(f) + ") and check what it read next"
	d.found = append(d.found, f)
}

// Finish closes the open runs.
func (d *Enumeration) Finish() []Finding {
	for _, st := range d.state {
		if st.open != nil {
			d.close(st)
		}
	}
	SortFindings(d.found)
	return d.found
}

// listOf reports whether ev lists something, and whether what it lists is a root: a mount's
// root, a control-plane catalogue, or (AWS) the whole secret store.
func (d *Enumeration) listOf(ev *event.Event) (root, ok bool) {
	switch ev.Kind {
	case event.KindCloudTrail:
		switch ev.Action {
		case "ListSecrets":
			return true, true
		case "BatchGetSecretValue":
			// By secretIdList it reads named secrets (what a sync operator does); with filters
			// it selects every secret that matches: a list and a read in one call, which the
			// source reports as a listing.
			if ev.Op == event.OpList {
				return true, true
			}
		}
		// Any other listing of a whole store (SSM DescribeParameters without a filter,
		// GetParametersByPath of "/") is a root too; narrower ones are a service's own lookups.
		if ev.Op == event.OpList && ev.Has(event.FlagListAll) {
			return true, true
		}
		return false, false
	case event.KindKubernetes:
		// A list of Secrets (a watch is a controller's cache, not a look around): the whole
		// cluster's, or kube-system's, where the cluster's own credentials are, is a root.
		if ev.Op == event.OpList && ev.Action == "list" {
			return ev.Has(event.FlagListAll) || ev.Namespace == "kube-system", true
		}
		return false, false
	case event.KindVault:
		rel := nsRelative(ev)
		switch ev.Op {
		case event.OpList:
			if strings.HasPrefix(rel, "cubbyhole/") || rel == "cubbyhole" {
				return false, false // a token's private storage: nothing to discover
			}
			return isVaultCatalog(rel) || isMountRoot(ev, rel), true
		case event.OpAdmin, event.OpRead:
			// A GET of sys/mounts, sys/auth or sys/policy lists them too, but configuration tools
			// (Terraform refreshing its state) make these reads before every change: they count
			// towards the distinct paths, never alone.
			if ev.Action == "read" && baseline.IsCatalogRead(rel) {
				return false, true
			}
		}
	}
	return false, false
}

// vaultCatalogs are the control-plane paths whose LIST names every object of a kind.
var vaultCatalogs = []string{
	"sys/mounts", "sys/auth", "sys/policy", "sys/policies/acl", "sys/policies/rgp", "sys/policies/egp",
	"sys/namespaces", "sys/audit", "sys/plugins/catalog", "sys/raw",
	"identity/entity/id", "identity/entity/name", "identity/group/id", "identity/group/name",
	"identity/entity-alias/id", "identity/group-alias/id", "identity/oidc/client", "identity/oidc/key",
	"auth/token/accessors", "auth/token/roles",
}

func isVaultCatalog(rel string) bool {
	rel = strings.TrimSuffix(rel, "/")
	for _, c := range vaultCatalogs {
		if rel == c {
			return true
		}
	}
	return false
}

// isMountRoot reports whether a Vault LIST names the root of a secrets mount: "kv/metadata/"
// of a KV v2 mount or "legacy/" of a KV v1 mount (resource equal to the mount), or, when the
// log has no mount point, a one-segment path or "<x>/metadata/".
func isMountRoot(ev *event.Event, rel string) bool {
	if ev.Mount != "" {
		m := strings.TrimPrefix(ev.Mount, ev.Namespace)
		if strings.HasPrefix(m, "sys/") || strings.HasPrefix(m, "auth/") || strings.HasPrefix(m, "identity/") {
			return false
		}
		r := strings.TrimSuffix(ev.Resource, "/") + "/"
		return r == ev.Mount || strings.TrimSuffix(rel, "/")+"/" == m
	}
	p := strings.TrimSuffix(rel, "/")
	first, rest, _ := strings.Cut(p, "/")
	if first == "" || first == "sys" || first == "auth" || first == "identity" || first == "cubbyhole" {
		return false
	}
	return rest == "" || rest == "metadata"
}

// listShown is how a listed path appears in a finding: the path as requested for Vault
// ("kv/metadata/prod/"), the call and its parameters for AWS.
func listShown(ev *event.Event) string {
	if ev.Kind == event.KindCloudTrail {
		k := ev.Action
		if ev.Resource != "" {
			k += " " + ev.Resource
		}
		if ev.Detail != "" {
			k += " (" + ev.Detail + ")"
		}
		return k
	}
	if ev.Path != "" {
		return ev.Path
	}
	return ev.Resource
}
