package cmd

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/internal/app"
	"github.com/vaultsentry/vaultsentry/review"
)

// DefaultConfigFile is read from the working directory when --config is not given.
const DefaultConfigFile = app.DefaultConfigFile

// fileConfig mirrors the YAML configuration file (docs/configuration.md). Decoding is
// strict: an unknown key is an error that names the key and its line.
type fileConfig struct {
	InternalCIDRs      []string                  `yaml:"internal_cidrs"`
	AdminPolicies      []string                  `yaml:"admin_policies"`
	AdminARNs          []string                  `yaml:"admin_arns"`
	MaintenanceWindows *fileMaintenance          `yaml:"maintenance_windows"`
	Decoys             []string                  `yaml:"decoys"`
	Rotation           *fileRotation             `yaml:"rotation"`
	Thresholds         map[string]ast.Node       `yaml:"thresholds"` // decoded by applyThresholds
	Overrides          []fileOverride            `yaml:"overrides"`
	Ignore             []fileIgnore              `yaml:"ignore"`
	Baseline           *fileBaselineConfig       `yaml:"baseline"`
	Kubernetes         *fileKubernetes           `yaml:"kubernetes"`
	Workloads          []fileWorkload            `yaml:"workloads"`
	Production         []string                  `yaml:"production"`
	CIScopes           []fileCIScope             `yaml:"ci_scopes"`
	Hygiene            *fileHygiene              `yaml:"hygiene"`
	InventoryIDs       []string                  `yaml:"inventory_identities"`
	Frameworks         []fileFramework           `yaml:"frameworks"` // review --framework: the user's own (cmd/review_controls.go)
	Extra              map[string]map[string]any `yaml:"-"`
}

// fileCIScope, fileHygiene: the review's keys (vaultsentry review).
type fileCIScope struct {
	Identity string   `yaml:"identity"`
	Secrets  []string `yaml:"secrets"`
}

type fileHygiene struct {
	MaxAge      string                `yaml:"max_age"`
	UnusedAfter string                `yaml:"unused_after"`
	Overrides   []fileHygieneOverride `yaml:"overrides"`
}

type fileHygieneOverride struct {
	Secrets     []string `yaml:"secrets"`
	MaxAge      string   `yaml:"max_age"`
	UnusedAfter string   `yaml:"unused_after"`
}

// applyReview reads the review's keys into lc.Review.
func (fc *fileConfig) applyReview(lc *loadedConfig) error {
	globs := func(key string, gs []string) error {
		for _, g := range gs {
			if err := analyze.ValidateGlob(g); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		return nil
	}
	dur := func(key, v string, dst *time.Duration) error {
		if v == "" {
			return nil
		}
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("%s: %q is not a positive duration (like 90d)", key, v)
		}
		*dst = d
		return nil
	}
	if fc.Production != nil {
		if err := globs("production", fc.Production); err != nil {
			return err
		}
		lc.Review.Production = fc.Production
	}
	for i, c := range fc.CIScopes {
		if c.Identity == "" || len(c.Secrets) == 0 {
			return fmt.Errorf("ci_scopes[%d]: give identity (a glob) and secrets (globs)", i)
		}
		if err := globs(fmt.Sprintf("ci_scopes[%d]", i), append([]string{c.Identity}, c.Secrets...)); err != nil {
			return err
		}
		lc.Review.CIScopes = append(lc.Review.CIScopes, review.CIScope{Identity: c.Identity, Secrets: c.Secrets})
	}
	if err := globs("inventory_identities", fc.InventoryIDs); err != nil {
		return err
	}
	lc.Review.InventoryIdentities = fc.InventoryIDs
	if h := fc.Hygiene; h != nil {
		if err := dur("hygiene.max_age", h.MaxAge, &lc.Review.Hygiene.MaxAge); err != nil {
			return err
		}
		if err := dur("hygiene.unused_after", h.UnusedAfter, &lc.Review.Hygiene.UnusedAfter); err != nil {
			return err
		}
		for i, o := range h.Overrides {
			key := fmt.Sprintf("hygiene.overrides[%d]", i)
			if len(o.Secrets) == 0 {
				return fmt.Errorf("%s: give secrets (globs)", key)
			}
			ov := review.HygieneOverride{Secrets: o.Secrets}
			if err := globs(key, o.Secrets); err != nil {
				return err
			}
			if err := dur(key+".max_age", o.MaxAge, &ov.MaxAge); err != nil {
				return err
			}
			if err := dur(key+".unused_after", o.UnusedAfter, &ov.UnusedAfter); err != nil {
				return err
			}
			lc.Review.Hygiene.Overrides = append(lc.Review.Hygiene.Overrides, ov)
		}
	}
	return nil
}

