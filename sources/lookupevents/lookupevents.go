package lookupevents

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/vaultsentry/vaultsentry/sources"
	ctsource "github.com/vaultsentry/vaultsentry/sources/cloudtrail"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// EventSources are the event sources fetched through LookupEvents, one pass each (the API
// takes one lookup attribute per call): Secrets Manager, CloudTrail itself so that a trail
// being stopped, deleted or narrowed is seen, and Systems Manager for Parameter Store. The SSM
// pass also returns Systems Manager's other calls (Run Command, sessions, agents' heartbeats),
// which become OpOther events.
var EventSources = []string{ctsource.SourceSecretsManager, ctsource.SourceCloudTrail, ctsource.SourceSSM}

// PageSize is the most LookupEvents returns in one page.
const PageSize = 50

// DefaultRPS keeps under LookupEvents' quota of 2 requests a second per account and
// region.
const DefaultRPS = 2.0

// ErrNoRegion means neither --region nor the SDK's configuration names a region.
var ErrNoRegion = errors.New("no AWS region configured")

// Options configure Fetch.
type Options struct {
	Profile string   // shared config profile; empty: the SDK's default chain
	Regions []string // empty: the SDK's configured region
	// Start and End bound the query (the API's StartTime and EndTime); zero: unbounded.
	Start, End time.Time
	// RPS is the client-side request rate per region (default DefaultRPS).
	RPS float64
	// Progress, when set, is called after each page with the totals of one region so far.
	Progress func(region, source string, pages, records int)

	// backoff caps the SDK's retry delay and starts the pause before a page is asked for again
	// after the SDK gave up on a throttle (default 20s and 1s; tests shorten them).
	backoff time.Duration
}

// Fetch fetches Secrets Manager, CloudTrail and SSM events through the CloudTrail
// LookupEvents API, regions concurrently, with the SDK's configuration chain (profiles,
// credentials, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_CLOUDTRAIL). Each region's requests are
// spaced by a rate limiter at o.RPS (lowered a little after a throttle, see limiterMiddleware).
// Throttling is never fatal: the SDK's retryer retries it without a retry quota (the first
// retry at the limiter's next slot, see lookupRetryer), and a page still throttled after the
// SDK's attempts is asked for again after a pause, until ctx ends.
func Fetch(ctx context.Context, o Options) ([]ctsource.RecordStream, error) {
	var loadOpts []func(*config.LoadOptions) error
	if o.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(o.Profile))
	}
	maxBackoff := 20 * time.Second
	if o.backoff > 0 {
		maxBackoff = o.backoff
	}
	loadOpts = append(loadOpts, config.WithRetryer(func() aws.Retryer {
		return lookupRetryer{retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 8
			so.MaxBackoff = maxBackoff
			so.RateLimiter = ratelimit.None // throttles must not exhaust a retry budget
		})}
	}))
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	regions := o.Regions
	if len(regions) == 0 {
		if cfg.Region == "" {
			return nil, ErrNoRegion
		}
		regions = []string{cfg.Region}
	}
	rps := o.RPS
	if rps <= 0 {
		rps = DefaultRPS
	}
	out := make([]ctsource.RecordStream, len(regions))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(len(regions), runtime.GOMAXPROCS(0)))
	for i, region := range regions {
		g.Go(func() error {
			lim := rate.NewLimiter(rate.Limit(rps), 1)
			client := cloudtrail.NewFromConfig(cfg, func(co *cloudtrail.Options) {
				co.Region = region
				co.APIOptions = append(co.APIOptions, func(st *middleware.Stack) error {
					// After the retry middleware: every attempt, retries included, waits its turn.
					return st.Finalize.Insert(limiterMiddleware{l: lim, max: rate.Limit(rps)}, "Retry", middleware.After)
				})
			})
			out[i].Name = "lookup-events:" + region
			for _, src := range EventSources {
				recs, err := fetchSource(ctx, client, region, src, o)
				if err != nil {
					return err
				}
				out[i].Records = append(out[i].Records, recs...)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func fetchSource(ctx context.Context, client *cloudtrail.Client, region, source string, o Options) ([][]byte, error) {
	in := &cloudtrail.LookupEventsInput{
		LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(source)}},
		MaxResults:       aws.Int32(PageSize),
	}
	if !o.Start.IsZero() {
		in.StartTime = aws.Time(o.Start)
	}
	if !o.End.IsZero() {
		in.EndTime = aws.Time(o.End)
	}
	p := cloudtrail.NewLookupEventsPaginator(client, in)
	var recs [][]byte
	first := time.Second
	if o.backoff > 0 {
		first = o.backoff
	}
	pages, pause := 0, first
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if ctx.Err() == nil && isThrottle(err) {
				// The SDK gave up on this page; the paginator did not advance, so ask again.
				d := pause + rand.N(pause/2+1)
				pause = min(pause*2, 30*time.Second)
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(d):
				}
				continue
			}
			return nil, fmt.Errorf("lookup %s events in %s: %w", source, region, err)
		}
		pause = first
		pages++
		for _, e := range page.Events {
			if e.CloudTrailEvent != nil {
				recs = append(recs, []byte(*e.CloudTrailEvent))
			}
		}
		if o.Progress != nil {
			o.Progress(region, source, pages, len(recs))
		}
	}
	return recs, nil
}

