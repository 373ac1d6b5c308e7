package analyze

import (
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// pathInNamespace is a Vault request path without its namespace prefix ("sys/audit/x" for
// "ns1/sys/audit/x" in namespace "ns1/"), so path rules hold in every namespace. Other sources
// return the path as it is.
func pathInNamespace(ev *event.Event) string {
	if ev.Kind != event.KindVault {
		return ev.Path
	}
	return strings.TrimPrefix(ev.Path, ev.Namespace)
}

// kvVerbs are the KV v2 API's sub-paths under a mount.
var kvVerbs = []string{"data", "metadata", "delete", "undelete", "destroy", "subkeys"}

// kvSplit splits a Vault request path on a KV mount into the mount (with its namespace prefix),
// the KV v2 sub-path ("data", "metadata", ...; "" for a KV v1 path) and the rest. ok is false
// for paths on other engines. It uses the logged mount point when there is one, else takes the
// first path segment as the mount (logs before Vault 1.14 have no mount_point).
func kvSplit(ev *event.Event) (mount, verb, rest string, ok bool) {
	if ev.Kind != event.KindVault {
		return "", "", "", false
	}
	if ev.MountType != "" && ev.MountType != "kv" && ev.MountType != "generic" {
		return "", "", "", false
	}
	if ev.Mount != "" {
		if !strings.HasPrefix(ev.Path, ev.Mount) {
			return "", "", "", false
		}
		mount, rest = ev.Mount, ev.Path[len(ev.Mount):]
	} else {
		p := pathInNamespace(ev)
		i := strings.IndexByte(p, '/')
		if i <= 0 {
			return "", "", "", false
		}
		switch p[:i+1] {
		case "sys/", "auth/", "identity/", "cubbyhole/":
			return "", "", "", false
		}
		mount, rest = ev.Namespace+p[:i+1], p[i+1:]
	}
	for _, v := range kvVerbs {
		if rest == v || strings.HasPrefix(rest, v+"/") {
			return mount, v, strings.TrimPrefix(strings.TrimPrefix(rest, v), "/"), true
		}
	}
	return mount, "", rest, true
}

// isKVMount reports whether ev was made on a KV (or legacy generic) secrets engine, as far as
// the log says.
func isKVMount(ev *event.Event) bool {
	return ev.Kind == event.KindVault && (ev.MountType == "kv" || ev.MountType == "generic")
}
