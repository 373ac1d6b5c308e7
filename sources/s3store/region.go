package s3store

import (
	"context"
	"errors"
	"net/http"
	"sync"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BucketRegions routes each bucket's requests to the bucket's own region. An organisation's
// trail bucket is often in another region than the caller's AWS_REGION, and S3 answers a request
// signed for the wrong region with 301 PermanentRedirect and the bucket's region in the
// x-amz-bucket-region header (S3 API Reference, "Error responses" and HeadBucket); the SDK does
// not follow it. The first such answer for a bucket is remembered and the request repeated once
// in that region; every later request of the bucket goes there directly.
func BucketRegions(api API) API { return &regionRouter{api: api, regions: map[string]string{}} }

type regionRouter struct {
	api     API
	mu      sync.Mutex
	regions map[string]string
}

func (r *regionRouter) region(bucket string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.regions[bucket]
}

// redirectRegion is the region a 301 answer names; "" for any other error.
func redirectRegion(err error) string {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil || re.Response.StatusCode != http.StatusMovedPermanently {
		return ""
	}
	return re.Response.Header.Get("x-amz-bucket-region")
}

// call runs one request of bucket in its known region, and again once in the region a redirect
// names.
func call[O any](ctx context.Context, r *regionRouter, bucket string, opts []func(*s3.Options),
	do func(context.Context, []func(*s3.Options)) (O, error)) (O, error) {
	withRegion := func(region string) []func(*s3.Options) {
		if region == "" {
			return opts
		}
		return append(append([]func(*s3.Options){}, opts...), func(o *s3.Options) { o.Region = region })
	}
	known := r.region(bucket)
	out, err := do(ctx, withRegion(known))
	if region := redirectRegion(err); region != "" && region != known {
		r.mu.Lock()
		r.regions[bucket] = region
		r.mu.Unlock()
		out, err = do(ctx, withRegion(region))
	}
	return out, err
}

func (r *regionRouter) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return call(ctx, r, deref(in.Bucket), opts, func(ctx context.Context, o []func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
		return r.api.ListObjectsV2(ctx, in, o...)
	})
}

func (r *regionRouter) GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return call(ctx, r, deref(in.Bucket), opts, func(ctx context.Context, o []func(*s3.Options)) (*s3.GetObjectOutput, error) {
		return r.api.GetObject(ctx, in, o...)
	})
}

func (r *regionRouter) HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return call(ctx, r, deref(in.Bucket), opts, func(ctx context.Context, o []func(*s3.Options)) (*s3.HeadObjectOutput, error) {
		return r.api.HeadObject(ctx, in, o...)
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