// lookupRetryer is the SDK's standard retryer, except that a request throttled once is sent
// again as soon as the region's rate limiter allows (half a second at the quota): the limiter
// already spaces requests at the quota, and the SDK's own delay (up to a second, drawn at
// random) on top of it would make each sporadic throttle cost two or three requests' time.
// A request throttled again backs off as the SDK does.
type lookupRetryer struct{ *retry.Standard }

func (r lookupRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if attempt <= 1 && isThrottle(err) {
		return 0, nil
	}
	return r.Standard.RetryDelay(attempt, err)
}

func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// limiterMiddleware waits for the region's rate limiter before each attempt, and adapts the
// rate to the service's answers: a throttle lowers it a little (to adaptDown of what it was, not
// below adaptFloor of the configured rate), each page answered raises it back by adaptStep of
// the configured rate. At exactly the quota, requests whose arrival the network delays a little
// less than the one before reach a strict service faster than it allows; the small slowdown a
// throttle causes takes them out of that edge, and sporadic throttles cost almost nothing.
type limiterMiddleware struct {
	l   *rate.Limiter
	max rate.Limit
}

const (
	adaptDown  = 0.97
	adaptFloor = 0.5
	adaptStep  = 0.005
)

func (limiterMiddleware) ID() string { return "VaultsentryLookupRateLimit" }

func (m limiterMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error) {
	if err := m.l.Wait(ctx); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleFinalize(ctx, in)
	switch lim := m.l.Limit(); {
	case err == nil && lim < m.max:
		m.l.SetLimit(min(m.max, lim+m.max*adaptStep))
	case err != nil && isThrottle(err):
		m.l.SetLimit(max(m.max*adaptFloor, lim*adaptDown))
	}
	return out, md, err
}

// Source is the LookupEvents API as a sources.QuerySource: Query fetches with Options and
// decodes the records as CloudTrail's file reader does. Streams keeps what was fetched, for
// a caller that saves the raw records (cloudtrail --save).
type Source struct {
	Options Options
	Streams []ctsource.RecordStream
}

var _ sources.QuerySource = (*Source)(nil)

// Name is the source's id.
func (*Source) Name() string { return "lookup-events" }

// Query fetches the records and returns them as events, de-duplicated and in time order.
func (s *Source) Query(ctx context.Context) (*sources.Loaded, error) {
	streams, err := Fetch(ctx, s.Options)
	if err != nil {
		return nil, err
	}
	s.Streams = streams
	return ctsource.LoadRecords(streams), nil
}
