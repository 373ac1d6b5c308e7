// Package analyze turns events into findings. It sees only event.Event: never how a source
// parses its input, never a report format, never the command line.
package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Severity orders findings; the zero value is Info.
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s >= Info && s <= Critical {
		return severityNames[s]
	}
	return "info"
}

// Severities lists every severity name, lowest first (for flag help and validation).
func Severities() []string { return severityNames[:] }

// ParseSeverity reads a severity name (case-insensitive).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return Info, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// Evidence points at one log entry behind a finding.
type Evidence struct {
	File string
	Line int
	Time time.Time
}

// MaxEvidence caps the evidence a finding lists; Count keeps the full number.
const MaxEvidence = 20

// MaxResources caps the resources a finding lists; the message says how many there were.
const MaxResources = 50

// Finding is one anomaly, about one identity, with the evidence behind it.
type Finding struct {
	Rule        string
	Severity    Severity
	Title       string
	Message     string // what happened, in a sentence or two; no secret values
	Source      string // "vault" or "cloudtrail"
	Identity    string // the stable principal
	DisplayName string // the human name
	Credential  string // accessor or access key id
	Resources   []string
	// ValuesRead are the Resources whose value was returned to the finding's identity within
	// FirstSeen..LastSeen (the secrets to rotate); the others were denied, listed or read as
	// metadata only. Set by Run for every finding with resources; nil for the others.
	ValuesRead  []string
	SourceIPs   []string
	FirstSeen   time.Time
	LastSeen    time.Time
	Count       int
	Evidence    []Evidence
	Remediation string
	// TriggerTime is when the finding became true (the event that completed it); findings
	// whose trigger lies in the learning period are not reported. Zero means LastSeen.
	TriggerTime time.Time
}

// Fingerprint identifies a finding by its content (rule, identity, resources), not its position,
// so the same finding in tomorrow's run, or in a SARIF upload, has the same value.
func (f *Finding) Fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", f.Rule, f.Identity)
	rs := slices.Clone(f.Resources)
	slices.Sort(rs)
	for _, r := range rs {
		fmt.Fprintf(h, "%s\x00", r)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (f *Finding) trigger() time.Time {
	if !f.TriggerTime.IsZero() {
		return f.TriggerTime
	}
	return f.LastSeen
}

// addEvidence appends e unless the list is full.
func (f *Finding) addEvidence(e Evidence) {
	if len(f.Evidence) < MaxEvidence {
		f.Evidence = append(f.Evidence, e)
	}
}

// set is a small ordered set of strings.
type set struct {
	m    map[string]struct{}
	list []string
}

func (s *set) add(v string) bool {
	if v == "" {
		return false
	}
	if s.m == nil {
		s.m = map[string]struct{}{}
	}
	if _, ok := s.m[v]; ok {
		return false
	}
	s.m[v] = struct{}{}
	s.list = append(s.list, v)
	return true
}

func (s *set) len() int { return len(s.list) }

// sorted returns at most max elements, sorted.
func (s *set) sorted(max int) []string {
	out := slices.Clone(s.list)
	slices.Sort(out)
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}
