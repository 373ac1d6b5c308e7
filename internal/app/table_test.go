package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// TestScanTableWidth: IO.Width, Sort and GroupBy reach the table on standard output; a table
// written to a file is laid out at the default width, whatever the terminal.
func TestScanTableWidth(t *testing.T) {
	io, out, errb := testIO()
	io.Width = 80
	file := filepath.Join(t.TempDir(), "report.txt")
	_, err := Scan(context.Background(), ScanRequest{Options: Options{IO: io, Quiet: true, GroupBy: "identity",
		Outputs: []Output{{Path: "-", Format: "table"}, {Path: file, Format: "table"}}}, Paths: []string{incident}})
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errb)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if !strings.Contains(lines[0], " findings: ") {
		t.Errorf("first line is not the summary: %q", lines[0])
	}
	for i, l := range lines {
		if w := twwidth.Width(l); w > 80 {
			t.Errorf("stdout line %d is %d wide: %q", i+1, w, l)
		}
	}
	if !strings.Contains(out.String(), "\nidentity ") {
		t.Error("--group-by identity: no group heading")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	widest := 0
	for _, l := range strings.Split(string(b), "\n") {
		widest = max(widest, twwidth.Width(l))
	}
	if widest <= 80 || widest > 120 {
		t.Errorf("the file's widest line is %d, want the default layout (81-120)", widest)
	}
}
