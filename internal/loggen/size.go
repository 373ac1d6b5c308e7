package loggen

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads a size such as 1G, 256M or 512K (binary units) for the generators' -size flag.
func ParseSize(s string) (int64, error) {
	mul := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mul, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mul, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mul, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("-size %q: want a positive number with an optional K, M or G suffix", s)
	}
	return int64(f * float64(mul)), nil
}
