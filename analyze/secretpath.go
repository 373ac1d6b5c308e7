package analyze

import (
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// controlPrefixes are Vault paths that are not secrets: the system backend, auth methods,
// identity, the per-token cubbyhole.
var controlPrefixes = []string{"sys/", "auth/", "identity/", "cubbyhole/"}

// isSecretAccess reports whether ev reads, lists, writes or deletes a secret (as opposed to a
// login, a token renewal or a sys/ call).
func isSecretAccess(ev *event.Event) bool {
	if ev.Resource == "" || ev.Has(event.FlagServiceActor) || ev.Has(event.FlagUnauthenticated) || ev.Has(event.FlagMaintenance) {
		return false
	}
	switch ev.Op {
	case event.OpRead, event.OpList, event.OpWrite, event.OpDelete:
	default:
		return false
	}
	if ev.Kind == event.KindVault {
		p := strings.TrimPrefix(ev.Resource, ev.Namespace)
		for _, c := range controlPrefixes {
			if strings.HasPrefix(p, c) {
				return false
			}
		}
	}
	return true
}

// parentOf returns the path up to and including its last "/" before the final segment
// ("kv/prod/a/b" -> "kv/prod/a/"), or "" at the top.
func parentOf(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return ""
}

// prefixesOf lists every ancestor directory of p, longest first.
func prefixesOf(p string) []string {
	var out []string
	for q := parentOf(p); q != ""; q = parentOf(q) {
		out = append(out, q)
	}
	return out
}
