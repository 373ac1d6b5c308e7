package analyze

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze/internal/window"
	"github.com/vaultsentry/vaultsentry/event"
)

// DecoyAccess reports any request that touches a configured decoy (canary) secret, whether it
// succeeded or was denied.
//
// Why: a decoy is a secret no workload and no person uses; its name is chosen to attract
// whoever is looking for something valuable. A read, a list of the decoy itself, a metadata
// read, a delete, a denied attempt: each means someone is where they should not be. It is the
// cheapest high-fidelity signal there is (AWS recommends decoy secrets too).
//
// Matching: decoys are globs (config "decoys"; * crosses "/"). On Vault a decoy matches the
// request path and the normalised secret, so a KV v2 decoy written as "kv/data/x" also matches
// "kv/metadata/x", "kv/delete/x", ... and the resource "kv/x", and a decoy written as "kv/x"
// matches all of those too. On AWS a decoy given as a secret name also matches the secret's
// ARN, with or without the six-character suffix Secrets Manager appends
// (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf); a decoy given as an ARN matches
// the same ARN with or without the suffix.
//
// Thresholds: one request. Severity critical. One finding per identity and hour (the merge
// window), listing every decoy touched; requests without an identity are grouped by address.
//
// Not counted: AWS services acting on a caller's behalf and service-linked roles (AWS Config
// describes every secret, decoys included, every few hours).
//
// Known false positives: an administrator inspecting or rotating the decoys; a backup or
// compliance scanner that reads every secret (give it an ignore entry for this rule).
type DecoyAccess struct {
	env   Env
	match *decoyMatcher // nil without decoys
	rule  Rule
	open  map[string]*decoyRun
	due   window.Deadlines[string] // when each open run has been quiet for mergeWindow
	found []Finding
}

type decoyRun struct {
	f      Finding
	decoys set // the configured decoys that matched
	paths  set // what the requests named
	denied int
}

// NewDecoyAccess builds the decoy-access detector.
func NewDecoyAccess(env Env) Detector {
	d := &DecoyAccess{env: env, open: map[string]*decoyRun{}, rule: Rule{
		Kinds: event.KindsOf(event.KindVault, event.KindCloudTrail, event.KindKubernetes), Group: GroupIdentity, ID: "decoy-access", Name: "Decoy secret touched", Severity: Critical,
		Summary: "a request touches a configured decoy (canary) secret",
		Help: "Decoys (config \"decoys\", globs) are secrets nobody uses; any request on one, successful or denied, means someone " +
			"is exploring or harvesting. A KV v2 decoy matches its data/, metadata/, delete/ paths and its normalised name; an AWS " +
			"decoy name matches the secret's ARN with or without its random suffix. AWS services acting on a caller's behalf are " +
			"ignored. Known false positives: an administrator checking the decoys, an all-secrets backup scanner.",
		Guide: "Treat the identity as compromised: revoke its tokens or keys, then trace everything it did in the surrounding hours " +
			"(vaultsentry trace --identity ...) and rotate what it read. A denied attempt still shows the credential is in the " +
			"wrong hands.",
		MITRE: []string{"T1555.006", "T1552"},
	}}
	if len(env.Config.Decoys) > 0 {
		d.match = newDecoyMatcher(env.Config.Decoys)
	}
	return d
}

// Rule describes decoy-access.
func (d *DecoyAccess) Rule() Rule { return d.rule }

// Observe checks one request against the decoys.
func (d *DecoyAccess) Observe(ev *event.Event) {
	d.due.Due(ev.Time, d.close) // runs quiet for a window end, whatever comes next
	if d.match == nil || isServicePrincipal(ev) {
		return
	}
	decoy, ok := d.match.match(ev)
	if !ok {
		return
	}
	key := ev.Actor()
	if key == "" {
		key = "addr:" + ev.RemoteAddr.String()
	}
	r := d.open[key]
	if r != nil && ev.Time.Sub(r.f.LastSeen) > mergeWindow {
		d.close(key)
		r = nil
	}
	if r == nil {
		r = &decoyRun{f: newFinding(d.rule, ev)}
		d.open[key] = r
	}
	r.f.Count++
	r.f.LastSeen = ev.Time
	r.decoys.add(decoy)
	r.paths.add(displayTouched(ev))
	if ev.Outcome == event.OutcomeDenied {
		r.denied++
	}
	r.f.addEvidence(evidenceOf(ev))
	r.f.SourceIPs = appendAddr(r.f.SourceIPs, ev.RemoteAddr)
	d.due.Set(key, ev.Time.Add(mergeWindow))
}

