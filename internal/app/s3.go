package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/s3store"
)

// s3Run is the S3 side of one run's inputs: the statistics the summary and the JSON report
// show. nil when no argument was s3://.
type s3Run struct{ stats *s3store.Stats }

// attach copies the statistics into what was loaded; nil-safe on both sides.
func (r *s3Run) attach(l *sources.Loaded) {
	if r == nil || l == nil {
		return
	}
	st := r.stats.Snapshot()
	l.S3 = &st
}

// newS3API builds the S3 client, each bucket's requests sent to the bucket's own region; a
// variable for tests.
var newS3API = func(ctx context.Context) (s3store.API, error) {
	c, err := s3store.NewClient(ctx, s3store.ClientOptions{})
	if err != nil {
		return nil, err
	}
	return s3store.BucketRegions(c), nil
}

// s3InFlight is how many objects are fetched at once (s3store.DefaultInFlight).
var s3InFlight = s3store.DefaultInFlight

// s3Filter is what the run's options let the listing prune. --since/--until prune the date
// folders of CloudTrail trees, except where events before --since are needed: with a baseline
// file (its history before --since is learned), --learn-until (events before it are the
// learning period), or for review (history, the period's history is what came before it). A
// --since duration counts back from the newest log file's delivery.
func (o *Options) s3Filter(command string) s3store.Filter {
	f := s3store.Filter{Accounts: o.PathAccounts, Regions: o.PathRegions}
	if o.Since.set && o.BaselinePath == "" && !o.LearnUntil.set && command != "review" {
		if o.Since.at.IsZero() {
			f.SinceBack = o.Since.ago
		} else {
			f.Since = o.Since.at
		}
	}
	if o.Until.set && !o.Until.at.IsZero() {
		f.Until = o.Until.at
	}
	return f
}

// expand is sources.Expand for the command-line paths, with s3:// arguments listed in S3 and
// --account/--region applied to CloudTrail trees. Only a client that cannot be configured is an
// error; what could not be listed is among the warnings.
func (o *Options) expand(ctx context.Context, command string, paths []string) ([]sources.Input, []error, *s3Run, error) {
	if e := o.expanded; e != nil && slices.Equal(e.paths, paths) {
		o.expanded = nil
		return e.ins, e.errs, e.s3, nil
	}
	return expandPaths(ctx, o.IO, o.Quiet, o.Verbose, paths, o.s3Filter(command))
}

// expansion is what expand returned, kept for the load that follows (baseline learn decides on
// batches from the expanded inputs, then reads them as one).
type expansion struct {
	paths []string
	ins   []sources.Input
	errs  []error
	s3    *s3Run
}

func expandPaths(ctx context.Context, s IO, quiet, verbose bool, paths []string, f s3store.Filter) ([]sources.Input, []error, *s3Run, error) {
	var local, remote []string
	for _, p := range paths {
		if s3store.IsURL(p) {
			remote = append(remote, p)
		} else {
			local = append(local, p)
		}
	}
	var ins []sources.Input
	var errs []error
	if len(local) > 0 {
		ins, errs = sources.Expand(local)
		if len(f.Accounts) > 0 || len(f.Regions) > 0 {
			ins = slices.DeleteFunc(ins, func(in sources.Input) bool { return !s3store.InScope(in.Name, f) })
		}
	}
	if len(remote) == 0 {
		return ins, errs, nil, nil
	}
	api, err := newS3API(ctx)
	if err != nil {
		return nil, nil, nil, runtimef("configure AWS access as for the AWS CLI (AWS_PROFILE, AWS_REGION, credentials)", err)
	}
	run := &s3Run{stats: &s3store.Stats{}}
	if verbose && !quiet {
		fmt.Fprintf(s.Err, "listing %s\n", report.Sanitize(strings.Join(remote, " ")))
	}
	stop := listingProgress(s, quiet, run.stats)
	rins, rerrs := s3store.Expand(ctx, api, remote, f, s3InFlight, run.stats)
	stop()
	if ctx.Err() != nil {
		return nil, nil, nil, interrupted(ctx, "listing S3")
	}
	for _, e := range rerrs {
		if errors.Is(e, s3store.ErrAccess) {
			e = fmt.Errorf("%w (listing needs s3:ListBucket on the bucket, reading s3:GetObject on its objects, and kms:Decrypt for SSE-KMS objects)", e)
		}
		errs = append(errs, e)
	}
	if !quiet && (s.ErrTTY || verbose) {
		st := run.stats.Snapshot()
		fmt.Fprintf(s.Err, "listed %d objects in %d requests; %d folders pruned; fetching %d\n", st.Listed, st.ListRequests, st.PrunedPrefixes, len(rins))
	}
	return append(ins, rins...), errs, run, nil
}

// writeS3Summary is the S3 part of the run summary: listing, pruning, fetches, failures, and
// what reading SSE-KMS objects leaves in the trail being read.
func writeS3Summary(w io.Writer, st *sources.S3Stats) {
	if st == nil {
		return
	}
	fmt.Fprintf(w, "S3:                %d objects listed (%d requests), %d folders pruned, %d skipped; %d fetched (%s)",
		st.Listed, st.ListRequests, st.PrunedPrefixes, st.Skipped, st.Fetched, report.HumanBytes(st.Bytes))
	if st.Failed > 0 {
		fmt.Fprintf(w, "; %d failed", st.Failed)
	}
	fmt.Fprintln(w)
	if st.NewestDelivery != "" {
		fmt.Fprintf(w, "  --since counted back from the newest CloudTrail log file, delivered %s\n", st.NewestDelivery)
	}
	for _, f := range st.Failures {
		fmt.Fprintf(w, "  %s: failed after %d bytes: %s\n", report.Sanitize(f.Object), f.Offset, report.Sanitize(f.Error))
	}
	if more := st.Failed - len(st.Failures); more > 0 {
		fmt.Fprintf(w, "  %d more failed objects not listed\n", more)
	}
	if st.KMSObjects > 0 {
		fmt.Fprintf(w, "  %d objects were SSE-KMS encrypted: each GetObject of one was a kms:Decrypt call by this run, recorded as a KMS Decrypt event in CloudTrail (the trail being read)\n", st.KMSObjects)
	}
}

// traceS3Filter prunes a trace's CloudTrail trees by its --since/--until (a trace has no
// baseline or learning period).
func traceS3Filter(r *TraceRequest) s3store.Filter {
	o := Options{Since: r.Since, Until: r.Until}
	return o.s3Filter("trace")
}

// listingProgress redraws one status line on a terminal while S3 is listed (an organisation
// trail takes thousands of requests): requests, objects, folders pruned. The returned func
// stops it and erases the line.
func listingProgress(s IO, quiet bool, st *s3store.Stats) func() {
	if quiet || !s.ErrTTY {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(redrawEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(s.Err, "\r\x1b[K")
				return
			case <-t.C:
				n := st.Snapshot()
				fmt.Fprintf(s.Err, "\r\x1b[Klisting S3 · %d requests · %d objects · %d folders pruned", n.ListRequests, n.Listed, n.PrunedPrefixes)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
