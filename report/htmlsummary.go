package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// The HTML report's executive summary, its index and its per-format input summary: what a
// responder reads before the cards. Every logged string is Sanitized here and escaped again by
// html/template.

// identityAnchor is the id of an identity's group of findings: a hash, so no logged string ends
// up in an attribute that other parts of the page point at.
func identityAnchor(identity string) string {
	h := sha256.Sum256([]byte(identity))
	return "id-" + hex.EncodeToString(h[:6])
}

// htmlWho is how a finding names its identity: the display name when there is one.
func htmlWho(displayName, identity string) string {
	if displayName != "" {
		return Sanitize(displayName)
	}
	return Sanitize(identity)
}

// worstFirst orders findings by severity (worst first), then time, rule and fingerprint.
func worstFirst(a, b *analyze.Finding) int {
	return cmp.Or(cmp.Compare(b.Severity, a.Severity), a.FirstSeen.Compare(b.FirstSeen),
		cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint(), b.Fingerprint()))
}

func buildSummary(v *htmlView, r *Result) {
	idx := make([]int, len(r.Findings))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return worstFirst(&r.Findings[a], &r.Findings[b]) })
	for _, i := range idx {
		f := &r.Findings[i]
		row := htmlIndexRow{Anchor: v.Findings[i].Anchor, Severity: f.Severity.String(), Color: severityColors[f.Severity],
			Title: Sanitize(f.Title), Rule: f.Rule, Who: htmlWho(f.DisplayName, f.Identity), WhoAnchor: identityAnchor(f.Identity),
			When: r.humanTime(f.FirstSeen), Count: f.Count, Values: len(f.ValuesRead)}
		v.Index = append(v.Index, row)
		if f.Severity >= analyze.High {
			if len(v.Top) < maxTop {
				v.Top = append(v.Top, row)
			} else {
				v.MoreTop++
			}
		}
	}

	// Identities and their groups of findings, worst identity first; the findings of one
	// identity keep the report's time order.
	type ident struct {
		g     htmlGroup
		id    htmlIdentity
		names []string  // display names, in order: an SSO role's sessions are several people
		since time.Time // its earliest finding
		worst analyze.Severity
		first int // index of its first finding
		rules []string
		addrs []string
		vals  map[string]bool
	}
	byID := map[string]*ident{}
	var order []*ident
	for i := range r.Findings {
		f := &r.Findings[i]
		d := byID[f.Identity]
		if d == nil {
			d = &ident{worst: f.Severity, first: i, vals: map[string]bool{}}
			d.g = htmlGroup{Anchor: identityAnchor(f.Identity), Identity: Sanitize(f.Identity)}
			d.id = htmlIdentity{Anchor: d.g.Anchor, Identity: d.g.Identity}
			d.since = f.FirstSeen
			byID[f.Identity] = d
			order = append(order, d)
		}
		if n := Sanitize(f.DisplayName); n != "" && !slices.Contains(d.names, n) {
			d.names = append(d.names, n)
		}
		d.worst = max(d.worst, f.Severity)
		if f.FirstSeen.Before(d.since) {
			d.since = f.FirstSeen
		}
		d.g.Findings = append(d.g.Findings, v.Findings[i])
		if !slices.Contains(d.rules, f.Rule) {
			d.rules = append(d.rules, f.Rule)
		}
		for _, a := range f.SourceIPs {
			if a := Sanitize(a); !slices.Contains(d.addrs, a) {
				d.addrs = append(d.addrs, a)
			}
		}
		for _, s := range f.ValuesRead {
			d.vals[s] = true
		}
	}
	slices.SortStableFunc(order, func(a, b *ident) int { return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(a.first, b.first)) })
	guides := map[string]bool{}
	for _, d := range order {
		d.g.Label = strings.Join(d.names, ", ")
		if d.g.Label == "" {
			d.g.Label = d.g.Identity
		}
		for i := range d.g.Findings {
			hf := &d.g.Findings[i]
			hf.RepeatGuide = guides[hf.Rule]
			guides[hf.Rule] = true
		}
		d.g.Severity, d.g.Color = d.worst.String(), severityColors[d.worst]
		v.Groups = append(v.Groups, d.g)
		id := d.id
		id.Label, id.Severity, id.Color, id.First = d.g.Label, d.g.Severity, d.g.Color, r.humanTime(d.since)
		id.Findings, id.Values, id.Rules = len(d.g.Findings), len(d.vals), d.rules
		id.Addresses = d.addrs
		if len(id.Addresses) > 4 {
			id.Addresses, id.MoreAddresses = id.Addresses[:4], len(id.Addresses)-4
		}
		v.Affected = append(v.Affected, id)
	}

	// What to rotate: every secret whose value a finding's identity received; then the
	// credentials behind the high and critical findings.
	type secret struct {
		s     htmlSecret
		worst analyze.Severity
	}
	secrets := map[string]*secret{}
	touched := map[string]bool{}
	creds := map[string]*htmlCredential{}
	var credOrder []string
	for _, i := range idx {
		f := &r.Findings[i]
		link := htmlLink{Anchor: v.Findings[i].Anchor, Label: f.Rule}
		for _, res := range f.Resources {
			touched[res] = true
		}
		for _, name := range f.ValuesRead {
			s := secrets[name]
			if s == nil {
				s = &secret{s: htmlSecret{Name: Sanitize(name)}, worst: f.Severity}
				secrets[name] = s
			}
			s.worst = max(s.worst, f.Severity)
			if w := htmlWho(f.DisplayName, f.Identity); !slices.Contains(s.s.Readers, w) {
				s.s.Readers = append(s.s.Readers, w)
			}
			if !slices.Contains(s.s.Findings, link) {
				s.s.Findings = append(s.s.Findings, link)
			}
		}
		if f.Credential != "" && f.Severity >= analyze.High {
			c := creds[f.Credential]
			if c == nil {
				c = &htmlCredential{Credential: Sanitize(f.Credential), Who: htmlWho(f.DisplayName, f.Identity),
					Severity: f.Severity.String(), Color: severityColors[f.Severity]}
				creds[f.Credential] = c
				credOrder = append(credOrder, f.Credential)
			}
			c.Findings = append(c.Findings, link)
		}
	}
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(secrets[b].worst, secrets[a].worst), cmp.Compare(a, b))
	})
	for i, n := range names {
		s := secrets[n].s
		s.Severity, s.Color = secrets[n].worst.String(), severityColors[secrets[n].worst]
		if i < maxListed {
			v.Rotate = append(v.Rotate, s)
		} else {
			v.MoreRotate = append(v.MoreRotate, s)
		}
	}
	v.TouchedOnly = len(touched) - len(secrets)
	for _, c := range credOrder {
		v.Revoke = append(v.Revoke, *creds[c])
	}

	v.Headline = headline(r, len(order), len(secrets))
	if ch := r.Changes; ch != nil {
		hc := &htmlChanges{Path: Sanitize(ch.Path), Found: ch.Found, New: len(r.Findings) + r.Hidden}
		hc.Recurring = priorList(r, ch.Recurring)
		hc.Resolved = priorList(r, ch.Resolved)
		v.Changes = hc
	}
}

