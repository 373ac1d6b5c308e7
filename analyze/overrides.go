package analyze

import "time"

// Per-identity thresholds (config "overrides"): the seed's advice is not to raise a threshold
// globally but to give the known bulk readers their own. Window detectors look their limits up
// once per identity (when they first see it) with these helpers, so the cost stays O(1) per event.

// BurstFor returns base with the override of rule for this identity or display name applied:
// Window, Count (MinCount) and Distinct (MinDistinct) replace the defaults when set.
func (c *Config) BurstFor(rule string, base BurstConfig, identity, display string) BurstConfig {
	if o, ok := c.override(rule, identity, display); ok {
		if o.Window > 0 {
			base.Window = o.Window
		}
		if o.Count > 0 {
			base.MinCount = o.Count
		}
		if o.Distinct > 0 {
			base.MinDistinct = o.Distinct
		}
	}
	return base
}

// CountFor returns base with the override of rule applied: Window and Count (Min) replace the
// defaults when set. Distinct is accepted as a synonym of Count for rules that count distinct
// things (many-source-ips, enumeration).
func (c *Config) CountFor(rule string, base CountConfig, identity, display string) CountConfig {
	if o, ok := c.override(rule, identity, display); ok {
		if o.Window > 0 {
			base.Window = o.Window
		}
		switch {
		case o.Count > 0:
			base.Min = o.Count
		case o.Distinct > 0:
			base.Min = o.Distinct
		}
	}
	return base
}

// WindowFor returns the override's window for rule when one is set, else base.
func (c *Config) WindowFor(rule string, base time.Duration, identity, display string) time.Duration {
	if o, ok := c.override(rule, identity, display); ok && o.Window > 0 {
		return o.Window
	}
	return base
}
