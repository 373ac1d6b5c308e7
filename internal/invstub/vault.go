// Package invstub holds in-process stand-ins of the secret stores' listing APIs for the
// inventory's tests: the Vault / OpenBao KV API (Vault) and AWS Secrets Manager's ListSecrets
// (SecretsManager), each written from the API's documentation.
package invstub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Vault is an in-process stand-in for the Vault / OpenBao HTTP API, written from its
// documentation (developer.hashicorp.com/vault/api-docs: system/mounts, system/internal-ui-mounts,
// secret/kv/kv-v2 "List secrets" and "Read secret metadata", secret/kv/kv-v1 "List secrets",
// and "Namespaces" for X-Vault-Namespace): LIST (or GET ?list=true) answers {"data":{"keys":[...]}}
// with folders ending in "/" and 404 {"errors":[]} when nothing is under the path; a path the
// token's policy does not grant is 403 {"errors":["permission denied"]}; a missing or wrong
// token too. Any request that would return a value (KV v2 data/, a GET on a KV v1 path) is
// answered 400 and recorded in Violations.
type Vault struct {
	Token string
	// ns -> mount -> engine
	Mounts map[string]map[string]Mount
	// Denied: API paths (namespace-relative, without /v1/) under which everything is 403, per namespace
	Denied map[string][]string
	// MountsDenied: namespaces whose sys/mounts is 403
	MountsDenied map[string]bool

	mu         sync.Mutex
	requests   []string // "METHOD ns|path"
	violations []string
}

// Mount is one KV mount of the fake.
type Mount struct {
	Version int
	// Secrets: path relative to the mount -> metadata (KV v2, see Meta) or nil (v1)
	Secrets map[string]map[string]any
}

// Requests are the requests served, as "METHOD namespace|path".
func (f *Vault) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Violations are the requests that would have read a value or were not a LIST or a read.
func (f *Vault) Violations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.violations)
}

func (f *Vault) violate(s string) {
	f.mu.Lock()
	f.violations = append(f.violations, s)
	f.mu.Unlock()
}

func (f *Vault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(code int, errs ...string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"errors": append([]string{}, errs...)})
	}
	ok := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	ns := strings.Trim(r.Header.Get("X-Vault-Namespace"), "/")
	if ns != "" {
		ns += "/"
	}
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	if method == "LIST" && !strings.HasSuffix(path, "/") {
		path += "/" // Vault lists a folder with or without its slash (http/logical.go adds it)
	}
	f.mu.Lock()
	f.requests = append(f.requests, method+" "+ns+"|"+path)
	f.mu.Unlock()
	if r.Header.Get("X-Vault-Token") != f.Token {
		fail(http.StatusForbidden, "permission denied")
		return
	}
	mounts, known := f.Mounts[ns]
	if !known {
		fail(http.StatusForbidden, "permission denied") // no such namespace: Vault answers as for no policy
		return
	}
	for _, d := range f.Denied[ns] {
		if strings.HasPrefix(path, d) {
			fail(http.StatusForbidden, "permission denied")
			return
		}
	}
	info := func(m Mount) map[string]any {
		opts := map[string]string{}
		if m.Version == 2 {
			opts["version"] = "2"
		}
		return map[string]any{"type": "kv", "options": opts, "accessor": "kv_1234"}
	}
	switch {
	case method == http.MethodGet && path == "sys/mounts":
		if f.MountsDenied[ns] {
			fail(http.StatusForbidden, "permission denied")
			return
		}
		data := map[string]any{"sys/": map[string]any{"type": "system", "options": nil},
			"transit/": map[string]any{"type": "transit", "options": nil}}
		for p, m := range mounts {
			data[p] = info(m)
		}
		ok(map[string]any{"request_id": "r", "lease_id": "", "data": data})
		return
	case method == http.MethodGet && strings.HasPrefix(path, "sys/internal/ui/mounts/"):
		p := strings.Trim(strings.TrimPrefix(path, "sys/internal/ui/mounts/"), "/") + "/"
		m, found := mounts[p]
		if !found {
			fail(http.StatusForbidden, "permission denied")
			return
		}
		d := info(m)
		d["path"] = p
		ok(map[string]any{"data": d})
		return
	}
	for mp, m := range mounts {
		if !strings.HasPrefix(path, mp) {
			continue
		}
		rest := path[len(mp):]
		if m.Version == 2 {
			if !strings.HasPrefix(rest, "metadata/") && rest+"/" != "metadata/" {
				f.violate(fmt.Sprintf("request %s %s%s: a KV v2 path other than metadata/ (a value read)", method, ns, path))
				fail(http.StatusBadRequest, "not in the fake")
				return
			}
			rest = strings.TrimPrefix(strings.TrimPrefix(rest, "metadata"), "/")
		}
		switch method {
		case "LIST":
			dir := rest
			if dir != "" && !strings.HasSuffix(dir, "/") {
				dir += "/"
			}
			var keys []string
			for sp := range m.Secrets {
				if !strings.HasPrefix(sp, dir) {
					continue
				}
				k := sp[len(dir):]
				if i := strings.IndexByte(k, '/'); i >= 0 {
					k = k[:i+1]
				}
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
			if len(keys) == 0 {
				fail(http.StatusNotFound)
				return
			}
			slices.Sort(keys)
			ok(map[string]any{"data": map[string]any{"keys": keys}})
		case http.MethodGet:
			if m.Version != 2 {
				f.violate(fmt.Sprintf("GET %s%s on KV v1: that reads the value", ns, path))
				fail(http.StatusBadRequest, "not in the fake")
				return
			}
			md, found := m.Secrets[rest]
			if !found {
				fail(http.StatusNotFound)
				return
			}
			ok(map[string]any{"request_id": "r", "data": md})
		default:
			f.violate(fmt.Sprintf("%s %s%s: the inventory only lists and reads metadata", method, ns, path))
			fail(http.StatusMethodNotAllowed, "unsupported operation")
		}
		return
	}
	fail(http.StatusNotFound, "no handler for route \""+path+"\"")
}

// Meta is a KV v2 metadata answer whose current version was written at written.
func Meta(created, updated, written string, version int, custom map[string]string) map[string]any {
	versions := map[string]any{}
	for v := 1; v <= version; v++ {
		t := created
		if v == version {
			t = written
		}
		versions[strconv.Itoa(v)] = map[string]any{"created_time": t, "deletion_time": "", "destroyed": false}
	}
	var cm any
	if custom != nil {
		cm = custom
	}
	return map[string]any{"cas_required": false, "created_time": created, "current_version": version, "custom_metadata": cm,
		"delete_version_after": "0s", "max_versions": 0, "oldest_version": 0, "updated_time": updated, "versions": versions}
}