func (d *DecoyAccess) close(key string) {
	r := d.open[key]
	delete(d.open, key)
	d.due.Remove(key)
	f := r.f
	f.Resources = r.paths.sorted(MaxResources)
	outcome := "succeeded"
	switch {
	case r.denied == f.Count:
		outcome = "denied"
	case r.denied > 0:
		outcome = fmt.Sprintf("%d of them denied", r.denied)
	}
	when := f.FirstSeen.UTC().Format(time.RFC3339)
	if f.LastSeen.After(f.FirstSeen) {
		when += " to " + f.LastSeen.UTC().Format(time.RFC3339)
	}
	reqs := "1 request"
	if f.Count != 1 {
		reqs = fmt.Sprintf("%d requests", f.Count)
	}
	f.Message = fmt.Sprintf("%s on decoy %s (%s), %s; paths: %s", reqs,
		strings.Join(r.decoys.sorted(10), ", "), outcome, when, strings.Join(f.Resources, ", "))
	f.Remediation = "treat the credential as compromised: " + revokeHint(f)
	d.found = append(d.found, f)
}

// Finish closes the open findings.
func (d *DecoyAccess) Finish() []Finding {
	for key := range d.open {
		d.close(key)
	}
	SortFindings(d.found)
	return d.found
}

// decoyMatcher matches events against the configured decoys. Each decoy is expanded once into
// the forms an event can name it by; literal forms go into maps, so an event costs a few map
// lookups however many decoys there are.
type decoyMatcher struct {
	exact  map[string]string // form -> configured decoy, for every source
	kvOnly map[string]string // folded KV v2 forms, for Vault events only
	globs  []decoyGlob
}

type decoyGlob struct {
	decoy   string // as configured
	prefix  string // the literal start of the form, a cheap first test
	pattern string // the form, with "/" replaced so that * crosses it (see globMatch)
	kvOnly  bool
}

// IsDecoy reports whether ev touches one of the configured decoys (Config.Decoys), as
// decoy-access matches them: for trace, which marks them.
func (c *Config) IsDecoy(ev *event.Event) bool {
	if len(c.Decoys) == 0 {
		return false
	}
	if c.decoys == nil {
		c.decoys = newDecoyMatcher(c.Decoys)
	}
	_, ok := c.decoys.match(ev)
	return ok
}

func newDecoyMatcher(decoys []string) *decoyMatcher {
	m := &decoyMatcher{exact: map[string]string{}, kvOnly: map[string]string{}}
	add := func(d, f string, kv bool) {
		if i := strings.IndexAny(f, "*?["); i >= 0 {
			m.globs = append(m.globs, decoyGlob{decoy: d, prefix: f[:i], pattern: strings.ReplaceAll(f, "/", "\x01"), kvOnly: kv})
			return
		}
		dst := m.exact
		if kv {
			dst = m.kvOnly
		}
		if _, dup := dst[f]; !dup {
			dst[f] = d
		}
	}
	for _, d := range decoys {
		add(d, d, false)
		if isSecretARN(d) {
			if t, ok := stripSecretSuffix(d); ok {
				add(d, t, false)
			}
			continue
		}
		for _, f := range kvFolds(d) {
			add(d, f, true)
		}
	}
	return m
}

