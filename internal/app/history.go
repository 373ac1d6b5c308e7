package app

import (
	"fmt"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/report"
)

// window is what a run analyses of the events it reads: the reporting window (--since, --until)
// and, with a baseline file, the history before --since that the baseline has not learned yet.
// keep decides for each event, in time order, as the events stream.
type window struct {
	p          *pipeline
	since      time.Time
	until      time.Time
	useHistory bool
	// covered: the newest event the baseline learned of each file it knows (baseline.Covered).
	covered map[string]time.Time
	// all: nothing to cut (no --since, --until, nor a file the baseline knows).
	all bool
	// filtered: events outside the window and not history (before --since and already
	// learned, or without a baseline; at or after --until).
	filtered int
	// history: events before --since kept to be learned, not reported.
	history int
	// relearned: events in the window that an earlier run learned (event.FlagLearned).
	relearned int
	// learnedUntil is the oldest of the times up to which the baseline had learned the files it
	// knows (analyze.Env.LearnedUntil): bursts and rotations that ended by then are not learned
	// twice. Zero when it knew none of them.
	learnedUntil time.Time
	// fresh: the baseline file held no history before this run.
	fresh bool

	lastFile  string
	lastCover time.Time
	lastMax   time.Time // the newest learned event of lastFile's current run of events
}

// window prepares the cut of the events to what the run analyses. Without a baseline file,
// --since and --until are a plain filter. With one, an event before --since that the baseline
// has not learned is kept as history (learned, never reported: the run's learning period ends
// at --since), and events the baseline learned in an earlier run are marked event.FlagLearned,
// so a daily run over a log directory learns every event once, whichever files it rereads, and
// yesterday's rotated file adds nothing twice. What a file continues is decided by
// baseline.Covered, from each file's first event and format (firstEvents). keep also records,
// for saveBaseline, the newest event of each file that this run learned.
func (p *pipeline) window(bl *baseline.Baseline, since, until time.Time) *window {
	w := &window{p: p, since: since, until: until, useHistory: p.opts.BaselinePath != "",
		fresh: len(bl.Principals) == 0 && len(bl.Inputs) == 0}
	if w.useHistory && len(bl.Inputs) > 0 {
		w.covered = map[string]time.Time{}
		for _, f := range p.firstEvents() {
			c := bl.Covered(f.File, f.Format, renamedOnRotation(f.Format), f.FirstEvent)
			if c.IsZero() {
				continue
			}
			w.covered[f.File] = c
			if w.learnedUntil.IsZero() || c.Before(w.learnedUntil) {
				w.learnedUntil = c
			}
		}
	}
	p.learnedLast = map[string]time.Time{}
	w.all = since.IsZero() && until.IsZero() && len(w.covered) == 0
	return w
}

// keep reports whether the run analyses ev (the next event in time order), marking it
// event.FlagLearned when an earlier run learned it.
func (w *window) keep(ev *event.Event) bool {
	if ev.Pos.File != w.lastFile { // files interleave in time order, but in runs
		w.endRun()
		w.lastFile, w.lastCover = ev.Pos.File, w.covered[ev.Pos.File]
	}
	if w.all {
		if ev.Time.After(w.lastMax) {
			w.lastMax = ev.Time
		}
		return true
	}
	if !w.until.IsZero() && !ev.Time.Before(w.until) {
		w.filtered++
		return false
	}
	learned := !w.lastCover.IsZero() && !ev.Time.After(w.lastCover)
	if !w.since.IsZero() && ev.Time.Before(w.since) {
		if !w.useHistory || learned {
			w.filtered++
			return false
		}
		w.history++
	}
	if learned {
		ev.Flags |= event.FlagLearned
		w.relearned++
	} else if ev.Time.After(w.lastMax) {
		w.lastMax = ev.Time
	}
	return true
}

// endRun records the newest learned event of the run of events of one file that ends.
func (w *window) endRun() {
	if w.lastFile == "" || w.lastMax.IsZero() {
		return
	}
	if w.lastMax.After(w.p.learnedLast[w.lastFile]) {
		w.p.learnedLast[w.lastFile] = w.lastMax
	}
	w.lastMax = time.Time{}
}

// renamedOnRotation: the format is a log that a process appends to and logrotate renames (a
// Vault or OpenBao file audit device, the Kubernetes API server's audit log), so a file under
// another name that starts with the same event is the same stream. CloudTrail delivery files
// and other exports are immutable objects, known by their path only.
func renamedOnRotation(format string) bool { return format == "vault" || format == "k8saudit" }

// noHistory is said on stderr and in every report of a run whose baseline file has no history
// yet, and which has no learning period of its own either.
const noHistory = "no history yet: new-resource, new-source-ip and dormant-identity are off; periodic readers are not known yet, " +
	"so a sync operator's bursts may be reported as bulk-read; seed the baseline with `vaultsentry baseline learn --baseline FILE ARCHIVE...` " +
	"over your archive"

// historyNotes are the run notes about the baseline's history.
func (p *pipeline) historyNotes(w *window, since, learnUntil time.Time) []string {
	var notes []string
	o := p.opts
	if o.BaselinePath != "" && w.fresh && !o.LearnOnly {
		switch {
		case learnUntil.IsZero():
			notes = append(notes, fmt.Sprintf("%s: %s", report.Sanitize(o.BaselinePath), noHistory))
		default:
			notes = append(notes, fmt.Sprintf("%s had no history yet: what is known of each identity comes only from this run's events before %s",
				report.Sanitize(o.BaselinePath), learnUntil.UTC().Format(time.RFC3339)))
		}
	}
	if w.history > 0 {
		notes = append(notes, fmt.Sprintf("%d events before --since %s were new to the baseline: learned as history, not reported",
			w.history, since.UTC().Format(time.RFC3339)))
	}
	if w.relearned > 0 {
		notes = append(notes, fmt.Sprintf("%d events were learned by an earlier run of the baseline: analysed, not learned twice", w.relearned))
	}
	return notes
}

// learnedInputs records what this run learned of each file, for the baseline: the file's first
// event and the newest event of it that was learned (or, for a file learned entirely before,
// what was known of it).
func (p *pipeline) learnedInputs(now time.Time) []baseline.Input {
	var out []baseline.Input
	for _, f := range p.loaded.Files {
		last, ok := p.learnedLast[f.File]
		if !ok || last.IsZero() {
			continue // nothing of it learned in this run (already learned, or after --until)
		}
		in := baseline.Input{File: f.File, Format: f.Format, Bytes: f.Bytes, First: f.FirstEvent, Last: last, Learned: now}
		if f.File != "-" {
			in.SHA256 = fileSHA256(f.File)
		}
		out = append(out, in)
	}
	return out
}
