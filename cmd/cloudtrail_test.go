package cmd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCloudTrailFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		from    []string
		regions []string
		usage   string // substring of the usage error, "" for none
	}{
		{"online with two regions", []string{"--since", "24h", "--region", "eu-west-1", "--region", "eu-central-1"}, nil, []string{"eu-west-1", "eu-central-1"}, ""},
		{"several paths after --from", []string{"--from", "a.json", "b.json", "dir/"}, []string{"a.json", "b.json", "dir/"}, nil, ""},
		{"--from repeated", []string{"--from", "a", "--from", "b"}, []string{"a", "b"}, nil, ""},
		{"a path without --from", []string{"a.json"}, nil, nil, "unexpected argument"},
		{"--save with --from", []string{"--from", "a", "--save", "x"}, nil, nil, "--save cannot be combined"},
		{"--region with --from filters the tree", []string{"--from", "a", "--region", "eu-west-1"}, []string{"a"}, []string{"eu-west-1"}, ""},
		{"--profile with --from", []string{"--from", "a", "--profile", "p"}, nil, nil, "--profile cannot be combined with --from"},
		{"--account without --from", []string{"--account", "123456789012"}, nil, nil, "--account needs --from"},
		{"bad rate", []string{"--max-rps", "0"}, nil, nil, "--max-rps"},
		{"bad format", []string{"--format", "xml"}, nil, nil, "unknown format"},
		{"several -o", []string{"--from", "a", "-o", "r.html", "-o", "f.json"}, []string{"a"}, nil, ""},
		{"-o and --format disagree", []string{"--from", "a", "--format", "sarif", "-o", "f.json"}, nil, nil, "-o f.json but --format sarif: drop one or make them agree"},
		{"--notify", []string{"--from", "a", "--notify", "http://127.0.0.1:9093/api/v2/alerts", "--notify-on-error"}, []string{"a"}, nil, ""},
		{"--notify not http", []string{"--from", "a", "--notify", "file:///etc/passwd"}, nil, nil, `--notify #1: scheme "file"`},
		{"--metrics", []string{"--from", "a", "--metrics", "m.prom", "--metrics-top-identities", "5"}, []string{"a"}, nil, ""},
		{"negative identity cap", []string{"--from", "a", "--metrics", "m.prom", "--metrics-top-identities", "-3"}, nil, nil, "--metrics-top-identities must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := TestStreams()
			var got *cloudtrailOptions
			c := newCloudTrailCmd(s, func(_ context.Context, o *cloudtrailOptions) error { got = o; return nil })
			c.SetArgs(tt.args)
			err := c.ExecuteContext(context.Background())
			if tt.usage != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.usage) {
					t.Fatalf("err %v, want a usage error about %q", err, tt.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.From, tt.from) || !slices.Equal(got.Regions, tt.regions) {
				t.Errorf("from %v regions %v, want %v %v", got.From, got.Regions, tt.from, tt.regions)
			}
		})
	}
}
