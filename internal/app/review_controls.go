package app

import (
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

// reviewFacts gathers what the controls rest on besides the review itself: the run's findings,
// inputs and log file integrity, and whether the identities had a past before the period.
func reviewFacts(rv *review.Review, cfg review.Config, files []sources.FileStats, findings []analyze.Finding, trees []report.TreeIntegrity,
	history bool, events int) review.Facts {
	f := review.Facts{Config: cfg, Findings: findings, History: history, Inventory: cfg.Inventory != nil, Events: events, Rules: len(analyze.Rules()), Version: Version}
	for _, fs := range files {
		if fs.NotRead != "" {
			continue
		}
		f.Inputs = append(f.Inputs, review.InputFact{File: fs.File, Format: fs.Format, Events: fs.Events, First: fs.FirstEvent, Last: fs.LastEvent,
			Malformed: fs.Malformed, ReadError: fs.ReadError})
	}
	for _, t := range trees {
		if t.CloudTrail == nil {
			continue
		}
		f.Trees = append(f.Trees, review.TreeFact{Tree: t.Tree, Status: string(t.CloudTrail.Status), LogFiles: t.CloudTrail.LogFiles,
			Digests: t.CloudTrail.Digests, Problems: len(t.CloudTrail.Problems), Reason: t.CloudTrail.Reason})
	}
	if c := rv.Completeness; c != nil {
		for _, g := range c.Gaps {
			f.Gaps = append(f.Gaps, fmt.Sprintf("%s %s %s..%s", g.Stream, g.Reason, g.Start.UTC().Format(time.RFC3339), g.End.UTC().Format(time.RFC3339)))
		}
	}
	return f
}

// controlsSummary is the summary's line on the controls ("" without --framework).
func controlsSummary(cs []review.Control) string {
	if len(cs) == 0 {
		return ""
	}
	n := map[string]int{}
	for _, c := range cs {
		n[c.Status]++
	}
	return fmt.Sprintf("review: %d controls: %d evidence, %d exception, %d gap", len(cs), n[review.StatusEvidence], n[review.StatusException], n[review.StatusGap])
}
