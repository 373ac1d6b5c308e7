package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/review"
	"github.com/vaultsentry/vaultsentry/sources"
)

// ReviewRequest is one `vaultsentry review`: the access review and secret hygiene of a period.
type ReviewRequest struct {
	Options // IO, Config, BaselinePath (read only), Since, Until, Quiet, Verbose, reading limits
	Paths   []string
	Format  string   // a name from report.ReviewFormats()
	Output  string   // a file ("" or "-": IO.Out); for csv, the directory that gets one file per table
	Command []string // the command line, recorded in the review
	// Integrity are the signatures and keys the CloudTrail log file validation of every
	// CloudTrail tree among Paths checks with (--signatures, --public-key).
	Integrity integrity.Options
	// Inventory are the --inventory files (inventory.go): the stores' own lists of secrets.
	Inventory []string
	// Frameworks are the frameworks whose controls the review judges (--framework).
	Frameworks []review.Framework
	// Signoff is the manifest's reviewer block and signing key (manifest.go).
	Signoff ReviewSignoff
}

// Review reads the inputs and writes the review. The period is --since .. --until (durations
// counted back from the newest event), else the whole input. Events before the period, and the
// baseline, are history: what an identity read before, when it was last seen, when a secret was
// last written. The detectors run over the period as scan runs them; their findings are part of
// the review. The baseline file is read, never written.
func Review(ctx context.Context, r ReviewRequest) (Outcome, error) {
	o := &r.Options
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	o.logConfig()
	if r.Format == "csv" && (r.Output == "" || r.Output == "-") {
		return Outcome{}, usagef("pass -o DIR: a CSV review is one file per table (access.csv, secrets.csv, gaps.csv, audit_changes.csv)", "review --format csv needs -o DIR")
	}
	if r.Signoff.Signer != nil && (r.Output == "" || r.Output == "-") {
		return Outcome{}, usagef("pass -o FILE (or -o DIR for csv): the signed manifest is written next to the report", "review --sign-key needs -o")
	}
	inv, invNotes, err := loadInventory(o, r.Inventory)
	if err != nil {
		return Outcome{}, err
	}
	loaded, _, err := loadInputs(ctx, o, "review", r.Paths, "",
		"check the paths; directories are read recursively and globs must be quoted for the shell not to expand them")
	if err != nil {
		return Outcome{}, err
	}
	evs := loaded.Events
	ref, _ := newestPlausible(evs, o.now())
	start, end := o.Since.Resolve(ref), o.Until.Resolve(ref)
	if start.IsZero() {
		start = evs[0].Time
	}
	if end.IsZero() {
		end = ref.Add(time.Nanosecond) // the period includes its newest event
	}
	if !start.Before(end) {
		return Outcome{}, usagef("give --since before --until", "review: the period %s .. %s is empty", start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339))
	}
	bl := baseline.New()
	if o.BaselinePath != "" {
		st, b, err := baseline.Open(o.BaselinePath, false)
		if err != nil {
			return Outcome{}, baselineError(err)
		}
		st.Close()
		bl = b
	}
	conf := o.config()
	conf.Review.Inventory = inv
	// What came before the period is history, as the baseline is.
	var period []event.Event
	for i := range evs {
		switch ev := &evs[i]; {
		case ev.Time.Before(start):
			bl.Learn(ev)
		case ev.Time.Before(end):
			period = append(period, *ev)
		}
	}
	rv := review.Build(period, start, end, conf.Review, bl, conf.Analyze.IsInternal)
	rv.Completeness = review.BuildCompleteness(period, start, end, conf.Analyze.AuditGap)
	rv.Notes = append(rv.Notes, invNotes...)
	history := len(bl.Principals) > 0 // before analyze.Run teaches it the period
	if ctx.Err() != nil {
		return Outcome{}, interrupted(ctx, "reviewing")
	}
	cfg := conf.Analyze
	res := analyze.Run(withoutInventoryRequests(period, &conf.Review), analyze.Env{Config: &cfg, Baseline: bl, Done: ctx.Done()})
	if res.Interrupted || ctx.Err() != nil {
		return Outcome{}, interrupted(ctx, "analysing")
	}
	var suppressed []report.ManifestSuppressed
	var expiredNotes []string
	res.Findings, suppressed, expiredNotes = suppressReview(res.Findings, conf.Ignore, o.now())
	rv.Notes = append(rv.Notes, expiredNotes...)
	out := Outcome{Findings: len(res.Findings)}
	for _, f := range res.Findings {
		out.Worst = max(out.Worst, f.Severity)
	}
	rr := &report.ReviewResult{Review: rv, Files: loaded.Files, Findings: res.Findings, Version: Version, Command: r.Command}
	if rr.Integrity, err = verifyTrees(ctx, r.Paths, loaded.Files, r.Integrity); err != nil {
		return out, err
	}
	countTreeReads(rr.Integrity, evs)
	rr.Controls = review.Controls(rv, reviewFacts(rv, conf.Review, loaded.Files, res.Findings, rr.Integrity, history, len(period)), r.Frameworks)
	rr.Manifest = buildManifest(o, rr, r.Inventory, suppressed, r.Signoff)
	var written []string
	if r.Format == "csv" {
		if err := os.MkdirAll(r.Output, 0o755); err != nil {
			return out, runtimef("check the path given to -o", fmt.Errorf("review: %w", err))
		}
		for _, table := range report.ReviewCSVTables() {
			path := filepath.Join(r.Output, table+".csv")
			if err := writeOutput(ctx, o.IO.Out, path, "review", func(w io.Writer) error { return report.ReviewCSV(w, table, rr) }); err != nil {
				return out, err
			}
			written = append(written, path)
		}
	} else if err := writeOutput(ctx, o.IO.Out, r.Output, "review", func(w io.Writer) error { return report.RenderReview(w, r.Format, rr) }); err != nil {
		return out, err
	} else if r.Output != "" && r.Output != "-" {
		written = append(written, r.Output)
	}
	if len(written) > 0 {
		if err := writeManifest(ctx, o, ManifestPath(r.Output, r.Format), rr.Manifest, written, r.Signoff); err != nil {
			return out, err
		}
	}
	if !o.Quiet {
		flagged, judged := 0, 0
		for _, a := range rv.Access {
			if len(a.Flags) > 0 {
				flagged++
			}
		}
		for _, s := range rv.Secrets {
			if len(s.Verdicts) > 0 {
				judged++
			}
		}
		fmt.Fprintf(o.IO.Err, "review: %s to %s: %d accesses (%d flagged), %d secrets (%d with a verdict), %d findings (%s)\n",
			start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), len(rv.Access), flagged, len(rv.Secrets), judged,
			len(res.Findings), time.Since(o.Start).Round(time.Millisecond))
		if line := controlsSummary(rr.Controls); line != "" {
			fmt.Fprintln(o.IO.Err, line)
		}
	}
	return out, nil
}

