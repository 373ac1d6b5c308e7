package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	ctsource "github.com/vaultsentry/vaultsentry/sources/cloudtrail"
	"github.com/vaultsentry/vaultsentry/sources/lookupevents"

	"github.com/spf13/cobra"

	"github.com/vaultsentry/vaultsentry/report"
)

func init() {
	extraCommands = append(extraCommands, func(s Streams) *cobra.Command { return newCloudTrailCmd(s, nil) })
}

type cloudtrailOptions struct {
	analysisOptions
	profileOptions
	From    []string
	Regions []string
	Profile string
	Save    string
	RPS     float64

	// now is the wall clock of an online run (tests set it).
	now func() time.Time
}

func newCloudTrailCmd(s Streams, runF func(context.Context, *cloudtrailOptions) error) *cobra.Command {
	opts := &cloudtrailOptions{analysisOptions: analysisOptions{IO: s}, now: time.Now}
	c := &cobra.Command{
		Use:   "cloudtrail [flags] [--from PATH...]",
		Short: "Analyse AWS Secrets Manager activity from CloudTrail (LookupEvents API or exported files)",
		Long: "cloudtrail analyses AWS Secrets Manager activity recorded by CloudTrail.\n\n" +
			"Online (no --from): the CloudTrail LookupEvents API is queried for Secrets Manager and CloudTrail events,\n" +
			"regions concurrently, with the AWS SDK's usual configuration (AWS_PROFILE / --profile, AWS_REGION / --region,\n" +
			"credentials, AWS_ENDPOINT_URL). --since and --until are then wall-clock times: a duration counts back from now.\n" +
			"LookupEvents keeps 90 days of management events.\n\n" +
			"Offline (--from): CloudTrail S3 export trees (AWSLogs/...; digests and Insights files are skipped),\n" +
			"'aws cloudtrail lookup-events' output, JSON arrays of records, and one-record-per-line exports\n" +
			"(CloudTrail Lake, EventBridge, and files written by --save). Records delivered twice are counted once.",
		Example: "  vaultsentry cloudtrail --since 24h --region eu-west-1 --region eu-central-1\n" +
			"  vaultsentry cloudtrail --since 7d --save sm-events.ndjson --format json -o findings.json\n" +
			"  vaultsentry cloudtrail --from s3-export/AWSLogs --learn-until 2026-09-11T12:00:00Z\n" +
			"  vaultsentry cloudtrail --from sm-events.ndjson --config vaultsentry.yaml",
	}
	opts.addFlags(c)
	opts.addProfileFlags(c)
	f := c.Flags()
	f.StringArrayVar(&opts.From, "from", nil, "read CloudTrail records from `PATH` (file, directory, glob; repeatable) instead of the API")
	f.StringArrayVar(&opts.Regions, "region", nil, "AWS `REGION` to query (repeatable; default: the SDK's configured region)")
	f.StringVar(&opts.Profile, "profile", "", "AWS shared configuration `PROFILE`")
	f.StringVar(&opts.Save, "save", "", "write the fetched records to `FILE` as NDJSON (re-run later with --from FILE)")
	f.Float64Var(&opts.RPS, "max-rps", lookupevents.DefaultRPS, "LookupEvents requests per second and region (the API allows 2)")
	c.RunE = func(cc *cobra.Command, args []string) error {
		// "--from a b c": paths after the first --from arrive as arguments.
		if len(args) > 0 && len(opts.From) == 0 {
			return usagef("name the inputs with --from PATH, or give no path to query the LookupEvents API",
				"cloudtrail: unexpected argument %q", args[0])
		}
		opts.From = append(opts.From, args...)
		if err := opts.validate(); err != nil {
			return err
		}
		if runF == nil {
			runF = runCloudTrail
		}
		return opts.profile(func() error { return runF(cc.Context(), opts) })
	}
	return c
}

func (o *cloudtrailOptions) validate() error {
	if err := o.analysisOptions.validate(); err != nil {
		return err
	}
	if len(o.From) > 0 {
		switch {
		case o.Save != "":
			return usagef("--save records what the API returned; with --from the files are already saved", "--save cannot be combined with --from")
		case len(o.Regions) > 0 || o.Profile != "":
			return usagef("--region and --profile select what the API is asked for; drop them with --from", "--region/--profile cannot be combined with --from")
		}
	}
	if o.RPS <= 0 {
		return usagef("give a positive rate such as 2", "--max-rps must be positive")
	}
	return nil
}

func runCloudTrail(ctx context.Context, o *cloudtrailOptions) error {
	start := time.Now()
	cfg, err := loadConfig(o.ConfigPath)
	if err != nil {
		return err
	}
	if len(o.From) > 0 {
		return runCloudTrailFiles(ctx, o, cfg, start)
	}
	return runCloudTrailLive(ctx, o, cfg, start)
}

