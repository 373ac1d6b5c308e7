package event

import "testing"

// Every flag a source sets has a name that round-trips, and the names are unique: an export
// written today must read back with the same flags after the bits move.
func TestFlagNames(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 32; i++ {
		f := Flags(1) << i
		if f == FlagLearned {
			if n := f.Names(); len(n) != 0 {
				t.Errorf("FlagLearned is the run's and must have no name, got %v", n)
			}
			continue
		}
		if f > FlagLearned {
			break
		}
		names := f.Names()
		if len(names) != 1 {
			t.Fatalf("flag bit %d has names %v, want one", i, names)
		}
		if seen[names[0]] {
			t.Errorf("flag name %q used twice", names[0])
		}
		seen[names[0]] = true
		back, ok := FlagNamed(names[0])
		if !ok || back != f {
			t.Errorf("FlagNamed(%q) = %v, %v; want bit %d", names[0], back, ok, i)
		}
	}
	if _, ok := FlagNamed("no-such-flag"); ok {
		t.Error("an unknown name must not parse")
	}
	all := FlagValueRead | FlagRootToken | FlagLearned
	if got := all.Names(); len(got) != 2 || got[0] != "root-token" || got[1] != "value-read" {
		t.Errorf("Names of a set = %v", got)
	}
}

func TestParseWords(t *testing.T) {
	for o := OpOther; o <= OpAudit; o++ {
		if back, ok := ParseOp(o.String()); !ok || back != o {
			t.Errorf("ParseOp(%q) = %v, %v", o, back, ok)
		}
	}
	for _, k := range []Kind{KindVault, KindCloudTrail, KindKubernetes} {
		if back, ok := ParseKind(k.String()); !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", k, back, ok)
		}
	}
	if _, ok := ParseKind("unknown"); ok {
		t.Error(`ParseKind("unknown") must fail`)
	}
	for _, o := range []Outcome{OutcomeOK, OutcomeDenied, OutcomeError} {
		if back, ok := ParseOutcome(o.String()); !ok || back != o {
			t.Errorf("ParseOutcome(%q) = %v, %v", o, back, ok)
		}
	}
	for _, c := range []Class{ClassUnknown, ClassPerson, ClassWorkload} {
		if back, ok := ParseClass(c.String()); !ok || back != c {
			t.Errorf("ParseClass(%q) = %v, %v", c, back, ok)
		}
	}
}
