package s3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/vaultsentry/vaultsentry/sources"
)

// DeliveryMargin is how long after an event CloudTrail may deliver it: a log file lands in the
// folder of its delivery date (UTC), typically within 5 minutes and documented as "about 15
// minutes" of the call. A folder is kept while its day, less this margin, is not after --until.
// An hour, to leave room for a late delivery.
const DeliveryMargin = time.Hour

// Filter prunes what is listed. Times are absolute (UTC is used for the folders, which are UTC
// delivery dates); zero leaves that side open.
type Filter struct {
	Since, Until time.Time
	// SinceBack, when Since is zero, is a --since duration: it counts back from the newest event,
	// which S3 cannot tell before reading, so it counts back from the start of the newest
	// CloudTrail day folder present (less DeliveryMargin): every folder that can hold an event
	// of the window is kept, a day or so more at worst.
	SinceBack time.Duration
	Accounts  []string // CloudTrail account ids to keep (AWSLogs/[o-..../]ACCOUNT/); none: all
	Regions   []string // CloudTrail regions to keep; none: all
}

// Object is one object to fetch.
type Object struct {
	Bucket, Key string
	Size        int64
	found       bool // listed under a folder, not named exactly
}

// Name is what statistics and findings call the object.
func (o Object) Name() string { return Scheme + o.Bucket + "/" + o.Key }

// lister lists one bucket level by level, remembering each level (the newest-day pass and the
// walk ask some twice).
type lister struct {
	api    API
	bucket string
	stats  *Stats
	mu     sync.Mutex
	cache  map[string]level
}

type level struct {
	objects  []Object
	prefixes []string
}

// children lists the objects and sub-folders directly under prefix, every page.
func (l *lister) children(ctx context.Context, prefix string) (level, error) {
	l.mu.Lock()
	lv, ok := l.cache[prefix]
	l.mu.Unlock()
	if ok {
		return lv, nil
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(l.bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")}
	p := s3.NewListObjectsV2Paginator(l.api, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		l.stats.add(func(s *sources.S3Stats) { s.ListRequests++ })
		if err != nil {
			return level{}, fmt.Errorf("list s3://%s/%s: %w", l.bucket, prefix, explain(err))
		}
		for _, o := range out.Contents {
			lv.objects = append(lv.objects, Object{Bucket: l.bucket, Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size)})
		}
		for _, cp := range out.CommonPrefixes {
			lv.prefixes = append(lv.prefixes, aws.ToString(cp.Prefix))
		}
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[string]level{}
	}
	l.cache[prefix] = lv
	l.mu.Unlock()
	return lv, nil
}

// explain names S3's refusals (they are the usual failure: a missing s3:ListBucket).
func explain(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken":
			return fmt.Errorf("%w: %s: %s", ErrAccess, ae.ErrorCode(), ae.ErrorMessage())
		}
	}
	return err
}

// segments of a folder prefix (ending in "/") from AWSLogs/ on: account, service, region, year,
// month, day. in is false outside a CloudTrail tree.
func cloudTrailSegments(prefix string) (segs []string, in bool) {
	parts := strings.Split(strings.TrimSuffix(prefix, "/"), "/")
	i := slices.Index(parts, "AWSLogs")
	if i < 0 {
		return nil, false
	}
	segs = parts[i+1:]
	if len(segs) > 0 && strings.HasPrefix(segs[0], "o-") {
		segs = segs[1:]
	}
	return segs, true
}

