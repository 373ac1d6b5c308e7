package cmd

import (
	"errors"
	"testing"
)

// TestOutWidth: the terminal's size on a TTY, else COLUMNS, else 0 (the table's default).
func TestOutWidth(t *testing.T) {
	size := func(w int, err error) func() (int, error) { return func() (int, error) { return w, err } }
	tests := []struct {
		name    string
		tty     bool
		size    func() (int, error)
		columns string
		want    int
	}{
		{"terminal", true, size(97, nil), "200", 97},
		{"terminal without a size falls back to COLUMNS", true, size(0, errors.New("no size")), "80", 80},
		{"piped with COLUMNS", false, size(97, nil), "80", 80},
		{"piped without COLUMNS", false, size(97, nil), "", 0},
		{"COLUMNS not a number", false, nil, "wide", 0},
		{"COLUMNS negative", false, nil, "-3", 0},
		{"COLUMNS absurd", false, nil, "99999999", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := outWidth(tt.tty, tt.size, tt.columns); got != tt.want {
				t.Errorf("outWidth = %d, want %d", got, tt.want)
			}
		})
	}
}
