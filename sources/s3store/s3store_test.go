package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
	"github.com/vaultsentry/vaultsentry/sources"
)

const scenario = "../../../shared/scenarios/cloudtrail"

// fakeEnv points the SDK's configuration chain at the fake, with static test credentials and
// no shared files or instance metadata.
func fakeEnv(t testing.TB, srv *s3fake.Server) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3": srv.URL, "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
}

func client(t testing.TB, srv *s3fake.Server) API {
	t.Helper()
	fakeEnv(t, srv)
	c, err := NewClient(context.Background(), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in, bucket, key, err string
	}{
		{"s3://b", "b", "", ""},
		{"s3://b/", "b", "", ""},
		{"s3://b/AWSLogs/o-1/", "b", "AWSLogs/o-1/", ""},
		{"s3://b/a/x.json.gz", "b", "a/x.json.gz", ""},
		{"s3:///x", "", "", "names no bucket"},
		{"/tmp/x", "", "", "not an s3:// URL"},
	} {
		loc, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || loc.Bucket != tt.bucket || loc.Key != tt.key {
			t.Errorf("Parse(%q) = %+v, %v", tt.in, loc, err)
		}
	}
}

func TestPathStyle(t *testing.T) {
	for ep, want := range map[string]bool{"http://127.0.0.1:9000": true, "http://localhost:4566": true, "http://[::1]:9000": true,
		"https://s3.eu-west-1.amazonaws.com": false, "https://minio.example.com": false, "": false} {
		if got := needsPathStyle(ep); got != want {
			t.Errorf("needsPathStyle(%q) = %v, want %v", ep, got, want)
		}
	}
}

func TestKeep(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	lo, hi := day("2026-09-11").Add(6*time.Hour), day("2026-09-12").Add(12*time.Hour)
	f := &Filter{Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}}
	for p, want := range map[string]bool{
		"AWSLogs/":                                                   true,
		"x/AWSLogs/o-abc/":                                           true,
		"AWSLogs/o-abc/111122223333/":                                true,
		"AWSLogs/o-abc/444455556666/":                                false, // account
		"AWSLogs/111122223333/CloudTrail-Digest/":                    false,
		"AWSLogs/111122223333/CloudTrail/eu-central-1/":              false, // region
		"AWSLogs/111122223333/CloudTrail/eu-west-1/":                 true,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/":            false,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/":            true,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/08/":         false,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/10/":      false, // ends before lo
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/11/":      true,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/12/":      true,
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/09/13/":      false, // starts after hi + margin
		"AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/01/": true,
		"archive/vault/2026/01/":                                     true, // not a CloudTrail tree
	} {
		if got := keep(p, f, lo, hi); got != want {
			t.Errorf("keep(%q) = %v, want %v", p, got, want)
		}
	}
	// The delivery margin: an event just before --until is delivered in the next day's folder.
	if !keep("AWSLogs/1/CloudTrail/r/2026/09/13/", &Filter{}, time.Time{}, day("2026-09-12").Add(23*time.Hour+30*time.Minute)) {
		t.Error("the folder of the day after --until is pruned although --until is within the delivery margin of it")
	}
	if ft, ok := fileTime("AWSLogs/o-1/1/CloudTrail/eu-west-1/2026/09/12/1_CloudTrail_eu-west-1_20260912T0018Z_nnqsVQubujZjVfm3.json.gz"); !ok || !ft.Equal(day("2026-09-12").Add(18*time.Minute)) {
		t.Errorf("fileTime = %v %v", ft, ok)
	}
	if _, ok := fileTime("archive/vault-audit-2026-09-12.log.gz"); ok {
		t.Error("a time found in a name that has none")
	}
}

// tree90 is an organisation trail of 90 days (the scenario's 2026-09-12 re-dated) in the fake.
func tree90(t testing.TB, srv *s3fake.Server) []s3fake.Redated {
	t.Helper()
	objs, err := s3fake.RedateDays(scenario, time.Date(2026, 9, 12, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 12, 0, 0, 0, 0, time.UTC), 90)
	if err != nil {
		if os.IsNotExist(err) {
			t.Skip("the practice scenarios are not beside this checkout")
		}
		t.Fatal(err)
	}
	for _, o := range objs {
		srv.Put("trail-bucket", o.Key, &s3fake.Object{Body: o.Body})
	}
	return objs
}