// span is the interval of delivery times a date folder covers; ok is false when the segments
// are not a date.
func span(segs []string) (start, end time.Time, ok bool) {
	n := len(segs)
	if n < 1 || n > 3 {
		return time.Time{}, time.Time{}, false
	}
	v := make([]int, n)
	for i, s := range segs {
		x, err := strconv.Atoi(s)
		if err != nil {
			return time.Time{}, time.Time{}, false
		}
		v[i] = x
	}
	switch n {
	case 1:
		start = time.Date(v[0], 1, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(1, 0, 0)
	case 2:
		start = time.Date(v[0], time.Month(v[1]), 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		start = time.Date(v[0], time.Month(v[1]), v[2], 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	}
	return start, end, true
}

// keep decides whether to list below a folder. The window [lo, hi] is in event time.
func keep(prefix string, f *Filter, lo, hi time.Time) bool {
	segs, in := cloudTrailSegments(prefix)
	if !in || len(segs) == 0 {
		return true
	}
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, segs[0]) {
		return false
	}
	if len(segs) < 2 {
		return true
	}
	if segs[1] == "CloudTrail-Digest" {
		return false // read by verify, not by the scans
	}
	if len(segs) < 3 {
		return true
	}
	if len(f.Regions) > 0 && strings.HasPrefix(segs[1], "CloudTrail") && !slices.Contains(f.Regions, segs[2]) {
		return false
	}
	if segs[1] != "CloudTrail" {
		return true // CloudTrail-Insight and whatever else: not pruned by date
	}
	start, end, ok := span(segs[3:])
	if !ok {
		return true
	}
	// A folder holds log files delivered from start to end; their events are at most
	// DeliveryMargin older than their delivery and never newer.
	if !lo.IsZero() && !end.After(lo) {
		return false
	}
	if !hi.IsZero() && start.Add(-DeliveryMargin).After(hi) {
		return false
	}
	return true
}

// regionFolder reports whether prefix is AWSLogs/[o-x/]ACCOUNT/CloudTrail/REGION/.
func regionFolder(prefix string) bool {
	segs, in := cloudTrailSegments(prefix)
	return in && len(segs) == 3 && segs[1] == "CloudTrail"
}

// List returns the objects under loc that the filter keeps, in key order. An exact object key
// is that one object. Errors listing one folder are returned with what the others gave.
func List(ctx context.Context, api API, loc Location, f Filter, stats *Stats) ([]Object, []error) {
	l := &lister{api: api, bucket: loc.Bucket, stats: stats}
	prefix := loc.Key
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		// An exact key, a folder named without its slash, or both.
		lv, err := l.children(ctx, prefix)
		if err != nil {
			return nil, []error{err}
		}
		for _, o := range lv.objects {
			if o.Key == prefix {
				l.stats.add(func(s *sources.S3Stats) { s.Listed++ })
				return []Object{o}, nil
			}
		}
		if !slices.Contains(lv.prefixes, prefix+"/") {
			return nil, []error{fmt.Errorf("open %s: %w (no object and no folder of that name)", loc, sources.ErrNoInput)}
		}
		prefix += "/"
	}
	lo, hi := f.Since, f.Until
	var errs []error
	if lo.IsZero() && f.SinceBack > 0 {
		newest, err := l.newestDay(ctx, prefix, &f)
		errs = append(errs, err...)
		if !newest.IsZero() {
			lo = newest.Add(-DeliveryMargin - f.SinceBack)
			l.stats.add(func(s *sources.S3Stats) { s.NewestDelivery = newest.UTC().Format(time.RFC3339) })
		}
	}
	// Sibling folders are listed concurrently (ListInFlight at once): an organisation trail
	// has thousands of day folders, and each listing waits S3's latency.
	var (
		mu   sync.Mutex
		objs []Object
		wg   sync.WaitGroup
		sem  = make(chan struct{}, ListInFlight)
	)
	var walk func(p string)
	walk = func(p string) {
		defer wg.Done()
		if ctx.Err() != nil {
			return
		}
		sem <- struct{}{}
		lv, err := l.children(ctx, p)
		<-sem
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		dated := isLogFolder(p)
		for _, o := range lv.objects {
			l.stats.add(func(s *sources.S3Stats) { s.Listed++ })
			if strings.HasSuffix(o.Key, "/") && o.Size == 0 {
				l.stats.add(func(s *sources.S3Stats) { s.Skipped++ }) // a console "folder"
				continue
			}
			// A log file holds events at most DeliveryMargin older than its delivery time
			// (in its name) and none newer: outside the window, it is not fetched.
			if t, ok := fileTime(o.Key); dated && ok && ((!lo.IsZero() && t.Before(lo)) || (!hi.IsZero() && t.Add(-DeliveryMargin).After(hi))) {
				l.stats.add(func(s *sources.S3Stats) { s.Skipped++ })
				continue
			}
			o.found = true
			mu.Lock()
			objs = append(objs, o)
			mu.Unlock()
		}
		for _, sub := range lv.prefixes {
			if !keep(sub, &f, lo, hi) {
				l.stats.add(func(s *sources.S3Stats) { s.PrunedPrefixes++ })
				continue
			}
			wg.Add(1)
			go walk(sub)
		}
	}
	wg.Add(1)
	walk(prefix)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	slices.SortFunc(objs, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	// A folder that failed in the newest-day pass failed again in the walk: said once.
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	errs = slices.CompactFunc(errs, func(a, b error) bool { return a.Error() == b.Error() })
	return objs, errs
}

// ListInFlight is how many ListObjectsV2 calls a listing makes at once.
const ListInFlight = 16

// newestDay finds the newest CloudTrail log file's delivery under prefix among the accounts and
// regions the filter keeps: the newest year, its newest month, its newest day, per region. Only
// AWSLogs/ folders directly under the prefix (or the prefix itself in one) are looked into.
func (l *lister) newestDay(ctx context.Context, prefix string, f *Filter) (time.Time, []error) {
	var newest time.Time
	var errs []error
	var down func(p string)
	down = func(p string) {
		lv, err := l.children(ctx, p)
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, sub := range lv.prefixes {
			if !keep(sub, f, time.Time{}, time.Time{}) {
				continue
			}
			if regionFolder(sub) {
				if t := l.newestIn(ctx, sub, 1, &errs); t.After(newest) {
					newest = t
				}
				continue
			}
			segs, in := cloudTrailSegments(sub)
			switch {
			case !in:
				continue // not a CloudTrail tree (an archive of other logs): not walked twice
			case len(segs) >= 3:
				continue // below a region or in another service's folder
			}
			down(sub)
		}
	}
	down(prefix)
	return newest, errs
}

// newestIn descends the newest dated folder of each level (depth 1: years, 2: months, 3: days)
// and returns the delivery time of the newest day's newest log file; a level with no dated
// folder gives zero.
func (l *lister) newestIn(ctx context.Context, p string, depth int, errs *[]error) time.Time {
	lv, err := l.children(ctx, p)
	if err != nil {
		*errs = append(*errs, err)
		return time.Time{}
	}
	// Newest first; a dated folder that turns out empty falls back to the one before it.
	subs := slices.Clone(lv.prefixes)
	slices.Sort(subs)
	for i := len(subs) - 1; i >= 0; i-- {
		segs, _ := cloudTrailSegments(subs[i])
		start, _, ok := span(segs[3:])
		if !ok || len(segs)-3 != depth {
			continue
		}
		if depth == 3 {
			// The newest log file's delivery time, from its name; the day's start when no
			// name has one; an empty day folder falls back to the day before.
			day, err := l.children(ctx, subs[i])
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			var newest time.Time
			for _, o := range day.objects {
				if t, ok := fileTime(o.Key); ok && t.After(newest) {
					newest = t
				} else if !ok && newest.IsZero() {
					newest = start
				}
			}
			if !newest.IsZero() {
				return newest
			}
			continue
		}
		if t := l.newestIn(ctx, subs[i], depth+1, errs); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// InScope reports whether a CloudTrail file (an S3 key or a local path with an AWSLogs/ folder)
// belongs to the filter's accounts and regions; anything outside a CloudTrail tree is kept.
func InScope(path string, f Filter) bool {
	path = strings.ReplaceAll(path, "\\", "/")
	i := strings.LastIndex(path, "/")
	if i < 0 {
		return true
	}
	segs, in := cloudTrailSegments(path[:i+1])
	if !in || len(segs) == 0 {
		return true
	}
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, segs[0]) {
		return false
	}
	if len(segs) >= 3 && len(f.Regions) > 0 && strings.HasPrefix(segs[1], "CloudTrail") && !slices.Contains(f.Regions, segs[2]) {
		return false
	}
	return true
}

// isLogFolder: prefix is a CloudTrail day folder of log files (.../CloudTrail/REGION/YYYY/MM/DD/).
func isLogFolder(prefix string) bool {
	segs, in := cloudTrailSegments(prefix)
	return in && len(segs) == 6 && segs[1] == "CloudTrail"
}

// fileTime is the delivery time in a CloudTrail log file's name
// (ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz).
func fileTime(key string) (time.Time, bool) {
	base := key[strings.LastIndex(key, "/")+1:]
	for _, part := range strings.Split(base, "_") {
		if len(part) == len("20060102T1504Z") && part[8] == 'T' && part[13] == 'Z' {
			if t, err := time.Parse("20060102T1504Z", part); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
