package integrity

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// memTree is a Tree over a generated local export whose digests carry their signatures as S3
// keeps them (object metadata), read as an S3 store would serve it.
type memTree struct {
	g      *genTree
	names  []string
	meta   map[string]Signature
	mu     sync.Mutex // Open and Signature are called from the verifier's parallel readers
	opened map[string]bool
}

func newMemTree(t *testing.T, g *genTree) *memTree {
	m := &memTree{g: g, meta: map[string]Signature{}, opened: map[string]bool{}}
	filepath.WalkDir(g.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(g.root, p)
			m.names = append(m.names, "s3://org-trail-logs/"+filepath.ToSlash(rel))
		}
		return nil
	})
	for k, s := range g.sigs {
		m.meta["s3://org-trail-logs/"+k] = s
	}
	return m
}

func (m *memTree) List(context.Context) ([]string, error) { return m.names, nil }

func (m *memTree) Open(_ context.Context, name string) (io.ReadCloser, error) {
	m.mu.Lock()
	m.opened[name] = true
	m.mu.Unlock()
	b, err := os.ReadFile(m.g.path(strings.TrimPrefix(name, "s3://org-trail-logs/")))
	return io.NopCloser(bytes.NewReader(b)), err
}

func (m *memTree) Signature(name string) (string, string, bool) {
	m.mu.Lock()
	opened := m.opened[name]
	m.mu.Unlock()
	if !opened {
		return "", "", false // asked before the digest was read: the S3 tree would not know it
	}
	s, ok := m.meta[name]
	return s.Signature, s.Algorithm, ok
}

// TestVerifyTreeMetadataSignatures: over a Tree the signatures come from the digests' metadata
// (no --signatures); a changed log file is invalid; without the metadata the newest digests
// are unverifiable, as for a local copy without --signatures.
func TestVerifyTreeMetadataSignatures(t *testing.T) {
	g := generate(t, genConfig{hours: 4, logsPerHour: 2, recordBytes: 1500})
	keys, err := ParsePublicKeys(g.pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	m := newMemTree(t, g)
	r, err := VerifyCloudTrailTree(context.Background(), "s3://org-trail-logs/", m, Options{Keys: keys, Workers: 2})
	if err != nil || r.Status != Valid || r.Digests != 16 {
		t.Fatalf("status %v (%d digests), problems %+v, err %v", r.Status, r.Digests, r.Problems, err)
	}
	// A plain Tree (no metadata): the newest digest of each chain has no signature.
	plain := struct{ Tree }{m}
	r, _ = VerifyCloudTrailTree(context.Background(), "s3://org-trail-logs/", plain, Options{Keys: keys, Workers: 2})
	if r.Status != Unverifiable {
		t.Errorf("without metadata: %v, want unverifiable", r.Status)
	}
	// A log file changed in the bucket.
	k := g.logs[g.digests[stream1][1]][0]
	g.write(t, k, gz([]byte(`{"Records":[]}`)))
	r, _ = VerifyCloudTrailTree(context.Background(), "s3://org-trail-logs/", m, Options{Keys: keys, Workers: 2})
	if r.Status != Invalid || len(r.Problems) != 1 || r.Problems[0].Kind != HashMismatch || r.Problems[0].File != "s3://org-trail-logs/"+k {
		t.Errorf("changed log file: %v %+v", r.Status, r.Problems)
	}
}