// verifyTrees validates the log files of each CloudTrail tree among the review's inputs: every
// directory argument under which CloudTrail files were read (a tree's digests chain across its
// accounts and regions, so the tree is what is checked, not each file).
func verifyTrees(ctx context.Context, paths []string, files []sources.FileStats, opts integrity.Options) ([]report.TreeIntegrity, error) {
	var out []report.TreeIntegrity
	for _, p := range paths {
		verify, in := integrity.VerifyCloudTrail, under
		if IsS3(p) { // a tree in S3 (s3verify.go)
			verify, in = VerifyCloudTrailS3, underS3
		} else if st, err := os.Stat(p); err != nil || !st.IsDir() {
			continue
		}
		trail := false
		for _, f := range files {
			if f.Format == "cloudtrail" && in(p, f.File) {
				trail = true
				break
			}
		}
		if !trail {
			continue
		}
		res, err := verify(ctx, p, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil, interrupted(ctx, "validating the CloudTrail log files")
			}
			res = &integrity.Result{Status: integrity.Unverifiable, Reason: err.Error(), Problems: []integrity.Problem{}}
		}
		out = append(out, report.TreeIntegrity{Tree: p, CloudTrail: res})
	}
	return out, nil
}

// under reports whether file is inside the directory dir, however either is spelled ("." and
// "AWSLogs/x.json.gz", "./logs/" and "logs/a").
func under(dir, file string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(file))
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
