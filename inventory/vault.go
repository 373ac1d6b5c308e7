package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
)

// The Vault and OpenBao HTTP API as documented (developer.hashicorp.com/vault/api-docs):
//   - GET  /v1/sys/mounts: every mount, {"data": {"secret/": {"type": "kv", "options": {"version": "2"}}}}
//     (older servers also put the mounts at the top level);
//   - GET  /v1/sys/internal/ui/mounts/:path: one mount's type and options, for a token that may
//     not read sys/mounts but has a capability under the mount;
//   - LIST /v1/:mount/metadata/:path (KV v2) or /v1/:mount/:path (KV v1): {"data": {"keys": [...]}},
//     folders ending in "/", 404 when there is nothing under the path;
//   - GET  /v1/:mount/metadata/:path (KV v2): created_time, updated_time, current_version,
//     custom_metadata, versions. Never /data/ (v2) or a GET on a v1 path: that returns the value.
//
// Errors are {"errors": [...]}; 403 is "permission denied". X-Vault-Token carries the token and
// X-Vault-Namespace the namespace. Requests go through the official client,
// github.com/hashicorp/vault/api: its TLS and retry configuration is the vault CLI's.

// VaultOptions say which server, token and mounts WalkVault uses.
type VaultOptions struct {
	Addr      string // VAULT_ADDR
	Token     string // VAULT_TOKEN (sent, never printed)
	Namespace string // VAULT_NAMESPACE ("" for the root namespace)
	// Mounts limits the walk to these mounts ("secret/"); empty: every KV mount sys/mounts lists.
	Mounts []string
	Client *http.Client
	// Parallel is how many metadata reads are in flight at once (0: DefaultParallel).
	Parallel int
	// Warn hears each subtree or secret left out (permission denied, a server error) and each
	// mount skipped; the strings hold paths from the server, to be cleaned before printing.
	Warn func(string)
}

// DefaultParallel is the metadata reads a walk has in flight: a 20 000-secret KV v2 mount is
// 20 000 requests, a minute and a half one at a time at 5 ms each.
const DefaultParallel = 8

// VaultStats count what a walk did.
type VaultStats struct {
	Mounts  int // KV mounts walked
	Folders int // LISTs answered
	Secrets int // records written
	Denied  int // LISTs or metadata reads refused with 403 (subtrees and secrets left out or without times)
	Errors  int // other failed requests (after retries)
}

// errDenied is a 403.
var errDenied = errors.New("permission denied")

type vaultClient struct {
	o    VaultOptions
	base *url.URL
	api  *vaultapi.Client
	mu   sync.Mutex // Warn and the stats, from the metadata readers
}

func (c *vaultClient) warn(st *VaultStats, count *int, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if count != nil {
		*count++
	}
	c.o.Warn(msg)
}

type vaultMount struct {
	path    string
	version int
}

