package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCloudTrailAthenaFlags(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		usage string // substring of the usage error, "" for none
	}{
		{"table and since", []string{"--athena-table", "sec.ct", "--since", "90d", "--workgroup", "ir", "--athena-output", "s3://b/p/"}, ""},
		{"print-sql", []string{"--athena-table", "sec.ct", "--since", "1d", "--print-sql", "--athena-partitions", "year-month-day"}, ""},
		{"no since", []string{"--athena-table", "sec.ct"}, "needs --since"},
		{"not db.table", []string{"--athena-table", "ct", "--since", "1d"}, "DATABASE.TABLE"},
		{"quoted name", []string{"--athena-table", `sec."ct"`, "--since", "1d"}, "DATABASE.TABLE"},
		{"with --from", []string{"--athena-table", "sec.ct", "--since", "1d", "--from", "x"}, "cannot be combined with --from"},
		{"with --save", []string{"--athena-table", "sec.ct", "--since", "1d", "--save", "x"}, "--save cannot be combined"},
		{"two regions", []string{"--athena-table", "sec.ct", "--since", "1d", "--region", "a", "--region", "b"}, "one --region"},
		{"output not s3", []string{"--athena-table", "sec.ct", "--since", "1d", "--athena-output", "/tmp/x"}, "not an s3:// URL"},
		{"bad partitions", []string{"--athena-table", "sec.ct", "--since", "1d", "--athena-partitions", "hourly"}, "unknown partitioning"},
		{"print-sql alone", []string{"--print-sql", "--since", "1d"}, "--print-sql needs --athena-table"},
		{"workgroup alone", []string{"--workgroup", "ir", "--since", "1d"}, "need --athena-table"},
	} {
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
			if err != nil || got == nil || got.Athena.Table != tt.args[1] {
				t.Fatalf("err %v, options %+v", err, got)
			}
		})
	}
}
