package k8sevents

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// rolloutKeys renders rollouts as "HH:MM:SS ns/deployment reason" for comparison.
func rolloutKeys(rs []K8sRollout, ns string) []string {
	var out []string
	for _, r := range rs {
		if ns == "" || r.Namespace == ns {
			out = append(out, fmt.Sprintf("%s %s/%s %s", r.Time.Format("15:04:05"), r.Namespace, r.Deployment, r.Reason))
		}
	}
	return out
}

func TestReadK8sEvents(t *testing.T) {
	rs, err := ReadK8sEvents("../../testdata/k8s/events.json")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(rs, func(a, b K8sRollout) int { return a.Time.Compare(b.Time) }) {
		t.Error("rollouts are not in time order")
	}
	// The production card-gateway rollout: the new replica set scaled up (twice), two pods
	// started, two old pods stopped. Scale-downs of the old replica set are not rollouts.
	want := []string{
		"11:02:11 payments/card-gateway ScalingReplicaSet",
		"11:02:15 payments/card-gateway Started",
		"11:02:24 payments/card-gateway ScalingReplicaSet",
		"11:02:27 payments/card-gateway Killing",
		"11:02:37 payments/card-gateway Started",
		"11:02:49 payments/card-gateway Killing",
		// The canary has a name that starts with card-gateway: its pods are its own.
		"19:24:40 payments/card-gateway-canary ScalingReplicaSet",
		"19:24:44 payments/card-gateway-canary Started",
		"19:24:56 payments/card-gateway-canary Killing",
	}
	if got := rolloutKeys(rs, "payments"); !slices.Equal(got, want) {
		t.Errorf("payments rollouts:\n got %q\nwant %q", got, want)
	}
	if got := rolloutKeys(rs, "payments-staging"); len(got) != 3 || !strings.Contains(got[0], "payments-staging/card-gateway ") {
		t.Errorf("staging rollouts %q: want the same name in its own namespace", got)
	}
	if got := rolloutKeys(rs, "backoffice"); len(got) == 0 || got[0] != "15:32:18 backoffice/backoffice-portal ScalingReplicaSet" {
		t.Errorf("backoffice rollouts %q", got)
	}
	for _, ns := range []string{"treasury", "risk", "ledger"} {
		if got := rolloutKeys(rs, ns); len(got) != 0 {
			t.Errorf("%s: %q; Job pods, probes and autoscaler events are not rollouts", ns, got)
		}
	}
}

func TestDecodeK8sEvents(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		// secrets the first rollout carries
		secrets []string
	}{
		{"events.k8s.io/v1 events, one object after another, pods known by name only", `
{"kind":"Event","apiVersion":"events.k8s.io/v1","reason":"Started","note":"Started container api","eventTime":"2026-09-23T15:32:22.123456Z","regarding":{"kind":"Pod","namespace":"web","name":"portal-7d9fb6c5b8-x2k4q"}}
{"kind":"Event","apiVersion":"events.k8s.io/v1","reason":"Started","note":"Started container db","eventTime":"2026-09-23T15:33:00Z","regarding":{"kind":"Pod","namespace":"web","name":"db-0"}}
{"kind":"Event","apiVersion":"events.k8s.io/v1","reason":"Started","note":"Started container x","eventTime":"2026-09-23T15:34:00Z","regarding":{"kind":"Pod","namespace":"web","name":"node-agent-x7k2q"}}`,
			[]string{"15:32:22 web/portal Started"}, nil},
		{"a repeated event counts at its first and last time", `{"apiVersion":"v1","kind":"List","items":[
{"kind":"Event","reason":"ScalingReplicaSet","message":"Scaled up replica set api-5c8d7f9b6d to 3 from 2","count":2,
 "firstTimestamp":"2026-09-23T10:00:00Z","lastTimestamp":"2026-09-23T12:00:00Z","involvedObject":{"kind":"Deployment","namespace":"a","name":"api"}}]}`,
			[]string{"10:00:00 a/api ScalingReplicaSet", "12:00:00 a/api ScalingReplicaSet"}, nil},
		{"objects in the list: owner references and annotations", `{"apiVersion":"v1","kind":"List","items":[
{"kind":"Deployment","metadata":{"name":"api","namespace":"a","annotations":{"vaultsentry.io/secrets":"kv/data/prod/api/*, legacy/api"}},
 "spec":{"template":{"metadata":{"annotations":{"vault.hashicorp.com/agent-inject-secret-db":"database/creds/api"}}}}},
{"kind":"ReplicaSet","metadata":{"name":"api-v2","namespace":"a","ownerReferences":[{"kind":"Deployment","name":"api"}]}},
{"kind":"Pod","metadata":{"name":"api-v2-one","namespace":"a","ownerReferences":[{"kind":"ReplicaSet","name":"api-v2"}]}},
{"kind":"Event","reason":"Started","message":"Started container api","lastTimestamp":"2026-09-23T10:00:00Z","involvedObject":{"kind":"Pod","namespace":"a","name":"api-v2-one"}}]}`,
			[]string{"10:00:00 a/api Started"}, []string{"database/creds/api", "kv/data/prod/api/*", "legacy/api"}},
		{"a job's pod is not a deployment's", `{"kind":"List","items":[
{"kind":"Event","reason":"Started","lastTimestamp":"2026-09-23T01:30:02Z","involvedObject":{"kind":"Pod","namespace":"t","name":"settlement-batch-29313450-r7q6j"}}]}`,
			nil, nil},
		{"a scale-down starts nothing", `{"kind":"List","items":[
{"kind":"Event","reason":"ScalingReplicaSet","message":"Scaled down replica set api-5c8d7f9b6d to 0 from 1","lastTimestamp":"2026-09-23T10:00:00Z","involvedObject":{"kind":"Deployment","namespace":"a","name":"api"}}]}`,
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := DecodeK8sEvents(strings.NewReader(tt.in), "events.json")
			if err != nil {
				t.Fatal(err)
			}
			if got := rolloutKeys(rs, ""); !slices.Equal(got, tt.want) {
				t.Fatalf("rollouts %q, want %q", got, tt.want)
			}
			if tt.secrets != nil {
				got := slices.Clone(rs[0].Secrets)
				slices.Sort(got)
				if !slices.Equal(got, tt.secrets) {
					t.Errorf("secrets %q, want %q", got, tt.secrets)
				}
			}
		})
	}
}

func TestDecodeK8sEventsErrors(t *testing.T) {
	_, err := DecodeK8sEvents(strings.NewReader(`{"kind":"List","items":[{"kind":"Event",`), "bad.json")
	if err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("truncated JSON: err = %v, want an error naming the file", err)
	}
	if _, err := ReadK8sEvents("../../testdata/k8s/missing.json"); err == nil {
		t.Error("missing file: want an error")
	}
	rs, err := DecodeK8sEvents(strings.NewReader(`{"kind":"List","items":[]}`), "empty.json")
	if err != nil || len(rs) != 0 {
		t.Errorf("empty list: %v, %v", rs, err)
	}
}
