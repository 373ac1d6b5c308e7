package analyze

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// Config holds every threshold and every fact that no detector can guess. Its zero value is not
// useful: start from DefaultConfig and override. The YAML configuration file and the flags
// fill it in cmd/; a rule's thresholds.<rule-id> block decodes straight into the struct that
// Thresholds returns for it, using the yaml tags on that struct's fields.
type Config struct {
	// InternalCIDRs are the networks considered internal; every other IP is external.
	InternalCIDRs []netip.Prefix
	// AdminPolicies are Vault policy names (globs) that make a token privileged.
	AdminPolicies []string
	// AdminARNs are AWS principal ARN globs that are administrators.
	AdminARNs []string
	// Maintenance are the windows in which privileged work is expected.
	Maintenance Maintenance
	// Decoys are canary paths or secret names (globs); any touch is critical.
	Decoys []string
	// Rotation configures rotation-without-read.
	Rotation RotationConfig
	// LearnUntil: findings that become true before it are not reported (the baseline period).
	LearnUntil time.Time

	BulkRead      BulkReadConfig
	DualSourceIP  WindowConfig
	ManySourceIPs CountConfig
	DeniedBurst   BurstConfig
	Enumeration   CountConfig
	AuditGap      AuditGapConfig
	NewResource   HistoryConfig
	Dormant       DormantConfig
	NewSourceIP   NewSourceIPConfig
	CrossStore    WindowConfig

	// Kubernetes says who administers the clusters whose audit logs are read, which identities
	// are expected to read many secrets, and the clusters' networks.
	Kubernetes KubernetesConfig

	// Workloads link identities of different stores that the logs do not link themselves: one
	// workload's Vault role, IAM role and service account (LinkOf).
	Workloads []Workload

	// Overrides are per-identity thresholds (glob on identity or display name -> rule -> values).
	Overrides []Override

	// adminCache remembers IsAdminPolicy per interned policy list and IsAdminARN per ARN: the
	// globs are matched once per distinct value, not once per event.
	adminCache *adminCache
	// decoys is the matcher IsDecoy builds on first use.
	decoys *decoyMatcher
}

type adminCache struct {
	lists     map[*string]cachedList
	arns      map[string]bool
	operators map[string]bool
	links     map[linkCacheKey]string
}

type linkCacheKey struct{ principal, display, link string }

// cachedList keeps the list it was computed for, so its memory (the key) cannot be reused by
// another list while the entry exists.
type cachedList struct {
	list  []string
	admin bool
}

func (c *Config) cache() *adminCache {
	if c.adminCache == nil {
		c.adminCache = &adminCache{lists: map[*string]cachedList{}, arns: map[string]bool{}}
	}
	return c.adminCache
}

// The yaml tags below name the keys of thresholds.<rule-id> in the configuration file (README,
// "Configuration"). Every tagged field is a positive number or duration; cmd keeps the default
// for a key that is left out or 0, and accepts days ("7d") in durations.

// WindowConfig is a rule with a time window only.
type WindowConfig struct {
	Window time.Duration `yaml:"window"`
}

// CountConfig is a rule that fires at Min distinct things within Window.
type CountConfig struct {
	Window time.Duration `yaml:"window"`
	Min    int           `yaml:"count"`
}

// BurstConfig fires at MinCount events over MinDistinct distinct paths within Window.
type BurstConfig struct {
	Window      time.Duration `yaml:"window"`
	MinCount    int           `yaml:"count"`
	MinDistinct int           `yaml:"distinct"`
}

// BulkReadConfig configures bulk-read.
type BulkReadConfig = BurstConfig

// AuditGapConfig configures audit-gap: a silence longer than Floor and more than Factor times
// the stream's own 99th-percentile gap over Context around it.
type AuditGapConfig struct {
	Floor   time.Duration `yaml:"floor"`
	Factor  float64       `yaml:"factor"`
	Context time.Duration `yaml:"context"`
}

// HistoryConfig says when an identity's history is established: at least MinDays of history or
// MinEvents events.
type HistoryConfig struct {
	MinDays   int `yaml:"min_days"`
	MinEvents int `yaml:"min_events"`
}

