package k8saudit

import (
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// TestClass: a cluster user is a person; service accounts, nodes and control-plane components
// (system:...) are workloads.
func TestClass(t *testing.T) {
	in := sources.NewInterner().Local()
	for user, want := range map[string]event.Class{
		"priya@kestrelpay.io":                     event.ClassPerson,
		"system:serviceaccount:ledger:ledger-api": event.ClassWorkload,
		"system:node:ip-10-0-1-5":                 event.ClassWorkload,
		"system:kube-controller-manager":          event.ClassWorkload,
	} {
		a := auditEvent{ObjectRef: &objectRef{Resource: "secrets", Namespace: "ledger", Name: "db"}, Verb: "get"}
		a.User.Username = user
		if got := toEvent(&a, time.Now(), in).Class; got != want {
			t.Errorf("%s: %s, want %s", user, got, want)
		}
	}
}
