package baseline

import (
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// catalogReads are the catalogues Vault returns on a read (GET) rather than a LIST.
var catalogReads = []string{"sys/mounts", "sys/auth", "sys/policy"}

// IsCatalogRead reports whether rel, a Vault path relative to its namespace, is a catalogue
// Vault returns on a read (sys/mounts, sys/auth, sys/policy): a listing in all but the verb.
func IsCatalogRead(rel string) bool {
	rel = strings.TrimSuffix(rel, "/")
	for _, c := range catalogReads {
		if rel == c {
			return true
		}
	}
	return false
}

// IsListing reports whether ev lists what a baseline should remember as a listing habit: a list
// request, or a read that returns a Vault control-plane catalogue.
func IsListing(ev *event.Event) bool {
	if ev.Op == event.OpList {
		return true
	}
	return ev.Kind == event.KindVault && ev.Action == "read" && IsCatalogRead(strings.TrimPrefix(ev.Path, ev.Namespace))
}

// ListKey is the name under which a list request is remembered in the baseline: the listed
// resource for Vault; for AWS, the resource when the source set one, else the call with its
// (value-free) parameters, so "ListSecrets filtered on prod/treasury/" is a habit of its own.
func ListKey(ev *event.Event) string {
	if ev.Resource != "" || ev.Kind != event.KindCloudTrail {
		return ev.Resource
	}
	if ev.Detail != "" {
		return ev.Action + " " + ev.Detail
	}
	return ev.Action
}
