package analyze

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{1579*time.Hour + 18*time.Minute + 22*time.Second, "65d 19h"},
		{48 * time.Hour, "2d"},
		{23*time.Hour + 59*time.Minute + 50*time.Second, "24h"},
		{5*time.Hour + 12*time.Minute, "5h 12m"},
		{time.Hour, "1h"},
		{2*time.Minute + 55*time.Second, "2m55s"},
		{5 * time.Minute, "5m"},
		{45*time.Second + 400*time.Millisecond, "45s"},
		{0, "0s"},
	} {
		if got := Span(tc.d); got != tc.want {
			t.Errorf("Span(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := Count(1, "address", "addresses"); got != "1 address" {
		t.Errorf("Count(1) = %q", got)
	}
	if got := Count(2, "list request", "list requests"); got != "2 list requests" {
		t.Errorf("Count(2) = %q", got)
	}
}
