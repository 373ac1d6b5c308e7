package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/notify"
)

// hook is a generic JSON receiver on 127.0.0.1 that keeps what it was sent.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
}

func newHook(t *testing.T, reply func(w http.ResponseWriter, r *http.Request)) *hook {
	t.Helper()
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Errorf("body is not a JSON object: %v\n%s", err, b)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, doc)
		h.mu.Unlock()
		if reply != nil {
			reply(w, r)
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) target(t *testing.T) []notify.Target {
	t.Helper()
	tg, err := notify.ParseTarget(h.srv.URL + "/ingest")
	if err != nil {
		t.Fatal(err)
	}
	return []notify.Target{tg}
}

// sent is the fingerprints of the findings in each body.
func (h *hook) sent() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]string
	for _, b := range h.bodies {
		var fps []string
		fs, _ := b["findings"].([]any)
		for _, f := range fs {
			fps = append(fps, f.(map[string]any)["fingerprint"].(string))
		}
		out = append(out, fps)
	}
	return out
}

func quickSender() *notify.Sender {
	return &notify.Sender{Backoff: 10 * time.Millisecond, MaxWait: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, Deadline: 2 * time.Second}
}

type reportDoc struct {
	Findings []struct {
		Rule        string `json:"rule"`
		Severity    string `json:"severity"`
		Fingerprint string `json:"fingerprint"`
	} `json:"findings"`
}

func decodeReport(t *testing.T, b []byte) reportDoc {
	t.Helper()
	var doc reportDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report is not complete JSON: %v\n%s", err, b)
	}
	return doc
}

// TestNotifyDedup: the first run alerts the findings at or above --notify-min-severity and
// records them in the updated baseline; a second run with that baseline does not send them
// again, and a run without --update-baseline records nothing.
func TestNotifyDedup(t *testing.T) {
	h := newHook(t, nil)
	bl := filepath.Join(t.TempDir(), "state.vsb")
	run := func(update bool) (reportDoc, string) {
		t.Helper()
		io, out, errb := testIO()
		_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true,
			BaselinePath: bl, UpdateBaseline: update,
			Notify: h.target(t), NotifyMinSeverity: analyze.High, Notifier: quickSender()}, Paths: []string{incident}})
		if err != nil {
			t.Fatalf("scan: %v\n%s", err, errb)
		}
		return decodeReport(t, out.Bytes()), errb.String()
	}

	// Without --update-baseline: sent, nothing recorded (there is no baseline file at all).
	first, _ := run(false)
	if len(h.sent()) != 1 {
		t.Fatalf("%d deliveries, want 1", len(h.sent()))
	}
	var want []string
	for _, f := range first.Findings {
		if sev, _ := analyze.ParseSeverity(f.Severity); sev >= analyze.High {
			want = append(want, f.Fingerprint)
		}
	}
	if len(want) == 0 || !slices.Equal(h.sent()[0], want) {
		t.Fatalf("sent %v, want the high and critical findings %v", h.sent()[0], want)
	}
	if _, err := os.Stat(bl); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a run without --update-baseline wrote the baseline: %v", err)
	}

	// With it: sent again (nothing recorded yet), and recorded.
	run(true)
	if n := len(h.sent()); n != 2 || !slices.Equal(h.sent()[1], want) {
		t.Fatalf("deliveries %v", h.sent())
	}
	st, b, err := baseline.Open(bl, false)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, fp := range want {
		if !b.WasAlerted(fp) {
			t.Errorf("finding %s not recorded as alerted", fp)
		}
	}

	// The same findings again (the baseline learned the events, but --previous-report is not
	// given and some rules fire again): nothing already alerted is sent.
	second, _ := run(true)
	for _, body := range h.sent()[2:] {
		for _, fp := range body {
			if slices.Contains(want, fp) {
				t.Errorf("finding %s sent again", fp)
			}
		}
	}
	again := 0
	for _, f := range second.Findings {
		if slices.Contains(want, f.Fingerprint) {
			again++
		}
	}
	if again == 0 {
		t.Error("the second run found none of the alerted findings again: the dedup check would be vacuous")
	}
}