// DormantConfig configures dormant-identity.
type DormantConfig struct {
	Days int `yaml:"days"`
}

// NewSourceIPConfig configures new-source-ip: identities whose history already shows at least
// MaxKnown distinct external networks are considered roaming (CI runners on public clouds) and
// stay quiet.
type NewSourceIPConfig struct {
	HistoryConfig `yaml:",inline"`
	MaxKnown      int `yaml:"max_known"`
}

// Override replaces thresholds of one rule for identities matching Identity (a glob on the
// identity or the display name).
type Override struct {
	Identity string
	Rule     string
	Window   time.Duration
	Count    int
	Distinct int
}

// RotationConfig configures rotation-without-read.
type RotationConfig struct {
	// Grace is rotation.grace; thresholds.rotation-without-read calls it window, as it did
	// before the thresholds decoded into this struct.
	Grace       time.Duration   `yaml:"window"`
	Deployments []DeploymentMap `yaml:"-"` // rotation.deployments
	Rollouts    []Rollout       `yaml:"-"` // --k8s-events, rotation.k8s_events
}

// DeploymentMap says which Kubernetes deployment consumes the secrets matching Glob.
type DeploymentMap struct {
	Glob       string
	Namespace  string
	Deployment string
}

// Rollout is a Kubernetes event that shows a deployment picking up new configuration.
type Rollout struct {
	Time       time.Time
	Namespace  string
	Deployment string
	Reason     string
	// Secrets are secret paths an annotation on the deployment names, if any.
	Secrets []string
}

// Maintenance is a time zone and the weekly windows in it.
type Maintenance struct {
	Location *time.Location
	Windows  []Window
}

// Window is a weekly time range: on Days, from From to To (minutes after midnight). A window
// whose To is not after From crosses midnight and ends the next day.
type Window struct {
	Days [7]bool // indexed by time.Weekday
	From int
	To   int
}

// Contains reports whether t falls inside one of the windows, in the windows' zone.
func (m Maintenance) Contains(t time.Time) bool {
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	mins := lt.Hour()*60 + lt.Minute()
	day := lt.Weekday()
	prev := (day + 6) % 7
	for _, w := range m.Windows {
		if w.From < w.To {
			if w.Days[day] && mins >= w.From && mins < w.To {
				return true
			}
			continue
		}
		// crosses midnight: the part after From on a listed day, the part before To on the next
		if w.Days[day] && mins >= w.From {
			return true
		}
		if w.Days[prev] && mins < w.To {
			return true
		}
	}
	return false
}

// DefaultInternalCIDRs are RFC 1918, shared address space, loopback, link-local and ULA.
var DefaultInternalCIDRs = []string{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
	"127.0.0.0/8", "169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7",
}

// DefaultConfig returns the documented defaults (README, "Configuration").
func DefaultConfig() Config {
	c := Config{
		AdminPolicies: []string{"root", "*admin*"},
		AdminARNs:     []string{"arn:aws:iam::*:root", "arn:aws:iam::*:role/*admin*", "arn:aws:iam::*:role/*Admin*", "arn:aws:iam::*:user/*admin*", "arn:aws:iam::*:user/*Admin*"},
		Maintenance: Maintenance{
			Location: time.UTC,
			Windows:  []Window{{Days: weekdays(), From: 6 * 60, To: 22 * 60}},
		},
		Rotation:      RotationConfig{Grace: 30 * time.Minute},
		BulkRead:      BurstConfig{Window: 5 * time.Minute, MinCount: 30, MinDistinct: 10},
		DualSourceIP:  WindowConfig{Window: time.Hour},
		CrossStore:    WindowConfig{Window: time.Hour},
		ManySourceIPs: CountConfig{Window: time.Hour, Min: 4},
		DeniedBurst:   BurstConfig{Window: 5 * time.Minute, MinCount: 10, MinDistinct: 5},
		Enumeration:   CountConfig{Window: 10 * time.Minute, Min: 5},
		AuditGap:      AuditGapConfig{Floor: 60 * time.Second, Factor: 10, Context: 24 * time.Hour},
		NewResource:   HistoryConfig{MinDays: 1, MinEvents: 50},
		Dormant:       DormantConfig{Days: 30},
		NewSourceIP:   NewSourceIPConfig{HistoryConfig: HistoryConfig{MinDays: 1, MinEvents: 20}, MaxKnown: 3},
	}
	for _, s := range DefaultInternalCIDRs {
		c.InternalCIDRs = append(c.InternalCIDRs, netip.MustParsePrefix(s))
	}
	return c
}

