package event

import "math/bits"

// flagNames are the flags' names where events leave the process (vaultsentry export): stable
// words, never the bit positions, which may change from release to release. FlagLearned is the
// run's, not the event's, and has no name.
var flagNames = [...]string{
	"root-token", "orphan", "unauthenticated", "request-only", "response-only", "service-actor",
	"aws-internal", "console", "batch-token", "value-read", "list-all", "interactive", "maintenance",
	"control", "value-logged", "node-agent", "cross-account", "via-service", "instance-credential",
	"read-only",
}

// Names lists the set flags by name, in bit order; flags without a name (FlagLearned) are left
// out.
func (f Flags) Names() []string {
	var out []string
	for f != 0 {
		i := bits.TrailingZeros32(uint32(f))
		f &^= 1 << i
		if i < len(flagNames) {
			out = append(out, flagNames[i])
		}
	}
	return out
}

// FlagNamed is the flag called name, and whether there is one.
func FlagNamed(name string) (Flags, bool) {
	for i, n := range flagNames {
		if n == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// ParseOp is the operation class called name (Op.String's word), and whether there is one.
func ParseOp(name string) (Op, bool) {
	for i, n := range opNames {
		if n == name {
			return Op(i), true
		}
	}
	return OpOther, false
}

// ParseKind is the kind called name (Kind.String's word), and whether there is one.
func ParseKind(name string) (Kind, bool) {
	for i, n := range kindNames {
		if n != "" && n == name {
			return Kind(i), true
		}
	}
	return 0, false
}

// ParseOutcome is the outcome called name (Outcome.String's word), and whether there is one.
func ParseOutcome(name string) (Outcome, bool) {
	for _, o := range [...]Outcome{OutcomeOK, OutcomeDenied, OutcomeError} {
		if o.String() == name {
			return o, true
		}
	}
	return OutcomeOK, false
}

// ParseClass is the identity class called name (Class.String's word), and whether there is one.
func ParseClass(name string) (Class, bool) {
	for _, c := range [...]Class{ClassUnknown, ClassPerson, ClassWorkload} {
		if c.String() == name {
			return c, true
		}
	}
	return ClassUnknown, false
}
