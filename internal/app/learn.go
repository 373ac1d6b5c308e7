package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// DefaultLearnBatchBytes is how much input (decompressed, estimated) one batch of `baseline
// learn` reads before its events are learned and dropped: events take about a fifth of their
// input's size in memory (docs/PERFORMANCE.md), so a batch of 8 GiB stays near 2 GiB of RAM
// whatever the archive's size.
const DefaultLearnBatchBytes = 8 << 30

// compressedRatio estimates how much a compressed audit log expands: Vault's JSON compresses
// about 8 to 10 times with gzip, so 8 keeps a batch within its budget.
const compressedRatio = 8

// learnBatch is the state `baseline learn` carries from one batch to the next: the baseline
// (opened and locked once), and what the batches learned.
type learnBatch struct {
	bl      *baseline.Baseline
	store   *baseline.Store
	saveErr error
	inputs  []baseline.Input
	events  int
	files   int
}

// done records what a batch learned (pipeline.run calls it instead of saving).
func (b *learnBatch) done(p *pipeline, events int) {
	b.inputs = append(b.inputs, p.learnedInputs(time.Now().UTC())...)
	b.events += events
	b.files += len(p.loaded.Files)
}

// learnArchive is `baseline learn` over an archive too large to hold at once: the inputs in
// batches of at most LearnBatchBytes (in the order given, directories walked in name order),
// each read, analysed and learned into one baseline, then dropped; the baseline is saved once,
// after the last. Learning does not depend on the order of the batches (first and last seen
// are the minimum and maximum); a bulk-read burst that straddles two batches is judged as two.
// done is false when the inputs fit in one batch: the caller runs as usual.
func learnArchive(ctx context.Context, r *ScanRequest) (Outcome, bool, error) {
	o := &r.Options
	budget := o.LearnBatchBytes
	if budget <= 0 {
		budget = DefaultLearnBatchBytes
	}
	ins, inErrs, s3run, err := o.expand(ctx, "baseline learn", r.Paths)
	if err != nil {
		return Outcome{}, true, err
	}
	batches := splitBatches(ins, budget)
	if len(batches) <= 1 {
		o.expanded = &expansion{paths: r.Paths, ins: ins, errs: inErrs, s3: s3run} // s3:// listed once
		return Outcome{}, false, nil
	}
	for _, t := range []struct {
		name string
		arg  TimeArg
	}{{"--since", o.Since}, {"--until", o.Until}, {"--learn-until", o.LearnUntil}} {
		if t.arg.set && t.arg.at.IsZero() {
			return Outcome{}, true, usagef("give "+t.name+" as an RFC 3339 time (2026-09-23T12:00:00Z)",
				"%s: a duration counts back from the newest event, which an archive learned in %d batches does not know before its last batch", t.name, len(batches))
		}
	}
	o.warn(inErrs)
	if !o.Quiet {
		fmt.Fprintf(o.IO.Err, "baseline learn: %s in %d batches of at most %s each\n", countFiles(len(ins)), len(batches), report.HumanBytes(budget))
	}
	first := &pipeline{ctx: ctx, opts: o, command: "baseline learn"}
	bl, err := first.loadBaseline()
	if err != nil {
		return Outcome{}, true, err
	}
	defer first.store.Close()
	lb := &learnBatch{bl: bl, store: first.store, saveErr: first.saveErr}
	var last *pipeline
	empty := 0
	for _, b := range batches {
		loaded, err := loadExpanded(ctx, o, "baseline learn", b, "", "check the paths")
		if ctx.Err() == nil && (errors.Is(err, sources.ErrNothingRead) || errors.Is(err, errNoEvents)) {
			empty++ // a batch of files that are not logs; the others may be
			continue
		}
		if err != nil {
			return Outcome{}, true, err
		}
		last = &pipeline{ctx: ctx, opts: o, command: "baseline learn", loaded: loaded, batch: lb}
		if _, err := last.run(); err != nil {
			return Outcome{}, true, err
		}
	}
	if last == nil {
		return Outcome{}, true, runtimef("give Vault / OpenBao audit logs or CloudTrail records", fmt.Errorf("baseline learn: %w (%s)", errNoEvents, countFiles(len(ins))))
	}
	// Save once, as the last batch's run would have: its inputs and the earlier batches'.
	last.batch, last.store, last.saveErr = nil, lb.store, lb.saveErr
	last.earlier, last.learnedLast = lb.inputs, nil
	if err := last.saveBaseline(bl); err != nil {
		return Outcome{}, true, err
	}
	fmt.Fprintf(o.IO.Err, "learned %d events from %d files in %d batches into %s (%d identities)\n", lb.events, lb.files,
		len(batches)-empty, report.Sanitize(o.BaselinePath), len(bl.Principals))
	return Outcome{}, true, nil
}

// splitBatches cuts inputs into runs whose estimated decompressed size stays within budget (a
// file larger than the budget is a batch of its own). Standard input, whose size is unknown,
// goes into the batch it falls in.
func splitBatches(ins []sources.Input, budget int64) [][]sources.Input {
	var out [][]sources.Input
	var cur []sources.Input
	var size int64
	for _, in := range ins {
		n := estimateBytes(in.Name)
		if len(cur) > 0 && size+n > budget {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, in)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// estimateBytes is a file's size as read: compressed files count compressedRatio times.
func estimateBytes(name string) int64 {
	if name == "-" {
		return 0
	}
	st, err := os.Stat(name)
	if err != nil {
		return 0
	}
	for _, ext := range []string{".gz", ".zst", ".bz2", ".xz"} {
		if strings.HasSuffix(name, ext) {
			return st.Size() * compressedRatio
		}
	}
	return st.Size()
}
