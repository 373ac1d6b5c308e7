// Package inventory is the list of secrets a store holds, without their values: the records
// `vaultsentry inventory vault|aws` writes as JSON Lines and `vaultsentry review --inventory`
// reads back (or `aws secretsmanager list-secrets` output as the AWS CLI prints it). The review
// needs it for what logs cannot say: which secrets exist that nobody read (never-read), and when a
// secret was last written before the logs begin. The Vault walker (vault.go) talks to the HTTP
// API with LIST and metadata reads only; the AWS walker is inventory/awsinv, the package that
// may import the AWS SDK.
package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stores a Record names.
const (
	StoreVault = "vault"
	StoreAWS   = "aws" // AWS Secrets Manager
)

// Record is one secret of a store. Times are nil when the store does not say (KV v1 keeps no
// metadata; ListSecrets omits LastAccessedDate for a secret never retrieved). It never holds a
// secret value.
type Record struct {
	Store string `json:"store"`
	// Namespace is the Vault namespace the mount lives in ("team-a/"; "" for the root).
	Namespace string `json:"namespace,omitempty"`
	// Mount is the Vault mount path with its trailing slash ("secret/").
	Mount string `json:"mount,omitempty"`
	// Path is the secret's name within its mount (Vault: "production/stripe/api-key") or its
	// Secrets Manager Name.
	Path string `json:"path"`
	// KVVersion is 1 or 2 for a Vault KV mount.
	KVVersion int `json:"kv_version,omitempty"`
	// CreatedTime: KV v2 created_time; AWS CreatedDate.
	CreatedTime *time.Time `json:"created_time"`
	// UpdatedTime: KV v2 updated_time; AWS LastChangedDate.
	UpdatedTime *time.Time `json:"updated_time"`
	// CurrentVersion is KV v2's current_version (nil for KV v1 and AWS).
	CurrentVersion *int `json:"current_version"`
	// VersionTime is when KV v2 wrote the current version (versions[current_version].created_time):
	// the last write of the value, where updated_time also moves on a metadata change.
	VersionTime *time.Time `json:"version_created_time,omitempty"`
	// Deleted: KV v2's current version is deleted or destroyed (nothing to read until undeleted).
	Deleted        bool              `json:"current_version_deleted,omitempty"`
	CustomMetadata map[string]string `json:"custom_metadata"`

	// AWS Secrets Manager fields (ListSecrets' SecretListEntry).
	Region           string            `json:"region,omitempty"`
	ARN              string            `json:"arn,omitempty"`
	LastAccessedTime *time.Time        `json:"last_accessed_time,omitempty"` // LastAccessedDate (a day: truncated to midnight)
	LastRotatedTime  *time.Time        `json:"last_rotated_time,omitempty"`  // LastRotatedDate
	NextRotationTime *time.Time        `json:"next_rotation_time,omitempty"` // NextRotationDate
	RotationEnabled  *bool             `json:"rotation_enabled,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
}

// Key is the name the audit logs give the secret, as the sources normalise it: Vault's
// namespace, mount and path ("team-a/secret/production/stripe/api-key": KV v2's data/ and
// metadata/ segments are not part of it), Secrets Manager's Name.
func (r *Record) Key() string {
	if r.Store == StoreVault {
		return r.Namespace + r.Mount + r.Path
	}
	return r.Path
}

// LastWrite is the newest time the store says the secret's value was written, zero when it
// does not say: KV v2's current version (else updated_time); for AWS the later of
// LastRotatedDate and LastChangedDate (which also moves on a tag or description change, so it
// errs towards fresh, never towards overdue).
func (r *Record) LastWrite() time.Time {
	var t time.Time
	later := func(p *time.Time) {
		if p != nil && p.After(t) {
			t = *p
		}
	}
	if r.VersionTime != nil {
		later(r.VersionTime) // the version's own time is the write; updated_time may be a metadata edit
	} else {
		later(r.UpdatedTime)
	}
	later(r.LastRotatedTime)
	return t
}

// Writer writes records as JSON Lines.
type Writer struct {
	w   *bufio.Writer
	enc *json.Encoder
	n   int
}

// NewWriter writes to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{w: bw, enc: enc}
}

// Write writes one record on its own line.
func (w *Writer) Write(r *Record) error {
	w.n++
	return w.enc.Encode(r)
}

// Count is the number of records written.
func (w *Writer) Count() int { return w.n }

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Problem is one line of an inventory file that could not be read.
type Problem struct {
	File string
	Line int
	Err  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Err) }

// maxFile bounds an inventory file (a million secrets are ~500 MB of JSON Lines).
const maxFile = 1 << 30

// ReadFile reads an inventory: JSON Lines of Records, or the JSON `aws secretsmanager
// list-secrets` prints ({"SecretList": [...]}, dates as ISO 8601 strings or epoch seconds).
// A line that is not a record is a Problem; the rest is read.
func ReadFile(path string) ([]Record, []Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return Read(f, path)
}

// Read is ReadFile on an open reader; name is for the problems.
func Read(rd io.Reader, name string) ([]Record, []Problem, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxFile {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", name, maxFile)
	}
	if recs, ok, err := readCLI(data, name); ok {
		return recs, nil, err
	}
	var out []Record
	var probs []Problem
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var r Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			probs = append(probs, Problem{name, i + 1, "not an inventory record: " + err.Error()})
			continue
		}
		switch {
		case r.Store != StoreVault && r.Store != StoreAWS:
			probs = append(probs, Problem{name, i + 1, fmt.Sprintf("store %q: want vault or aws", r.Store)})
		case r.Path == "":
			probs = append(probs, Problem{name, i + 1, "no path"})
		case r.Store == StoreVault && (r.Mount == "" || !strings.HasSuffix(r.Mount, "/")):
			probs = append(probs, Problem{name, i + 1, fmt.Sprintf("mount %q: want the mount path with its trailing slash", r.Mount)})
		default:
			out = append(out, r)
		}
	}
	return out, probs, nil
}