type fileMaintenance struct {
	Timezone string       `yaml:"timezone"`
	Windows  []fileWindow `yaml:"windows"`
}

type fileWindow struct {
	Days []string `yaml:"days"`
	From string   `yaml:"from"`
	To   string   `yaml:"to"`
}

type fileRotation struct {
	Grace       string            `yaml:"grace"`
	K8sEvents   []string          `yaml:"k8s_events"`
	Deployments map[string]string `yaml:"deployments"`
}

type fileOverride struct {
	Identity string `yaml:"identity"`
	Rule     string `yaml:"rule"`
	Window   string `yaml:"window"`
	Count    int    `yaml:"count"`
	Distinct int    `yaml:"distinct"`
}

type fileIgnore struct {
	Rule     string `yaml:"rule"`
	Identity string `yaml:"identity"`
	Resource string `yaml:"resource"`
	Reason   string `yaml:"reason"`
	Expires  string `yaml:"expires"`
}

// fileKubernetes is the kubernetes section: who administers the clusters, which service
// accounts are expected to read many secrets, and the clusters' own networks.
type fileKubernetes struct {
	Admins    []string      `yaml:"admins"`
	Operators []string      `yaml:"operators"`
	Clusters  []fileCluster `yaml:"clusters"`
}

// fileWorkload links one workload's identities across stores (analyze.Workload).
type fileWorkload struct {
	Name       string   `yaml:"name"`
	Identities []string `yaml:"identities"`
}

type fileCluster struct {
	Name      string   `yaml:"name"`
	PodCIDRs  []string `yaml:"pod_cidrs"`
	NodeCIDRs []string `yaml:"node_cidrs"`
}

type fileBaselineConfig struct {
	MaxAge string `yaml:"max_age"`
}

// loadedConfig is the configuration after validation.
type loadedConfig struct {
	Review    review.Config // the review's keys: production, ci_scopes, hygiene
	Path      string
	Implicit  bool // found in the working directory, not named by --config
	Analyze   analyze.Config
	K8sEvents []string // resolved relative to the config file
	// BaselineMaxAge is baseline.max_age: pruning when --update-baseline writes (0: never).
	BaselineMaxAge time.Duration
	Ignore         []fileIgnore
	ignore         []app.IgnoreEntry // Ignore, validated

	// Frameworks are the user's own frameworks for review --framework.
	Frameworks []review.Framework
}

// app is the configuration as a run takes it.
func (lc *loadedConfig) app() *app.Config {
	return &app.Config{Review: lc.Review, Path: lc.Path, Implicit: lc.Implicit, Analyze: lc.Analyze, K8sEvents: lc.K8sEvents, Ignore: lc.ignore}
}

// loadConfig reads path (or ./vaultsentry.yaml when path is empty and the file exists) on top
// of the defaults. Every mistake is a usage error naming the key and, where known, the line.
func loadConfig(path string) (*loadedConfig, error) {
	lc := &loadedConfig{Analyze: analyze.DefaultConfig(), Review: review.DefaultConfig()}
	explicit := path != ""
	if !explicit {
		if _, err := os.Stat(DefaultConfigFile); err != nil {
			return lc, nil
		}
		path = DefaultConfigFile
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("check the path given to --config", "read config %s: file does not exist", path)
		}
		return nil, runtimef("", fmt.Errorf("read config %s: %w", path, err))
	}
	lc.Path, lc.Implicit = path, !explicit
	var fc fileConfig
	if err := yaml.UnmarshalWithOptions(data, &fc, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, usagef("the configuration keys are listed in docs/configuration.md and in vaultsentry.example.yaml",
			"config %s: %s", path, oneLineYAMLError(err))
	}
	if err := fc.apply(lc, filepath.Dir(path)); err != nil {
		return nil, usagef("the configuration keys are listed in docs/configuration.md and in vaultsentry.example.yaml",
			"config %s: %v", path, err)
	}
	return lc, nil
}