func TestListPrunesTo24h(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	objs := tree90(t, srv)
	api := client(t, srv)
	var st Stats
	got, errs := List(context.Background(), api, Location{Bucket: "trail-bucket", Key: "AWSLogs/"}, Filter{SinceBack: 24 * time.Hour}, &st)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	logs := 0
	var newest time.Time
	for _, o := range objs {
		if strings.Contains(o.Key, "/CloudTrail/") {
			logs++
			if ft, _ := fileTime(o.Key); ft.After(newest) {
				newest = ft
			}
		}
	}
	s := st.Snapshot()
	// Exactly the log files delivered from an hour (the margin) and 24 h before the newest one.
	lo := newest.Add(-DeliveryMargin - 24*time.Hour)
	var want []string
	for _, o := range objs {
		if ft, ok := fileTime(o.Key); ok && strings.Contains(o.Key, "/CloudTrail/") && !ft.Before(lo) {
			want = append(want, o.Key)
		}
	}
	slices.Sort(want)
	var keys []string
	for _, o := range got {
		keys = append(keys, o.Key)
	}
	t.Logf("90-day org tree: %d objects (%d log files); --since 24h: %d listed in %d ListObjectsV2 calls, %d folders pruned, %d skipped by name, %d to fetch; newest %s",
		len(objs), logs, s.Listed, s.ListRequests, s.PrunedPrefixes, s.Skipped, len(got), s.NewestDelivery)
	if !slices.Equal(keys, want) || s.NewestDelivery != newest.Format(time.RFC3339) || s.Listed != len(got)+s.Skipped {
		t.Errorf("to fetch %d, want the %d delivered since %s; newest %q; listed %d", len(got), len(want), lo, s.NewestDelivery, s.Listed)
	}
	if len(want) == 0 || len(want) > logs*2/90 {
		t.Errorf("%d of %d log files kept for 24 h of 90 days", len(want), logs)
	}
	// Without a window everything but the digests is listed.
	var all Stats
	got, _ = List(context.Background(), api, Location{Bucket: "trail-bucket", Key: "AWSLogs"}, Filter{}, &all)
	if len(got) != logs {
		t.Errorf("no window: %d objects, want the %d log files", len(got), logs)
	}
	// An absolute window and an account/region filter.
	var abs Stats
	got, _ = List(context.Background(), api, Location{Bucket: "trail-bucket", Key: "AWSLogs/"},
		Filter{Since: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 8, 2, 0, 0, 0, 0, time.UTC),
			Accounts: []string{"428190375562"}, Regions: []string{"eu-central-1"}}, &abs)
	for _, o := range got {
		if !strings.Contains(o.Key, "/428190375562/CloudTrail/eu-central-1/2026/08/0") {
			t.Errorf("outside the filter: %s", o.Key)
		}
	}
	if len(got) == 0 {
		t.Error("the absolute window kept nothing")
	}
}

func TestListExactKeyAndMissing(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	srv.Put("b", "vault/audit.log.gz", &s3fake.Object{Body: []byte("x")})
	srv.Put("b", "vault/audit.log.gz.1", &s3fake.Object{Body: []byte("y")})
	srv.Put("b", "vault/old/", &s3fake.Object{}) // a console folder marker
	srv.Put("b", "vault/old/a.log", &s3fake.Object{Body: []byte("z")})
	api := client(t, srv)
	got, errs := List(context.Background(), api, Location{Bucket: "b", Key: "vault/audit.log.gz"}, Filter{}, &Stats{})
	if len(errs) > 0 || len(got) != 1 || got[0].Key != "vault/audit.log.gz" || got[0].found {
		t.Errorf("exact key: %+v %v", got, errs)
	}
	var st Stats
	got, _ = List(context.Background(), api, Location{Bucket: "b", Key: "vault"}, Filter{}, &st)
	if len(got) != 3 || st.Snapshot().Skipped != 1 {
		t.Errorf("folder: %+v, stats %+v", got, st.Snapshot())
	}
	_, errs = List(context.Background(), api, Location{Bucket: "b", Key: "nothing"}, Filter{}, &Stats{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "no such file") {
		t.Errorf("missing key: %v", errs)
	}
	_, errs = List(context.Background(), api, Location{Bucket: "nobucket", Key: ""}, Filter{}, &Stats{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "NoSuchBucket") {
		t.Errorf("missing bucket: %v", errs)
	}
}

func TestListPaginates(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	for i := range 2500 {
		srv.Put("b", fmt.Sprintf("logs/%05d.log", i), &s3fake.Object{Body: []byte("x")})
	}
	for i := range 1200 {
		srv.Put("b", fmt.Sprintf("logs/d%04d/x.log", i), &s3fake.Object{Body: []byte("x")})
	}
	var st Stats
	got, errs := List(context.Background(), client(t, srv), Location{Bucket: "b", Key: "logs/"}, Filter{}, &st)
	if len(errs) > 0 || len(got) != 3700 {
		t.Fatalf("%d objects, %v", len(got), errs)
	}
	if s := st.Snapshot(); s.ListRequests < 4+1200 {
		t.Errorf("%d list requests: the pages of 1000 were not all asked", s.ListRequests)
	}
}

func TestFetchFailuresAndKMS(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16) // streamed, not read ahead
	srv.Put("b", "a.log", &s3fake.Object{Body: []byte("line a\n"), SSE: "aws:kms"})
	srv.Put("b", "b.log", &s3fake.Object{Body: bytes.Repeat([]byte("line b\n"), 1000)})
	srv.Put("b", "c.log", &s3fake.Object{Body: big})
	srv.Put("b", "d.log", &s3fake.Object{Body: []byte("line d\n")})
	srv.With(func() { srv.CutAfter["b/b.log"], srv.CutAfter["b/c.log"] = 700, 1<<20 })
	api := client(t, srv)
	var st Stats
	ins, errs := Expand(context.Background(), api, []string{"s3://b/", "s3://b/a.log"}, Filter{}, 2, &st)
	if len(errs) > 0 || len(ins) != 4 {
		t.Fatalf("%d inputs %v", len(ins), errs)
	}
	want := map[string]string{"s3://b/a.log": "", "s3://b/b.log": "after 700 bytes", "s3://b/c.log": "after 1048576 bytes", "s3://b/d.log": ""}
	for _, in := range ins {
		rc, err := in.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		switch w := want[in.Name]; {
		case w == "" && err != nil:
			t.Errorf("%s: %v", in.Name, err)
		case w != "" && (err == nil || !strings.Contains(err.Error(), w)):
			t.Errorf("%s: err %v, want %q (%d bytes read)", in.Name, err, w, len(data))
		}
	}
	s := st.Snapshot()
	if s.Fetched != 4 || s.Failed != 2 || s.KMSObjects != 1 || len(s.Failures) != 2 {
		t.Errorf("stats %+v", s)
	}
	for _, f := range s.Failures {
		if want[f.Object] == "" || !strings.Contains(want[f.Object], fmt.Sprint(f.Offset)) {
			t.Errorf("failure %+v not located", f)
		}
	}
	if s.Bytes != int64(7+700+(1<<20)+7) {
		t.Errorf("bytes = %d", s.Bytes)
	}
	// A missing object fails alone.
	f := NewFetcher(context.Background(), api, []Object{{Bucket: "b", Key: "gone"}, {Bucket: "b", Key: "d.log"}}, 4, &st)
	fins := f.Inputs()
	if _, err := fins[0].Open(); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("missing object: %v", err)
	}
	if rc, err := fins[1].Open(); err != nil {
		t.Errorf("the object after a missing one: %v", err)
	} else {
		rc.Close()
	}
}

