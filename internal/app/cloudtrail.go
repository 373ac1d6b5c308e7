package app

import (
	"context"
	"os"
	"runtime/debug"
	"time"
)

// CloudTrailRequest is one `vaultsentry cloudtrail`: exported files when From is set, else the
// LookupEvents API.
type CloudTrailRequest struct {
	Options
	From []string // files, directories, globs of CloudTrail records

	// The LookupEvents API (From empty).
	Regions []string // empty: the SDK's configured region
	Profile string
	Save    string  // write the fetched records to this file as NDJSON
	RPS     float64 // requests per second and region; 0: DefaultLookupRPS

	Athena AthenaRequest // Table set: one query of an Athena table instead (athena.go)
}

// CloudTrail analyses CloudTrail records from files or from the LookupEvents API. For the API,
// Since and Until count back from the wall clock (Options.Now) and are asked of the API.
func CloudTrail(ctx context.Context, r CloudTrailRequest) (Outcome, error) {
	if r.Start.IsZero() {
		r.Start = time.Now()
	}
	r.logConfig()
	var out Outcome
	var err error
	if len(r.From) > 0 {
		out, err = cloudTrailFiles(ctx, &r)
	} else if r.Athena.Table != "" {
		out, err = cloudTrailAthena(ctx, &r)
	} else {
		out, err = cloudTrailLive(ctx, &r)
	}
	r.failedMetrics(ctx, &err) // a failure before the pipeline, which writes them itself
	return out, notifyFailure(ctx, &r.Options, "cloudtrail", err)
}

// loadGCPercent is the collector's target while a CloudTrail tree loads (unless GOGC is set):
// loading builds the events, which all stay, and makes little garbage, so collecting each time
// the heap doubles (GOGC=100) only scans the growing event store again, on the cores that are
// decoding. On a 1 GiB tree: 12 % less time for 14 % more peak memory (docs/PERFORMANCE.md).
const loadGCPercent = 400

func cloudTrailFiles(ctx context.Context, r *CloudTrailRequest) (Outcome, error) {
	restore := func() {}
	if os.Getenv("GOGC") == "" && os.Getenv(inMemoryEnv) == "1" {
		prev := debug.SetGCPercent(loadGCPercent)
		restore = func() { debug.SetGCPercent(prev) }
	}
	p, err := streamedPipeline(ctx, &r.Options, "cloudtrail", r.From, "",
		"check the paths given to --from; directories are read recursively")
	restore()
	if err != nil {
		return Outcome{}, err
	}
	return p.run()
}