func oneLineYAMLError(err error) string {
	s := yaml.FormatError(err, false, false)
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

func (fc *fileConfig) apply(lc *loadedConfig, dir string) error {
	if err := fc.applyReview(lc); err != nil {
		return err
	}
	if err := fc.applyFrameworks(lc); err != nil {
		return err
	}
	c := &lc.Analyze
	if fc.InternalCIDRs != nil {
		c.InternalCIDRs = nil
		for _, s := range fc.InternalCIDRs {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("internal_cidrs: %q is not a CIDR (like 10.0.0.0/8 or fd00::/8)", s)
			}
			c.InternalCIDRs = append(c.InternalCIDRs, p.Masked())
		}
	}
	if fc.AdminPolicies != nil {
		for _, g := range fc.AdminPolicies {
			if err := analyze.ValidateGlob(g); err != nil {
				return fmt.Errorf("admin_policies: %w", err)
			}
		}
		c.AdminPolicies = fc.AdminPolicies
	}
	if fc.AdminARNs != nil {
		for _, g := range fc.AdminARNs {
			if err := analyze.ValidateGlob(g); err != nil {
				return fmt.Errorf("admin_arns: %w", err)
			}
		}
		c.AdminARNs = fc.AdminARNs
	}
	if k := fc.Kubernetes; k != nil {
		if err := k.apply(c); err != nil {
			return err
		}
	}
	for i, w := range fc.Workloads {
		if strings.TrimSpace(w.Name) == "" || len(w.Identities) == 0 {
			return fmt.Errorf("workloads[%d]: name and identities are required (name: payments-api, identities: [the Vault role's display name, the IAM role ARN, the service account])", i)
		}
		for _, g := range w.Identities {
			if err := analyze.ValidateGlob(g); err != nil {
				return fmt.Errorf("workloads[%d].identities: %w", i, err)
			}
		}
		c.Workloads = append(c.Workloads, analyze.Workload{Name: strings.TrimSpace(w.Name), Identities: w.Identities})
	}
	if m := fc.MaintenanceWindows; m != nil {
		mw, err := parseMaintenance(m)
		if err != nil {
			return err
		}
		c.Maintenance = mw
	}
	for _, g := range fc.Decoys {
		if err := analyze.ValidateGlob(g); err != nil {
			return fmt.Errorf("decoys: %w", err)
		}
	}
	c.Decoys = append(c.Decoys, fc.Decoys...)
	if r := fc.Rotation; r != nil {
		if r.Grace != "" {
			d, err := parseDuration(r.Grace)
			if err != nil {
				return fmt.Errorf("rotation.grace: %w", err)
			}
			c.Rotation.Grace = d
		}
		for _, f := range r.K8sEvents {
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			lc.K8sEvents = append(lc.K8sEvents, f)
		}
		for glob, dep := range r.Deployments {
			ns, name, ok := strings.Cut(dep, "/")
			if !ok || ns == "" || name == "" {
				return fmt.Errorf("rotation.deployments[%q]: %q is not namespace/deployment", glob, dep)
			}
			if err := analyze.ValidateGlob(glob); err != nil {
				return fmt.Errorf("rotation.deployments: %w", err)
			}
			c.Rotation.Deployments = append(c.Rotation.Deployments, analyze.DeploymentMap{Glob: glob, Namespace: ns, Deployment: name})
		}
	}
	for _, rule := range slices.Sorted(maps.Keys(fc.Thresholds)) {
		if err := applyThresholds(c, rule, fc.Thresholds[rule]); err != nil {
			return fmt.Errorf("thresholds.%s: %w", rule, err)
		}
	}
	for i, o := range fc.Overrides {
		if o.Identity == "" || o.Rule == "" {
			return fmt.Errorf("overrides[%d]: identity and rule are required", i)
		}
		if err := validateOverride(o); err != nil {
			return fmt.Errorf("overrides[%d]: %w", i, err)
		}
		ov := analyze.Override{Identity: o.Identity, Rule: o.Rule, Count: o.Count, Distinct: o.Distinct}
		if o.Window != "" {
			d, err := parseDuration(o.Window)
			if err != nil {
				return fmt.Errorf("overrides[%d].window: %w", i, err)
			}
			ov.Window = d
		}
		c.Overrides = append(c.Overrides, ov)
	}
	rules := make([]app.IgnoreRule, len(fc.Ignore))
	for i, ig := range fc.Ignore {
		rules[i] = app.IgnoreRule(ig)
	}
	entries, err := app.NewIgnoreList(rules)
	if err != nil {
		return err
	}
	lc.Ignore, lc.ignore = fc.Ignore, entries
	if fc.Baseline != nil && fc.Baseline.MaxAge != "" {
		d, err := parseDuration(fc.Baseline.MaxAge)
		if err != nil {
			return fmt.Errorf("baseline.max_age: %w", err)
		}
		lc.BaselineMaxAge = d
	}
	return nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseMaintenance(m *fileMaintenance) (analyze.Maintenance, error) {
	mw := analyze.Maintenance{Location: time.UTC}
	if m.Timezone != "" {
		loc, err := time.LoadLocation(m.Timezone)
		if err != nil {
			return mw, fmt.Errorf("maintenance_windows.timezone: unknown time zone %q (use an IANA name such as Europe/Dublin)", m.Timezone)
		}
		mw.Location = loc
	}
	for i, w := range m.Windows {
		var win analyze.Window
		if len(w.Days) == 0 {
			return mw, fmt.Errorf("maintenance_windows.windows[%d].days: at least one day is required", i)
		}
		for _, d := range w.Days {
			wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))[:min(3, len(strings.TrimSpace(d)))]]
			if !ok {
				return mw, fmt.Errorf("maintenance_windows.windows[%d].days: %q is not a weekday (mon..sun)", i, d)
			}
			win.Days[wd] = true
		}
		var err error
		if win.From, err = parseClock(w.From); err != nil {
			return mw, fmt.Errorf("maintenance_windows.windows[%d].from: %w", i, err)
		}
		if win.To, err = parseClock(w.To); err != nil {
			return mw, fmt.Errorf("maintenance_windows.windows[%d].to: %w", i, err)
		}
		mw.Windows = append(mw.Windows, win)
	}
	return mw, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return hh*60 + mm, nil
}

