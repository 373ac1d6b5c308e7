// Command lookupbench measures how fast `vaultsentry cloudtrail` fetches events through the
// CloudTrail LookupEvents API: it serves generated records (internal/ctgen) from the
// loopback stand-in of the API (internal/lookupstub) with the service's quota enforced (2
// requests a second per region: a request over it gets a ThrottlingException) and sporadic
// throttles besides, runs the real binary against it with dummy credentials and
// AWS_ENDPOINT_URL, and prints the wall time against the time the quota implies.
//
// The ideal is the time the requests the fetch needs in its busiest region take at the quota's
// rate (one page per 50 events of each event source vaultsentry asks for, at least one per
// source; the first request at once, each other 1/quota later): regions are fetched in
// parallel, so the busiest region sets the time. The wall time is the whole run of the binary
// (start, fetch, analysis, report). Every throttle costs a request on top; the target (wall
// time at most 1.10 x the ideal) leaves room for them.
//
// Usage (scripts/bench.sh --lookup builds the binary and runs this):
//
//	go run ./scripts/lookupbench -vaultsentry /tmp/vaultsentry -events 20000
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/ctgen"
	"github.com/vaultsentry/vaultsentry/internal/lookupstub"
	"github.com/vaultsentry/vaultsentry/sources/lookupevents"
)

func main() {
	var (
		bin      = flag.String("vaultsentry", "vaultsentry", "the vaultsentry `BINARY` to measure")
		events   = flag.Int("events", 20000, "records to serve, over all regions")
		regions  = flag.String("regions", "eu-west-1,eu-central-1", "comma-separated regions (fetched in parallel)")
		quota    = flag.Float64("quota", 2, "requests a second per region the stub allows (and vaultsentry's --max-rps)")
		burst    = flag.Float64("burst", 2, "requests the stub allows at once above the quota's pace")
		every    = flag.Int("throttle-every", 25, "also answer every n-th request with a ThrottlingException (0: never)")
		runs     = flag.Int("runs", 1, "runs (each against a fresh stub)")
		seed     = flag.Uint64("seed", 11, "generator seed")
		maxRatio = flag.Float64("target", 1.10, "the largest acceptable wall time / ideal")
	)
	flag.Parse()
	if err := run(*bin, *events, strings.Split(*regions, ","), *quota, *burst, *every, *runs, *seed, *maxRatio); err != nil {
		fmt.Fprintln(os.Stderr, "lookupbench:", err)
		os.Exit(1)
	}
}

func run(bin string, n int, regions []string, quota, burst float64, every, runs int, seed uint64, target float64) error {
	// Records of the last two days: LookupEvents keeps 90.
	start := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Hour)
	recs := ctgen.Records(n, ctgen.Options{Seed: seed, Accounts: 1, Regions: regions, Start: start}, ctgen.LookupSources)
	type key struct{ region, source string }
	count := map[key]int{}
	last := start
	for _, r := range recs {
		var rec struct {
			EventTime   time.Time `json:"eventTime"`
			EventSource string    `json:"eventSource"`
			AWSRegion   string    `json:"awsRegion"`
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			return fmt.Errorf("decode generated record: %w", err)
		}
		count[key{rec.AWSRegion, rec.EventSource}]++
		if rec.EventTime.After(last) {
			last = rec.EventTime
		}
	}
	// Requests each region needs, and so the ideal time at the quota.
	pages := map[string]int{}
	busiest := 0
	var perRegion []string
	for _, region := range regions {
		events := 0
		for _, src := range lookupevents.EventSources {
			c := count[key{region, src}]
			events += c
			pages[region] += max(1, (c+lookupevents.PageSize-1)/lookupevents.PageSize)
		}
		busiest = max(busiest, pages[region])
		perRegion = append(perRegion, fmt.Sprintf("%s %d events in %d pages", region, events, pages[region]))
	}
	// At the quota the first request goes at once and each other one 1/quota later.
	ideal := time.Duration(float64(busiest-1) / quota * float64(time.Second))
	fmt.Printf("\nLookupEvents through the loopback stub: %d events (%s)\n", n, strings.Join(perRegion, ", "))
	fmt.Printf("stub: quota %g requests/s per region (burst %g; over it: ThrottlingException), and a ThrottlingException every %d requests besides\n",
		quota, burst, every)
	fmt.Printf("ideal: %.1f s (%d pages in the busiest region at %g/s, the first at once; regions in parallel)\n", ideal.Seconds(), busiest, quota)

	dir, err := os.MkdirTemp("", "lookupbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	worst, failed := 0.0, 0
	for i := 1; i <= runs; i++ {
		stub, err := lookupstub.New(recs)
		if err != nil {
			return err
		}
		stub.RateLimit, stub.Burst, stub.ThrottleEvery = quota, burst, every
		out := filepath.Join(dir, "findings.json")
		args := []string{"cloudtrail", "-q", "--format", "json", "-o", out, "--max-rps", fmt.Sprint(quota),
			"--since", start.Add(-time.Hour).Format(time.RFC3339), "--until", last.Add(time.Hour).Format(time.RFC3339)}
		for _, r := range regions {
			args = append(args, "--region", r)
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(awsFreeEnv(), "AWS_ENDPOINT_URL="+stub.URL, "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",
			"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		err = cmd.Run()
		wall := time.Since(t0)
		stub.Close()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			return fmt.Errorf("run %s: %w", bin, err)
		}
		fetched, ferr := fetchedRecords(out)
		ok := (code == 0 || code == 1) && ferr == nil && fetched == n && stub.Rejected == 0
		if !ok {
			failed++
		}
		ratio := wall.Seconds() / ideal.Seconds()
		worst = max(worst, ratio)
		fmt.Printf("run %d: %.1f s, exit %d, %d records fetched; %d requests (%d pages, %d throttled: %d over the quota, %d besides), %d rejected, busiest second %d requests in one region; %.3f x ideal\n",
			i, wall.Seconds(), code, fetched, stub.Pages+stub.Throttled+stub.Rejected, stub.Pages, stub.Throttled, stub.OverQuota,
			stub.Throttled-stub.OverQuota, stub.Rejected, stub.MaxRate(), ratio)
		if !ok {
			fmt.Printf("run %d FAILED: %v\n%s", i, ferr, stderr.String())
		}
	}
	verdict := "met"
	if worst > target || failed > 0 {
		verdict = "NOT met"
	}
	fmt.Printf("LookupEvents: %d of %d runs failed; slowest run %.3f x the time the quota implies (target <= %.2f): %s\n", failed, runs, worst, target, verdict)
	return nil
}

// awsFreeEnv is the environment without AWS settings (profiles, regions, credentials).
func awsFreeEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			env = append(env, e)
		}
	}
	return env
}

// fetchedRecords sums the records vaultsentry parsed, from its JSON report.
func fetchedRecords(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var rep struct {
		Stats struct {
			Files []struct {
				Parsed     int `json:"parsed"`
				Duplicates int `json:"duplicates"`
			} `json:"files"`
		} `json:"stats"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	n := 0
	for _, f := range rep.Stats.Files {
		n += f.Parsed + f.Duplicates
	}
	return n, nil
}
