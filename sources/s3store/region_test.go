package s3store

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
)

// A bucket in another region than AWS_REGION (eu-west-1 here): S3 answers 301 with the bucket's
// region, and BucketRegions repeats the request there once and sends every later one there
// directly; without it the redirect is the error.
func TestBucketRegions(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	srv.With(func() { srv.Regions["org-trail"] = "us-east-1" })
	srv.Put("org-trail", "AWSLogs/o-1/111122223333/CloudTrail/us-east-1/2026/09/12/a.json.gz", &s3fake.Object{Body: []byte("x")})
	srv.Put("org-trail", "AWSLogs/o-1/111122223333/CloudTrail/us-east-1/2026/09/12/b.json.gz", &s3fake.Object{Body: []byte("y")})
	srv.Put("local", "k", &s3fake.Object{Body: []byte("z")})
	plain := client(t, srv)
	if _, err := plain.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("org-trail")}); redirectRegion(err) != "us-east-1" {
		t.Fatalf("without routing: %v, want S3's redirect naming us-east-1", err)
	}
	srv.Redirects.Store(0)

	api := BucketRegions(plain)
	var st Stats
	objs, errs := List(context.Background(), api, Location{Bucket: "org-trail", Key: "AWSLogs/"}, Filter{}, &st)
	if len(errs) > 0 || len(objs) != 2 {
		t.Fatalf("listed %d objects, errors %v", len(objs), errs)
	}
	for _, o := range objs {
		out, err := api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("org-trail"), Key: aws.String(o.Key)})
		if err != nil {
			t.Fatalf("get %s: %v", o.Key, err)
		}
		b, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if len(b) != 1 {
			t.Errorf("%s: %q", o.Key, b)
		}
	}
	if n := srv.Redirects.Load(); n != 1 {
		t.Errorf("%d redirects: the bucket's region must be learned from the first one", n)
	}
	// A bucket in the caller's region is not touched.
	out, err := api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("local"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	out.Body.Close()
	// Any other error is returned as it is.
	_, err = api.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("org-trail"), Key: aws.String("missing")})
	if err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("a missing key: %v", err)
	}
}
