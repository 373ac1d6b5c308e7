package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// SecretInAuditLog reports an audit log that holds secret values: once per input file, with
// the secrets whose values it holds (event.FlagValueLogged, which the source sets without
// keeping the value).
//
// Why: an audit policy that logs Kubernetes Secrets at the Request or RequestResponse level
// writes their base64 data into every copy of the log: the API server's disk, the shipper, the
// SIEM, the archive. Whoever can read the logs can read the secrets (ATT&CK T1552.001,
// T1005); PCI DSS 3.3/3.5 and most audits treat that as an exposure of the secrets themselves.
//
// Thresholds: any request whose logged body holds a Secret's data (data or stringData with
// content; a list's items). One finding per file, high, naming the secrets, the requests and
// their span. The exposure lasts as long as the file exists, so the finding is true at the end
// of the input and is reported even when the lines fall in the learning period.
//
// Never a value: the finding names files, lines and secrets; the value stays where it is.
//
// Known false positives: none the rule can tell; a test cluster with dummy secrets is still
// logging them.
type SecretInAuditLog struct {
	rule  Rule
	files map[string]*Finding
	order []string
	res   map[string]*set // file -> the requests' resources
	names map[string]*set // file -> the secrets got or written by name
	lists map[string]*set // file -> the listings, with what the source said of their bodies (Detail)
	end   time.Time
}

// NewSecretInAuditLog builds the secret-in-audit-log detector.
func NewSecretInAuditLog(Env) Detector {
	return &SecretInAuditLog{files: map[string]*Finding{}, res: map[string]*set{}, names: map[string]*set{}, lists: map[string]*set{}, rule: Rule{
		Kinds: event.KindsOf(event.KindKubernetes), Group: GroupNone, ID: "secret-in-audit-log", Name: "Audit log holds secret values", Severity: High,
		Summary: "the audit log itself holds the data of secrets (a Kubernetes audit policy logs secrets at Request or RequestResponse level)",
		Help: "A Kubernetes audit policy that logs secrets at the Request or RequestResponse level writes their data (requestObject, " +
			"responseObject, a list's items) into every copy of the log. Reported once per file, with the secrets named; values are never printed. " +
			"Needs nothing but the log; shown even inside the learning period, since the exposure lasts as long as the file.",
		Guide: "Fix the audit policy: put a rule `- level: Metadata` with `resources: [{group: \"\", resources: [\"secrets\", \"configmaps\"]}]` " +
			"before any Request/RequestResponse rule (and omitStages RequestReceived if wanted), and restart the API servers. Treat every secret " +
			"named as exposed: rotate it, then delete or restrict the log copies (the node's file, the shipper's buffers, the SIEM index, archives).",
		MITRE: []string{"T1552.001", "T1005"},
	}}
}

// Rule describes secret-in-audit-log.
func (d *SecretInAuditLog) Rule() Rule { return d.rule }

// Observe collects the requests whose log line holds a secret value, per file.
func (d *SecretInAuditLog) Observe(ev *event.Event) {
	if ev.Time.After(d.end) {
		d.end = ev.Time
	}
	if !ev.Has(event.FlagValueLogged) {
		return
	}
	file := ev.Pos.File
	f := d.files[file]
	if f == nil {
		nf := newFinding(d.rule, ev)
		nf.Identity, nf.DisplayName, nf.Credential = file, "", ""
		f = &nf
		d.files[file] = f
		d.order = append(d.order, file)
		d.res[file], d.names[file], d.lists[file] = &set{}, &set{}, &set{}
	}
	f.Count++
	if ev.Time.Before(f.FirstSeen) {
		f.FirstSeen = ev.Time
	}
	if ev.Time.After(f.LastSeen) {
		f.LastSeen = ev.Time
	}
	f.addEvidence(evidenceOf(ev))
	if d.res[file].len() < MaxResources {
		d.res[file].add(ev.Resource)
	}
	switch {
	case ev.Name() != "":
		if d.names[file].len() < MaxResources {
			d.names[file].add(ev.Name())
		}
	case d.lists[file].len() < MaxResources:
		l := ev.Resource
		if ev.Detail != "" {
			l += " (" + ev.Detail + ")"
		}
		d.lists[file].add(l)
	}
}

// Finish returns one finding per file, true at the end of the input.
func (d *SecretInAuditLog) Finish() []Finding {
	out := make([]Finding, 0, len(d.order))
	for _, file := range d.order {
		f := *d.files[file]
		f.Resources = append([]string{file}, d.res[file].sorted(MaxResources-1)...)
		f.TriggerTime = d.end
		var what []string
		if names := d.names[file].sorted(0); len(names) > 0 {
			what = append(what, "secrets "+strings.Join(names, ", "))
		}
		if lists := d.lists[file].sorted(0); len(lists) > 0 {
			what = append(what, "listings "+strings.Join(lists, ", "))
		}
		msg := fmt.Sprintf("%s holds the data of secrets in %s between %s and %s: %s", file, Count(f.Count, "logged request", "logged requests"),
			f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339), strings.Join(what, "; "))
		f.Message = msg + "; the audit policy logs secrets at the Request or RequestResponse level. The values are not shown here."
		f.Remediation = "set secrets to level Metadata in the audit policy, rotate the secrets named, and delete or restrict every copy of " + file
		out = append(out, f)
	}
	return out
}
