package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
)

// Payload limits.
const (
	// SlackMaxFindings is how many findings a Slack message lists, one line each; the rest are
	// counted ("+N more"). Slack truncates a message's text at 40,000 characters.
	SlackMaxFindings = 20
	// slackMaxSecrets is how many secrets a Slack line names.
	slackMaxSecrets = 3
	// slackMaxField bounds each log-derived value on a Slack line, in runes.
	slackMaxField = 120
	// LabelMaxRunes bounds an Alertmanager label value: labels are keys for routing, grouping and
	// silences, not the place for a 4 KiB identity.
	LabelMaxRunes = 200
	// annotationMaxRunes bounds an Alertmanager annotation value.
	annotationMaxRunes = 4000
)

// body is the payload of msg for the target's kind.
func body(k Kind, msg *Message, now time.Time) ([]byte, error) {
	switch k {
	case Slack:
		return encode(slackMessage{Text: slackText(msg), UnfurlLinks: false, UnfurlMedia: false})
	case Alertmanager:
		return encode(alertmanagerAlerts(msg, now))
	}
	return encode(genericPayload(msg))
}

// failureBody is the payload of a failed run's notice for the target's kind.
func failureBody(k Kind, f *Failure, now time.Time) ([]byte, error) {
	switch k {
	case Slack:
		text := fmt.Sprintf(":x: %s %s failed: %s", f.Tool, slackEscape(f.Command, 40), slackEscape(f.Err, 1000))
		if f.Hint != "" {
			text += "\nhint: " + slackEscape(f.Hint, 500)
		}
		return encode(slackMessage{Text: text})
	case Alertmanager:
		a := postableAlert{
			Labels: map[string]string{"alertname": "vaultsentry-run-failed", "severity": "critical"},
			Annotations: map[string]string{
				"summary":     annotation(fmt.Sprintf("vaultsentry %s failed", f.Command)),
				"description": annotation(f.Err),
			},
			StartsAt: rfc3339(now), EndsAt: rfc3339(now.Add(alertLifetime)),
			GeneratorURL: "https://github.com/vaultsentry/vaultsentry",
		}
		if f.Command != "" {
			a.Labels["command"] = labelValue(f.Command)
		}
		if f.Hint != "" {
			a.Annotations["hint"] = annotation(f.Hint)
		}
		return encode([]postableAlert{a})
	}
	return encode(genericFailure{Tool: f.Tool, Version: f.Version, Command: f.Command, Error: validUTF8(f.Err), Hint: validUTF8(f.Hint)})
}

// encode is JSON without HTML escaping, with the invisible characters the JSON report escapes
// escaped the same way (report.EscapeInvisibleJSON), so a payload is safe to print.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return report.EscapeInvisibleJSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// genericPayload is the generic POST: the findings exactly as the JSON report writes them.
type genericPayloadDoc struct {
	Tool     string               `json:"tool"`
	Version  string               `json:"version"`
	Summary  genericSummary       `json:"summary"`
	Findings []report.JSONFinding `json:"findings"`
}

type genericSummary struct {
	Command     string         `json:"command"`
	Findings    int            `json:"findings"`
	BySeverity  map[string]int `json:"findings_by_severity"`
	MinSeverity string         `json:"min_severity"`
}

type genericFailure struct {
	Tool    string `json:"tool"`
	Version string `json:"version"`
	Command string `json:"command,omitempty"`
	Error   string `json:"error"`
	Hint    string `json:"hint,omitempty"`
}

func genericPayload(msg *Message) genericPayloadDoc {
	doc := genericPayloadDoc{Tool: msg.Tool, Version: msg.Version,
		Summary: genericSummary{Command: msg.Command, Findings: len(msg.Findings), BySeverity: map[string]int{},
			MinSeverity: msg.MinSeverity.String()},
		Findings: make([]report.JSONFinding, 0, len(msg.Findings))}
	for _, s := range analyze.Severities() {
		doc.Summary.BySeverity[s] = 0
	}
	for sev, n := range report.BySeverity(msg.Findings) {
		doc.Summary.BySeverity[sev.String()] = n
	}
	for _, f := range msg.Findings {
		doc.Findings = append(doc.Findings, report.NewJSONFinding(f))
	}
	return doc
}

// slackMessage is an incoming webhook's payload. Unfurling is off: a link in a message must not
// make Slack fetch it.
type slackMessage struct {
	Text        string `json:"text"`
	UnfurlLinks bool   `json:"unfurl_links"`
	UnfurlMedia bool   `json:"unfurl_media"`
}