// cliSecret is one SecretListEntry as the AWS CLI prints it.
type cliSecret struct {
	ARN              string
	Name             string
	CreatedDate      cliTime
	LastAccessedDate cliTime
	LastChangedDate  cliTime
	LastRotatedDate  cliTime
	NextRotationDate cliTime
	RotationEnabled  *bool
	Tags             []struct{ Key, Value string }
}

// cliTime is a timestamp as the AWS CLI prints it: an ISO 8601 string (CLI v2, and v1 with
// cli_timestamp_format = iso8601) or epoch seconds (v1's default, the wire's own form).
type cliTime struct{ t *time.Time }

func (c *cliTime) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	var t time.Time
	if u, err := strconv.Unquote(s); err == nil {
		var perr error
		if t, perr = time.Parse(time.RFC3339Nano, u); perr != nil {
			return fmt.Errorf("time %s: want ISO 8601 or epoch seconds", s)
		}
	} else {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("time %s: want ISO 8601 or epoch seconds", s)
		}
		sec := int64(f)
		t = time.Unix(sec, int64((f-float64(sec))*1e9)).Round(time.Millisecond)
	}
	t = t.UTC()
	c.t = &t
	return nil
}

// readCLI reads the AWS CLI's list-secrets output; ok is false when data is not that.
func readCLI(data []byte, name string) ([]Record, bool, error) {
	trim := bytes.TrimSpace(data)
	if len(trim) == 0 || trim[0] != '{' || !bytes.Contains(trim[:min(len(trim), 4096)], []byte(`"SecretList"`)) {
		return nil, false, nil
	}
	var doc struct{ SecretList *[]cliSecret }
	if err := json.Unmarshal(trim, &doc); err != nil {
		if bytes.Count(trim, []byte("\n")) > 0 && json.Valid(bytes.SplitN(trim, []byte("\n"), 2)[0]) {
			return nil, false, nil // JSON Lines whose first record mentions SecretList
		}
		return nil, true, fmt.Errorf("%s: not the JSON of aws secretsmanager list-secrets: %w", name, err)
	}
	if doc.SecretList == nil {
		return nil, false, nil
	}
	out := make([]Record, 0, len(*doc.SecretList))
	for _, s := range *doc.SecretList {
		r := Record{Store: StoreAWS, Path: s.Name, ARN: s.ARN, Region: RegionOfARN(s.ARN), CreatedTime: s.CreatedDate.t,
			UpdatedTime: s.LastChangedDate.t, LastAccessedTime: s.LastAccessedDate.t, LastRotatedTime: s.LastRotatedDate.t,
			NextRotationTime: s.NextRotationDate.t, RotationEnabled: s.RotationEnabled}
		if r.Path == "" {
			return nil, true, fmt.Errorf("%s: a SecretList entry without a Name (ARN %q)", name, s.ARN)
		}
		for _, t := range s.Tags {
			if r.Tags == nil {
				r.Tags = map[string]string{}
			}
			r.Tags[t.Key] = t.Value
		}
		out = append(out, r)
	}
	return out, true, nil
}

// RegionOfARN is the region field of an ARN ("" when it has none).
func RegionOfARN(arn string) string {
	f := strings.SplitN(arn, ":", 5)
	if len(f) < 5 || f[0] != "arn" {
		return ""
	}
	return f[3]
}
