package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vaultsentry/vaultsentry/metrics"
	"github.com/vaultsentry/vaultsentry/report"
)

// finishMetrics writes the --metrics file once the run is over, whatever its outcome: a failed
// run (a report that could not be written, --strict) still says so, with
// vaultsentry_run_success 0. An interrupted run writes nothing, as for the report. A metrics
// file that cannot be written fails a run that had not failed (exit 3, after the report).
func (p *pipeline) finishMetrics(out *Outcome, runErr *error) {
	o := p.opts
	if o.Metrics == "" || o.LearnOnly || p.ctx.Err() != nil {
		return
	}
	o.metricsTried = true
	r := metrics.Run{Start: o.Start, End: time.Now(), Success: *runErr == nil, TopIdentities: o.MetricsTopIdentities, Version: Version}
	if out.Result != nil {
		r.Findings = out.Result.Findings
	}
	if p.loaded != nil {
		r.Files = p.loaded.Files
	}
	o.writeMetrics(p.ctx, metrics.Families(p.metrics, r), runErr)
}

// failedMetrics writes the --metrics file of a run that failed before its pipeline (no input,
// no event, the LookupEvents API refused): the run metrics alone, vaultsentry_run_success 0,
// so an alert on it fires instead of the previous run's file standing.
func (o *Options) failedMetrics(ctx context.Context, runErr *error) {
	if o.Metrics == "" || o.LearnOnly || o.metricsTried || *runErr == nil || ctx.Err() != nil {
		return
	}
	o.metricsTried = true
	start := o.Start
	if start.IsZero() {
		start = time.Now()
	}
	o.writeMetrics(ctx, metrics.Families(nil, metrics.Run{Start: start, End: time.Now(), Version: Version}), runErr)
}

// writeMetrics writes families to the --metrics file. Its failure becomes the run's error when
// the run had none (exit 3, after the report), else a note on it.
func (o *Options) writeMetrics(ctx context.Context, families []*dto.MetricFamily, runErr *error) {
	err := writeOutput(ctx, io.Discard, o.Metrics, "metrics", func(w io.Writer) error { return metrics.Write(w, families) })
	if err == nil {
		return
	}
	var re *RuntimeError
	if errors.As(err, &re) { // writeOutput's hints name --output
		err = &RuntimeError{Err: re.Err, Hint: strings.ReplaceAll(re.Hint, "--output", "--metrics")}
	}
	switch {
	case *runErr == nil:
		*runErr = err
	case errors.As(*runErr, &re):
		*runErr = withNote(*runErr, "the metrics file was not written either: "+report.Sanitize(err.Error()))
	default:
		fmt.Fprintf(o.IO.Err, "warning: %s\n", report.Sanitize(err.Error()))
	}
}