// slackText is the compact message: counts by severity, then one line per finding (severity,
// rule, identity, first secrets, time), at most SlackMaxFindings lines.
func slackText(msg *Message) string {
	var b strings.Builder
	counts := report.BySeverity(msg.Findings)
	var parts []string
	for i := analyze.Critical; i >= analyze.Info; i-- {
		if counts[i] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[i], i))
		}
	}
	noun := "findings"
	if len(msg.Findings) == 1 {
		noun = "finding"
	}
	fmt.Fprintf(&b, ":rotating_light: %s %s: %d new %s (%s)", msg.Tool, slackEscape(msg.Command, 40), len(msg.Findings), noun, strings.Join(parts, ", "))
	for i, f := range msg.Findings {
		if i == SlackMaxFindings {
			fmt.Fprintf(&b, "\n+%d more", len(msg.Findings)-SlackMaxFindings)
			break
		}
		who := f.Identity
		if f.DisplayName != "" && f.DisplayName != f.Identity {
			who = f.DisplayName + " (" + f.Identity + ")"
		}
		fmt.Fprintf(&b, "\n• *%s* %s %s", f.Severity, slackCode(f.Rule, 60), slackCode(who, slackMaxField))
		if len(f.Resources) > 0 {
			rs := f.Resources[:min(len(f.Resources), slackMaxSecrets)]
			quoted := make([]string, len(rs))
			for j, r := range rs {
				quoted[j] = slackCode(r, slackMaxField)
			}
			fmt.Fprintf(&b, " on %s", strings.Join(quoted, ", "))
			if n := len(f.Resources) - len(rs); n > 0 {
				fmt.Fprintf(&b, " +%d", n)
			}
		}
		if t := f.LastSeen; !t.IsZero() {
			fmt.Fprintf(&b, " at %s", t.UTC().Format(time.RFC3339))
		}
	}
	return b.String()
}

// slackCode shows a log-derived value as inline code (no formatting, no auto-linking inside it),
// escaped (slackEscape) and without backticks, which would end the code span.
func slackCode(s string, max int) string {
	s = strings.ReplaceAll(slackEscape(s, max), "`", "'")
	if s == "" {
		return "`-`"
	}
	return "`" + s + "`"
}

// slackBroadcast matches the words Slack may turn into a notification of everyone, even
// without its <!channel> syntax (link_names, some clients).
var slackBroadcast = regexp.MustCompile(`(?i)@(channel|here|everyone)`)

// slackEscape makes a log-derived string inert in a Slack message: terminal escapes shown
// (report.Sanitize), &, < and > escaped as Slack's message formatting requires, so no
// <!channel>, <@U123> or <https://...|text> can be written by an identity or a path; the
// broadcast words broken by a word joiner; URLs defanged so Slack does not link them; and the
// length bounded.
func slackEscape(s string, max int) string {
	s = report.Cut(report.Sanitize(s), max)
	s = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	s = slackBroadcast.ReplaceAllString(s, "@\u2060$1")
	return strings.ReplaceAll(s, "://", "[:]//")
}

// postableAlert is one element of Alertmanager's postableAlerts (api/v2/openapi.yaml):
// labels and generatorURL from "alert", startsAt, endsAt and annotations beside them.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// alertmanagerAlerts is one alert per finding. Alertmanager identifies an alert by its label
// set, so the finding's fingerprint is a label too: two findings of one rule and identity on
// different secrets stay two alerts.
func alertmanagerAlerts(msg *Message, now time.Time) []postableAlert {
	out := make([]postableAlert, 0, len(msg.Findings))
	for _, f := range msg.Findings {
		labels := map[string]string{"alertname": "vaultsentry", "rule": labelValue(f.Rule), "severity": f.Severity.String(),
			"fingerprint": f.Fingerprint()}
		for k, v := range map[string]string{"identity": f.Identity, "store": f.Source} {
			if v != "" { // an empty value is the same as no label to Alertmanager
				labels[k] = labelValue(v)
			}
		}
		// Each part sanitised on its own: a line break logged inside an identity must not
		// start a line of the description that looks like ours.
		desc := report.Sanitize(f.Message)
		if len(f.Resources) > 0 {
			rs := make([]string, 0, 10)
			for _, r := range f.Resources[:min(len(f.Resources), 10)] {
				rs = append(rs, report.Sanitize(r))
			}
			desc += "\nsecrets: " + strings.Join(rs, ", ")
			if n := len(f.Resources) - len(rs); n > 0 {
				desc += fmt.Sprintf(" (+%d more)", n)
			}
		}
		if f.DisplayName != "" {
			desc += "\nidentity: " + report.Sanitize(f.DisplayName)
		}
		start := f.FirstSeen
		if start.IsZero() || start.After(now) {
			start = now // a far-future log time must not keep the alert from firing
		}
		out = append(out, postableAlert{
			Labels: labels,
			Annotations: map[string]string{
				"summary":     annotation(f.Title),
				"description": report.Cut(desc, annotationMaxRunes),
				"runbook_url": RunbookURL(f.Rule),
			},
			StartsAt: rfc3339(start), EndsAt: rfc3339(now.Add(alertLifetime)),
			GeneratorURL: RunbookURL(f.Rule),
		})
	}
	return out
}

// labelValue is a log-derived label value with no control or invisible character
// (report.Sanitize shows them as escapes), at most LabelMaxRunes runes.
func labelValue(s string) string { return report.Cut(report.Sanitize(s), LabelMaxRunes) }

// annotation is a log-derived annotation value: sanitised (a line break shows as \u000a),
// bounded.
func annotation(s string) string { return report.Cut(report.Sanitize(s), annotationMaxRunes) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
