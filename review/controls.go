package review

import (
	_ "embed"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// Control statuses (a public contract).
const (
	StatusEvidence  = "evidence"  // the review holds the evidence and nothing against it
	StatusException = "exception" // the evidence shows something a reviewer must decide on
	StatusGap       = "gap"       // the review cannot give the evidence
)

// Framework is one compliance framework: its controls and the evidence each rests on.
type Framework struct {
	ID       string       `yaml:"id"`
	Name     string       `yaml:"name"`
	Version  string       `yaml:"version"`
	Controls []ControlDef `yaml:"controls"`
	// User: defined in the configuration file, not shipped.
	User bool `yaml:"-"`
}

// ControlDef is one control of a framework as the mapping file states it.
type ControlDef struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Evidence    []string `yaml:"evidence"` // evidence kinds (EvidenceKinds)
	Remediation string   `yaml:"remediation"`
}

// Control is one control judged against a review.
type Control struct {
	Framework     string // the framework's id (what --framework takes)
	FrameworkName string // its name and version
	ID            string
	Title         string
	Status        string
	Evidence      string // what the review shows, in sentences with counts
	Remediation   string
	Kinds         []string // the evidence kinds it rests on
	Resources     []string // the identities, secrets or inputs behind an exception or a gap (capped)
}

// Facts are what the run knows besides the review: the findings, the inputs, the log file
// integrity of every CloudTrail tree, whether history came before the period.
type Facts struct {
	Config   Config // the review's configuration (production, ci_scopes)
	Findings []analyze.Finding
	Inputs   []InputFact
	Trees    []TreeFact
	// History: a baseline or events before the period gave identities a past.
	History bool
	// Inventory: an inventory of every secret was given, so never-read is known.
	Inventory bool
	// Gaps are gaps between the inputs found by a completeness check, described (nil: none
	// found or not checked).
	Gaps    []string
	Events  int // events in the period
	Rules   int // rules the detectors ran
	Version string
}

// InputFact is one input file as the review needs it.
type InputFact struct {
	File        string
	Format      string
	Events      int
	First, Last time.Time
	Malformed   int
	ReadError   string
}

// TreeFact is the log file validation of one CloudTrail tree.
type TreeFact struct {
	Tree     string
	Status   string // valid, invalid, unverifiable
	LogFiles int
	Digests  int
	Problems int
	Reason   string
}

//go:embed frameworks.yaml
var frameworksYAML []byte

type frameworksFile struct {
	Frameworks []Framework `yaml:"frameworks"`
}

var builtin = sync.OnceValues(func() ([]Framework, error) { return ParseFrameworks(frameworksYAML) })

// Frameworks are the frameworks shipped in frameworks.yaml.
func Frameworks() []Framework {
	fws, err := builtin()
	if err != nil {
		panic("review/frameworks.yaml: " + err.Error()) // TestFrameworksFile keeps it valid
	}
	return fws
}

// ParseFrameworks reads a mapping file (frameworks.yaml's shape), strictly, and checks it.
func ParseFrameworks(data []byte) ([]Framework, error) {
	var f frameworksFile
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s", yaml.FormatError(err, false, false))
	}
	seen := map[string]bool{}
	for i, fw := range f.Frameworks {
		if err := CheckFramework(fw); err != nil {
			return nil, fmt.Errorf("frameworks[%d]: %w", i, err)
		}
		if seen[fw.ID] {
			return nil, fmt.Errorf("frameworks[%d]: id %q given twice", i, fw.ID)
		}
		seen[fw.ID] = true
	}
	return f.Frameworks, nil
}

