package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/xeipuuv/gojsonschema"

	"github.com/vaultsentry/vaultsentry/analyze"
)

var t0 = time.Date(2026, 11, 30, 3, 12, 0, 0, time.UTC)

// hostile is an identity written by an attacker for the people who read alerts.
const hostile = "<!channel> @here <https://evil.example|click> <@U123> &amp; \x1b]8;;https://evil\x07x\nsecrets: none"

func findings() []analyze.Finding {
	return []analyze.Finding{
		{Rule: "bulk-read", Severity: analyze.Critical, Title: "Bulk read of 40 secrets", Message: "app read 40 secrets in 5m",
			Source: "vault", Identity: "entity-app", DisplayName: "k8s-app", Resources: []string{"kv/prod/a", "kv/prod/b", "kv/prod/c", "kv/prod/d"},
			FirstSeen: t0.Add(-5 * time.Minute), LastSeen: t0, Count: 40, Evidence: []analyze.Evidence{{File: "audit.log", Line: 7, Time: t0}}},
		{Rule: "new-resource", Severity: analyze.High, Title: "First read of a secret", Message: "first read by " + hostile,
			Source: "vault", Identity: hostile, DisplayName: hostile, Resources: []string{hostile},
			FirstSeen: t0, LastSeen: t0, Count: 1},
	}
}

func message() *Message {
	return &Message{Tool: "vaultsentry", Version: "v1.2.3", Command: "scan", Findings: findings(), MinSeverity: analyze.High}
}

// fast is a sender with test-sized waits.
func fast() *Sender {
	return &Sender{Backoff: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond, Timeout: 2 * time.Second, Deadline: 5 * time.Second,
		Now: func() time.Time { return t0.Add(time.Hour) }}
}

// receiver is an httptest server on 127.0.0.1 that keeps every body and answers with reply.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	calls  atomic.Int32
}

func newReceiver(t *testing.T, reply func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.calls.Add(1))
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: %s with Content-Type %q", n, r.Method, r.Header.Get("Content-Type"))
		}
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		rc.mu.Unlock()
		if reply != nil {
			reply(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) target(t *testing.T, path string) Target {
	t.Helper()
	tg, err := ParseTarget(rc.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		kind    Kind
		post    string // the URL posted to
		wantErr string
	}{
		{"http://127.0.0.1:9093/api/v2/alerts", Alertmanager, "http://127.0.0.1:9093/api/v2/alerts", ""},
		{"https://am.example/prefix/api/v2/alerts/", Alertmanager, "https://am.example/prefix/api/v2/alerts/", ""},
		{"https://hooks.slack.com/services/T0/B0/secret", Slack, "https://hooks.slack.com/services/T0/B0/secret", ""},
		{"slack+https://chat.example/hooks/abc", Slack, "https://chat.example/hooks/abc", ""},
		{"HTTPS://hooks.SLACK.com/services/x", Slack, "https://hooks.SLACK.com/services/x", ""},
		{"https://siem.example/ingest?token=x", Generic, "https://siem.example/ingest?token=x", ""},
		{"https://siem.example/api/v2/alerts-not", Generic, "https://siem.example/api/v2/alerts-not", ""},
		// Near misses.
		{"ftp://siem.example/x", 0, "", "scheme"},
		{"slack+http://chat.example/x", 0, "", "https only"},
		{"siem.example/ingest", 0, "", "scheme"},
		{"https:///path", 0, "", "no host"},
		{"https://[::1/x", 0, "", "not a URL"},
		{"mailto:soc@example.com", 0, "", "scheme"},
		{"http:opaque", 0, "", "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Kind != tt.kind || got.URL.String() != tt.post {
				t.Fatalf("ParseTarget(%q) = %v %v, %v; want %v %s", tt.in, got.Kind, got.URL, err, tt.kind, tt.post)
			}
		})
	}
}

// TestTargetStringHidesSecrets: a webhook's path and query are its secret; messages show the host.
func TestTargetStringHidesSecrets(t *testing.T) {
	for _, in := range []string{"https://hooks.slack.com/services/T0/B0/s3cr3t", "https://user:s3cr3t@siem.example/x?token=s3cr3t"} {
		tg, err := ParseTarget(in)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tg.String(), "s3cr3t") {
			t.Errorf("%q shown as %q", in, tg.String())
		}
	}
}