// TestNotifyUndelivered: a receiver that never answers: the report is complete, the run fails
// with a RuntimeError after it (exit 3) naming the destination but not its secret path, and
// nothing is recorded as alerted.
func TestNotifyUndelivered(t *testing.T) {
	h := newHook(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	tg, err := notify.ParseTarget(h.srv.URL + "/hooks/s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	bl := filepath.Join(t.TempDir(), "state.vsb")
	io, out, errb := testIO()
	res, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Format: "json", Quiet: true,
		BaselinePath: bl, UpdateBaseline: true, NotifyOnError: true,
		Notify: []notify.Target{tg}, NotifyMinSeverity: analyze.Info, Notifier: quickSender()}, Paths: []string{incident}})
	var re *RuntimeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not delivered to 1 of 1 --notify destinations") ||
		!strings.Contains(re.Hint, "the report is complete") || strings.Contains(err.Error()+errb.String(), "s3cr3t") {
		t.Fatalf("err = %v (hint %q), stderr %s", err, re, errb)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(errb.String(), "error: notify http://127.0.0.1") {
		t.Errorf("err %v; stderr %s", err, errb)
	}
	if doc := decodeReport(t, out.Bytes()); len(doc.Findings) == 0 || res.Findings != len(doc.Findings) {
		t.Errorf("report has %d findings, outcome %d", len(doc.Findings), res.Findings)
	}
	// The baseline was still saved (the report is complete), without alerts.
	st, b, err := baseline.Open(bl, false)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if len(b.Principals) == 0 || len(b.Alerted) != 0 {
		t.Errorf("baseline: %d identities, alerted %v", len(b.Principals), b.Alerted)
	}
	// Undelivered alerts are not followed by a failure notice to the same receivers.
	if n := len(h.sent()); n != notify.DefaultAttempts { // the attempts of the alert, no notice
		t.Errorf("%d requests, want the %d attempts of the alert", n, notify.DefaultAttempts)
	}
}

// TestNotifyOnError: a run that fails (no event) sends the error notice; one that succeeds, or
// fails with a usage error, does not.
func TestNotifyOnError(t *testing.T) {
	h := newHook(t, nil)
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("shopping list\n"), 0o644)
	io, _, errb := testIO()
	opts := Options{IO: io, Format: "json", Quiet: true, Notify: h.target(t), NotifyMinSeverity: analyze.Critical + 1,
		NotifyOnError: true, Notifier: quickSender()}
	_, err := Scan(context.Background(), ScanRequest{Options: opts, Paths: []string{notes}})
	var re *RuntimeError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "no input produced an event") {
		t.Fatalf("err = %v; the run's error must come back unchanged", err)
	}
	if len(h.bodies) != 1 || h.bodies[0]["tool"] != "vaultsentry" || h.bodies[0]["error"] != err.Error() || h.bodies[0]["version"] != Version {
		t.Fatalf("notices %v; stderr %s", h.bodies, errb)
	}
	// CloudTrail files go through the same hook.
	_, err = CloudTrail(context.Background(), CloudTrailRequest{Options: opts, From: []string{notes}})
	if err == nil || len(h.bodies) != 2 || h.bodies[1]["command"] != "cloudtrail" {
		t.Fatalf("cloudtrail: %v, notices %v", err, h.bodies)
	}
	// A successful run with nothing to alert sends nothing.
	if _, err := Scan(context.Background(), ScanRequest{Options: opts, Paths: []string{incident}}); err != nil || len(h.bodies) != 2 {
		t.Fatalf("successful run: %v, %d requests", err, len(h.bodies))
	}
	// A usage error (an expired ignore entry) is not a failure of the run.
	opts.Config = DefaultConfig()
	opts.Config.Ignore = []IgnoreEntry{{Rule: "bulk-read", Identity: "*", Reason: "x", Expires: "2020-01-01", Until: time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)}}
	_, err = Scan(context.Background(), ScanRequest{Options: opts, Paths: []string{incident}})
	var ue *UsageError
	if !errors.As(err, &ue) || len(h.bodies) != 2 {
		t.Fatalf("expired ignore entry: %v, %d requests", err, len(h.bodies))
	}
}
