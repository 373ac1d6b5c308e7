package analyze

import (
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
)

// established reports whether h has enough history for "new" to mean something: at least
// c.MinEvents events, or c.MinDays between its first event and now.
func established(h *baseline.History, c HistoryConfig, now time.Time) bool {
	if h == nil {
		return false
	}
	if c.MinEvents > 0 && h.Events >= int64(c.MinEvents) {
		return true
	}
	return c.MinDays > 0 && now.Sub(h.First) >= time.Duration(c.MinDays)*24*time.Hour
}
