package analyze

// premerged collects the findings of a detector that makes one finding per event (audit-disabled,
// resource-policy-change) and joins them as Run would, while the input streams: a finding of
// the learning period is only counted (Run drops it and counts it as Training), and one whose
// identity has a finding that ended less than the merge window before it is merged into that
// one (Merge's rule for GroupIdentity). So a log of a million audit changes keeps one finding
// per identity and episode, not one per event, and Run's Result is the same.
//
// It relies on what both detectors guarantee: each finding is one event (FirstSeen is the
// event's time, in time order), and their rule groups by identity.
type premerged struct {
	cfg      *Config
	found    []Finding
	last     map[string]int // identity -> index in found of its latest finding
	training int
}

func (p *premerged) add(f Finding) {
	if p.cfg != nil && !p.cfg.LearnUntil.IsZero() && f.trigger().Before(p.cfg.LearnUntil) {
		p.training++
		return
	}
	if f.Identity != "" {
		if i, ok := p.last[f.Identity]; ok && !f.FirstSeen.After(p.found[i].LastSeen.Add(mergeWindow)) {
			mergeInto(&p.found[i], f)
			return
		}
		if p.last == nil {
			p.last = map[string]int{}
		}
		p.last[f.Identity] = len(p.found)
	}
	p.found = append(p.found, f)
}

// trainingCounter is a detector that counts the findings of the learning period instead of
// returning them (premerged): Run adds them to Result.Training.
type trainingCounter interface {
	trainingFindings() int
}
