package integrity

import (
	"context"
	"fmt"
	"io"
	"maps"
)

// A Tree is a CloudTrail tree that is not a local folder: an S3 bucket's AWSLogs/ (the caller's
// implementation; integrity never talks to S3 itself).
type Tree interface {
	// List names every object of the tree, as problems should name it; the names hold the
	// object's S3 key (".../AWSLogs/..."), e.g. s3://bucket/AWSLogs/....
	List(ctx context.Context) ([]string, error)
	// Open reads one object as stored (a digest or log file, gzip as delivered).
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// A SignedTree also keeps each digest's signature beside it, as S3 keeps it in the digest
// object's metadata (x-amz-meta-signature, x-amz-meta-signature-algorithm). Signature is asked
// after the digest was opened; ok is false when it had none.
type SignedTree interface {
	Tree
	Signature(name string) (signature, algorithm string, ok bool)
}

// VerifyCloudTrailTree is VerifyCloudTrail over a Tree; name is the tree as the user gave it
// (s3://bucket/prefix). The signatures of Options.Signatures come first; a SignedTree gives
// those of the digests it names none for.
func VerifyCloudTrailTree(ctx context.Context, name string, t Tree, o Options) (*Result, error) {
	names, err := t.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", name, err)
	}
	var files []*localFile
	for _, n := range names {
		key, kind, ok := classify(n)
		if !ok || kind == kindOther {
			continue
		}
		files = append(files, &localFile{path: n, key: key, kind: kind,
			open: func() (io.ReadCloser, error) { return t.Open(ctx, n) }})
	}
	readAll(ctx, files, o.Workers)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("verify %s: %w", name, err)
	}
	if st, ok := t.(SignedTree); ok {
		sigs := maps.Clone(o.Signatures)
		if sigs == nil {
			sigs = Signatures{}
		}
		for _, f := range files {
			if f.kind != kindDigest {
				continue
			}
			if _, given := sigs[f.key]; given {
				continue
			}
			if sig, algo, ok := st.Signature(f.path); ok {
				sigs[f.key] = Signature{Signature: sig, Algorithm: algo}
			}
		}
		o.Signatures = sigs
	}
	v := &verifier{opts: o, root: name}
	v.check(files)
	return v.result(), nil
}
