package lookupevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	ctsource "github.com/vaultsentry/vaultsentry/sources/cloudtrail"

	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"

	"github.com/vaultsentry/vaultsentry/internal/lookupstub"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
)

func stubAWSEnv(t *testing.T, url string) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
}

// lookupRecords makes n Secrets Manager records per region, and one StopLogging and one SSM
// GetParameters of two names in the first.
func lookupRecords(n int, regions ...string) [][]byte {
	t0 := time.Date(2026, 9, 11, 0, 0, 0, 0, time.UTC)
	var out [][]byte
	for ri, region := range regions {
		for i := range n {
			r := testutil.CTRecord(fmt.Sprintf("%s-%03d", region, i), t0.Add(time.Duration(i)*time.Minute), "GetSecretValue",
				fmt.Sprintf(`{"secretId":"prod/s-%d"}`, i%9), "")
			r["awsRegion"] = region
			b, _ := json.Marshal(r)
			out = append(out, b)
		}
		if ri == 0 {
			r := testutil.CTRecord("stop-1", t0.Add(30*time.Minute), "StopLogging", `{"name":"org-trail"}`, "")
			r["eventSource"], r["awsRegion"] = "cloudtrail.amazonaws.com", region
			b, _ := json.Marshal(r)
			out = append(out, b)
			r = testutil.CTRecord("ssm-1", t0.Add(31*time.Minute), "GetParameters",
				`{"names":["/prod/db/password","/prod/api/key"],"withDecryption":true}`, "")
			r["eventSource"], r["awsRegion"] = "ssm.amazonaws.com", region
			b, _ = json.Marshal(r)
			out = append(out, b)
		}
	}
	return out
}

func TestFetchLookupEvents(t *testing.T) {
	recs := lookupRecords(120, "eu-west-1", "eu-central-1")
	tests := []struct {
		name                         string
		throttleEvery, throttleFirst int
	}{
		{"throttled now and then", 4, 0},
		// more throttles in a row than the SDK's attempts: the page is asked for again
		{"throttled longer than the SDK retries", 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub, err := lookupstub.New(recs)
			if err != nil {
				t.Fatal(err)
			}
			defer stub.Close()
			stub.ThrottleEvery, stub.ThrottleFirst = tt.throttleEvery, tt.throttleFirst
			stubAWSEnv(t, stub.URL)
			var progress atomic.Int64 // regions report concurrently
			streams, err := Fetch(context.Background(), Options{
				Regions: []string{"eu-west-1", "eu-central-1"}, RPS: 200, backoff: 5 * time.Millisecond,
				Start:    time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
				Progress: func(string, string, int, int) { progress.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if stub.Throttled == 0 || stub.Rejected != 0 {
				t.Errorf("%d throttled (want some), %d rejected (want none)", stub.Throttled, stub.Rejected)
			}
			if len(streams) != 2 || len(streams[0].Records) != 122 || len(streams[1].Records) != 120 {
				t.Fatalf("streams: %d, records %d/%d", len(streams), len(streams[0].Records), len(streams[1].Records))
			}
			// 3 pages of Secrets Manager, 1 of CloudTrail and 1 of SSM per region (CloudTrail and
			// SSM empty for eu-central-1). A page the client gave up on (a timeout on a loaded
			// machine) may be served twice; the records above prove nothing was lost or doubled.
			if stub.Pages < 10 || progress.Load() != 10 {
				t.Errorf("%d pages served (want >= 10), %d progress calls (want 10)", stub.Pages, progress.Load())
			}
			l := ctsource.LoadRecords(streams)
			// The SSM record is asked for by its own event source and becomes one read per name.
			if len(l.Events) != 243 || l.Files[0].Parsed != 122 {
				t.Errorf("%d events, %+v", len(l.Events), l.Files[0])
			}
			ssm := 0
			for _, ev := range l.Events {
				if ev.Action == "GetParameters" && ev.Resource == "ssm:/prod/db/password" {
					ssm++
				}
			}
			if ssm != 1 {
				t.Errorf("%d SSM reads of /prod/db/password, want 1", ssm)
			}
			for i := 1; i < len(l.Events); i++ {
				if l.Events[i].Time.Before(l.Events[i-1].Time) {
					t.Fatal("events not in time order")
				}
			}
		})
	}
}

func TestFetchLookupEventsRate(t *testing.T) {
	stub, err := lookupstub.New(lookupRecords(160, "eu-west-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	stubAWSEnv(t, stub.URL)
	start := time.Now()
	if _, err := Fetch(context.Background(), Options{Regions: []string{"eu-west-1"}, RPS: 4}); err != nil {
		t.Fatal(err)
	}
	// 4 pages + 1 at 4 per second, burst 1: at least a second; one second holds the requests at
	// its two ends at most, so 5 (arrival jitter can bring both ends inside).
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("5 requests took %s at 4/s", el)
	}
	if r := stub.MaxRate(); r > 5 {
		t.Errorf("%d requests within a second", r)
	}
}

func TestFetchLookupEventsNoRegion(t *testing.T) {
	stub, err := lookupstub.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	stubAWSEnv(t, stub.URL)
	if _, err := Fetch(context.Background(), Options{}); err != ErrNoRegion {
		t.Fatalf("err %v, want ErrNoRegion", err)
	}
}

// TestLimiterAdapts: a throttle lowers the region's rate a little, never below the floor, and
// answered pages bring it back to the configured rate, never above.
func TestLimiterAdapts(t *testing.T) {
	lim := rate.NewLimiter(1e6, 1)
	m := limiterMiddleware{l: lim, max: 1e6}
	throttle := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	call := func(err error) {
		t.Helper()
		next := middleware.FinalizeHandlerFunc(func(context.Context, middleware.FinalizeInput) (middleware.FinalizeOutput, middleware.Metadata, error) {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		})
		if _, _, got := m.HandleFinalize(context.Background(), middleware.FinalizeInput{}, next); got != err {
			t.Fatalf("error %v passed on as %v", err, got)
		}
	}
	call(nil)
	if lim.Limit() != 1e6 {
		t.Fatalf("limit %v above the configured rate", lim.Limit())
	}
	call(throttle)
	if l := lim.Limit(); l >= 1e6 || l < 9e5 {
		t.Fatalf("limit %v after one throttle, want a little under 1e6", l)
	}
	call(errors.New("connection reset")) // not a throttle: no change
	if l := lim.Limit(); l != rate.Limit(1e6*adaptDown) {
		t.Fatalf("limit %v after a non-throttle error", l)
	}
	for range 200 {
		call(throttle)
	}
	if l := lim.Limit(); l != 1e6*adaptFloor {
		t.Fatalf("limit %v after many throttles, want the floor %v", l, 1e6*adaptFloor)
	}
	for range 200 {
		call(nil)
	}
	if lim.Limit() != 1e6 {
		t.Fatalf("limit %v after answered pages, want 1e6 again", lim.Limit())
	}
}