// TestFetchInFlightBound: with readers that never keep up, no more than the bound are fetched
// ahead, and every object is still read once each in order.
func TestFetchInFlightBound(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	ins := keyedInputs(t, srv, 40, 5)
	rc, err := ins[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	// The first object, opened before the prefetcher started, is fetched outside the slots
	// (TestFetchReaderNeverWaitsForPrefetch); the five after it are fetched ahead, and no more.
	for deadline := time.Now().Add(10 * time.Second); srv.Gets.Load() < 6 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // time to fetch a seventh, were the bound not kept
	if n := srv.Gets.Load(); n != 6 {
		t.Errorf("%d GetObjects with one reader holding its object and a bound of 5 ahead", n)
	}
	rc.Close()
	readEach(t, ins[1:])
	if n := srv.Gets.Load(); n != 40 {
		t.Errorf("%d GetObjects for 40 objects", n)
	}
}

// TestFetchReaderNeverWaitsForPrefetch: a reader that opens its object before the prefetcher
// got to it is served at once, even with every slot held by objects fetched ahead (sources.Stream
// starts the readers after it only once it has given its events: had it waited for a slot, the
// prefetcher could take each one given back for those later objects, and the run would hang).
func TestFetchReaderNeverWaitsForPrefetch(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	ins := keyedInputs(t, srv, 10, 2)
	var held []io.ReadCloser
	for _, in := range ins[:2] { // both slots, held by their readers
		rc, err := in.Open()
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, rc)
	}
	done := make(chan string, 1)
	go func() {
		rc, err := ins[5].Open() // the prefetcher waits for a slot before o02: o05 is not fetched
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		done <- string(b)
	}()
	select {
	case got := <-done:
		if got != "o05" {
			t.Errorf("o05 read %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a reader waits for a prefetch slot while the objects before it hold them")
	}
	for _, rc := range held {
		rc.Close()
	}
	readEach(t, slices.Delete(slices.Clone(ins[2:]), 3, 4)) // all but o05
	if n := srv.Gets.Load(); n != 10 {
		t.Errorf("%d GetObjects for 10 objects", n)
	}
}

// keyedInputs stores n objects in bucket b, each holding its own key (o00, o01, ...), and
// returns them as a Fetcher's inputs with inFlight slots.
func keyedInputs(t *testing.T, srv *s3fake.Server, n, inFlight int) []sources.Input {
	var objs []Object
	for i := range n {
		k := fmt.Sprintf("o%02d", i)
		srv.Put("b", k, &s3fake.Object{Body: []byte(k)})
		objs = append(objs, Object{Bucket: "b", Key: k})
	}
	return NewFetcher(context.Background(), client(t, srv), objs, inFlight, &Stats{}).Inputs()
}

// readEach opens, reads and closes each input in turn; each object holds its own key.
func readEach(t *testing.T, ins []sources.Input) {
	t.Helper()
	for _, in := range ins {
		rc, err := in.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.HasSuffix(in.Name, string(b)) {
			t.Errorf("%s read %q", in.Name, b)
		}
	}
}
