package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/vaultsentry/vaultsentry/integrity"
	"github.com/vaultsentry/vaultsentry/sources/s3store"
)

// IsS3 reports whether a path argument names S3 (s3://bucket/prefix).
func IsS3(path string) bool { return s3store.IsURL(path) }

// VerifyCloudTrailS3 checks a CloudTrail tree in S3 (`vaultsentry verify s3://...`): every
// object under the prefix is listed and read once, each digest's signature is taken from its
// object metadata where o.Signatures gives none, and without o.Keys the public keys of the
// digests' regions are asked of CloudTrail's ListPublicKeys. Failures to reach S3 or CloudTrail
// are RuntimeErrors with a hint naming the permissions.
func VerifyCloudTrailS3(ctx context.Context, url string, o integrity.Options) (*integrity.Result, error) {
	loc, err := s3store.Parse(url)
	if err != nil {
		return nil, usagef("write s3://BUCKET/PREFIX (the prefix that holds AWSLogs/, or a folder below it)", "verify: %v", err)
	}
	api, err := newS3API(ctx)
	if err != nil {
		return nil, runtimef("configure AWS access as for the AWS CLI (AWS_PROFILE, AWS_REGION, credentials)", err)
	}
	t := s3store.NewTree(api, loc)
	if len(o.Keys) == 0 {
		regions, oldest, err := t.DigestRegions(ctx)
		if err != nil {
			return nil, runtimef("verify needs s3:ListBucket on the bucket and s3:GetObject on its objects", err)
		}
		if len(regions) > 0 {
			js, err := s3store.PublicKeysJSON(ctx, regions, oldest)
			if err != nil {
				return nil, runtimef("allow cloudtrail:ListPublicKeys, or give the keys with --public-key (aws cloudtrail list-public-keys output)", err)
			}
			if o.Keys, err = integrity.ParsePublicKeys(js); err != nil {
				return nil, runtimef("", fmt.Errorf("ListPublicKeys: %w", err))
			}
		}
	}
	r, err := integrity.VerifyCloudTrailTree(ctx, url, t, o)
	if err != nil {
		return nil, runtimef("verify needs s3:ListBucket on the bucket and s3:GetObject on its objects (and kms:Decrypt for SSE-KMS)", err)
	}
	return r, nil
}

// underS3 reports whether the object named file (s3://bucket/key) is under the s3:// prefix dir.
func underS3(dir, file string) bool {
	return strings.HasPrefix(file, strings.TrimSuffix(dir, "/")+"/")
}
