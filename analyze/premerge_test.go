package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// auditChanges are three days of audit-device and trail changes by a few identities, every
// few minutes with pauses of hours, of every severity: what a planted log or a reconfiguring
// script makes of audit-disabled and resource-policy-change.
func auditChanges() []event.Event {
	var evs []event.Event
	actions := []string{"delete", "create", "update", "delete"}
	for i := range 2000 {
		at := time.Duration(i) * 2 * time.Minute
		if (i/100)%3 == 2 {
			at += 3 * time.Hour // pauses longer than the merge window
		}
		who := []string{"ops", "liam", "ci"}[i%3]
		var opts []func(*event.Event)
		if i%7 == 0 {
			opts = append(opts, denied)
		}
		switch i % 5 {
		case 0, 1, 2:
			ev := vev(at, who, event.OpAdmin, fmt.Sprintf("sys/audit/dev%d", i%9), append(opts, from(fmt.Sprintf("198.51.100.%d", i%60+1)))...)
			ev.Action = actions[i%4]
			evs = append(evs, ev)
		case 3:
			evs = append(evs, vev(at, who, event.OpRead, "sys/audit-hash/dev1", opts...))
		default:
			call := []string{"StopLogging", "StartLogging", "PutEventSelectors"}[i%3]
			evs = append(evs, aev(at, "admin-"+who, who, call, event.OpAudit, "arn:aws:cloudtrail:eu-west-1:"+testAccount+":trail/main", opts...))
			evs = append(evs, aev(at+time.Second, "admin-"+who, who, "PutResourcePolicy", event.OpAdmin, fmt.Sprintf("prod/s%d", i%40),
				withGrant([]string{"principal=* blockPublicPolicy=false", "principal=arn:aws:iam::999988887777:root", "principal=* condition=true"}[i%3])))
		}
	}
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

func resultDigest(res *Result) string {
	h := sha256.New()
	fmt.Fprintf(h, "training %d\n", res.Training)
	for _, f := range res.Findings {
		fmt.Fprintf(h, "%+v\n", f)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// TestPremerge: audit-disabled and resource-policy-change, which make a finding per event,
// give the Result they gave when they kept every one of them until Finish (the digests were
// taken then), with and without a learning period.
func TestPremerge(t *testing.T) {
	for _, tc := range []struct {
		rule       string
		learnUntil time.Duration
		findings   int
		training   int
		digest     string
	}{
		{"audit-disabled", 0, 42, 0, "3e4eff1bddd373dc"},
		{"audit-disabled", 40 * time.Hour, 18, 1099, "3662de2f34d4edcc"},
		{"resource-policy-change", 0, 21, 0, "e3c4c1ef34d8405e"},
		{"resource-policy-change", 40 * time.Hour, 9, 222, "63cfc94682ae268a"},
	} {
		t.Run(fmt.Sprint(tc.rule, "-", tc.learnUntil), func(t *testing.T) {
			evs := auditChanges()
			cfg := DefaultConfig()
			if tc.learnUntil > 0 {
				cfg.LearnUntil = evs[0].Time.Add(tc.learnUntil)
			}
			res := Run(evs, Env{Config: &cfg, onlyRules: []string{tc.rule}})
			d := resultDigest(res)
			t.Logf("%d findings, training %d, digest %s", len(res.Findings), res.Training, d)
			if len(res.Findings) != tc.findings || res.Training != tc.training || d != tc.digest {
				t.Errorf("%d findings, training %d, digest %s; want %d, %d, %s", len(res.Findings), res.Training, d, tc.findings, tc.training, tc.digest)
			}
		})
	}
}