// CheckFramework checks one framework: an id usable with --framework, a name, controls with an
// id, a title, known evidence kinds and a remediation.
func CheckFramework(fw Framework) error {
	if !validID(fw.ID) {
		return fmt.Errorf("id %q: give a short id of letters, digits, -, _ and . (what --framework takes)", fw.ID)
	}
	if strings.TrimSpace(fw.Name) == "" {
		return fmt.Errorf("%s: give a name", fw.ID)
	}
	if len(fw.Controls) == 0 {
		return fmt.Errorf("%s: give controls", fw.ID)
	}
	ids := map[string]bool{}
	for j, c := range fw.Controls {
		where := fmt.Sprintf("%s: controls[%d]", fw.ID, j)
		switch {
		case strings.TrimSpace(c.ID) == "":
			return fmt.Errorf("%s: give an id", where)
		case ids[c.ID]:
			return fmt.Errorf("%s: id %q given twice", where, c.ID)
		case strings.TrimSpace(c.Title) == "":
			return fmt.Errorf("%s (%s): give a title", where, c.ID)
		case len(c.Evidence) == 0:
			return fmt.Errorf("%s (%s): give evidence (kinds: %s)", where, c.ID, strings.Join(EvidenceKinds(), ", "))
		case strings.TrimSpace(c.Remediation) == "":
			return fmt.Errorf("%s (%s): give a remediation", where, c.ID)
		}
		ids[c.ID] = true
		for _, k := range c.Evidence {
			if _, ok := kinds[k]; !ok {
				return fmt.Errorf("%s (%s): unknown evidence kind %q (known: %s)", where, c.ID, k, strings.Join(EvidenceKinds(), ", "))
			}
		}
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > 40 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// SelectFrameworks returns the frameworks named by ids (each once, in the order given) from the
// shipped ones and user's. An unknown id is an error that lists the known ones.
func SelectFrameworks(ids []string, user []Framework) ([]Framework, error) {
	all := append(slices.Clone(Frameworks()), user...)
	var out []Framework
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		i := slices.IndexFunc(all, func(f Framework) bool { return f.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("unknown framework %q (known: %s)", id, strings.Join(FrameworkIDs(user), ", "))
		}
		if !slices.ContainsFunc(out, func(f Framework) bool { return f.ID == id }) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// FrameworkIDs are the ids --framework takes: the shipped frameworks', then user's.
func FrameworkIDs(user []Framework) []string {
	var ids []string
	for _, f := range append(slices.Clone(Frameworks()), user...) {
		ids = append(ids, f.ID)
	}
	return ids
}

// part is what one evidence kind shows.
type part struct {
	status    string
	text      string
	resources []string
}

// kindDoc says what each evidence kind rests on (docs/review.md lists them).
var kindDoc = map[string]string{
	"access-review-performed":  "the access rows of the period; exception when one is flagged, gap when the period holds no access",
	"findings-reviewed":        "the findings of the run; exception for each finding at or above medium",
	"person-production-access": "person-reads-production flags (production globs); gap without access rows",
	"ci-scope":                 "ci-outside-scope flags; gap without ci_scopes in the configuration",
	"new-access":               "new-since-last-review flags; gap without a history before the period",
	"dormant-access":           "dormant-before-period flags; gap without a history before the period",
	"denied-access":            "the denied attempts of the access rows; exception with denied-burst findings",
	"rotation":                 "rotation-overdue verdicts; gap for secrets whose last write lies before the history",
	"rotation-propagation":     "rotated-never-read verdicts; gap when no write is in the history",
	"unused-secrets":           "unused and never-read verdicts; gap without an inventory (never-read cannot be known)",
	"secret-changes":           "the writes of the period, each with its writer (the secrets table)",
	"log-integrity":            "the CloudTrail digest validation; exception when invalid, gap when unverifiable or for inputs without digests (Vault, Kubernetes)",
	"log-completeness":         "the inputs' first and last events against the period, unread lines, gaps, audit-gap findings",
	"read-events":              "whether the period holds any read of a secret value or denied attempt",
	"audit-config-changes":     "audit-disabled findings (audit devices disabled, trails stopped or changed)",
	"admin-actions":            "admin-off-hours, root-activity and privileged-token findings",
	"system-objects":           "policy-change, auth-config-change and resource-policy-change findings",
	"automated-log-review":     "this run: the rules over the period's events",
	"breach-scope":             "the access rows: which secrets, read by whom, since when, from which networks",
	"event-details":            "identity, secret, time, outcome and source address of every access",
	"audit-log-access":         "always a gap: access to the audit logs themselves is not in them",
}

var kinds = map[string]func(*judge) part{
	"access-review-performed":  (*judge).accessReview,
	"findings-reviewed":        (*judge).findings,
	"person-production-access": (*judge).personProduction,
	"ci-scope":                 (*judge).ciScope,
	"new-access":               func(j *judge) part { return j.flagKind(FlagNewAccess, "access new since the last review") },
	"dormant-access":           func(j *judge) part { return j.flagKind(FlagDormant, "access by an identity dormant before the period") },
	"denied-access":            (*judge).denied,
	"rotation":                 (*judge).rotation,
	"rotation-propagation":     (*judge).propagation,
	"unused-secrets":           (*judge).unused,
	"secret-changes":           (*judge).secretChanges,
	"log-integrity":            (*judge).integrity,
	"log-completeness":         (*judge).completeness,
	"read-events":              (*judge).readEvents,
	"audit-config-changes": func(j *judge) part {
		return j.ruleKind([]string{"audit-disabled"}, "audit devices disabled or changed, trails stopped or changed",
			"the detectors see the control-plane requests in these inputs only")
	},
	"admin-actions": func(j *judge) part {
		return j.ruleKind([]string{"admin-off-hours", "root-activity", "privileged-token"},
			"privileged actions outside maintenance windows, AWS root activity, privileged or orphan tokens created",
			"privileged identities are those of admin_policies and admin_arns")
	},
	"system-objects": func(j *judge) part {
		return j.ruleKind([]string{"policy-change", "auth-config-change", "resource-policy-change"},
			"changes to policies, auth methods, secrets engines and resource policies", "")
	},
	"automated-log-review": (*judge).automated,
	"breach-scope":         (*judge).breachScope,
	"event-details":        (*judge).eventDetails,
	"audit-log-access": func(*judge) part {
		return part{status: StatusGap, text: "access to the audit logs themselves is not recorded in them: this review cannot show it"}
	}}

// EvidenceKinds lists the evidence kinds a control can rest on, sorted.
func EvidenceKinds() []string {
	return slices.Sorted(maps.Keys(kinds))
}

// EvidenceKindDoc says what an evidence kind rests on.
func EvidenceKindDoc(kind string) string { return kindDoc[kind] }

// Controls judges every control of fws against the review and the run's facts.
func Controls(rv *Review, f Facts, fws []Framework) []Control {
	j := &judge{rv: rv, f: f, cache: map[string]part{}}
	out := []Control{}
	for _, fw := range fws {
		name := fw.Name
		if fw.Version != "" {
			name += " " + fw.Version
		}
		for _, c := range fw.Controls {
			ctl := Control{Framework: fw.ID, FrameworkName: name, ID: c.ID, Title: c.Title, Remediation: c.Remediation,
				Kinds: slices.Clone(c.Evidence), Status: StatusEvidence, Resources: []string{}}
			var texts []string
			for _, k := range c.Evidence {
				p := j.part(k)
				texts = append(texts, p.text)
				ctl.Status = worse(ctl.Status, p.status)
				for _, r := range p.resources {
					if !slices.Contains(ctl.Resources, r) {
						ctl.Resources = append(ctl.Resources, r)
					}
				}
			}
			ctl.Evidence = strings.Join(texts, "; ") + "."
			if len(ctl.Resources) > maxResources {
				more := len(ctl.Resources) - maxResources
				ctl.Resources = append(ctl.Resources[:maxResources], fmt.Sprintf("(%d more)", more))
			}
			out = append(out, ctl)
		}
	}
	return out
}

const maxResources = 20

// worse is the status that wins: an exception a reviewer must decide on over a gap, a gap over
// evidence.
func worse(a, b string) string {
	rank := map[string]int{StatusEvidence: 0, StatusGap: 1, StatusException: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// judge computes each evidence kind once per review.
type judge struct {
	rv    *Review
	f     Facts
	cache map[string]part
}

func (j *judge) part(k string) part {
	if p, ok := j.cache[k]; ok {
		return p
	}
	fn := kinds[k]
	if fn == nil { // CheckFramework refuses unknown kinds; a hand-built Framework may not have
		return part{status: StatusGap, text: fmt.Sprintf("unknown evidence kind %q", k)}
	}
	p := fn(j)
	j.cache[k] = p
	return p
}

func (j *judge) period() string {
	return j.rv.Start.UTC().Format("2006-01-02") + " to " + j.rv.End.UTC().Format("2006-01-02")
}

func (j *judge) noAccess() part {
	return part{status: StatusGap, text: fmt.Sprintf("the period %s holds no read of a secret value and no denied attempt, so there is no access to show (do the logs record reads?)", j.period())}
}

func who(a *Access) string {
	if a.DisplayName != "" && a.DisplayName != a.Identity {
		return a.DisplayName + " (" + a.Identity + ")"
	}
	return a.Identity
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (j *judge) flagged(flag string) (n int, ids map[string]bool, res []string) {
	ids = map[string]bool{}
	for i := range j.rv.Access {
		a := &j.rv.Access[i]
		if flag == "" && len(a.Flags) > 0 || flag != "" && slices.ContainsFunc(a.Flags, func(f Flag) bool { return f.Flag == flag }) {
			n++
			ids[a.Identity] = true
			res = append(res, who(a)+" read "+a.Secret)
		}
	}
	return n, ids, res
}

func (j *judge) accessReview() part {
	if len(j.rv.Access) == 0 {
		return j.noAccess()
	}
	ids, secrets := map[string]bool{}, map[string]bool{}
	for _, a := range j.rv.Access {
		ids[a.Identity], secrets[a.Secret] = true, true
	}
	n, _, res := j.flagged("")
	text := fmt.Sprintf("%s by %s to %s reviewed for %s", plural(len(j.rv.Access), "access (identity, secret)", "accesses (identity, secret)"),
		plural(len(ids), "identity", "identities"), plural(len(secrets), "secret", "secrets"), j.period())
	if n == 0 {
		return part{status: StatusEvidence, text: text + ", none flagged"}
	}
	return part{status: StatusException, text: text + fmt.Sprintf(", %s for a reviewer's decision", plural(n, "flagged", "flagged")), resources: res}
}

func (j *judge) personProduction() part {
	if len(j.rv.Access) == 0 {
		return j.noAccess()
	}
	prod := j.f.Config.Production
	if len(prod) == 0 {
		prod = DefaultConfig().Production
	}
	n, ids, res := j.flagged(FlagPersonProduction)
	if n > 0 {
		return part{status: StatusException, text: fmt.Sprintf("%s read production secrets in %s (production: %s)",
			plural(len(ids), "person", "people"), plural(n, "access", "accesses"), strings.Join(prod, ", ")), resources: res}
	}
	people := 0
	for _, a := range j.rv.Access {
		if a.Class == "person" && a.Reads > 0 {
			people++
		}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("no person read a production secret (production: %s; %s by people to other secrets)",
		strings.Join(prod, ", "), plural(people, "access", "accesses"))}
}

func (j *judge) ciScope() part {
	if len(j.f.Config.CIScopes) == 0 {
		return part{status: StatusGap, text: "no ci_scopes in the configuration, so whether CI reads only its own environment cannot be shown"}
	}
	n, ids, res := j.flagged(FlagCIOutsideScope)
	if n > 0 {
		return part{status: StatusException, text: fmt.Sprintf("%s read outside their ci_scopes in %s",
			plural(len(ids), "CI identity", "CI identities"), plural(n, "access", "accesses")), resources: res}
	}
	ci, cids := 0, map[string]bool{}
	for _, a := range j.rv.Access {
		if a.Class == "ci" && a.Reads > 0 {
			ci++
			cids[a.Identity] = true
		}
	}
	if ci == 0 {
		return part{status: StatusEvidence, text: fmt.Sprintf("no identity named by the %s read a secret in the period", plural(len(j.f.Config.CIScopes), "ci_scope", "ci_scopes"))}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("%s by %s, all within their ci_scopes",
		plural(ci, "access", "accesses"), plural(len(cids), "CI identity", "CI identities"))}
}

func (j *judge) flagKind(flag, what string) part {
	if !j.f.History {
		return part{status: StatusGap, text: fmt.Sprintf("%s cannot be told without a history before the period (--baseline, or events before --since)", what)}
	}
	since := j.rv.HistorySince.UTC().Format("2006-01-02")
	n, ids, res := j.flagged(flag)
	if n > 0 {
		return part{status: StatusException, text: fmt.Sprintf("%s (%s, %s; history since %s)", what, plural(n, "access", "accesses"),
			plural(len(ids), "identity", "identities"), since), resources: res}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("no %s (history since %s)", what, since)}
}

// findingsOf are the findings of the given rules (all: nil).
func (j *judge) findingsOf(rules []string) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range j.f.Findings {
		if rules == nil || slices.Contains(rules, f.Rule) {
			out = append(out, f)
		}
	}
	return out
}

func findingResources(fs []analyze.Finding) []string {
	var res []string
	for _, f := range fs {
		r := f.Rule
		if f.Identity != "" {
			r += " " + f.Identity
		}
		if !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	return res
}

func (j *judge) findings() part {
	bySev := map[analyze.Severity]int{}
	var hi []analyze.Finding
	for _, f := range j.f.Findings {
		bySev[f.Severity]++
		if f.Severity >= analyze.Medium {
			hi = append(hi, f)
		}
	}
	if len(hi) == 0 {
		return part{status: StatusEvidence, text: fmt.Sprintf("no finding at or above medium (%s below it)", plural(len(j.f.Findings), "finding", "findings"))}
	}
	var sev []string
	for s := analyze.Critical; s >= analyze.Medium; s-- {
		if bySev[s] > 0 {
			sev = append(sev, fmt.Sprintf("%d %s", bySev[s], s))
		}
	}
	return part{status: StatusException, text: fmt.Sprintf("%s at or above medium to triage (%s)", plural(len(hi), "finding", "findings"), strings.Join(sev, ", ")),
		resources: findingResources(hi)}
}

func (j *judge) ruleKind(rules []string, what, caveat string) part {
	fs := j.findingsOf(rules)
	if caveat != "" {
		what += "; " + caveat
	}
	if len(fs) > 0 {
		return part{status: StatusException, text: fmt.Sprintf("%s of %s to explain (%s)", plural(len(fs), "finding", "findings"),
			strings.Join(rules, ", "), what), resources: findingResources(fs)}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("no %s finding in the period (%s)", strings.Join(rules, ", "), what)}
}

func (j *judge) denied() part {
	n, ids := 0, map[string]bool{}
	for _, a := range j.rv.Access {
		if a.Denied > 0 {
			n += a.Denied
			ids[a.Identity] = true
		}
	}
	text := fmt.Sprintf("%s by %s logged in the period", plural(n, "denied attempt", "denied attempts"), plural(len(ids), "identity", "identities"))
	if n == 0 {
		text = "no denied attempt on a secret in the period"
	}
	if fs := j.findingsOf([]string{"denied-burst"}); len(fs) > 0 {
		return part{status: StatusException, text: text + fmt.Sprintf(", %s to investigate", plural(len(fs), "denied-burst finding", "denied-burst findings")),
			resources: findingResources(fs)}
	}
	return part{status: StatusEvidence, text: text}
}

func (j *judge) verdicts(verdict string) (res []string) {
	for _, s := range j.rv.Secrets {
		if slices.ContainsFunc(s.Verdicts, func(v Verdict) bool { return v.Verdict == verdict }) {
			res = append(res, s.Secret)
		}
	}
	return res
}

func (j *judge) rotation() part {
	if len(j.rv.Secrets) == 0 {
		return part{status: StatusGap, text: "no secret was read or written in the history, so rotation cannot be shown"}
	}
	overdue := j.verdicts(VerdictRotationOverdue)
	var unknown []string
	for _, s := range j.rv.Secrets {
		if s.AgeDays < 0 && !slices.Contains(overdue, s.Secret) {
			unknown = append(unknown, s.Secret)
		}
	}
	gap := fmt.Sprintf("%s with no write in the %s of history, shorter than max_age: their last rotation is not known (an inventory or a longer baseline gives it)",
		plural(len(unknown), "secret", "secrets"), analyze.Span(j.rv.End.Sub(j.rv.HistorySince)))
	switch {
	case len(overdue) > 0:
		text := fmt.Sprintf("%d of %s overdue for rotation (rotation-overdue)", len(overdue), plural(len(j.rv.Secrets), "secret", "secrets"))
		if len(unknown) > 0 {
			text += "; " + gap
		}
		return part{status: StatusException, text: text, resources: overdue}
	case len(unknown) > 0:
		return part{status: StatusGap, text: gap, resources: unknown}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("every one of %s written within its max_age", plural(len(j.rv.Secrets), "secret", "secrets"))}
}

func (j *judge) propagation() part {
	written := 0
	for _, s := range j.rv.Secrets {
		if !s.LastWrite.IsZero() {
			written++
		}
	}
	if written == 0 {
		return part{status: StatusGap, text: "no write of a secret in the history, so whether rotations reach their consumers cannot be shown"}
	}
	if res := j.verdicts(VerdictRotatedNeverRead); len(res) > 0 {
		return part{status: StatusException, text: fmt.Sprintf("%d of %s written not read by any consumer since (rotated-never-read)",
			len(res), plural(written, "secret", "secrets")), resources: res}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("each of %s written was read by a consumer after its last write", plural(written, "secret", "secrets"))}
}

func (j *judge) unused() part {
	res := append(j.verdicts(VerdictUnused), j.verdicts("never-read")...)
	rarely := len(j.verdicts(VerdictRarelyRead))
	text := fmt.Sprintf("%s unused or never read, %d rarely read", plural(len(res), "secret", "secrets"), rarely)
	switch {
	case len(res) > 0:
		if !j.f.Inventory {
			text += "; without an inventory, secrets nobody read in the whole history are not listed"
		}
		return part{status: StatusException, text: text, resources: res}
	case !j.f.Inventory:
		return part{status: StatusGap, text: text + "; without an inventory (--inventory) secrets nobody read in the whole history are not in the logs, so never-read cannot be known"}
	}
	return part{status: StatusEvidence, text: text}
}

func (j *judge) secretChanges() part {
	n := 0
	for _, s := range j.rv.Secrets {
		if !s.LastWrite.Before(j.rv.Start) && s.LastWrite.Before(j.rv.End) {
			n++
		}
	}
	if n == 0 {
		return part{status: StatusEvidence, text: "no secret written in the period"}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("%s written in the period, each with its last write in the secrets table", plural(n, "secret", "secrets"))}
}

func (j *judge) integrity() part {
	var invalid, unverif, valid []TreeFact
	for _, t := range j.f.Trees {
		switch t.Status {
		case "valid":
			valid = append(valid, t)
		case "invalid":
			invalid = append(invalid, t)
		default:
			unverif = append(unverif, t)
		}
	}
	var uncovered []InputFact
	byFormat := map[string]int{}
	for _, in := range j.f.Inputs {
		if in.Events == 0 {
			continue
		}
		// A log file of a validated tree: under the tree, at a CloudTrail log file's S3 key
		// (AWSLogs/.../CloudTrail/...); another file in the tree (an export, lookup-events
		// output) is listed by no digest.
		covered := false
		if in.Format == "cloudtrail" && strings.Contains(filepath.ToSlash(in.File), "/CloudTrail/") {
			for _, t := range j.f.Trees {
				if filepath.Clean(t.Tree) == "." || strings.HasPrefix(filepath.Clean(in.File), filepath.Clean(t.Tree)+string(filepath.Separator)) {
					covered = true
					break
				}
			}
		}
		if !covered {
			uncovered = append(uncovered, in)
			byFormat[in.Format]++
		}
	}
	var texts, res []string
	status := StatusEvidence
	for _, t := range invalid {
		texts = append(texts, fmt.Sprintf("CloudTrail tree %s is invalid (%s)", t.Tree, plural(t.Problems, "problem", "problems")))
		res = append(res, t.Tree)
		status = StatusException
	}
	for _, t := range unverif {
		texts = append(texts, fmt.Sprintf("CloudTrail tree %s is unverifiable (%s)", t.Tree, t.Reason))
		res = append(res, t.Tree)
		status = worse(status, StatusGap)
	}
	if len(uncovered) > 0 {
		var fm []string
		for _, k := range slices.Sorted(maps.Keys(byFormat)) {
			fm = append(fm, fmt.Sprintf("%s: %d", k, byFormat[k]))
		}
		texts = append(texts, fmt.Sprintf("%s (%s) carry no integrity evidence: no CloudTrail digest lists them (Vault and Kubernetes audit logs have none)",
			plural(len(uncovered), "input", "inputs"), strings.Join(fm, ", ")))
		for _, in := range uncovered {
			res = append(res, in.File)
		}
		status = worse(status, StatusGap)
	}
	if len(valid) > 0 {
		files, digests := 0, 0
		for _, t := range valid {
			files += t.LogFiles
			digests += t.Digests
		}
		texts = append(texts, fmt.Sprintf("%s valid (%s, %s checked)", plural(len(valid), "CloudTrail tree", "CloudTrail trees"),
			plural(files, "log file", "log files"), plural(digests, "digest", "digests")))
	}
	if len(texts) == 0 {
		return part{status: StatusGap, text: "no input with integrity evidence"}
	}
	return part{status: status, text: strings.Join(texts, "; "), resources: res}
}

// coverageSlack is how far the first event may lie after the period's start (and the last
// before its end) for the logs to count as covering it.
const coverageSlack = time.Hour

func (j *judge) completeness() part {
	var first, last time.Time
	malformed, unread := 0, 0
	var res []string
	for _, in := range j.f.Inputs {
		if in.Malformed > 0 || in.ReadError != "" {
			malformed += in.Malformed
			if in.ReadError != "" {
				unread++
			}
			res = append(res, in.File)
		}
		if in.Events == 0 || in.First.IsZero() {
			continue
		}
		if first.IsZero() || in.First.Before(first) {
			first = in.First
		}
		if in.Last.After(last) {
			last = in.Last
		}
	}
	status := StatusEvidence
	var texts []string
	day := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case first.IsZero():
		return part{status: StatusGap, text: "no input with events", resources: res}
	case first.Sub(j.rv.Start) > coverageSlack || j.rv.End.Sub(last) > coverageSlack:
		status = StatusGap
		texts = append(texts, fmt.Sprintf("the logs cover %s to %s, less than the period %s to %s", day(first), day(last), day(j.rv.Start), day(j.rv.End)))
	default:
		texts = append(texts, fmt.Sprintf("the logs cover the period (first event %s, last %s)", day(first), day(last)))
	}
	if malformed > 0 || unread > 0 {
		status = worse(status, StatusGap)
		texts = append(texts, fmt.Sprintf("%s and %s not read", plural(malformed, "malformed line", "malformed lines"), plural(unread, "input", "inputs")+" partly"))
	}
	if len(j.f.Gaps) > 0 {
		status = worse(status, StatusGap)
		texts = append(texts, plural(len(j.f.Gaps), "gap", "gaps")+" between the inputs: "+strings.Join(j.f.Gaps, ", "))
	}
	if fs := j.findingsOf([]string{"audit-gap"}); len(fs) > 0 {
		status = StatusException
		texts = append(texts, plural(len(fs), "audit-gap finding", "audit-gap findings")+" (silence in an audit stream) to explain")
		res = append(res, findingResources(fs)...)
	}
	return part{status: status, text: strings.Join(texts, "; "), resources: res}
}

func (j *judge) readEvents() part {
	reads, denied := 0, 0
	for _, a := range j.rv.Access {
		reads += a.Reads
		denied += a.Denied
	}
	if reads == 0 && denied == 0 {
		return part{status: StatusGap, text: fmt.Sprintf("no read of a secret value in the period %s: a CloudTrail trail with write-only management events omits every GetSecretValue, a Vault audit device logs every read", j.period())}
	}
	if c := j.rv.Completeness; c != nil {
		var none []string
		for store, ok := range c.ReadEvents {
			if !ok {
				none = append(none, store)
			}
		}
		if len(none) > 0 {
			slices.Sort(none)
			return part{status: StatusGap, text: fmt.Sprintf("%s of secret values logged in the period, but none in the %s logs: a trail with write-only management events omits every GetSecretValue",
				plural(reads, "read", "reads"), strings.Join(none, ", ")), resources: none}
		}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("%s of secret values and %s logged in the period", plural(reads, "read", "reads"), plural(denied, "denied attempt", "denied attempts"))}
}

func (j *judge) automated() part {
	if j.f.Events == 0 {
		return part{status: StatusGap, text: "no event in the period for the rules to review"}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("vaultsentry %s ran %s over the %s of the period from %s (%s)",
		j.f.Version, plural(j.f.Rules, "rule", "rules"), plural(j.f.Events, "event", "events"), plural(len(j.f.Inputs), "input", "inputs"),
		plural(len(j.f.Findings), "finding", "findings"))}
}

func (j *judge) breachScope() part {
	if len(j.rv.Access) == 0 {
		return j.noAccess()
	}
	secrets, external := map[string]bool{}, 0
	for _, a := range j.rv.Access {
		if a.Reads > 0 {
			secrets[a.Secret] = true
		}
		if slices.Contains(a.Networks, "external") {
			external++
		}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("for each of the %s read in the period the access rows give who read it, first and last read and from which networks (%s from external addresses); vaultsentry trace gives one incident's scope",
		plural(len(secrets), "secret", "secrets"), plural(external, "access", "accesses"))}
}

func (j *judge) eventDetails() part {
	if len(j.rv.Access) == 0 {
		return j.noAccess()
	}
	var res []string
	for i := range j.rv.Access {
		if a := &j.rv.Access[i]; len(a.Networks) == 0 {
			res = append(res, who(a)+" on "+a.Secret)
		}
	}
	if len(res) > 0 {
		return part{status: StatusGap, text: fmt.Sprintf("%s of %d have no source address in the logs", plural(len(res), "access", "accesses"),
			len(j.rv.Access)), resources: res}
	}
	return part{status: StatusEvidence, text: fmt.Sprintf("each of %s has its identity, secret, time, outcome and source address", plural(len(j.rv.Access), "access", "accesses"))}
}
