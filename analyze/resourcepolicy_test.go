package analyze

import (
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
)

func TestResourcePolicyChange(t *testing.T) {
	put := func(detail string, opts ...func(*event.Event)) []event.Event {
		return []event.Event{aev(0, "AWSReservedSSO_PlatformAdmin_3f8a", "ciaran.walsh", "PutResourcePolicy", event.OpAdmin,
			"prod/payments/psp-master-key", append([]func(*event.Event){withGrant(detail)}, opts...)...)}
	}
	tests := []struct {
		name   string
		events []event.Event
		want   []Severity
	}{
		{"Principal * with the public-policy check off", put("principal=* blockPublicPolicy=false"), []Severity{Critical}},
		{"Principal * narrowed by a condition", put("principal=* condition=true blockPublicPolicy=true"), []Severity{High}},
		{"another account's root", put("principal=arn:aws:iam::999988887777:root"), []Severity{High}},
		{"Principal * narrowed to the organisation", put("principal=* condition=true org=aws:PrincipalOrgID=o-7k2pq9x1ab"), []Severity{Low}},
		{"a role of the same account is quiet", put("principal=arn:aws:iam::" + testAccount + ":role/app"), nil},
		{"a service principal is quiet", put("principal=service:lambda.amazonaws.com"), nil},
		{"a denied attempt changes nothing", put("principal=* blockPublicPolicy=false", denied), nil},
		{"DeleteResourcePolicy is not a grant", []event.Event{aev(0, "admin", "a", "DeleteResourcePolicy", event.OpAdmin, "prod/x")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDetector(t, NewResourcePolicyChange, DefaultConfig(), tt.events)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, f := range got {
				if f.Severity != tt.want[i] || f.Resources[0] != "prod/payments/psp-master-key" || f.DisplayName != "ciaran.walsh" {
					t.Errorf("finding %+v, want severity %s", f, tt.want[i])
				}
			}
		})
	}
}

// withGrant sets the grant a source reads from a resource policy, written as its human
// summary ("principal=* condition=true blockPublicPolicy=false").
func withGrant(summary string) func(*event.Event) {
	return func(e *event.Event) {
		g := &event.Grant{}
		for _, tok := range strings.Fields(summary) {
			k, v, _ := strings.Cut(tok, "=")
			switch k {
			case "principal":
				g.Principals = append(g.Principals, v)
			case "condition":
				g.Condition = v == "true"
			case "blockPublicPolicy":
				g.BlockPublic = v
			case "org":
				g.OrgScoped, g.Conditions = true, []string{v}
			}
		}
		e.Grant, e.Detail = g, summary
	}
}

// TestResourcePolicyNeedsGrant: a PutResourcePolicy whose summary names "*" but carries no
// grant (a source that could not read the policy) is not judged from the words.
func TestResourcePolicyNeedsGrant(t *testing.T) {
	evs := []event.Event{aev(0, "AWSReservedSSO_PlatformAdmin_3f8a", "ciaran.walsh", "PutResourcePolicy", event.OpAdmin,
		"prod/payments/psp-master-key", withDetail("principal=*"))}
	if got := runDetector(t, NewResourcePolicyChange, DefaultConfig(), evs); len(got) != 0 {
		t.Fatalf("got %+v from Detail alone", got)
	}
}
