package analyze

import (
	"fmt"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/baseline"
	"github.com/vaultsentry/vaultsentry/event"
)

// BenchmarkObserveBDetectors measures Observe of the detectors of this family over a day of mixed
// traffic: reads, denials, lists and logins from 200 identities and many addresses.
func BenchmarkObserveBDetectors(b *testing.B) {
	evs := make([]event.Event, 0, 100_000)
	for i := range 100_000 {
		actor := fmt.Sprintf("app-%03d", i%200)
		var opts []func(*event.Event)
		op := event.OpRead
		path := fmt.Sprintf("kv/data/prod/%s/s%d", actor, i%7)
		switch i % 10 {
		case 3:
			opts = append(opts, denied)
		case 5:
			op, path = event.OpList, fmt.Sprintf("kv/metadata/prod/%s/d%d/", actor, i%9)
		case 7:
			opts = append(opts, from(fmt.Sprintf("203.0.%d.%d", i%50, i%200)))
		}
		evs = append(evs, vev(time.Duration(i)*860*time.Millisecond, actor, op, path, opts...))
	}
	cfg := decoyConfig()
	for name, mk := range map[string]func(Env) Detector{
		"denied-burst": NewDeniedBurst, "enumeration": NewEnumeration, "many-source-ips": NewManySourceIPs,
		"decoy-access": NewDecoyAccess, "policy-change": NewPolicyChange,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env := Env{Config: &cfg, Baseline: baseline.New()}
				d := mk(env)
				for i := range evs {
					d.Observe(&evs[i])
				}
				d.Finish()
			}
			b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
