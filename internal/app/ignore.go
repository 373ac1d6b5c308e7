package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
)

// What a report leaves out on purpose: findings an ignore entry accepts (config "ignore", in the
// manner of trivy's and gitleaks' ignore files), and findings an earlier report already had
// (--previous-report, gitleaks' report-as-baseline habit).

// IgnoreRule is one entry of the configuration's ignore list as written.
type IgnoreRule struct {
	Rule     string // rule id or glob
	Identity string // glob on the identity or display name
	Resource string // glob every resource of the finding must match
	Reason   string
	Expires  string // YYYY-MM-DD
}

// IgnoreEntry is one validated entry of the ignore list.
type IgnoreEntry struct {
	Index    int
	Rule     string // rule id or glob
	Identity string // glob on the identity or display name; empty matches any
	Resource string // glob every resource of the finding must match; empty matches any
	Reason   string
	Expires  string    // YYYY-MM-DD as written
	Until    time.Time // the end of the expiry day (UTC); zero never expires
}

// NewIgnoreList checks the ignore list of the configuration file. Every entry names a rule, says
// what it accepts (identity and/or resource) and why. The errors name the entry (ignore[i]).
func NewIgnoreList(list []IgnoreRule) ([]IgnoreEntry, error) {
	known := map[string]bool{}
	for _, r := range analyze.Rules() {
		known[r.ID] = true
	}
	var out []IgnoreEntry
	for i, ig := range list {
		e := IgnoreEntry{Index: i, Rule: strings.TrimSpace(ig.Rule), Identity: ig.Identity, Resource: ig.Resource,
			Reason: strings.TrimSpace(ig.Reason), Expires: strings.TrimSpace(ig.Expires)}
		switch {
		case e.Rule == "":
			return nil, fmt.Errorf("ignore[%d]: rule is required", i)
		case strings.ContainsAny(e.Rule, "*?["):
			if err := analyze.ValidateGlob(e.Rule); err != nil {
				return nil, fmt.Errorf("ignore[%d].rule: %w", i, err)
			}
		case !known[e.Rule]:
			return nil, fmt.Errorf("ignore[%d].rule: unknown rule id %q (vaultsentry rules lists them)", i, e.Rule)
		}
		if e.Identity == "" && e.Resource == "" {
			return nil, fmt.Errorf("ignore[%d]: give identity or resource (use identity: \"*\" to silence the rule for everyone)", i)
		}
		for _, g := range []struct{ key, v string }{{"identity", e.Identity}, {"resource", e.Resource}} {
			if g.v == "" {
				continue
			}
			if err := analyze.ValidateGlob(g.v); err != nil {
				return nil, fmt.Errorf("ignore[%d].%s: %w", i, g.key, err)
			}
		}
		if e.Reason == "" {
			return nil, fmt.Errorf("ignore[%d]: reason is required (say why the finding is accepted, for whoever reads the report)", i)
		}
		if e.Expires != "" {
			d, err := time.Parse("2006-01-02", e.Expires)
			if err != nil {
				return nil, fmt.Errorf("ignore[%d].expires: %q is not a date (YYYY-MM-DD)", i, e.Expires)
			}
			e.Until = d.Add(24 * time.Hour)
		}
		out = append(out, e)
	}
	return out, nil
}

// expired reports whether the entry no longer applies at now (wall clock: an expiry is an
// administrative date, not a log time).
func (e IgnoreEntry) expired(now time.Time) bool { return !e.Until.IsZero() && !now.Before(e.Until) }

func (e IgnoreEntry) describe() string {
	var parts []string
	parts = append(parts, "rule "+e.Rule)
	if e.Identity != "" {
		parts = append(parts, "identity "+e.Identity)
	}
	if e.Resource != "" {
		parts = append(parts, "resource "+e.Resource)
	}
	return fmt.Sprintf("ignore[%d] (%s)", e.Index, strings.Join(parts, ", "))
}

// matches: the rule matches, the identity glob matches the identity or the display name, and the
// resource glob matches every resource of the finding (a burst that strays outside the accepted
// paths is still reported).
func (e IgnoreEntry) matches(f *analyze.Finding) bool {
	if !analyze.GlobMatch(e.Rule, f.Rule) {
		return false
	}
	if e.Identity != "" && !analyze.GlobMatch(e.Identity, f.Identity) && !analyze.GlobMatch(e.Identity, f.DisplayName) {
		return false
	}
	if e.Resource != "" {
		if len(f.Resources) == 0 {
			return false
		}
		for _, r := range f.Resources {
			if !analyze.GlobMatch(e.Resource, r) {
				return false
			}
		}
	}
	return true
}

// applyIgnore splits findings into those reported and those an unexpired entry suppresses.
// Expired entries suppress nothing; they are returned so the run can say so.
func applyIgnore(fs []analyze.Finding, entries []IgnoreEntry, now time.Time) (kept []analyze.Finding, sup []report.SuppressedFinding, expired []IgnoreEntry) {
	var active []IgnoreEntry
	for _, e := range entries {
		if e.expired(now) {
			expired = append(expired, e)
		} else {
			active = append(active, e)
		}
	}
	if len(active) == 0 {
		return fs, nil, expired
	}
	for _, f := range fs {
		suppressed := false
		for _, e := range active {
			if e.matches(&f) {
				sup = append(sup, report.SuppressedFinding{Finding: f, Reason: e.Reason, Expires: e.Expires})
				suppressed = true
				break
			}
		}
		if !suppressed {
			kept = append(kept, f)
		}
	}
	return kept, sup, expired
}

