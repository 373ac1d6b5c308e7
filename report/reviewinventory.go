package report

import "github.com/vaultsentry/vaultsentry/review"

// reviewInventory is the review's "inventory" object: what the inventory files listed and how
// much of it the logs saw.
type reviewInventory struct {
	Files              []string `json:"files"`
	Listed             int      `json:"listed"`
	InLogs             int      `json:"in_logs"`
	NotInLogs          int      `json:"not_in_logs"`
	CreatedAfterPeriod int      `json:"created_after_period"`
	// ExcludedRequests are the LIST and metadata requests of inventory_identities that are
	// not counted as accesses.
	ExcludedRequests int `json:"excluded_requests"`
}

func newReviewInventory(s *review.InventorySummary) *reviewInventory {
	if s == nil {
		return nil
	}
	return &reviewInventory{Files: validAll(s.Files), Listed: s.Listed, InLogs: s.InLogs, NotInLogs: s.NotInLogs,
		CreatedAfterPeriod: s.Future, ExcludedRequests: s.Excluded}
}