// postableAlertsSchema converts the definitions of Alertmanager's Swagger 2.0 API
// (testdata/alertmanager-openapi-v0.35.0.yaml) into a JSON schema for postableAlerts. Swagger
// 2.0 definitions are JSON Schema draft 4 with a few extensions, none of which these use.
func postableAlertsSchema(t *testing.T) *gojsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "alertmanager-openapi-v0.35.0.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Swagger     string         `yaml:"swagger"`
		Definitions map[string]any `yaml:"definitions"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Swagger != "2.0" || spec.Definitions["postableAlerts"] == nil {
		t.Fatalf("not the Alertmanager v2 API: swagger %q", spec.Swagger)
	}
	doc := map[string]any{"$schema": "http://json-schema.org/draft-04/schema#", "$ref": "#/definitions/postableAlerts",
		"definitions": spec.Definitions}
	schema, err := gojsonschema.NewSchema(gojsonschema.NewGoLoader(doc))
	if err != nil {
		t.Fatalf("compile postableAlerts: %v", err)
	}
	return schema
}

func validate(t *testing.T, schema *gojsonschema.Schema, body []byte) []string {
	t.Helper()
	res, err := schema.Validate(gojsonschema.NewBytesLoader(body))
	if err != nil {
		t.Fatalf("validate %s: %v", body, err)
	}
	var out []string
	for _, e := range res.Errors() {
		out = append(out, e.String())
	}
	return out
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// TestAlertmanager posts findings and a run failure to a receiver that validates every body
// against Alertmanager's own postableAlerts schema, then checks what the schema cannot: label
// names Alertmanager accepts, label values with no control character and bounded in length,
// startsAt before endsAt, endsAt in the future.
func TestAlertmanager(t *testing.T) {
	schema := postableAlertsSchema(t)
	// The schema is not vacuous: it rejects what Alertmanager rejects.
	for _, bad := range []string{`{"labels":{}}`, `[{"annotations":{"a":"b"}}]`, `[{"labels":{"a":1}}]`, `[{"labels":{"a":"b"},"startsAt":"yesterday"}]`} {
		if len(validate(t, schema, []byte(bad))) == 0 {
			t.Errorf("the schema accepts %s", bad)
		}
	}
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	s := fast()
	msg := message()
	msg.Findings[1].Identity += strings.Repeat("x", 1000)
	if err := s.Send(context.Background(), []Target{rc.target(t, "/api/v2/alerts")}, msg); err != nil {
		t.Fatal(err)
	}
	if err := s.SendFailure(context.Background(), []Target{rc.target(t, "/api/v2/alerts")},
		&Failure{Tool: "vaultsentry", Version: "v1", Command: "scan", Err: "scan: no input produced an event (1 file)\x1b[2J", Hint: "check the paths"}); err != nil {
		t.Fatal(err)
	}
	if len(rc.bodies) != 2 {
		t.Fatalf("%d requests, want 2", len(rc.bodies))
	}
	for i, b := range rc.bodies {
		if errs := validate(t, schema, b); len(errs) > 0 {
			t.Errorf("body %d does not match postableAlerts: %v\n%s", i, errs, b)
		}
	}
	var alerts []postableAlert
	if err := json.Unmarshal(rc.bodies[0], &alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 2 {
		t.Fatalf("%d alerts for 2 findings", len(alerts))
	}
	now := s.Now()
	for _, a := range alerts {
		for k, v := range a.Labels {
			if !labelName.MatchString(k) || v == "" || len([]rune(v)) > LabelMaxRunes || strings.ContainsAny(v, "\x00\x1b\n\r\x07") {
				t.Errorf("label %q=%q", k, v)
			}
		}
		for _, k := range []string{"alertname", "rule", "severity", "identity", "store", "fingerprint"} {
			if a.Labels[k] == "" {
				t.Errorf("no label %s in %v", k, a.Labels)
			}
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if a.Annotations[k] == "" {
				t.Errorf("no annotation %s in %v", k, a.Annotations)
			}
		}
		start, _ := time.Parse(time.RFC3339Nano, a.StartsAt)
		end, _ := time.Parse(time.RFC3339Nano, a.EndsAt)
		if !start.Before(end) || !end.After(now) {
			t.Errorf("startsAt %s, endsAt %s: the alert must be firing at %s", a.StartsAt, a.EndsAt, now)
		}
	}
	if a := alerts[0]; a.Labels["alertname"] != "vaultsentry" || a.Labels["rule"] != "bulk-read" || a.Labels["severity"] != "critical" ||
		a.Labels["store"] != "vault" || a.Annotations["runbook_url"] != "https://github.com/vaultsentry/vaultsentry/blob/main/docs/rules.md#bulk-read" {
		t.Errorf("first alert: %+v", a)
	}
	if strings.Contains(alerts[1].Annotations["description"], "\nsecrets: none") {
		t.Error("a line break in a logged identity starts a line of the description")
	}
	var failure []postableAlert
	if err := json.Unmarshal(rc.bodies[1], &failure); err != nil {
		t.Fatal(err)
	}
	if len(failure) != 1 || failure[0].Labels["alertname"] != "vaultsentry-run-failed" ||
		!strings.Contains(failure[0].Annotations["description"], "no input produced an event") || strings.Contains(failure[0].Annotations["description"], "\x1b") {
		t.Errorf("failure notice: %+v", failure)
	}
}

// TestSlack: a hostile identity, display name and secret cannot mention anyone, link anywhere
// or drive a terminal through the message; the message counts by severity and caps its lines.
func TestSlack(t *testing.T) {
	slackRC := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	msg := message()
	for i := range 30 {
		f := msg.Findings[0]
		f.Resources = []string{"kv/x" + strings.Repeat("y", i)}
		msg.Findings = append(msg.Findings, f)
	}
	// The test server is plain http on 127.0.0.1; ParseTarget would call it generic (Slack is
	// hooks.slack.com or slack+https): set the kind, as ParseTarget does for those.
	tg := slackRC.target(t, "/services/T0/B0/x")
	tg.Kind = Slack
	if err := fast().Send(context.Background(), []Target{tg}, msg); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(slackRC.bodies[0], &m); err != nil {
		t.Fatal(err)
	}
	text, _ := m["text"].(string)
	if text == "" || m["unfurl_links"] != false {
		t.Fatalf("payload %s", slackRC.bodies[0])
	}
	for _, bad := range []string{"<!channel>", "<!here", "<@U123>", "<https://", "|click>", "@here", "@channel", "https://evil", "\x1b", "\x07"} {
		if strings.Contains(text, bad) {
			t.Errorf("text contains %q:\n%s", bad, text)
		}
	}
	// Slack reads only &lt; &gt; &amp; and its <...> sequences: no bare < or > survives.
	if strings.ContainsAny(text, "<>") {
		t.Errorf("text has a bare < or >:\n%s", text)
	}
	lines := strings.Split(text, "\n")
	if !strings.Contains(lines[0], "32 new findings (31 critical, 1 high)") {
		t.Errorf("first line %q", lines[0])
	}
	if len(lines) != 1+SlackMaxFindings+1 || lines[len(lines)-1] != "+12 more" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.Contains(lines[1], "*critical* `bulk-read` `k8s-app (entity-app)` on `kv/prod/a`, `kv/prod/b`, `kv/prod/c` +1 at 2026-11-30T03:12:00Z") {
		t.Errorf("finding line %q", lines[1])
	}
}

// TestGeneric: the generic POST carries the findings as the JSON report writes them (checked
// against docs/report.schema.json's finding definition) with a summary.
func TestGeneric(t *testing.T) {
	rc := newReceiver(t, nil)
	if err := fast().Send(context.Background(), []Target{rc.target(t, "/ingest")}, message()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tool    string `json:"tool"`
		Version string `json:"version"`
		Summary struct {
			Command     string         `json:"command"`
			Findings    int            `json:"findings"`
			BySeverity  map[string]int `json:"findings_by_severity"`
			MinSeverity string         `json:"min_severity"`
		} `json:"summary"`
		Findings []json.RawMessage `json:"findings"`
	}
	if err := json.Unmarshal(rc.bodies[0], &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tool != "vaultsentry" || doc.Version != "v1.2.3" || doc.Summary.Command != "scan" || doc.Summary.Findings != 2 ||
		doc.Summary.BySeverity["critical"] != 1 || doc.Summary.BySeverity["high"] != 1 || doc.Summary.MinSeverity != "high" || len(doc.Findings) != 2 {
		t.Fatalf("payload %s", rc.bodies[0])
	}
	abs, err := filepath.Abs("../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	raw, _ := os.ReadFile(abs)
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	full["$ref"] = "#/definitions/finding"
	delete(full, "properties")
	delete(full, "required")
	delete(full, "additionalProperties")
	delete(full, "type")
	schema, err := gojsonschema.NewSchema(gojsonschema.NewGoLoader(full))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range doc.Findings {
		if errs := validate(t, schema, f); len(errs) > 0 {
			t.Errorf("finding %d is not a report finding: %v\n%s", i, errs, f)
		}
	}
	var f1 struct {
		Identity    string `json:"identity"`
		Fingerprint string `json:"fingerprint"`
	}
	json.Unmarshal(doc.Findings[1], &f1)
	if f1.Identity != hostile || f1.Fingerprint != message().Findings[1].Fingerprint() {
		t.Errorf("the generic payload must keep the logged identity exactly (JSON escapes it): %q", f1.Identity)
	}
	if strings.Contains(string(rc.bodies[0]), "\x1b") {
		t.Error("raw ESC in the payload")
	}
	// The failure notice.
	if err := fast().SendFailure(context.Background(), []Target{rc.target(t, "/ingest")}, &Failure{Tool: "vaultsentry", Version: "v1", Err: "boom"}); err != nil {
		t.Fatal(err)
	}
	var fail map[string]any
	json.Unmarshal(rc.bodies[1], &fail)
	if fail["tool"] != "vaultsentry" || fail["version"] != "v1" || fail["error"] != "boom" {
		t.Errorf("failure notice %s", rc.bodies[1])
	}
}

// TestRetry: two 503s (one with Retry-After), then success: delivered once, no error.
func TestRetry(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	if err := fast().Send(context.Background(), []Target{rc.target(t, "/hook")}, message()); err != nil {
		t.Fatalf("delivery after two 503s: %v", err)
	}
	if n := rc.calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestPermanentFailure: a 400 is not retried; the error names the status but not the secret URL.
func TestPermanentFailure(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "invalid_payload")
	})
	err := fast().Send(context.Background(), []Target{rc.target(t, "/hook/s3cr3t")}, message())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Attempts != 1 || !strings.Contains(err.Error(), "HTTP 400: invalid_payload") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v", err)
	}
	if n := rc.calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestNoAnswer: a receiver that never answers costs the per-request timeout per attempt, and
// the error says so, without the URL; a second, healthy target still gets its alert.
func TestNoAnswer(t *testing.T) {
	hang := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ok := newReceiver(t, nil)
	s := fast()
	s.Timeout, s.Attempts = 100*time.Millisecond, 2
	start := time.Now()
	err := s.Send(context.Background(), []Target{hang.target(t, "/s3cr3t"), ok.target(t, "/")}, message())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	if hang.calls.Load() != 2 || ok.calls.Load() != 1 {
		t.Errorf("requests: %d to the silent receiver, %d to the healthy one", hang.calls.Load(), ok.calls.Load())
	}
}

// TestInterrupted: the run's context ends the retries at once.
func TestInterrupted(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	s := fast()
	s.MaxWait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err := s.Send(ctx, []Target{rc.target(t, "/")}, message())
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
}

// TestNoRedirect: a redirect is a failure, never a POST turned GET somewhere else.
func TestNoRedirect(t *testing.T) {
	elsewhere := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusFound)
	})
	if err := fast().Send(context.Background(), []Target{rc.target(t, "/")}, message()); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Fatalf("error %v", err)
	}
	if elsewhere.calls.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0, "99999": time.Hour,
		"Thu, 03 Dec 2026 10:00:05 GMT": 5 * time.Second, "Thu, 03 Dec 2026 09:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestRetryAfterHonoured: a 429 asking for a second is waited for, not the shorter backoff.
func TestRetryAfterHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		gap = time.Since(first)
	})
	s := fast()
	s.MaxWait = 5 * time.Second
	if err := s.Send(context.Background(), []Target{rc.target(t, "/")}, message()); err != nil {
		t.Fatal(err)
	}
	if rc.calls.Load() != 2 || gap < 900*time.Millisecond {
		t.Errorf("%d requests, second after %s; want 2, after Retry-After's second", rc.calls.Load(), gap)
	}
}
