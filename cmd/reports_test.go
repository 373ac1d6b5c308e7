package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/sources"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vaultsentry.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigErrors: each mistake is a usage error (exit 2) whose message names the key.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "internal_cidrs: [10.0.0.0/8]\nthreshold:\n  bulk-read: {count: 5}\n", []string{"threshold", "[2:1]"}},
		{"unknown nested key", "maintenance_windows:\n  timezone: UTC\n  windws: []\n", []string{"windws", "[3:3]"}},
		{"bad CIDR", "internal_cidrs: [10.0.0.0/33]\n", []string{"internal_cidrs", `"10.0.0.0/33" is not a CIDR`}},
		{"bad time zone", "maintenance_windows:\n  timezone: Europe/Dublinn\n", []string{"maintenance_windows.timezone", `unknown time zone "Europe/Dublinn"`}},
		{"ignore without reason", "ignore:\n  - rule: bulk-read\n    identity: backup\n", []string{"ignore[0]", "reason is required"}},
		{"ignore unknown rule", "ignore:\n  - rule: bulk-reads\n    identity: x\n    reason: r\n", []string{"ignore[0].rule", `unknown rule id "bulk-reads"`}},
		{"ignore says nothing to match", "ignore:\n  - rule: bulk-read\n    reason: r\n", []string{"ignore[0]", "give identity or resource"}},
		{"ignore bad expiry", "ignore:\n  - rule: bulk-read\n    identity: x\n    reason: r\n    expires: 31/12/2026\n", []string{"ignore[0].expires", "YYYY-MM-DD"}},
		{"ignore bad glob", "ignore:\n  - rule: bulk-read\n    identity: \"[x\"\n    reason: r\n", []string{"ignore[0].identity", "bad pattern"}},
		{"override unknown rule", "overrides:\n  - identity: backup\n    rule: bulkread\n    count: 5\n", []string{"overrides[0]", `unknown rule id "bulkread"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(writeConfig(t, tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error (exit 2)", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The nearby valid file loads.
	if _, err := loadConfig(writeConfig(t, "internal_cidrs: [10.0.0.0/8]\nignore:\n  - rule: bulk-read\n    identity: backup\n    reason: nightly\n    expires: 2020-01-01\n")); err != nil {
		t.Errorf("valid config (an expired entry loads; it is reported at run time): %v", err)
	}
}

// TestExampleConfig: the shipped example loads, and it mentions every key the parser knows.
func TestExampleConfig(t *testing.T) {
	const example = "../vaultsentry.example.yaml"
	lc, err := loadConfig(example)
	if err != nil {
		t.Fatalf("vaultsentry.example.yaml does not load: %v", err)
	}
	def := analyze.DefaultConfig()
	if !reflect.DeepEqual(lc.Analyze.BulkRead, def.BulkRead) || !reflect.DeepEqual(lc.Analyze.InternalCIDRs, def.InternalCIDRs) ||
		!reflect.DeepEqual(lc.Analyze.AdminPolicies, def.AdminPolicies) || lc.Analyze.Rotation.Grace != def.Rotation.Grace {
		t.Error("the example should show the defaults, not change them")
	}
	text, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(rt reflect.Type)
	walk = func(rt reflect.Type) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct {
			return
		}
		for i := range rt.NumField() {
			tag := strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			keys = append(keys, tag)
			walk(rt.Field(i).Type)
		}
	}
	walk(reflect.TypeOf(fileConfig{}))
	// thresholds.<rule> keys are the yaml tags of the rule's config struct in analyze; the
	// example's thresholds block shows every one of them, at its default.
	for _, r := range analyze.Rules() {
		th := def.Thresholds(r.ID)
		if th == nil {
			continue
		}
		for _, f := range thresholdFields(th) {
			keys = append(keys, f.key)
		}
		if got := lc.Analyze.Thresholds(r.ID); !reflect.DeepEqual(got, th) {
			t.Errorf("example thresholds.%s = %+v, want the defaults %+v", r.ID, reflect.ValueOf(got).Elem(), reflect.ValueOf(th).Elem())
		}
	}
	for _, k := range keys {
		if !bytes.Contains(text, []byte(k+":")) {
			t.Errorf("vaultsentry.example.yaml does not show the key %q", k)
		}
	}
	for _, r := range analyze.Rules() {
		if !bytes.Contains(text, []byte(r.ID)) {
			t.Logf("note: rule %s has no line in the example (fine when it has no thresholds)", r.ID)
		}
	}
}

func TestIgnoreMatching(t *testing.T) {
	entries, err := validateIgnore([]fileIgnore{
		{Rule: "bulk-read", Identity: "backup-*", Reason: "nightly backup"},
		{Rule: "bulk-read", Resource: "kv/reports/*", Reason: "report exports", Expires: "2030-01-31"},
		{Rule: "dual-*", Identity: "vpn-user", Reason: "VPN egress", Expires: "2020-01-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 9, 24, 0, 0, 0, 0, time.UTC)
	f := func(rule, id, display string, res ...string) analyze.Finding {
		return analyze.Finding{Rule: rule, Identity: id, DisplayName: display, Resources: res}
	}
	tests := []struct {
		name string
		f    analyze.Finding
		want bool // suppressed
	}{
		{"identity glob on the display name", f("bulk-read", "e-1", "backup-nightly", "kv/a"), true},
		{"same identity, other rule", f("dual-source-ip", "e-1", "backup-nightly"), false},
		{"identity glob near miss", f("bulk-read", "e-2", "nightly-backup", "kv/a"), false},
		{"every resource inside the glob", f("bulk-read", "e-3", "bi", "kv/reports/a", "kv/reports/b"), true},
		{"one resource outside the glob", f("bulk-read", "e-3", "bi", "kv/reports/a", "kv/prod/db"), false},
		{"resource glob and no resources", f("bulk-read", "e-3", "bi"), false},
		{"expired entry suppresses nothing", f("dual-source-ip", "e-4", "vpn-user"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, sup, expired := applyIgnore([]analyze.Finding{tt.f}, entries, now)
			if got := len(sup) == 1; got != tt.want || len(kept)+len(sup) != 1 {
				t.Errorf("suppressed = %v, want %v", got, tt.want)
			}
			if len(expired) != 1 || expired[0].Index != 2 {
				t.Errorf("expired = %+v, want entry 2", expired)
			}
		})
	}
	// The expiry day itself still counts; the day after does not.
	e := entries[1]
	if e.expired(time.Date(2030, 1, 31, 23, 59, 0, 0, time.UTC)) || !e.expired(time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("an entry expires at the end of its expiry day")
	}
}

func TestPreviousReport(t *testing.T) {
	a := analyze.Finding{Rule: "bulk-read", Identity: "e-1", Resources: []string{"kv/a", "kv/b"}}
	b := analyze.Finding{Rule: "bulk-read", Identity: "e-1", Resources: []string{"kv/a", "kv/c"}} // one secret differs
	dir := t.TempDir()
	prev := filepath.Join(dir, "yesterday.json")
	doc, _ := json.Marshal(map[string]any{"tool": "vaultsentry", "findings": []map[string]string{{"fingerprint": a.Fingerprint()}}})
	if err := os.WriteFile(prev, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	fps, found, err := previousFingerprints(prev)
	if err != nil || !found {
		t.Fatalf("read previous report: %v %v", found, err)
	}
	kept, dropped := dropPrevious([]analyze.Finding{a, b}, fps)
	if dropped != 1 || len(kept) != 1 || kept[0].Fingerprint() != b.Fingerprint() {
		t.Errorf("kept %d, dropped %d: only the finding with a new secret should remain", len(kept), dropped)
	}
	if _, found, err := previousFingerprints(filepath.Join(dir, "missing.json")); err != nil || found {
		t.Errorf("a missing previous report counts as empty: found=%v err=%v", found, err)
	}
	bad := filepath.Join(dir, "sarif.json")
	os.WriteFile(bad, []byte(`{"version":"2.1.0","runs":[]}`), 0o644)
	var ue *usageError
	if _, _, err := previousFingerprints(bad); !errors.As(err, &ue) {
		t.Errorf("a file that is not a vaultsentry report is a usage error, got %v", err)
	}
}

func TestRulesCommand(t *testing.T) {
	s, out, errb := TestStreams()
	if code := Main(context.Background(), []string{"rules"}, s); code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, r := range analyze.Rules() {
		if !strings.Contains(out.String(), r.ID+"  ["+r.Severity.String()+"]") {
			t.Errorf("rules does not list %s", r.ID)
		}
	}
	s, out, _ = TestStreams()
	if code := Main(context.Background(), []string{"rules", "--format", "json"}, s); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var list []ruleJSON
	if err := json.Unmarshal(out.Bytes(), &list); err != nil || len(list) != len(analyze.Rules()) {
		t.Errorf("rules --format json: %d rules, %v", len(list), err)
	}
	id := analyze.Rules()[0].ID
	s, out, _ = TestStreams()
	if code := Main(context.Background(), []string{"rules", "explain", id}, s); code != 0 || !strings.Contains(out.String(), "Investigation guide") {
		t.Errorf("rules explain %s: exit %d\n%s", id, code, out)
	}
	s, _, errb = TestStreams()
	if code := Main(context.Background(), []string{"rules", "explain", "no-such-rule"}, s); code != ExitUsage || !strings.Contains(errb.String(), id) {
		t.Errorf("unknown id: exit %d, stderr %q (should list the ids)", code, errb)
	}
}

func TestTraceFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		check   func(*traceOptions) bool
	}{
		{[]string{"--identity", "alice", "a.log"}, "", func(o *traceOptions) bool { return o.query.Identity == "alice" }},
		{[]string{"--ip", "203.0.113.9", "a.log"}, "", func(o *traceOptions) bool { return o.query.Addr.String() == "203.0.113.9/32" }},
		{[]string{"--ip", "::ffff:10.1.0.0/112", "a.log"}, "", func(o *traceOptions) bool { return o.query.Addr.String() == "10.1.0.0/16" }},
		{[]string{"--ip", "203.0.113.0/24", "--credential", "hmac-sha256:*", "a.log"}, "", func(o *traceOptions) bool {
			return o.query.Addr.Bits() == 24 && o.query.Credential == "hmac-sha256:*"
		}},
		{[]string{"a.log"}, "give --identity, --credential or --ip", nil},
		{[]string{"--ip", "not-an-ip", "a.log"}, "is not an IP address", nil},
		{[]string{"--identity", "x", "--format", "html", "a.log"}, `unknown format "html" for trace`, nil},
		{[]string{"--identity", "x", "--source", "syslog", "a.log"}, `unknown source "syslog"`, nil},
		{[]string{"--identity", "[x", "a.log"}, "bad pattern", nil},
		{[]string{"--identity", "x"}, "no input given", nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			s, _, _ := TestStreams()
			var got *traceOptions
			c := newTraceCmd(s, func(_ context.Context, o *traceOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			c.SetOut(&bytes.Buffer{})
			c.SetErr(&bytes.Buffer{})
			err := c.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil || !tt.check(got) {
				t.Errorf("err = %v, opts = %+v", err, got)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.log")
	os.WriteFile(file, bytes.Repeat([]byte("x"), 1000), 0o644)
	ins := []sources.Input{{Name: file}}

	s, _, _ := TestStreams()
	if newProgress(s, false, false, ins) != nil {
		t.Error("no progress when stderr is not a terminal and --verbose is off")
	}
	s.ErrTTY = true
	if newProgress(s, true, false, ins) != nil {
		t.Error("--quiet turns progress off")
	}

	s, _, errb := TestStreams()
	s.ErrTTY = true
	p := newProgress(s, false, false, ins)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.start = clock
	p.now = func() time.Time { return clock }
	clock = clock.Add(time.Second)
	p.update(sources.Progress{File: file, Read: 250, Size: 1000, Lines: 8192})
	line := errb.String()
	for _, want := range []string{"\r\x1b[K", "reading 0/1 files", "250 B of 1000 B (25%)", "8192 lines", "ETA 3s", "audit.log"} {
		if !strings.Contains(line, want) {
			t.Errorf("status line %q lacks %q", line, want)
		}
	}
	clock = clock.Add(time.Second)
	p.update(sources.Progress{File: file, Read: 1000, Size: 1000, Lines: 9000, Done: true})
	p.finish()
	if !strings.HasSuffix(errb.String(), "\r\x1b[K") {
		t.Errorf("finish should clear the status line: %q", errb.String())
	}

	s, _, errb = TestStreams() // verbose, not a terminal: one plain line per file, no carriage returns
	p = newProgress(s, false, true, ins)
	p.update(sources.Progress{File: file, Read: 1000, Size: 1000, Lines: 9000, Done: true})
	p.finish()
	if got := errb.String(); strings.ContainsAny(got, "\r\x1b") || !strings.Contains(got, "read "+file+": 9000 lines") {
		t.Errorf("verbose output = %q", got)
	}
}