// expiredNote is the run note (stderr, JSON notes) for an expired entry.
func expiredNote(e IgnoreEntry) string {
	return fmt.Sprintf("%s expired on %s and no longer suppresses anything; renew its expires date or remove it (reason was: %s)",
		e.describe(), e.Expires, e.Reason)
}

// PreviousReport is an earlier JSON report whose findings a run leaves out (--previous-report).
type PreviousReport struct {
	Path         string
	Found        bool // false: the file does not exist, and every finding counts as new
	Fingerprints map[string]bool
	// Findings are the previous report's findings in its order, for the HTML report's "resolved".
	Findings []report.PriorFinding
}

// ReadPreviousReport reads the findings of an earlier JSON report. A missing file is not an
// error (the first run of a daily job has no previous report); a file that is not a vaultsentry
// JSON report is a UsageError.
func ReadPreviousReport(path string) (*PreviousReport, error) {
	prev := &PreviousReport{Path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return prev, nil
	}
	if err != nil {
		return nil, runtimef("", fmt.Errorf("read previous report %s: %w", path, err))
	}
	var doc struct {
		Tool     string `json:"tool"`
		Findings []struct {
			Fingerprint string `json:"fingerprint"`
			Rule        string `json:"rule"`
			Severity    string `json:"severity"`
			Title       string `json:"title"`
			Identity    string `json:"identity"`
			DisplayName string `json:"display_name"`
			FirstSeen   string `json:"first_seen"`
			LastSeen    string `json:"last_seen"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.Tool != "vaultsentry" {
		return nil, usagef("pass a report written earlier with --format json",
			"--previous-report %s: not a vaultsentry JSON report", path)
	}
	prev.Found = true
	prev.Fingerprints = make(map[string]bool, len(doc.Findings))
	for _, f := range doc.Findings {
		if f.Fingerprint == "" || prev.Fingerprints[f.Fingerprint] {
			continue
		}
		prev.Fingerprints[f.Fingerprint] = true
		sev, _ := analyze.ParseSeverity(f.Severity) // an unknown name reads as info: it is only shown
		pf := report.PriorFinding{Fingerprint: f.Fingerprint, Rule: f.Rule, Severity: sev, Title: f.Title,
			Identity: f.Identity, DisplayName: f.DisplayName}
		pf.FirstSeen, _ = time.Parse(time.RFC3339Nano, f.FirstSeen)
		pf.LastSeen, _ = time.Parse(time.RFC3339Nano, f.LastSeen)
		prev.Findings = append(prev.Findings, pf)
	}
	return prev, nil
}

// dropPrevious removes findings whose fingerprint the previous report had, and returns them.
func dropPrevious(fs []analyze.Finding, prev map[string]bool) (kept, dropped []analyze.Finding) {
	if len(prev) == 0 {
		return fs, nil
	}
	for _, f := range fs {
		if prev[f.Fingerprint()] {
			dropped = append(dropped, f)
			continue
		}
		kept = append(kept, f)
	}
	return kept, dropped
}

// changesSince compares a run with the previous report: recurring are the findings dropped
// because it had them; resolved are its findings that no finding of the run (all of them, before
// the ignore list: a suppressed finding is not resolved) has again.
func changesSince(prev *PreviousReport, all, recurring []analyze.Finding) *report.Changes {
	ch := &report.Changes{Path: prev.Path, Found: prev.Found}
	for i := range recurring {
		ch.Recurring = append(ch.Recurring, report.PriorOf(&recurring[i]))
	}
	seen := make(map[string]bool, len(all))
	for i := range all {
		seen[all[i].Fingerprint()] = true
	}
	for _, pf := range prev.Findings {
		if !seen[pf.Fingerprint] {
			ch.Resolved = append(ch.Resolved, pf)
		}
	}
	return ch
}

// leftOutSummary is what leaveOut kept out of the report, and what the run must say about it.
type leftOutSummary struct {
	suppressed []report.SuppressedFinding
	previous   int
	changes    *report.Changes // nil without --previous-report
	notes      []string
	// expiredErr is returned after the report is written: an expired ignore entry is a
	// configuration error (exit 2) the report still shows, its findings reported again.
	expiredErr error
}

// leaveOut applies the ignore list and --previous-report to the findings of a run.
func (p *pipeline) leaveOut(fs []analyze.Finding) ([]analyze.Finding, leftOutSummary) {
	o := p.opts
	cfg := o.config()
	var lo leftOutSummary
	kept, sup, expired := applyIgnore(fs, cfg.Ignore, o.now())
	lo.suppressed = sup
	for _, e := range expired {
		note := expiredNote(e)
		lo.notes = append(lo.notes, note)
		fmt.Fprintf(o.IO.Err, "warning: config %s: %s\n", report.Sanitize(cfg.Path), report.Sanitize(note))
	}
	if len(expired) > 0 {
		lo.expiredErr = usagef("renew the expires date of the entry if the exception still holds, or delete it; its findings are in this report again",
			"config %s: %d ignore entries expired (%s)", cfg.Path, len(expired), expired[0].describe())
	}
	if o.Verbose {
		for _, s := range sup {
			fmt.Fprintf(o.IO.Err, "suppressed: %s %s (%s)\n", s.Finding.Rule, report.Sanitize(s.Finding.Identity), report.Sanitize(s.Reason))
		}
	}
	if prev := o.Previous; prev != nil {
		if !prev.Found && !o.Quiet {
			fmt.Fprintf(o.IO.Err, "warning: no previous report at %s: every finding counts as new\n", report.Sanitize(prev.Path))
		}
		var recurring []analyze.Finding
		kept, recurring = dropPrevious(kept, prev.Fingerprints)
		lo.previous = len(recurring)
		lo.changes = changesSince(prev, fs, recurring)
	}
	return kept, lo
}