// kvFolds lists a KV v2 API path ("kv/data/x", "kv/metadata/x") folded to the secret it names
// ("kv/x"), which is the event's normalised resource for any of the secret's API paths. The
// mount may have several segments ("ns1/kv/", "team/kv/"), so it folds at each occurrence.
func kvFolds(d string) []string {
	var out []string
	for _, verb := range []string{"/data/", "/metadata/"} {
		for off := 0; ; {
			i := strings.Index(d[off:], verb)
			if i < 0 {
				break
			}
			i += off
			out = append(out, d[:i+1]+d[i+len(verb):])
			off = i + 1
		}
	}
	return out
}

// match returns the configured decoy that ev touches, if any.
func (m *decoyMatcher) match(ev *event.Event) (string, bool) {
	var buf [8]string
	cands := decoyCandidates(ev, buf[:0])
	vault := ev.Kind == event.KindVault
	for _, c := range cands {
		if c == "" {
			continue
		}
		if d, ok := m.exact[c]; ok {
			return d, true
		}
		if d, ok := m.kvOnly[c]; ok && vault {
			return d, true
		}
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		n := ""
		for _, g := range m.globs {
			if (g.kvOnly && !vault) || !strings.HasPrefix(c, g.prefix) {
				continue
			}
			if n == "" {
				n = strings.ReplaceAll(c, "/", "\x01")
			}
			if ok, err := path.Match(g.pattern, n); err == nil && ok {
				return g.decoy, true
			}
		}
	}
	return "", false
}

// displayTouched is how the touched decoy is named in the finding: the request path on Vault,
// the secret name on AWS.
func displayTouched(ev *event.Event) string {
	if ev.Kind == event.KindCloudTrail {
		if isSecretARN(ev.Resource) {
			return ev.Resource[strings.Index(ev.Resource, ":secret:")+len(":secret:"):] // suffix-less already
		}
		if ev.Resource != "" {
			return ev.Resource
		}
		return secretNameOf(ev.Path)
	}
	if ev.Path != "" {
		return ev.Path
	}
	return ev.Resource
}

// decoyCandidates appends every name under which ev's target can match a decoy form: the
// request path and the normalised resource; on AWS also, for an ARN, the ARN without its
// suffix, the secret name, and the name without the suffix (a name may end in six
// alphanumerics by itself, so both are tried).
func decoyCandidates(ev *event.Event, out []string) []string {
	out = append(out, ev.Path)
	if ev.Resource != ev.Path {
		out = append(out, ev.Resource)
	}
	if ev.Kind != event.KindCloudTrail {
		return out
	}
	for _, s := range []string{ev.Path, ev.Resource} {
		if !isSecretARN(s) {
			continue
		}
		if t, ok := stripSecretSuffix(s); ok {
			out = append(out, t)
		}
		name := s[strings.Index(s, ":secret:")+len(":secret:"):]
		out = append(out, name)
		if t, ok := stripSecretSuffix(name); ok {
			out = append(out, t)
		}
	}
	return out
}

// isSecretARN reports whether s is a Secrets Manager secret ARN (any partition).
func isSecretARN(s string) bool {
	return strings.HasPrefix(s, "arn:") && strings.Contains(s, ":secretsmanager:") && strings.Contains(s, ":secret:")
}

// secretNameOf is the secret name inside a Secrets Manager ARN, without the six-character suffix
// Secrets Manager appends ("arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-AbCdEf" is
// "prod/db"); anything else is returned as it is.
func secretNameOf(s string) string {
	if !isSecretARN(s) {
		return s
	}
	name := s[strings.Index(s, ":secret:")+len(":secret:"):]
	if t, ok := stripSecretSuffix(name); ok {
		return t
	}
	return name
}

// stripSecretSuffix removes a trailing "-XXXXXX" (six letters or digits), the random suffix of
// a full secret ARN. A name can end like that by itself ("app-config"), so callers match both
// forms.
func stripSecretSuffix(s string) (string, bool) {
	const n = 7 // "-" and six characters
	if len(s) <= n || s[len(s)-n] != '-' {
		return s, false
	}
	for _, c := range s[len(s)-n+1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return s, false
		}
	}
	return s[:len(s)-n], true
}
