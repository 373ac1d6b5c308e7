package s3store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vaultsentry/vaultsentry/sources"
)

// Tree is a CloudTrail tree in S3 for `vaultsentry verify` (integrity.SignedTree): every object
// under the location, listed flat (no pruning: the check needs every digest and log file), read
// as stored, and the signature CloudTrail keeps in each digest object's user metadata
// (x-amz-meta-signature, x-amz-meta-signature-algorithm) remembered as the digest is fetched.
type Tree struct {
	api   API
	loc   Location
	Stats *Stats

	once  sync.Once
	names []string
	err   error

	mu   sync.Mutex
	sigs map[string][2]string
}

// NewTree reads the tree at loc.
func NewTree(api API, loc Location) *Tree {
	return &Tree{api: api, loc: loc, Stats: &Stats{}, sigs: map[string][2]string{}}
}

// List names every object under the location as s3://bucket/key, in key order (once; later
// calls return the same).
func (t *Tree) List(ctx context.Context) ([]string, error) {
	t.once.Do(func() {
		p := s3.NewListObjectsV2Paginator(t.api, &s3.ListObjectsV2Input{Bucket: aws.String(t.loc.Bucket), Prefix: aws.String(t.loc.Key)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			t.Stats.add(func(s *sources.S3Stats) { s.ListRequests++ })
			if err != nil {
				t.err = fmt.Errorf("list %s: %w", t.loc, explain(err))
				return
			}
			for _, o := range out.Contents {
				t.names = append(t.names, Scheme+t.loc.Bucket+"/"+aws.ToString(o.Key))
			}
			t.Stats.add(func(s *sources.S3Stats) { s.Listed += len(out.Contents) })
		}
		slices.Sort(t.names)
	})
	return t.names, t.err
}

// Open fetches one object, remembering a digest's signature metadata.
func (t *Tree) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	key, ok := strings.CutPrefix(name, Scheme+t.loc.Bucket+"/")
	if !ok {
		return nil, fmt.Errorf("%s is not in %s", name, t.loc)
	}
	out, err := t.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.loc.Bucket), Key: aws.String(key)})
	if err != nil {
		err = explain(err)
		t.Stats.fail(name, 0, err)
		return nil, err
	}
	t.Stats.add(func(s *sources.S3Stats) { s.Fetched++ })
	if sig := out.Metadata["signature"]; sig != "" {
		t.mu.Lock()
		t.sigs[name] = [2]string{sig, out.Metadata["signature-algorithm"]}
		t.mu.Unlock()
	}
	f := &Fetcher{stats: t.Stats}
	return &objectReader{f: f, name: name, body: out.Body, release: func() {}}, nil
}

// Signature is the digest's signature from its object metadata, once it was opened.
func (t *Tree) Signature(name string) (string, string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.sigs[name]
	return s[0], s[1], ok
}

// DigestRegions are the regions of the tree's CloudTrail-Digest folders, and the oldest digest
// folder's date: what ListPublicKeys must be asked for.
func (t *Tree) DigestRegions(ctx context.Context) ([]string, time.Time, error) {
	names, err := t.List(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	var regions []string
	var oldest time.Time
	for _, n := range names {
		i := strings.LastIndex(n, "/")
		segs, in := cloudTrailSegments(n[:i+1])
		if !in || len(segs) < 3 || segs[1] != "CloudTrail-Digest" {
			continue
		}
		if !slices.Contains(regions, segs[2]) {
			regions = append(regions, segs[2])
		}
		if start, _, ok := span(segs[3:min(len(segs), 6)]); ok && len(segs) >= 6 && (oldest.IsZero() || start.Before(oldest)) {
			oldest = start
		}
	}
	slices.Sort(regions)
	return regions, oldest, nil
}

// PublicKeysJSON asks CloudTrail's ListPublicKeys, in each region, for the keys valid from
// since to now, and returns them as `aws cloudtrail list-public-keys` prints them (what
// integrity.ParsePublicKeys reads). It needs cloudtrail:ListPublicKeys.
func PublicKeysJSON(ctx context.Context, regions []string, since time.Time) ([]byte, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	type entry struct {
		Value       string
		Fingerprint string
	}
	var list struct{ PublicKeyList []entry }
	for _, region := range regions {
		c := cloudtrail.NewFromConfig(cfg, func(o *cloudtrail.Options) { o.Region = region })
		in := &cloudtrail.ListPublicKeysInput{EndTime: aws.Time(time.Now())}
		if !since.IsZero() {
			in.StartTime = aws.Time(since.Add(-24 * time.Hour))
		}
		for {
			out, err := c.ListPublicKeys(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("ListPublicKeys in %s: %w", region, err)
			}
			for _, k := range out.PublicKeyList {
				list.PublicKeyList = append(list.PublicKeyList, entry{Value: base64.StdEncoding.EncodeToString(k.Value), Fingerprint: aws.ToString(k.Fingerprint)})
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	if len(list.PublicKeyList) == 0 {
		return nil, fmt.Errorf("ListPublicKeys returned no key for %s", strings.Join(regions, ", "))
	}
	return json.Marshal(list)
}
