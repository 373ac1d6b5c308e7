package analyze

import "github.com/vaultsentry/vaultsentry/baseline"

// constructors lists every detector, by hand, in the order their rules are documented.
var constructors = []func(Env) Detector{
	NewBulkRead,
	NewDualSourceIP,
	NewNewResource,
	NewDormantIdentity,
	NewNewSourceIP,
	NewNewSourceAccount,
	NewDeniedBurst,
	NewEnumeration,
	NewManySourceIPs,
	NewDecoyAccess,
	NewPrivilegedToken,
	NewPolicyChange,
	NewAuthConfigChange,
	NewAdminOffHours,
	NewRootActivity,
	NewRotationWithoutRead,
	NewAuditDisabled,
	NewAuditGap,
	NewResourcePolicyChange,
	NewUnusualClient,
	NewSecretInAuditLog,
	NewCrossStore,
}

// New builds every detector for env.
func New(env Env) []Detector {
	ds := make([]Detector, 0, len(constructors))
	for _, c := range constructors {
		ds = append(ds, c(env))
	}
	return ds
}

// Rules lists the rules of every detector.
func Rules() []Rule {
	env := Env{Config: ptr(DefaultConfig()), Baseline: baseline.New()}
	var rs []Rule
	for _, d := range New(env) {
		rs = append(rs, d.Rule())
	}
	return rs
}

func ptr[T any](v T) *T { return &v }
