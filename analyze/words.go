package analyze

import (
	"fmt"
	"time"
)

// Span writes a duration for people: "65d 19h", "5h 12m", "2m55s", "45s"; never Go's
// "1579h18m22s". Findings' messages, the run summary and the reports use it alike.
func Span(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		return "-" + Span(-d)
	}
	day := 24 * time.Hour
	switch {
	case d >= day:
		days, hours := d/day, (d%day).Round(time.Hour)/time.Hour
		if hours == 24 {
			days, hours = days+1, 0
		}
		if hours == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd %dh", days, hours)
	case d >= time.Hour:
		h, m := d/time.Hour, (d%time.Hour).Round(time.Minute)/time.Minute
		if m == 60 {
			h, m = h+1, 0
		}
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, m)
	case d >= time.Minute:
		m, s := d/time.Minute, (d%time.Minute)/time.Second
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// Count writes n with its noun in the singular or the plural: "1 address", "3 addresses".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
