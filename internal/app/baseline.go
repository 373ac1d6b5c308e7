package app

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/report"
)

// loadBaseline opens --baseline (locking it when it will be written back) or returns an empty one.
func (p *pipeline) loadBaseline() (*baseline.Baseline, error) {
	o := p.opts
	if o.BaselinePath == "" {
		return baseline.New(), nil
	}
	st, b, err := baseline.Open(o.BaselinePath, o.UpdateBaseline)
	var pe *fs.PathError
	if err != nil && o.UpdateBaseline && errors.As(err, &pe) && pe.Path == o.BaselinePath+".lock" {
		// The lock file cannot be created (a read-only directory, a full disk, a path under a
		// file): the baseline could not be saved either. Analyse with the baseline as it is and
		// write the report; saveBaseline then fails the run with this error.
		p.saveErr = err
		st, b, err = baseline.Open(o.BaselinePath, false)
		if errors.Is(err, syscall.ENOTDIR) {
			st, b, err = nil, baseline.New(), nil // nothing can be stored under a file: no baseline yet
		}
	}
	if err != nil {
		return nil, baselineError(err)
	}
	p.store = st
	return b, nil
}

// baselineError gives an error of baseline.Open or Save its hint.
func baselineError(err error) error {
	switch {
	case errors.Is(err, baseline.ErrLocked):
		return runtimef("another vaultsentry run is updating this baseline; wait for it, or remove a stale .lock file if no run is active", err)
	case errors.Is(err, baseline.ErrFuture):
		return runtimef("upgrade vaultsentry, or point --baseline at a new file", err)
	case errors.Is(err, baseline.ErrCorrupt):
		return runtimef("the file was left untouched; restore it from backup or point --baseline at a new file to start over", err)
	}
	return runtimef("", err)
}

// saveBaseline writes the baseline back when --update-baseline is set.
func (p *pipeline) saveBaseline(b *baseline.Baseline) error {
	o := p.opts
	if !o.UpdateBaseline || o.BaselinePath == "" {
		return nil
	}
	if p.saveErr != nil {
		return runtimef("check free space and permissions in the baseline's directory; the previous baseline is intact",
			fmt.Errorf("%s: %w", p.unsaved(), p.saveErr))
	}
	if p.store == nil {
		return nil
	}
	if p.ctx.Err() != nil {
		return interrupted(p.ctx, "saving the baseline")
	}
	if o.PruneAfter > 0 {
		b.Prune(o.PruneAfter)
	}
	b.ToolVersion = Version
	b.Written = time.Now().UTC()
	b.Inputs = mergeInputs(b.Inputs, append(p.earlier, p.learnedInputs(b.Written)...))
	if err := p.store.Save(b); err != nil {
		return runtimef("check free space and permissions in the baseline's directory; the previous baseline is intact",
			fmt.Errorf("%s: %w", p.unsaved(), err))
	}
	return nil
}

// unsaved says which part of the run's output failed when the baseline could not be saved.
func (p *pipeline) unsaved() string {
	if p.opts.LearnOnly {
		return "baseline not saved"
	}
	return "report written, baseline not saved"
}

func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// mergeInputs keeps one entry per file: a file read again, or grown since (the same path and
// first event), replaces its entry; newest last.
func mergeInputs(old, add []baseline.Input) []baseline.Input {
	out := slices.Clone(old)
	for _, a := range add {
		i := slices.IndexFunc(out, func(o baseline.Input) bool {
			return o.File == a.File && (o.SHA256 == a.SHA256 || (!o.First.IsZero() && o.First.Equal(a.First)))
		})
		if i >= 0 {
			out[i] = a
			continue
		}
		out = append(out, a)
	}
	return out
}

// ShowBaseline prints what the baseline file at path knows (`vaultsentry baseline show`), only
// the identities whose principal or display name contains identity when it is not empty.
func ShowBaseline(w io.Writer, path, identity string) error {
	st, b, err := baseline.Open(path, false)
	if err != nil {
		return baselineError(err)
	}
	st.Close()
	if _, err := os.Stat(path); err != nil {
		return runtimef("check the path; a baseline is created by scan --baseline FILE --update-baseline", fmt.Errorf("read baseline %s: %w", path, err))
	}
	return showBaseline(w, b, identity)
}

