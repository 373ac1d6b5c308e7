// Package s3store reads inputs straight from Amazon S3 (s3://bucket/prefix or an exact object
// key): it lists with ListObjectsV2 (paginated, level by level with the "/" delimiter so a
// CloudTrail tree's account, region and date folders are pruned before anything below them is
// listed) and fetches with GetObject, a bounded number of objects in flight. The objects become
// sources.Inputs whose Open streams the object, so every format reads them like local files.
//
// It is, with sources/lookupevents, one of the two source packages that import the AWS SDK.
package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vaultsentry/vaultsentry/sources"
)

// Scheme is the prefix of the arguments this package reads.
const Scheme = "s3://"

// IsURL reports whether a path argument names S3.
func IsURL(arg string) bool { return strings.HasPrefix(arg, Scheme) }

// Location is a parsed s3:// argument.
type Location struct {
	Bucket string
	Key    string // a prefix (folder, "" for the whole bucket) or an exact object key
}

func (l Location) String() string { return Scheme + l.Bucket + "/" + l.Key }

// Parse reads s3://bucket[/key-or-prefix].
func Parse(arg string) (Location, error) {
	rest, ok := strings.CutPrefix(arg, Scheme)
	if !ok {
		return Location{}, fmt.Errorf("%q is not an s3:// URL", arg)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return Location{}, fmt.Errorf("%q names no bucket (write s3://BUCKET/PREFIX)", arg)
	}
	return Location{Bucket: bucket, Key: key}, nil
}

// API is what the package asks of S3; *s3.Client implements it (tests may wrap it).
type API interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// ClientOptions configure NewClient.
type ClientOptions struct {
	Profile string // AWS shared configuration profile; "": the SDK's default chain
}

// NewClient builds an S3 client from the SDK's usual configuration chain (environment, shared
// configuration and credentials files, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, IMDS). Path-style
// addressing is used when the configured endpoint's host is an IP address or localhost, as
// S3-compatible servers (MinIO, test fakes) need: a bucket cannot be a DNS label of an IP.
// Without a configured region, us-east-1 signs the requests; S3 answers a bucket of another
// region with a redirect that names it, which BucketRegions follows.
func NewClient(ctx context.Context, o ClientOptions) (*s3.Client, error) {
	// Keep a connection per object in flight and per listing: the SDK's default keeps 10 per
	// host, and the others would be opened and closed again for every object.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = DefaultInFlight + ListInFlight
	})
	loadOpts := []func(*config.LoadOptions) error{config.WithHTTPClient(hc)}
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	pathStyle := needsPathStyle(endpoint)
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = so.UsePathStyle || pathStyle
		// The SDK would otherwise add CRC checksum validation requests and warnings that an
		// S3-compatible server may not support; CloudTrail's own digests are the integrity check.
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}

// needsPathStyle: the endpoint's host is an IP address or localhost.
func needsPathStyle(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || net.ParseIP(h) != nil
}

// ErrAccess wraps S3's refusals, so a caller's hint can name the permissions.
var ErrAccess = errors.New("access to S3 refused")

// Expand lists every s3:// argument with the filter and returns the objects as inputs, in the
// order of the arguments, each argument's objects in key order, then CloudTrail delivery files
// (stably) in the order of the time in their names (sources.NameStart). An object listed twice (two
// overlapping prefixes) is read once. Errors are per argument or folder, never fatal to the rest.
func Expand(ctx context.Context, api API, args []string, f Filter, inFlight int, stats *Stats) ([]sources.Input, []error) {
	var objs []Object
	var errs []error
	seen := map[Object]bool{}
	for _, a := range args {
		loc, err := Parse(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got, lerrs := List(ctx, api, loc, f, stats)
		errs = append(errs, lerrs...)
		for _, o := range got {
			k := Object{Bucket: o.Bucket, Key: o.Key}
			if seen[k] {
				continue
			}
			seen[k] = true
			objs = append(objs, o)
		}
	}
	// sources.Stream opens its inputs in the order of their start (CloudTrail delivery files by
	// the time in their name): fetched ahead in that order, no reader waits for a fetch slot
	// that an object it does not need yet holds.
	slices.SortStableFunc(objs, func(a, b Object) int { return sources.NameStart(a.Key).Compare(sources.NameStart(b.Key)) })
	return NewFetcher(ctx, api, objs, inFlight, stats).Inputs(), errs
}