// Thresholds returns a pointer to the thresholds of rule inside c (a *BurstConfig, *CountConfig,
// ... with yaml tags), or nil when the rule has none or does not exist. It is the one list of
// which rule reads which Config field; thresholds.<rule-id> in the configuration file decodes
// onto it, so keys left out keep their current values.
func (c *Config) Thresholds(rule string) any {
	switch rule {
	case "bulk-read":
		return &c.BulkRead
	case "dual-source-ip":
		return &c.DualSourceIP
	case "many-source-ips":
		return &c.ManySourceIPs
	case "denied-burst":
		return &c.DeniedBurst
	case "enumeration":
		return &c.Enumeration
	case "audit-gap":
		return &c.AuditGap
	case "new-resource":
		return &c.NewResource
	case "dormant-identity":
		return &c.Dormant
	case "new-source-ip":
		return &c.NewSourceIP
	case "rotation-without-read":
		return &c.Rotation
	case "cross-store-access":
		return &c.CrossStore
	}
	return nil
}

func weekdays() [7]bool {
	var d [7]bool
	for i := time.Monday; i <= time.Friday; i++ {
		d[i] = true
	}
	return d
}

// IsInternal reports whether a is inside one of the internal networks.
func (c *Config) IsInternal(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.InternalCIDRs {
		if p.Contains(a) {
			return true
		}
	}
	for _, cl := range c.Kubernetes.Clusters {
		for _, p := range cl.PodCIDRs {
			if p.Contains(a) {
				return true
			}
		}
		for _, p := range cl.NodeCIDRs {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// IsAdminPolicy reports whether any of policies matches the administrator list. Sources intern
// policy lists, so the answer is cached per list.
func (c *Config) IsAdminPolicy(policies []string) bool {
	if len(policies) == 0 {
		return false
	}
	key := &policies[0]
	ac := c.cache()
	if e, ok := ac.lists[key]; ok && len(e.list) == len(policies) {
		return e.admin
	}
	admin := c.matchAdminPolicy(policies)
	if len(ac.lists) >= maxCachedLists {
		clear(ac.lists) // lists that were not interned: start again rather than grow with the events
	}
	ac.lists[key] = cachedList{list: policies, admin: admin}
	return admin
}

// maxCachedLists bounds IsAdminPolicy's cache. Interned lists are a few hundred at most; a
// source that gave each event its own slice would otherwise add one entry, and keep the
// slice, per event.
const maxCachedLists = 1 << 12

func (c *Config) matchAdminPolicy(policies []string) bool {
	for _, p := range policies {
		for _, g := range c.AdminPolicies {
			if globMatch(g, p) {
				return true
			}
		}
	}
	return false
}

// IsOperator reports whether an identity (its principal or display name) is one of the
// configured operators (kubernetes.operators): controllers, secret syncers and GitOps agents
// that read, list or watch many secrets by design. Cached per name.
func (c *Config) IsOperator(principal, display string) bool {
	if len(c.Kubernetes.Operators) == 0 {
		return false
	}
	ac := c.cache()
	key := principal + "\x00" + display
	if v, ok := ac.operators[key]; ok {
		return v
	}
	v := false
	for _, g := range c.Kubernetes.Operators {
		if globMatch(g, principal) || (display != "" && globMatch(g, display)) {
			v = true
			break
		}
	}
	if ac.operators == nil {
		ac.operators = map[string]bool{}
	}
	ac.operators[key] = v
	return v
}

// IsClusterAdmin reports whether a Kubernetes user, or one of its groups, is named in
// kubernetes.admins (system:masters, the group bound to cluster-admin).
func (c *Config) IsClusterAdmin(user string, groups []string) bool {
	for _, g := range c.Kubernetes.Admins {
		if globMatch(g, user) {
			return true
		}
		for _, grp := range groups {
			if globMatch(g, grp) {
				return true
			}
		}
	}
	return false
}

// IsAdminARN reports whether an AWS principal ARN is an administrator's (cached per ARN).
func (c *Config) IsAdminARN(arn string) bool {
	ac := c.cache()
	if v, ok := ac.arns[arn]; ok {
		return v
	}
	v := c.matchAdminARN(arn)
	ac.arns[arn] = v
	return v
}

func (c *Config) matchAdminARN(arn string) bool {
	for _, g := range c.AdminARNs {
		if globMatch(g, arn) {
			return true
		}
	}
	return false
}

// globMatch matches name against a glob where * also crosses "/" (paths and ARNs are globbed
// as whole strings).
func globMatch(glob, name string) bool {
	if !strings.ContainsAny(glob, "*?[") {
		return glob == name
	}
	// path.Match stops * at '/'; replace separators so * spans them.
	g := strings.ReplaceAll(glob, "/", "\x01")
	n := strings.ReplaceAll(name, "/", "\x01")
	ok, err := path.Match(g, n)
	return err == nil && ok
}

// GlobMatch is globMatch for callers outside the package (configuration validation).
func GlobMatch(glob, name string) bool { return globMatch(glob, name) }

// ValidateGlob reports a malformed glob.
func ValidateGlob(glob string) error {
	if _, err := path.Match(glob, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", glob, err)
	}
	return nil
}

// override returns the override for rule that matches identity or display name, if any.
func (c *Config) override(rule, identity, display string) (Override, bool) {
	for _, o := range c.Overrides {
		if o.Rule == rule && (globMatch(o.Identity, identity) || globMatch(o.Identity, display)) {
			return o, true
		}
	}
	return Override{}, false
}

// Workload is one entry of the workloads section: a name and the identities (globs on the
// principal, the display name or the workload the log names) that are that workload in each
// store.
type Workload struct {
	Name       string
	Identities []string
}

// LinkOf names the workload of ev across stores: a configured workload whose identities match
// the principal, the display name or ev.LinkKey, else ev.LinkKey (what the log says: Vault's
// kubernetes and aws auth metadata, a service account, an AWS principal); "" when neither.
func (c *Config) LinkOf(ev *event.Event) string {
	lk := ev.LinkKey()
	if len(c.Workloads) == 0 {
		return lk
	}
	ac := c.cache()
	key := linkCacheKey{ev.Principal, ev.DisplayName, lk}
	if v, ok := ac.links[key]; ok {
		return v
	}
	v := lk
find:
	for _, w := range c.Workloads {
		for _, g := range w.Identities {
			if globMatch(g, ev.Principal) || (ev.DisplayName != "" && globMatch(g, ev.DisplayName)) || (lk != "" && globMatch(g, lk)) {
				v = w.Name
				break find
			}
		}
	}
	if ac.links == nil {
		ac.links = map[linkCacheKey]string{}
	}
	if len(ac.links) < 1<<16 {
		// Copies: the event may come from a reused buffer (values_read's second pass over a
		// spill file), whose strings are gone once the next event is read.
		kc := linkCacheKey{strings.Clone(key.principal), strings.Clone(key.display), strings.Clone(lk)}
		if v == lk {
			v = kc.link
		}
		ac.links[kc] = v
	}
	return v
}

// KubernetesConfig is the kubernetes section of the configuration.
type KubernetesConfig struct {
	// Admins are user names or groups (globs) whose requests are an administrator's
	// (system:masters, the group bound to cluster-admin).
	Admins []string
	// Operators are identities (globs, e.g. system:serviceaccount:external-secrets:*) expected to
	// read, list or watch many secrets: controllers, secret syncers, GitOps.
	Operators []string
	// Clusters name each cluster's pod and node networks; they count as internal addresses.
	Clusters []Cluster
}

// Cluster is one Kubernetes cluster's networks.
type Cluster struct {
	Name      string
	PodCIDRs  []netip.Prefix
	NodeCIDRs []netip.Prefix
}