// WalkVault lists every secret of the KV mounts (v1 and v2) and hands each to emit: LIST
// requests and, on KV v2, one metadata read per secret; never a read of a secret's data. A
// subtree the token may not list is reported through Warn and counted, and the walk goes on. The
// error is for what stops the walk: the server unreachable, the token refused everywhere, emit
// failing, ctx done.
func WalkVault(ctx context.Context, o VaultOptions, emit func(*Record) error) (VaultStats, error) {
	var st VaultStats
	if o.Addr == "" {
		return st, errors.New("no Vault address: set VAULT_ADDR (e.g. https://vault.example.com:8200)")
	}
	if o.Token == "" {
		return st, errors.New("no Vault token: set VAULT_TOKEN")
	}
	base, err := url.Parse(strings.TrimRight(o.Addr, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return st, fmt.Errorf("VAULT_ADDR %q: want http(s)://host:port", o.Addr)
	}
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Namespace != "" && !strings.HasSuffix(o.Namespace, "/") {
		o.Namespace += "/"
	}
	// The API client's configuration reads what the vault CLI reads (VAULT_CACERT, VAULT_CAPATH,
	// VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_SKIP_VERIFY, VAULT_TLS_SERVER_NAME,
	// VAULT_MAX_RETRIES, the proxy variables); the address, token and namespace are the options'.
	cfg := vaultapi.DefaultConfig()
	if cfg.Error != nil {
		return st, fmt.Errorf("the Vault client configuration (VAULT_* variables): %w", cfg.Error)
	}
	cfg.Address = base.String()
	cfg.Timeout = 30 * time.Second
	cfg.MinRetryWait, cfg.MaxRetryWait = 200*time.Millisecond, time.Second
	if o.Client != nil {
		cfg.HttpClient = o.Client
	}
	api, err := vaultapi.NewClient(cfg)
	if err != nil {
		return st, fmt.Errorf("the Vault client: %w", err)
	}
	api.SetToken(o.Token)
	api.SetNamespace(strings.TrimSuffix(o.Namespace, "/"))
	c := &vaultClient{o: o, base: base, api: api}
	mounts, err := c.mounts(ctx)
	if err != nil {
		return st, err
	}
	for _, m := range mounts {
		st.Mounts++
		if err := c.walk(ctx, m, "", &st, emit); err != nil {
			return st, err
		}
	}
	return st, nil
}

// mounts are the KV mounts to walk, sorted: from sys/mounts, limited to o.Mounts when given;
// when the token may not read sys/mounts, each named mount from sys/internal/ui/mounts.
func (c *vaultClient) mounts(ctx context.Context) ([]vaultMount, error) {
	want := make([]string, 0, len(c.o.Mounts))
	for _, m := range c.o.Mounts {
		m = strings.Trim(m, "/") + "/"
		if !slices.Contains(want, m) {
			want = append(want, m)
		}
	}
	type mountInfo struct {
		Type    string            `json:"type"`
		Options map[string]string `json:"options"`
	}
	var all map[string]json.RawMessage
	err := c.do(ctx, http.MethodGet, "sys/mounts", &all)
	if errors.Is(err, errDenied) && len(want) > 0 {
		c.o.Warn("the token may not read sys/mounts: asking sys/internal/ui/mounts for each --mount")
		var out []vaultMount
		for _, m := range want {
			var resp struct {
				Data mountInfo `json:"data"`
			}
			if err := c.do(ctx, http.MethodGet, "sys/internal/ui/mounts/"+m, &resp); err != nil {
				return nil, fmt.Errorf("mount %s: %w", m, err)
			}
			v, ok := kvVersion(resp.Data.Type, resp.Data.Options)
			if !ok {
				return nil, fmt.Errorf("mount %s is a %q engine, not KV", m, resp.Data.Type)
			}
			out = append(out, vaultMount{m, v})
		}
		return out, nil
	}
	if errors.Is(err, errDenied) {
		return nil, errors.New("sys/mounts: permission denied (name the KV mounts with --mount, which a token without access to sys/mounts can walk)")
	}
	if err != nil {
		return nil, fmt.Errorf("sys/mounts: %w", err)
	}
	if d, ok := all["data"]; ok {
		var inner map[string]json.RawMessage
		if json.Unmarshal(d, &inner) == nil && len(inner) > 0 {
			all = inner
		}
	}
	found := map[string]vaultMount{}
	for path, raw := range all {
		var mi mountInfo
		if !strings.HasSuffix(path, "/") || json.Unmarshal(raw, &mi) != nil {
			continue // request_id, lease_id, ...: the response's own fields
		}
		if v, ok := kvVersion(mi.Type, mi.Options); ok {
			found[path] = vaultMount{path, v}
		}
	}
	var out []vaultMount
	if len(want) == 0 {
		for _, m := range found {
			out = append(out, m)
		}
	} else {
		for _, m := range want {
			fm, ok := found[m]
			if !ok {
				return nil, fmt.Errorf("mount %s: not a KV mount in sys/mounts%s", m, nsSuffix(c.o.Namespace))
			}
			out = append(out, fm)
		}
	}
	slices.SortFunc(out, func(a, b vaultMount) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

func nsSuffix(ns string) string {
	if ns == "" {
		return ""
	}
	return " of namespace " + ns
}

// kvVersion is the KV version of a mount of engine type t ("kv", or "generic" for v1).
func kvVersion(t string, opts map[string]string) (int, bool) {
	switch t {
	case "generic":
		return 1, true
	case "kv":
		if opts["version"] == "2" {
			return 2, true
		}
		return 1, true
	}
	return 0, false
}

// walk lists dir (relative to the mount, "" or ending in "/") and recurses into its folders.
func (c *vaultClient) walk(ctx context.Context, m vaultMount, dir string, st *VaultStats, emit func(*Record) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	listPath := m.path + dir
	if m.version == 2 {
		listPath = m.path + "metadata/" + dir
	}
	var resp struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	err := c.do(ctx, "LIST", listPath, &resp)
	switch {
	case errors.Is(err, errNotFound):
		return nil // nothing under it
	case errors.Is(err, errDenied):
		st.Denied++
		c.o.Warn(fmt.Sprintf("%s%s%s: permission denied to list: that subtree is not in the inventory", c.o.Namespace, m.path, dir))
		return nil
	case isFatal(err):
		return err
	case err != nil:
		st.Errors++
		c.o.Warn(fmt.Sprintf("%s%s%s: %v: that subtree is not in the inventory", c.o.Namespace, m.path, dir, err))
		return nil
	}
	st.Folders++
	keys := resp.Data.Keys
	slices.Sort(keys)
	// This folder's secrets first, their metadata read in parallel; then in key order each
	// secret is written and each folder walked.
	recs := map[string]*Record{}
	var batch []*Record
	for _, k := range keys {
		if k == "" || k == "/" || strings.Contains(strings.TrimSuffix(k, "/"), "/") || k == "../" || k == "./" {
			c.warn(st, &st.Errors, fmt.Sprintf("%s%s%s: key %q skipped: not a name", c.o.Namespace, m.path, dir, k))
			continue
		}
		if !strings.HasSuffix(k, "/") {
			rec := &Record{Store: StoreVault, Namespace: c.o.Namespace, Mount: m.path, Path: dir + k, KVVersion: m.version}
			recs[k] = rec
			batch = append(batch, rec)
		}
	}
	if m.version == 2 {
		if err := c.metadataAll(ctx, m, batch, st); err != nil {
			return err
		}
	}
	for _, k := range keys {
		if rec := recs[k]; rec != nil {
			st.Secrets++
			if err := emit(rec); err != nil {
				return err
			}
			continue
		}
		if strings.HasSuffix(k, "/") && k != "/" && k != "../" && k != "./" && !strings.Contains(strings.TrimSuffix(k, "/"), "/") {
			if err := c.walk(ctx, m, dir+k, st, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// metadataAll reads the metadata of recs, o.Parallel at a time; the first fatal error wins.
func (c *vaultClient) metadataAll(ctx context.Context, m vaultMount, recs []*Record, st *VaultStats) error {
	sem := make(chan struct{}, c.o.Parallel)
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	for _, rec := range recs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.metadata(ctx, m, rec, st); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}

// metadata fills rec from the KV v2 metadata endpoint; a refusal leaves the times unknown.
func (c *vaultClient) metadata(ctx context.Context, m vaultMount, rec *Record, st *VaultStats) error {
	var resp struct {
		Data struct {
			CreatedTime    *time.Time        `json:"created_time"`
			UpdatedTime    *time.Time        `json:"updated_time"`
			CurrentVersion *int              `json:"current_version"`
			CustomMetadata map[string]string `json:"custom_metadata"`
			Versions       map[string]struct {
				CreatedTime  *time.Time `json:"created_time"`
				DeletionTime string     `json:"deletion_time"`
				Destroyed    bool       `json:"destroyed"`
			} `json:"versions"`
		} `json:"data"`
	}
	err := c.do(ctx, http.MethodGet, m.path+"metadata/"+rec.Path, &resp)
	switch {
	case errors.Is(err, errDenied):
		c.warn(st, &st.Denied, fmt.Sprintf("%s%s%s: permission denied to read its metadata: listed without times", c.o.Namespace, m.path, rec.Path))
		return nil
	case isFatal(err):
		return err
	case err != nil:
		c.warn(st, &st.Errors, fmt.Sprintf("%s%s%s: metadata: %v: listed without times", c.o.Namespace, m.path, rec.Path, err))
		return nil
	}
	d := resp.Data
	rec.CreatedTime, rec.UpdatedTime, rec.CurrentVersion, rec.CustomMetadata = utcp(d.CreatedTime), utcp(d.UpdatedTime), d.CurrentVersion, d.CustomMetadata
	if d.CurrentVersion != nil {
		if v, ok := d.Versions[strconv.Itoa(*d.CurrentVersion)]; ok {
			rec.VersionTime = utcp(v.CreatedTime)
			// deletion_time is also set ahead of time by delete_version_after: deleted once passed.
			dt, derr := time.Parse(time.RFC3339Nano, v.DeletionTime)
			rec.Deleted = v.Destroyed || derr == nil && !dt.After(time.Now())
		}
	}
	return nil
}

func utcp(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

var errNotFound = errors.New("not found")

// fatalError is a failure that ends the walk: the server unreachable, the token invalid.
type fatalError struct{ err error }

func (f fatalError) Error() string { return f.err.Error() }
func (f fatalError) Unwrap() error { return f.err }

func isFatal(err error) bool {
	var f fatalError
	return errors.As(err, &f) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// do sends one request (path unescaped, relative to /v1/) through the Vault API client and
// decodes a 200's body into out. A LIST is the documented GET with list=true. The client retries
// 429 and 5xx answers (VAULT_MAX_RETRIES, default 2) with backoff.
func (c *vaultClient) do(ctx context.Context, method, path string, out any) error {
	var params map[string][]string
	if method == "LIST" {
		params = map[string][]string{"list": {"true"}}
	}
	resp, err := c.api.Logical().ReadRawWithDataWithContext(ctx, path, params)
	if resp == nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fatalError{fmt.Errorf("%s: %w", c.base.Redacted(), err)}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
		if rerr != nil {
			return rerr
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not Vault's JSON: %w", method, path, err)
		}
		return nil
	case resp.StatusCode == http.StatusNoContent, resp.StatusCode == http.StatusNotFound:
		return errNotFound
	case resp.StatusCode == http.StatusForbidden:
		if strings.Contains(vaultErrors(body), "invalid token") {
			return fatalError{errors.New("the token is not valid (403 invalid token): check VAULT_TOKEN")}
		}
		return errDenied
	}
	return fmt.Errorf("HTTP %d: %s", resp.StatusCode, vaultErrors(body))
}

// vaultErrors joins the errors of a Vault error response.
func vaultErrors(body []byte) string {
	var e struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		if len(body) > 200 {
			body = body[:200]
		}
		return strings.TrimSpace(string(body))
	}
	return strings.Join(e.Errors, "; ")
}
