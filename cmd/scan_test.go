package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// TestScanFlags checks flag parsing and validation alone, without running a scan.
func TestScanFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantExit int
		check    func(t *testing.T, o *scanOptions)
		stderr   string
	}{
		{"defaults", []string{"a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if o.Format != "table" || o.minSev != analyze.Info || o.failOn <= analyze.Critical || o.loc.String() != "UTC" {
				t.Errorf("defaults: %+v", o)
			}
		}, ""},
		{"fail-on and min-severity are separate", []string{"--fail-on", "critical", "--min-severity", "low", "a.log", "b.log.gz"}, 0,
			func(t *testing.T, o *scanOptions) {
				if o.failOn != analyze.Critical || o.minSev != analyze.Low || len(o.Paths) != 2 {
					t.Errorf("got fail-on %s, min %s, paths %v", o.failOn, o.minSev, o.Paths)
				}
			}, ""},
		{"durations and times", []string{"--since", "24h", "--until", "2026-09-23T12:00:00Z", "--learn-until", "7d", "-"}, 0, nil, ""},
		{"unknown format", []string{"--format", "xml", "a.log"}, 2, nil, `unknown format "xml"`},
		{"bad severity", []string{"--fail-on", "severe", "a.log"}, 2, nil, "--fail-on"},
		{"bad time", []string{"--since", "yesterday", "a.log"}, 2, nil, "neither an RFC 3339 time nor a duration"},
		{"bad zone", []string{"--timezone", "Mars/Olympus", "a.log"}, 2, nil, "unknown time zone"},
		{"no input", nil, 2, nil, "no input given"},
		{"unknown flag", []string{"--bogus", "a.log"}, 2, nil, "unknown flag"},
		{"one -o: the extension picks the format", []string{"-o", "r.html", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if len(o.outputs) != 1 || o.outputs[0].Format != "html" {
				t.Errorf("outputs %+v", o.outputs)
			}
		}, ""},
		{"several -o, each by extension", []string{"-o", "r.htm", "-o", "f.json", "-o", "f.sarif", "-o", "s.md", "-o", "t.txt", "a.log"}, 0,
			func(t *testing.T, o *scanOptions) {
				var got []string
				for _, out := range o.outputs {
					got = append(got, out.Format)
				}
				if strings.Join(got, ",") != "html,json,sarif,markdown,table" {
					t.Errorf("formats %v", got)
				}
			}, ""},
		{"-o - keeps --format", []string{"-o", "-", "-o", "f.json", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if o.outputs[0].Format != "table" || o.outputs[1].Format != "json" {
				t.Errorf("outputs %+v", o.outputs)
			}
		}, ""},
		{"--format agreeing with the extension", []string{"--format", "json", "-o", "f.json", "a.log"}, 0, nil, ""},
		{"--format for an extension that names none", []string{"--format", "sarif", "-o", "f.out", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if o.outputs[0].Format != "sarif" {
				t.Errorf("outputs %+v", o.outputs)
			}
		}, ""},
		{"-o and --format disagree", []string{"--format", "json", "-o", "report.html", "a.log"}, 2, nil,
			"-o report.html but --format json: drop one or make them agree"},
		{"several -o and --format disagree", []string{"--format", "json", "-o", "f.json", "-o", "f.sarif", "a.log"}, 2, nil,
			"-o f.sarif but --format json"},
		{"one -o whose extension names no format is written in --format, as before", []string{"-o", "report.out", "a.log"}, 0,
			func(t *testing.T, o *scanOptions) {
				if len(o.outputs) != 1 || o.outputs[0].Format != "table" {
					t.Errorf("outputs %+v", o.outputs)
				}
			}, ""},
		{"--format wins over .txt", []string{"--format", "json", "-o", "findings.txt", "a.log"}, 0,
			func(t *testing.T, o *scanOptions) {
				if len(o.outputs) != 1 || o.outputs[0].Format != "json" {
					t.Errorf("outputs %+v", o.outputs)
				}
			}, ""},
		{"unknown extension among several", []string{"--format", "json", "-o", "f.json", "-o", "report", "a.log"}, 2, nil,
			"-o report: the extension names no report format"},
		{"csv is not a scan format", []string{"-o", "f.csv", "a.log"}, 2, nil, "-o f.csv: scan reports have no csv format"},
		{"same file twice", []string{"-o", "f.json", "-o", "./f.json", "a.log"}, 2, nil, "-o ./f.json given twice"},
		{"--metrics with the default identity cap", []string{"--metrics", "m.prom", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if ao := o.options(&loadedConfig{}, time.Time{}); ao.Metrics != "m.prom" || ao.MetricsTopIdentities != 20 {
				t.Errorf("metrics %q, top %d", ao.Metrics, ao.MetricsTopIdentities)
			}
		}, ""},
		{"--metrics-top-identities 0 lists none", []string{"--metrics", "m.prom", "--metrics-top-identities", "0", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if o.MetricsTopIdentities != 0 {
				t.Errorf("top %d", o.MetricsTopIdentities)
			}
		}, ""},
		{"negative identity cap", []string{"--metrics", "m.prom", "--metrics-top-identities", "-1", "a.log"}, 2, nil, "--metrics-top-identities must not be negative"},
		{"--metrics to standard output", []string{"--metrics", "-", "a.log"}, 2, nil, "--metrics writes a file"},
		{"--metrics over a report", []string{"-o", "f.json", "--metrics", "./f.json", "a.log"}, 2, nil, "--metrics ./f.json is also an -o report"},
		{"update-baseline needs baseline", []string{"--update-baseline", "a.log"}, 2, nil, "--update-baseline needs --baseline"},
		{"notify defaults", []string{"a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if len(o.notify) != 0 || o.notifyMin != analyze.High || o.NotifyOnError {
				t.Errorf("notify %v, min %s, on error %v", o.notify, o.notifyMin, o.NotifyOnError)
			}
		}, ""},
		{"notify: each URL its kind", []string{"--notify", "http://127.0.0.1:9093/api/v2/alerts", "--notify", "https://hooks.slack.com/services/T/B/x",
			"--notify", "slack+https://chat.example/hooks/x", "--notify", "https://siem.example/in", "--notify-min-severity", "Critical", "--notify-on-error", "a.log"}, 0,
			func(t *testing.T, o *scanOptions) {
				var kinds []string
				for _, tg := range o.notify {
					kinds = append(kinds, tg.Kind.String())
				}
				opts := o.options(&loadedConfig{}, time.Time{})
				if strings.Join(kinds, ",") != "alertmanager,slack,slack,generic" || o.notifyMin != analyze.Critical ||
					len(opts.Notify) != 4 || opts.NotifyMinSeverity != analyze.Critical || !opts.NotifyOnError ||
					opts.Notify[2].URL.String() != "https://chat.example/hooks/x" {
					t.Errorf("kinds %v, min %s, options %+v", kinds, o.notifyMin, opts)
				}
			}, ""},
		{"notify: not http", []string{"--notify", "ftp://siem.example/in", "a.log"}, 2, nil, `--notify #1: scheme "ftp"`},
		{"notify: not a URL, and the URL not repeated", []string{"--notify", "https://hooks.slack.com/x", "--notify", "https://[s3cr3t/x", "a.log"}, 2, nil, "--notify #2: not a URL"},
		{"notify: no host", []string{"--notify", "https:///api/v2/alerts", "a.log"}, 2, nil, "no host"},
		{"notify: slack+ over http", []string{"--notify", "slack+http://chat.example/x", "a.log"}, 2, nil, "https only"},
		{"notify-min-severity unknown", []string{"--notify", "https://x.example/", "--notify-min-severity", "urgent", "a.log"}, 2, nil, "--notify-min-severity: unknown severity"},
		{"notify-on-error needs notify", []string{"--notify-on-error", "a.log"}, 2, nil, "--notify-on-error needs --notify"},
		{"table rows worst first by default", []string{"a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if o.Sort != "severity" || o.GroupBy != "" {
				t.Errorf("sort %q, group-by %q", o.Sort, o.GroupBy)
			}
		}, ""},
		{"--sort time --group-by identity", []string{"--sort", "time", "--group-by", "identity", "a.log"}, 0, func(t *testing.T, o *scanOptions) {
			if opts := o.options(&loadedConfig{}, time.Time{}); opts.Sort != "time" || opts.GroupBy != "identity" {
				t.Errorf("options sort %q, group-by %q", opts.Sort, opts.GroupBy)
			}
		}, ""},
		{"bad sort", []string{"--sort", "worst", "a.log"}, 2, nil, `--sort: unknown order "worst"`},
		{"bad group-by", []string{"--group-by", "rule", "a.log"}, 2, nil, `--group-by: unknown grouping "rule"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, errb := TestStreams()
			var got *scanOptions
			root := newRootCmd(s)
			for _, c := range root.Commands() {
				if c.Name() == "scan" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newScanCmd(s, func(_ context.Context, o *scanOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"scan"}, tt.args...))
			code := exitCode(s, root.ExecuteContext(context.Background()))
			if code != tt.wantExit {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantExit, errb)
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errb, tt.stderr)
			}
			if strings.Contains(errb.String(), "s3cr3t") {
				t.Errorf("stderr repeats a --notify URL: %q", errb)
			}
			if tt.wantExit == 2 && !strings.Contains(errb.String(), "hint:") {
				t.Errorf("usage error without a hint: %q", errb)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key names key and line", "internal_cidrs: [10.0.0.0/8]\nadmin_polices: [root]\n", "[2:1] unknown field \"admin_polices\""},
		{"bad cidr", "internal_cidrs: [10.0.0.0/33]\n", "is not a CIDR"},
		{"bad zone", "maintenance_windows:\n  timezone: Mars/Olympus\n", "unknown time zone"},
		{"bad clock", "maintenance_windows:\n  windows:\n    - days: [mon]\n      from: \"25:00\"\n      to: \"26:00\"\n", "not a time of day"},
		{"bad weekday", "maintenance_windows:\n  windows:\n    - days: [funday]\n      from: \"07:00\"\n      to: \"08:00\"\n", "not a weekday"},
		{"bad deployment", "rotation:\n  deployments:\n    \"kv/*\": just-a-name\n", "not namespace/deployment"},
		{"unknown rule threshold", "thresholds:\n  bulk-reads: {count: 3}\n", "unknown rule id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(p, []byte(tt.yaml), 0o600)
			_, err := loadConfig(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			s, _, errb := TestStreams()
			if code := exitCode(s, err); code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, errb)
			}
		})
	}
	lc, err := loadConfig("../../shared/scenarios/vault/vaultsentry.yaml")
	if err != nil {
		t.Skipf("practice scenario config not available: %v", err)
	}
	if lc.Analyze.Maintenance.Location.String() != "Europe/Dublin" || len(lc.Analyze.Decoys) != 3 || len(lc.K8sEvents) != 1 {
		t.Errorf("scenario config: %+v", lc.Analyze.Maintenance)
	}
}

func TestConfigBaselineMaxAge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("baseline:\n  max_age: 90d\n"), 0o600)
	lc, err := loadConfig(p)
	if err != nil || lc.BaselineMaxAge != 90*24*time.Hour {
		t.Fatalf("baseline.max_age: %v, %v", lc, err)
	}
	os.WriteFile(p, []byte("baseline:\n  max_age: forever\n"), 0o600)
	if _, err := loadConfig(p); err == nil || !strings.Contains(err.Error(), "baseline.max_age") {
		t.Errorf("bad max_age: %v", err)
	}
}
