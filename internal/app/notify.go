package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/notify"
	"github.com/vaultsentry/vaultsentry/report"
)

// The alerts of a run (--notify): sent after the report is written, from the findings the
// report kept (the ignore list and --previous-report already left theirs out), at or above
// --notify-min-severity, and not already delivered according to the baseline.

func (o *Options) notifier() *notify.Sender {
	if o.Notifier != nil {
		return o.Notifier
	}
	return &notify.Sender{UserAgent: "vaultsentry/" + Version}
}

// alertError is a run's alerts not delivered: exit 3 after the report, and no failure notice
// (--notify-on-error) about it, which would go to the same receivers.
type alertError struct{ err error }

func (e *alertError) Error() string { return e.err.Error() }
func (e *alertError) Unwrap() error { return e.err }

// sendAlerts posts the new findings to every --notify target. When every target took them and
// the baseline is being updated, their fingerprints are recorded in it, so the next run does not
// send them again; a target that failed is named on standard error and the run fails (exit 3)
// with nothing recorded, so the next run sends them again rather than lose them.
func (p *pipeline) sendAlerts(bl *baseline.Baseline, findings []analyze.Finding) error {
	o := p.opts
	if len(o.Notify) == 0 {
		return nil
	}
	var fresh []analyze.Finding
	already := 0
	for _, f := range findings {
		switch {
		case f.Severity < o.NotifyMinSeverity:
		case bl.WasAlerted(f.Fingerprint()):
			already++
		default:
			fresh = append(fresh, f)
		}
	}
	if o.Verbose && already > 0 {
		fmt.Fprintf(o.IO.Err, "notify: %d findings were already alerted (baseline)\n", already)
	}
	if len(fresh) == 0 {
		return nil
	}
	if o.Verbose {
		fmt.Fprintf(o.IO.Err, "notify: sending %d new findings to %s\n", len(fresh), notifyTargets(o.Notify))
	}
	msg := &notify.Message{Tool: "vaultsentry", Version: Version, Command: p.command, Findings: fresh, MinSeverity: o.NotifyMinSeverity}
	err := o.notifier().Send(p.ctx, o.Notify, msg)
	if err != nil {
		failed := joined(err)
		for _, e := range failed {
			fmt.Fprintf(o.IO.Err, "error: %s\n", report.Sanitize(e.Error()))
		}
		hint := "the report is complete; check the --notify URLs and that the receivers are up"
		if o.UpdateBaseline {
			hint += "; the findings were not recorded as alerted, so the next run sends them again"
		}
		return &alertError{err: runtimef(hint, fmt.Errorf("%d new findings not delivered to %d of %d --notify destinations: %w",
			len(fresh), len(failed), len(o.Notify), failed[0]))}
	}
	if o.UpdateBaseline && p.store != nil {
		now := o.now()
		for _, f := range fresh {
			bl.MarkAlerted(f.Fingerprint(), now)
		}
	}
	if !o.Quiet {
		fmt.Fprintf(o.IO.Err, "alerted %d new findings to %d destinations\n", len(fresh), len(o.Notify))
	}
	return nil
}

// joined is the errors an errors.Join holds, or err alone.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// notifyFailure sends the notice of a failed run (--notify-on-error) to every --notify target
// and returns err unchanged: a run error other than a usage error (exit 2), an interrupt, or
// alerts that were not delivered. A notice that is not delivered is a warning: the run already
// fails.
func notifyFailure(ctx context.Context, o *Options, command string, err error) error {
	if err == nil || !o.NotifyOnError || len(o.Notify) == 0 || ctx.Err() != nil {
		return err
	}
	var ue *UsageError
	var ae *alertError
	if errors.As(err, &ue) || errors.As(err, &ae) {
		return err
	}
	f := &notify.Failure{Tool: "vaultsentry", Version: Version, Command: command, Err: err.Error()}
	var re *RuntimeError
	if errors.As(err, &re) {
		f.Hint = re.Hint
	}
	if serr := o.notifier().SendFailure(ctx, o.Notify, f); serr != nil {
		for _, e := range joined(serr) {
			fmt.Fprintf(o.IO.Err, "warning: failure notice: %s\n", report.Sanitize(e.Error()))
		}
	} else if !o.Quiet {
		fmt.Fprintf(o.IO.Err, "sent the failure notice to %d --notify destinations\n", len(o.Notify))
	}
	return err
}

// notifyTargets names the targets for --verbose.
func notifyTargets(ts []notify.Target) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, ", ")
}
