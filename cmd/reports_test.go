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

	"github.com/vaultsentry/vaultsentry/analyze"
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