// age formats how long before ref t was.
func age(t, ref time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := ref.Sub(t)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	}
	return "just now"
}

func showBaseline(w io.Writer, b *baseline.Baseline, filter string) error {
	ref := b.Last
	fmt.Fprintf(w, "Baseline format %s v%d, written %s by vaultsentry %s\n", baseline.Format, baseline.FormatVersion,
		fmtT(b.Written, nil), report.Sanitize(b.ToolVersion))
	fmt.Fprintf(w, "Learned from log time %s .. %s; ages below are relative to %s (the newest event learned)\n",
		fmtT(b.First, nil), fmtT(b.Last, nil), fmtT(ref, nil))
	fmt.Fprintf(w, "Inputs (%d):\n", len(b.Inputs))
	for _, in := range b.Inputs {
		fmt.Fprintf(w, "  %s  %s  %s  %s .. %s  learned %s\n", report.Sanitize(in.File), shortHash(in.SHA256), report.HumanBytes(in.Bytes),
			fmtT(in.First, nil), fmtT(in.Last, nil), fmtT(in.Learned, nil))
	}
	ids := make([]string, 0, len(b.Principals))
	for id, h := range b.Principals {
		if filter == "" || strings.Contains(id, filter) || strings.Contains(h.DisplayName, filter) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	fmt.Fprintf(w, "Identities: %d shown of %d\n", len(ids), len(b.Principals))
	for _, id := range ids {
		h := b.Principals[id]
		fmt.Fprintf(w, "\n%s (%s)\n", report.Sanitize(h.DisplayName), report.Sanitize(id))
		fmt.Fprintf(w, "  first seen %s (%s), last seen %s (%s), %d events\n", fmtT(h.First, nil), age(h.First, ref),
			fmtT(h.Last, nil), age(h.Last, ref), h.Events)
		printTimes(w, "secrets", h.Resources, ref, filter != "")
		printTimes(w, "addresses", h.Addrs, ref, filter != "")
		printTimes(w, "networks", h.Nets, ref, filter != "")
		printTimes(w, "listed", h.Lists, ref, filter != "")
		printTimes(w, "clients", h.Clients, ref, filter != "")
		if h.Bursts > 0 {
			fmt.Fprintf(w, "  bulk-read habit: %d bursts, largest %d distinct secrets, %d secrets in the set, last %s\n",
				h.Bursts, h.MaxBurst, len(h.BurstPaths), age(h.LastBurst, ref))
		}
		fmt.Fprintf(w, "  active hours (UTC, by weekday): %s\n", activeHours(h.Hours))
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return "sha256:" + h[:12]
	}
	if h == "" {
		return "sha256:-"
	}
	return h
}

// printTimes lists a map of name -> last use; all entries when detailed, else a count and the
// newest few.
func printTimes(w io.Writer, label string, m map[string]time.Time, ref time.Time, detailed bool) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[b].Compare(m[a]) })
	limit := 5
	if detailed {
		limit = len(keys)
	}
	fmt.Fprintf(w, "  %s: %d\n", label, len(keys))
	for i, k := range keys {
		if i >= limit {
			fmt.Fprintf(w, "    ... %d more (use --identity to see all)\n", len(keys)-limit)
			break
		}
		fmt.Fprintf(w, "    %-60s last %s\n", report.Cut(report.Sanitize(k), 60), age(m[k], ref))
	}
}

func activeHours(h [168]uint32) string {
	days := []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	var parts []string
	for d := range 7 {
		first, last := -1, -1
		for hr := range 24 {
			if h[d*24+hr] > 0 {
				if first < 0 {
					first = hr
				}
				last = hr
			}
		}
		if first >= 0 {
			parts = append(parts, fmt.Sprintf("%s %02d-%02dh", days[d], first, last+1))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
