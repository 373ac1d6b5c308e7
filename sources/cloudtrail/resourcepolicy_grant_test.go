package cloudtrail

import (
	"slices"
	"testing"
)

// The policies are shaped like the examples in the AWS Secrets Manager user guide
// ("Permissions policy examples"): a cross-account role, an organisation condition, a
// service principal, and an Allow to everyone.
func TestResourcePolicyGrant(t *testing.T) {
	f, tr := false, true
	tests := []struct {
		name        string
		doc         string
		block       *bool
		principals  []string
		condition   bool
		blockPublic string
		unreadable  bool
		none        bool
	}{
		{name: "everyone, guard off", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
			block: &f, principals: []string{"*"}, blockPublic: "false"},
		{name: "organisation condition", doc: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}]}`,
			block: &tr, principals: []string{"*"}, condition: true, blockPublic: "true"},
		{name: "cross-account role", doc: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/reader"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`,
			principals: []string{"arn:aws:iam::999988887777:role/reader"}},
		{name: "a Deny grants nothing", doc: `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}`, none: true},
		{name: "not JSON", doc: `{"Statement":`, unreadable: true, none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, bad := ResourcePolicyGrant(tt.doc, tt.block)
			if bad != tt.unreadable {
				t.Errorf("unreadable = %v, want %v", bad, tt.unreadable)
			}
			if tt.none {
				if g != nil {
					t.Fatalf("grant %+v, want none", g)
				}
				return
			}
			if g == nil {
				t.Fatal("no grant")
			}
			if !slices.Equal(g.Principals, tt.principals) || g.Condition != tt.condition || g.BlockPublic != tt.blockPublic {
				t.Errorf("grant %+v, want principals %v condition %v blockPublic %q", g, tt.principals, tt.condition, tt.blockPublic)
			}
		})
	}
}
