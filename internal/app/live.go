package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	ctsource "github.com/vaultsentry/vaultsentry/sources/cloudtrail"
	"github.com/vaultsentry/vaultsentry/sources/lookupevents"

	"github.com/vaultsentry/vaultsentry/report"
)

// This file is the only one that calls the LookupEvents source, so that the source can move
// (to sources/lookupevents) by editing one file.

// DefaultLookupRPS is the LookupEvents request rate per region the API allows.
const DefaultLookupRPS = lookupevents.DefaultRPS

func cloudTrailLive(ctx context.Context, r *CloudTrailRequest) (Outcome, error) {
	o := &r.Options
	// Durations count back from the wall clock here: --since is a question to the API.
	now := o.now().UTC()
	rps := r.RPS
	if rps == 0 {
		rps = DefaultLookupRPS
	}
	lo := lookupevents.Options{
		Profile: r.Profile, Regions: r.Regions, RPS: rps,
		Start: o.Since.Resolve(now), End: o.Until.Resolve(now),
	}
	if !lo.Start.IsZero() && !lo.End.IsZero() && !lo.End.After(lo.Start) {
		return Outcome{}, usagef("--until must be later than --since", "cloudtrail: empty time range %s .. %s",
			lo.Start.Format(time.RFC3339), lo.End.Format(time.RFC3339))
	}
	var save *os.File
	if r.Save != "" {
		var err error
		// Created before fetching, so a bad path fails at once rather than after minutes of paging.
		if save, err = os.Create(r.Save); err != nil {
			return Outcome{}, runtimef("check the path and permissions of --save", fmt.Errorf("create %s: %w", r.Save, err))
		}
		defer save.Close()
	}
	prog := newFetchProgress(o.IO)
	lo.Progress = prog.update
	src := &lookupevents.Source{Options: lo}
	loaded, err := src.Query(ctx)
	prog.done()
	if ctx.Err() != nil {
		return Outcome{}, interrupted(ctx, "fetching CloudTrail events")
	}
	if err != nil {
		hint := "check the AWS credentials and region (AWS_PROFILE, --profile, AWS_REGION, --region); the caller needs cloudtrail:LookupEvents"
		if errors.Is(err, lookupevents.ErrNoRegion) {
			return Outcome{}, usagef("pass --region REGION or set AWS_REGION", "cloudtrail: %v", err)
		}
		return Outcome{}, runtimef(hint, fmt.Errorf("cloudtrail: %w", err))
	}
	if save != nil {
		if err := writeRecords(save, src.Streams); err != nil {
			return Outcome{}, runtimef("check the free space and permissions of --save", fmt.Errorf("write %s: %w", r.Save, err))
		}
		if err := save.Close(); err != nil {
			return Outcome{}, runtimef("", fmt.Errorf("write %s: %w", r.Save, err))
		}
	}
	p := &pipeline{ctx: ctx, opts: o, command: "cloudtrail", loaded: loaded, timeRef: now, liveSince: true}
	return p.run()
}

// writeRecords writes each record as one line of compact JSON.
func writeRecords(f *os.File, streams []ctsource.RecordStream) error {
	w := bufio.NewWriterSize(f, 1<<20)
	var buf bytes.Buffer
	for _, s := range streams {
		for _, r := range s.Records {
			line := r
			if bytes.ContainsAny(r, "\r\n") {
				buf.Reset()
				if err := json.Compact(&buf, r); err != nil {
					continue // not JSON: LoadRecords counts it as malformed
				}
				line = buf.Bytes()
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

// fetchProgress prints one self-overwriting line on standard error while pages arrive, only when
// standard error is a terminal.
type fetchProgress struct {
	io      IO
	mu      sync.Mutex
	regions map[string]string
	order   []string
	last    time.Time
	shown   bool
}

func newFetchProgress(s IO) *fetchProgress {
	return &fetchProgress{io: s, regions: map[string]string{}}
}

func (p *fetchProgress) update(region, source string, pages, records int) {
	if !p.io.ErrTTY {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.regions[region]; !ok {
		p.order = append(p.order, region)
	}
	p.regions[region] = fmt.Sprintf("%s %s: %d pages, %d events", region, strings.TrimSuffix(source, ".amazonaws.com"), pages, records)
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	parts := make([]string, 0, len(p.order))
	for _, r := range p.order {
		parts = append(parts, p.regions[r])
	}
	fmt.Fprintf(p.io.Err, "\r\x1b[Kfetching %s", report.Sanitize(strings.Join(parts, " | ")))
	p.shown = true
}

func (p *fetchProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.io.Err, "\r\x1b[K")
	}
}