// parseDuration accepts Go durations plus days ("7d", "1d12h"). It is the one duration parser
// of the flags and of the configuration file, thresholds included.
func parseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err == nil && n >= 0 {
			days = time.Duration(n) * 24 * time.Hour
			s = s[i+1:]
			if s == "" {
				return days, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d+days < 0 {
		return 0, fmt.Errorf("%q is not a duration (like 90s, 30m, 24h, 7d)", orig)
	}
	return d + days, nil
}

// validateOverride checks a per-identity threshold: a known rule and a well-formed glob.
func validateOverride(o fileOverride) error {
	if err := analyze.ValidateGlob(o.Identity); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	for _, r := range analyze.Rules() {
		if r.ID == o.Rule {
			if o.Count < 0 || o.Distinct < 0 {
				return fmt.Errorf("count and distinct must not be negative")
			}
			return nil
		}
	}
	return fmt.Errorf("rule: unknown rule id %q (vaultsentry rules lists them)", o.Rule)
}

func (k *fileKubernetes) apply(c *analyze.Config) error {
	for _, g := range k.Admins {
		if err := analyze.ValidateGlob(g); err != nil {
			return fmt.Errorf("kubernetes.admins: %w", err)
		}
	}
	for _, g := range k.Operators {
		if err := analyze.ValidateGlob(g); err != nil {
			return fmt.Errorf("kubernetes.operators: %w", err)
		}
	}
	c.Kubernetes.Admins = append(c.Kubernetes.Admins, k.Admins...)
	c.Kubernetes.Operators = append(c.Kubernetes.Operators, k.Operators...)
	for i, cl := range k.Clusters {
		if cl.Name == "" {
			return fmt.Errorf("kubernetes.clusters[%d]: name is required", i)
		}
		kc := analyze.Cluster{Name: cl.Name}
		for _, list := range []struct {
			key  string
			in   []string
			into *[]netip.Prefix
		}{{"pod_cidrs", cl.PodCIDRs, &kc.PodCIDRs}, {"node_cidrs", cl.NodeCIDRs, &kc.NodeCIDRs}} {
			for _, s := range list.in {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("kubernetes.clusters[%d].%s: %q is not a CIDR (like 100.96.0.0/16)", i, list.key, s)
				}
				*list.into = append(*list.into, p.Masked())
			}
		}
		c.Kubernetes.Clusters = append(c.Kubernetes.Clusters, kc)
	}
	return nil
}
