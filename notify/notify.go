// Package notify sends the new findings of a run, or the failure of a run, to webhooks
// (--notify): Prometheus Alertmanager's API, Slack incoming webhooks, and a generic JSON POST.
// The URL says which. Every delivery is retried with backoff, bounded in time, and stops with
// the run's context; whatever is not delivered is returned as an error, never dropped.
//
// Strings from logs are attacker-controlled: each payload cleans them for the receiver that
// displays them (Slack's control sequences, Alertmanager's label values). The generic payload
// is JSON and relies on the encoder, as the JSON report does.
package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
)

// Kind is the receiver a URL names.
type Kind int

// Kinds of receiver.
const (
	Generic      Kind = iota // a JSON POST of the findings as in the JSON report
	Slack                    // a Slack incoming webhook: one text message
	Alertmanager             // Prometheus Alertmanager's POST /api/v2/alerts
)

func (k Kind) String() string {
	switch k {
	case Slack:
		return "slack"
	case Alertmanager:
		return "alertmanager"
	}
	return "generic"
}

// slackScheme marks a Slack-compatible webhook on another host (a proxy, Mattermost); it is
// removed before posting.
const slackScheme = "slack+"

// Target is one --notify destination.
type Target struct {
	Kind Kind
	// URL is where the payload is posted (for slack+https:// URLs, without the "slack+").
	URL *url.URL
}

// ParseTarget reads a --notify URL: http or https (or slack+https), with a host. A path ending
// in /api/v2/alerts is Alertmanager, host hooks.slack.com or the slack+ prefix is Slack, and
// anything else gets the generic JSON POST.
func ParseTarget(raw string) (Target, error) {
	s := strings.TrimSpace(raw)
	kind := Generic
	if rest, ok := cutPrefixFold(s, slackScheme); ok {
		kind, s = Slack, rest
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may hold a webhook's secret
		}
		return Target{}, fmt.Errorf("not a URL: %v", err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return Target{}, fmt.Errorf("scheme %q: want http, https or slack+https", u.Scheme)
	case kind == Slack && u.Scheme != "https":
		return Target{}, errors.New("slack+ works with https only: a Slack webhook URL is a secret")
	case u.Host == "" || u.Hostname() == "":
		return Target{}, errors.New("no host")
	case u.Opaque != "":
		return Target{}, errors.New("not an absolute http URL (want scheme://host/path)")
	}
	u.Fragment, u.RawFragment = "", ""
	switch {
	case kind == Slack:
	case strings.EqualFold(u.Hostname(), "hooks.slack.com"):
		kind = Slack
	case strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v2/alerts"):
		kind = Alertmanager
	}
	return Target{Kind: kind, URL: u}, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// String names the target in messages without what may be a secret: a webhook's path and
// query (Slack's token is its path), and user information.
func (t Target) String() string {
	if t.URL == nil {
		return "(none)"
	}
	s := t.URL.Scheme + "://" + t.URL.Host
	if t.URL.Path != "" && t.URL.Path != "/" {
		if t.Kind == Alertmanager {
			s += t.URL.Path // an API path, not a secret
		} else {
			s += "/…"
		}
	}
	return s + " (" + t.Kind.String() + ")"
}

// Message is what one run alerts on: its new findings at or above the notify threshold.
type Message struct {
	Tool    string // "vaultsentry"
	Version string
	Command string // scan, cloudtrail
	// Findings to send, in report order.
	Findings []analyze.Finding
	// MinSeverity is the threshold the findings were chosen by (for the summary).
	MinSeverity analyze.Severity
}

// Failure is the notice of a run that failed (--notify-on-error).
type Failure struct {
	Tool    string
	Version string
	Command string
	Err     string // the run's error, as printed
	Hint    string
}

// DeliveryError is a payload one target did not accept after every attempt.
type DeliveryError struct {
	Target   Target
	Attempts int
	Err      error
}

func (e *DeliveryError) Error() string {
	return fmt.Sprintf("notify %s: not delivered after %d attempts: %v", e.Target, e.Attempts, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// RunbookURL is the documentation of a rule, for Alertmanager's runbook_url annotation: its
// section of docs/rules.md, as SARIF's helpUri.
func RunbookURL(rule string) string { return report.RuleDocURL(rule) }

// alertLifetime is how long an Alertmanager alert of a finding stays firing. A finding is an
// event, not a state that will resolve: the alert fires, is routed and notified once, and ends
// by itself instead of waiting for a resolution that never comes (Alertmanager's own default,
// resolve_timeout, is 5 minutes, often shorter than group_wait plus a slow receiver).
const alertLifetime = time.Hour