// headline is the first sentence of the report: how many findings, how bad, about whom.
func headline(r *Result, identities, rotate int) string {
	if len(r.Findings) == 0 {
		if r.Events == 0 {
			return "No events were analysed, so there are no findings."
		}
		return fmt.Sprintf("No findings in %d events analysed.", r.Events)
	}
	by := BySeverity(r.Findings)
	var parts []string
	for s := analyze.Critical; s >= analyze.Info; s-- {
		if by[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", by[s], s))
		}
	}
	first, last := r.Findings[0].FirstSeen, r.Findings[0].LastSeen
	for _, f := range r.Findings {
		if f.FirstSeen.Before(first) {
			first = f.FirstSeen
		}
		if f.LastSeen.After(last) {
			last = f.LastSeen
		}
	}
	msg := fmt.Sprintf("%s (%s) about %s, between %s and %s.", nouns(len(r.Findings), "finding"),
		strings.Join(parts, ", "), nouns(identities, "identity"), r.humanTime(first), r.humanTime(last))
	if rotate > 0 {
		msg += fmt.Sprintf(" %s had their value returned to an identity with a finding: rotate them.", nouns(rotate, "secret"))
	} else {
		msg += " No finding had a secret's value returned."
	}
	return msg
}

// nouns writes a count with its noun: "1 identity", "12 identities".
func nouns(n int, word string) string {
	if n != 1 && strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, word[:len(word)-1])
	}
	return count(n, word)
}