// loadGCPercent is the collector's target while a CloudTrail tree loads (unless GOGC is set):
// loading builds the events, which all stay, and makes little garbage, so collecting each time
// the heap doubles (GOGC=100) only scans the growing event store again, on the cores that are
// decoding. On a 1 GiB tree: 12 % less time for 14 % more peak memory (docs/PERFORMANCE.md).
const loadGCPercent = 400

func runCloudTrailFiles(ctx context.Context, o *cloudtrailOptions, cfg *loadedConfig, start time.Time) error {
	restore := func() {}
	if os.Getenv("GOGC") == "" {
		prev := debug.SetGCPercent(loadGCPercent)
		restore = func() { debug.SetGCPercent(prev) }
	}
	loaded, inErrs, err := loadInputs(ctx, &o.analysisOptions, "cloudtrail", o.From, "",
		"check the paths given to --from; directories are read recursively")
	restore()
	if err != nil {
		return err
	}
	p := &pipeline{opts: &o.analysisOptions, command: "cloudtrail", cfg: cfg, loaded: loaded, inErrs: inErrs, start: start}
	return p.run(ctx)
}

func runCloudTrailLive(ctx context.Context, o *cloudtrailOptions, cfg *loadedConfig, start time.Time) error {
	// Durations count back from the wall clock here: --since is a question to the API.
	now := o.now().UTC()
	lo := lookupevents.Options{
		Profile: o.Profile, Regions: o.Regions, RPS: o.RPS,
		Start: resolveTime(o.Since, now), End: resolveTime(o.Until, now),
	}
	if !lo.Start.IsZero() && !lo.End.IsZero() && !lo.End.After(lo.Start) {
		return usagef("--until must be later than --since", "cloudtrail: empty time range %s .. %s",
			lo.Start.Format(time.RFC3339), lo.End.Format(time.RFC3339))
	}
	var save *os.File
	if o.Save != "" {
		var err error
		// Created before fetching, so a bad path fails at once rather than after minutes of paging.
		if save, err = os.Create(o.Save); err != nil {
			return runtimef("check the path and permissions of --save", fmt.Errorf("create %s: %w", o.Save, err))
		}
		defer save.Close()
	}
	prog := newFetchProgress(o.IO)
	lo.Progress = prog.update
	streams, err := lookupevents.Fetch(ctx, lo)
	prog.done()
	if err != nil {
		hint := "check the AWS credentials and region (AWS_PROFILE, --profile, AWS_REGION, --region); the caller needs cloudtrail:LookupEvents"
		if errors.Is(err, lookupevents.ErrNoRegion) {
			return usagef("pass --region REGION or set AWS_REGION", "cloudtrail: %v", err)
		}
		return runtimef(hint, fmt.Errorf("cloudtrail: %w", err))
	}
	if save != nil {
		if err := writeRecords(save, streams); err != nil {
			return runtimef("check the free space and permissions of --save", fmt.Errorf("write %s: %w", o.Save, err))
		}
		if err := save.Close(); err != nil {
			return runtimef("", fmt.Errorf("write %s: %w", o.Save, err))
		}
	}
	loaded := ctsource.LoadRecords(streams)
	p := &pipeline{opts: &o.analysisOptions, command: "cloudtrail", cfg: cfg, loaded: loaded, start: start,
		timeRef: now, liveSince: true}
	return p.run(ctx)
}

// writeRecords writes each record as one line of compact JSON.
func writeRecords(f *os.File, streams []ctsource.RecordStream) error {
	w := bufio.NewWriterSize(f, 1<<20)
	var buf bytes.Buffer
	for _, s := range streams {
		for _, r := range s.Records {
			line := r
			if bytes.ContainsAny(r, "\r\n") {
				buf.Reset()
				if err := json.Compact(&buf, r); err != nil {
					continue // not JSON: LoadRecords counts it as malformed
				}
				line = buf.Bytes()
			}
			w.Write(line)
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

// fetchProgress prints one self-overwriting line on standard error while pages arrive, only when
// standard error is a terminal.
type fetchProgress struct {
	io      Streams
	mu      sync.Mutex
	regions map[string]string
	order   []string
	last    time.Time
	shown   bool
}

func newFetchProgress(s Streams) *fetchProgress {
	return &fetchProgress{io: s, regions: map[string]string{}}
}

func (p *fetchProgress) update(region, source string, pages, records int) {
	if !p.io.ErrTTY {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.regions[region]; !ok {
		p.order = append(p.order, region)
	}
	p.regions[region] = fmt.Sprintf("%s %s: %d pages, %d events", region, strings.TrimSuffix(source, ".amazonaws.com"), pages, records)
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	parts := make([]string, 0, len(p.order))
	for _, r := range p.order {
		parts = append(parts, p.regions[r])
	}
	fmt.Fprintf(p.io.Err, "\r\x1b[Kfetching %s", report.Sanitize(strings.Join(parts, " | ")))
	p.shown = true
}

func (p *fetchProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.io.Err, "\r\x1b[K")
	}
}
