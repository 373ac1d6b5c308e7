package app

import "testing"

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		dir, file string
		want      bool
	}{
		{".", "AWSLogs/1/CloudTrail/x.json.gz", true},
		{"./", "AWSLogs/x", true},
		{"logs", "logs/a", true},
		{"./logs/", "logs/a", true},
		{"logs", "logs2/a", false},
		{"logs", "logs", false},
		{"logs/a", "logs/b", false},
		{"/abs/tree", "/abs/tree/AWSLogs/x", true},
		{"/abs/tree", "/abs/treeX/y", false},
	} {
		if got := under(tc.dir, tc.file); got != tc.want {
			t.Errorf("under(%q, %q) = %v, want %v", tc.dir, tc.file, got, tc.want)
		}
	}
}