func priorList(r *Result, ps []PriorFinding) htmlPriorList {
	l := htmlPriorList{Total: len(ps)}
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b PriorFinding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), a.FirstSeen.Compare(b.FirstSeen))
	})
	for i, p := range ps {
		hp := htmlPrior{Fingerprint: Sanitize(p.Fingerprint), Rule: Sanitize(p.Rule), Severity: p.Severity.String(),
			Color: severityColors[p.Severity], Title: Sanitize(p.Title), Who: htmlWho(p.DisplayName, p.Identity)}
		if !p.FirstSeen.IsZero() {
			hp.When = r.humanTime(p.FirstSeen)
		}
		if i < maxListed {
			l.Shown = append(l.Shown, hp)
		} else {
			l.More = append(l.More, hp)
		}
	}
	return l
}

// buildInputs sums the inputs per format: files, lines and what was skipped, with the files
// that held no event (CloudTrail digests, records all delivered before, files no format
// reads) counted by why. The per-file table stays in the page, folded away.
func buildInputs(v *htmlView, r *Result) {
	type acc struct {
		f           htmlFormat
		bytes       int64
		first, last time.Time
		reasons     map[string]int
		whole       map[string]int
	}
	byFormat := map[string]*acc{}
	var order []string
	for i, f := range r.Files {
		name := f.Format
		if name == "" {
			name = "not read"
		}
		a := byFormat[name]
		if a == nil {
			a = &acc{f: htmlFormat{Format: name}, reasons: map[string]int{}, whole: map[string]int{}}
			byFormat[name] = a
			order = append(order, name)
		}
		a.f.Files++
		a.f.Lines += f.Lines
		a.f.Parsed += f.Parsed
		a.f.Malformed += f.Malformed
		a.f.Skipped += f.SkippedTotal()
		a.f.Duplicates += f.Duplicates
		a.f.Events += f.Events
		a.bytes += f.Bytes
		for k, n := range f.Skipped {
			a.reasons[Sanitize(k)] += n
		}
		if !f.FirstEvent.IsZero() && (a.first.IsZero() || f.FirstEvent.Before(a.first)) {
			a.first = f.FirstEvent
		}
		if f.LastEvent.After(a.last) {
			a.last = f.LastEvent
		}
		switch {
		case f.NotRead != "":
			a.f.NoEvents++
			a.whole[Sanitize(f.NotRead)]++
		case f.Events == 0 && f.Parsed == 0 && f.Malformed == 0 && f.ReadError == "" && f.SkippedTotal() > 0:
			a.f.NoEvents++
			a.whole[mainReason(f.Skipped)]++
		case f.Events == 0 && f.Parsed > 0 && f.ReadError == "":
			a.f.NoEvents++
			a.whole["no event kept"]++
		}
		if f.ReadError != "" || f.Malformed > 0 || len(v.Files[i].Problems) > 0 {
			if len(v.ProblemFiles) < maxListed {
				v.ProblemFiles = append(v.ProblemFiles, v.Files[i])
			} else {
				v.MoreProblemFiles++
			}
		}
	}
	for _, name := range order {
		a := byFormat[name]
		a.f.Bytes = HumanBytes(a.bytes)
		if !a.first.IsZero() {
			a.f.First, a.f.Last = r.humanTime(a.first), r.humanTime(a.last)
		}
		a.f.SkipReasons, a.f.WholeFiles = countList(a.reasons), countList(a.whole)
		var detail []string
		if a.f.SkipReasons != "" {
			detail = append(detail, "Lines skipped: "+a.f.SkipReasons+".")
		}
		if a.f.Duplicates > 0 {
			detail = append(detail, fmt.Sprintf("%s dropped as delivered twice.", nouns(a.f.Duplicates, "record")))
		}
		if a.f.WholeFiles != "" {
			detail = append(detail, "Files without events: "+a.f.WholeFiles+".")
		}
		a.f.Detail = strings.Join(detail, " ")
		v.Formats = append(v.Formats, a.f)
	}
}

// mainReason is the reason most lines of a file were skipped for (the first by name on a tie).
func mainReason(m map[string]int) string {
	best, n := "", 0
	for k, c := range m {
		if c > n || (c == n && k < best) {
			best, n = k, c
		}
	}
	return Sanitize(best)
}

// countList writes "digest-file 219, duplicate 21", largest first.
func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
