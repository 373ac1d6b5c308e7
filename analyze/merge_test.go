package analyze

import (
	"reflect"
	"testing"
	"time"
)

// TestMerge runs the same findings through Merge under a fake rule of each grouping.
func TestMerge(t *testing.T) {
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	finding := func(rule, identity, cred string, from, to int) Finding {
		return Finding{Rule: rule, Identity: identity, Credential: cred, FirstSeen: at(from), LastSeen: at(to), Count: 1}
	}
	type got struct {
		Identity, Credential string
		From, To, Count      int
	}
	tests := []struct {
		group GroupBy
		want  []got
	}{
		{GroupNone, []got{
			{"", "", 0, 0, 1}, {"", "", 5, 5, 1},
			{"alice", "a", 0, 10, 1}, {"alice", "b", 20, 30, 1}, {"alice", "a", 40, 50, 1}, {"alice", "a", 200, 200, 1},
			{"bob", "a", 15, 15, 1},
		}},
		{GroupIdentity, []got{
			{"", "", 0, 0, 1}, {"", "", 5, 5, 1}, // no identity: never merged
			{"alice", "a", 0, 50, 3},    // a, b and a again, each within the hour of the one before
			{"alice", "a", 200, 200, 1}, // more than an hour after the last
			{"bob", "a", 15, 15, 1},     // another identity with the same credential id
		}},
		{GroupCredential, []got{
			{"", "", 0, 0, 1}, {"", "", 5, 5, 1},
			{"alice", "a", 0, 50, 2}, // the second use of a merges across b's finding
			{"alice", "b", 20, 30, 1},
			{"alice", "a", 200, 200, 1},
			{"bob", "a", 15, 15, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.group.String(), func(t *testing.T) {
			rule := "fake-" + tt.group.String()
			fs := []Finding{
				finding(rule, "alice", "a", 40, 50),
				finding(rule, "alice", "a", 0, 10),
				finding(rule, "bob", "a", 15, 15),
				finding(rule, "alice", "b", 20, 30),
				finding(rule, "", "", 0, 0),
				finding(rule, "", "", 5, 5),
				finding(rule, "alice", "a", 200, 200),
			}
			rules := []Rule{{ID: rule, Group: tt.group}, {ID: "other", Group: GroupIdentity}}
			var out []got
			for _, f := range Merge(fs, rules, time.Hour) {
				out = append(out, got{f.Identity, f.Credential, int(f.FirstSeen.Sub(t0) / time.Minute), int(f.LastSeen.Sub(t0) / time.Minute), f.Count})
			}
			if !reflect.DeepEqual(out, tt.want) {
				t.Errorf("Merge:\n got %+v\nwant %+v", out, tt.want)
			}
		})
	}
}

// TestMergeKeepsRulesApart: findings of two rules about one identity never merge, and a rule
// Merge is not told about keeps its findings as they are.
func TestMergeKeepsRulesApart(t *testing.T) {
	fs := []Finding{
		{Rule: "x", Identity: "alice", FirstSeen: t0, LastSeen: t0, Count: 1},
		{Rule: "y", Identity: "alice", FirstSeen: t0, LastSeen: t0, Count: 1},
		{Rule: "unknown", Identity: "alice", FirstSeen: t0, LastSeen: t0, Count: 1},
		{Rule: "unknown", Identity: "alice", FirstSeen: t0, LastSeen: t0, Count: 1},
	}
	got := Merge(fs, []Rule{{ID: "x", Group: GroupIdentity}, {ID: "y", Group: GroupIdentity}}, time.Hour)
	if len(got) != 4 {
		t.Fatalf("got %d findings, want 4: %+v", len(got), got)
	}
}

// TestRuleGroups pins each registered rule's grouping: a new rule must choose one here.
func TestRuleGroups(t *testing.T) {
	want := map[string]GroupBy{
		"bulk-read": GroupNone, "dual-source-ip": GroupCredential, "new-resource": GroupIdentity,
		"dormant-identity": GroupIdentity, "new-source-ip": GroupIdentity, "denied-burst": GroupNone,
		"enumeration": GroupIdentity, "many-source-ips": GroupIdentity, "decoy-access": GroupIdentity,
		"privileged-token": GroupIdentity, "policy-change": GroupIdentity, "auth-config-change": GroupIdentity,
		"admin-off-hours": GroupIdentity, "rotation-without-read": GroupIdentity, "audit-disabled": GroupIdentity,
		"audit-gap": GroupIdentity, "resource-policy-change": GroupIdentity, "unusual-client": GroupIdentity,
		"cross-store-access": GroupIdentity, "secret-in-audit-log": GroupNone, "root-activity": GroupIdentity, "new-source-account": GroupIdentity,
	}
	got := map[string]GroupBy{}
	for _, r := range Rules() {
		got[r.ID] = r.Group
	}
	for id, g := range got {
		if w, ok := want[id]; !ok || w != g {
			t.Errorf("rule %s groups by %s; want %s (a new rule chooses its grouping here)", id, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rules registered, %d in the table", len(got), len(want))
	}
}
