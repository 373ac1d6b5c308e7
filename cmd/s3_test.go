package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/s3fake"
)

const ctScenario = "../../shared/scenarios/cloudtrail"

// s3Env points the AWS SDK's configuration chain at the fake S3 (AWS_ENDPOINT_URL_S3, static
// credentials, no shared files, no instance metadata).
func s3Env(t *testing.T, srv *s3fake.Server) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3": srv.URL, "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
	} {
		t.Setenv(k, v)
	}
}

type s3Doc struct {
	Stats struct {
		Files []struct {
			File      string `json:"file"`
			ReadError string `json:"read_error"`
			Events    int    `json:"events"`
		} `json:"files"`
		Events int `json:"events"`
		S3     *struct {
			Listed   int   `json:"objects_listed"`
			Pruned   int   `json:"prefixes_pruned"`
			Fetched  int   `json:"objects_fetched"`
			Bytes    int64 `json:"bytes"`
			Failed   int   `json:"objects_failed"`
			Failures []struct {
				Object string `json:"object"`
				Offset int64  `json:"offset"`
				Error  string `json:"error"`
			} `json:"failures"`
			KMS            int    `json:"kms_objects"`
			Skipped        int    `json:"objects_skipped"`
			NewestDelivery string `json:"newest_delivery"`
		} `json:"s3"`
	} `json:"stats"`
	Findings []map[string]any `json:"findings"`
}

func runJSON(t *testing.T, args ...string) (s3Doc, string, int) {
	t.Helper()
	s, out, errb := TestStreams()
	code := Main(context.Background(), append(args, "--format", "json"), s)
	var doc s3Doc
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: exit %d, not JSON: %v\n%s", args, code, err, errb.String())
	}
	return doc, errb.String(), code
}

// comparable strips what names the input (file paths in evidence, which the fingerprint does
// not hold) so two reads of the same records compare equal.
func comparable(fs []map[string]any, local, remote string) string {
	js, _ := json.Marshal(fs)
	s := strings.ReplaceAll(string(js), remote, "")
	return strings.ReplaceAll(s, local, "")
}

func practiceInS3(t *testing.T, srv *s3fake.Server) {
	t.Helper()
	if _, err := os.Stat(ctScenario); err != nil {
		t.Skip("the practice scenarios are not beside this checkout")
	}
	if _, err := srv.PutTree("kp-trail", "", ctScenario+"/AWSLogs/.."); err != nil {
		t.Fatal(err)
	}
}

// TestS3ParityPracticeTree: the practice CloudTrail tree served from S3 gives exactly the
// findings of the local tree, with the S3 statistics in the JSON report.
func TestS3ParityPracticeTree(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	common := []string{"cloudtrail", "--config", ctScenario + "/vaultsentry.yaml", "--learn-until", "2026-09-11T12:00:00Z", "--quiet"}
	local, _, lcode := runJSON(t, append(common, "--from", ctScenario+"/AWSLogs")...)
	remote, stderr, rcode := runJSON(t, append(common, "--from", "s3://kp-trail/AWSLogs/")...)
	if lcode != rcode || len(local.Findings) == 0 {
		t.Fatalf("exit %d local, %d s3; %d findings\n%s", lcode, rcode, len(local.Findings), stderr)
	}
	abs, _ := filepath.Abs(ctScenario)
	l := comparable(local.Findings, ctScenario+"/", "s3://kp-trail/")
	r := comparable(remote.Findings, abs+"/", "s3://kp-trail/")
	if l != r {
		t.Errorf("findings differ:\nlocal %s\n\ns3    %s", l, r)
	}
	if local.Stats.Events != remote.Stats.Events {
		t.Errorf("events: %d local, %d s3", local.Stats.Events, remote.Stats.Events)
	}
	st := remote.Stats.S3
	if st == nil || st.Fetched != 306 || st.Failed != 0 || st.Pruned == 0 || st.Bytes == 0 {
		t.Errorf("s3 stats %+v (want the 305 log files and the Insights file fetched, the digests pruned)", st)
	}
	if local.Stats.S3 != nil {
		t.Error("a local run has s3 statistics")
	}
	for _, f := range remote.Stats.Files {
		if !strings.HasPrefix(f.File, "s3://kp-trail/AWSLogs/") || strings.Contains(f.File, "Digest") {
			t.Errorf("file %s", f.File)
		}
	}
}

// TestS3PruneSince24h: against a 90-day organisation tree, --since 24h lists only the last days'
// folders and fetches only the log files delivered in the 25 hours before the newest one (24 h
// and the delivery margin).
func TestS3PruneSince24h(t *testing.T) {
	if _, err := os.Stat(ctScenario); err != nil {
		t.Skip("the practice scenarios are not beside this checkout")
	}
	srv := s3fake.New()
	defer srv.Close()
	day := time.Date(2026, 9, 12, 0, 0, 0, 0, time.UTC)
	objs, err := s3fake.RedateDays(ctScenario, day, day, 90)
	if err != nil {
		t.Fatal(err)
	}
	logs := 0
	for _, o := range objs {
		srv.Put("org-trail", o.Key, &s3fake.Object{Body: o.Body, SSE: "aws:kms"})
		if strings.Contains(o.Key, "/CloudTrail/") {
			logs++
		}
	}
	s3Env(t, srv)
	doc, stderr, code := runJSON(t, "cloudtrail", "--from", "s3://org-trail/AWSLogs/", "--since", "24h", "--quiet")
	if code > 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	st := doc.Stats.S3
	fetched := srv.Fetched()
	t.Logf("90-day org tree, %d objects (%d log files): --since 24h listed %d in %d requests, pruned %d folders, skipped %d by name, fetched %d (%d GetObject), newest %s",
		len(objs), logs, st.Listed, srv.Lists.Load(), st.Pruned, st.Skipped, st.Fetched, len(fetched), st.NewestDelivery)
	if len(fetched) != st.Fetched || st.Listed != st.Fetched+st.Skipped || st.Fetched == 0 || st.Fetched > logs*2/90 {
		t.Errorf("fetched %d (%d GetObject), listed %d, skipped %d; want at most the %d log files of 2 days", st.Fetched, len(fetched), st.Listed, st.Skipped, logs*2/90)
	}
	for _, k := range fetched {
		if !slices.ContainsFunc([]string{"/2026/09/11/", "/2026/09/12/"}, func(d string) bool { return strings.Contains(k, d) }) {
			t.Errorf("fetched %s, outside the last days", k)
		}
	}
	if st.KMS != st.Fetched {
		t.Errorf("kms objects %d of %d", st.KMS, st.Fetched)
	}
	if doc.Stats.Events == 0 {
		t.Error("no event in the window")
	}
	// The summary names the newest day and the KMS Decrypt events this run caused.
	s, _, errb := TestStreams()
	Main(context.Background(), []string{"cloudtrail", "--from", "s3://org-trail/AWSLogs/", "--since", "24h", "--format", "json", "-o", filepath.Join(t.TempDir(), "r.json")}, s)
	for _, want := range []string{"S3:                ", "folders pruned", "newest CloudTrail log file, delivered 2026-09-12T", "KMS Decrypt event"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, errb.String())
		}
	}
}

// TestS3ObjectFailsMidStream: an object cut mid-stream is counted and located (the S3
// statistics and the file's read error); every other object is analysed.
func TestS3ObjectFailsMidStream(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	// A file of the incident window; 400 bytes of its gzip stream arrive. The file's read error
	// locates the cut in the compressed stream (the decompressor reports the connection's end as
	// a truncated stream); the S3 failures list says why.
	var victim string
	for _, k := range listKeys(t, ctScenario) {
		if strings.Contains(k, "/CloudTrail/eu-west-1/2026/09/12/") {
			victim = k
			break
		}
	}
	srv.With(func() { srv.CutAfter["kp-trail/"+victim] = 400 })
	common := []string{"cloudtrail", "--config", ctScenario + "/vaultsentry.yaml", "--learn-until", "2026-09-11T12:00:00Z"}
	whole, _, _ := runJSON(t, append(common, "--quiet", "--from", ctScenario+"/AWSLogs")...)
	doc, stderr, code := runJSON(t, append(common, "--from", "s3://kp-trail/AWSLogs/")...)
	if code > 1 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	st := doc.Stats.S3
	if st.Failed != 1 || len(st.Failures) != 1 || st.Failures[0].Object != "s3://kp-trail/"+victim || st.Failures[0].Offset != 400 || st.Fetched != 306 {
		t.Fatalf("s3 stats %+v", st)
	}
	located := false
	for _, f := range doc.Stats.Files {
		if f.File == "s3://kp-trail/"+victim && strings.Contains(f.ReadError, "byte 400") {
			located = true
		}
	}
	if !located {
		t.Errorf("the file's statistics do not say where it failed: %+v", doc.Stats.Files)
	}
	if !strings.Contains(stderr, victim) || !strings.Contains(stderr, "failed after 400 bytes") {
		t.Errorf("the summary does not name the failed object:\n%s", stderr)
	}
	if doc.Stats.Events == 0 || doc.Stats.Events >= whole.Stats.Events || len(doc.Findings) == 0 {
		t.Errorf("events %d (whole tree %d), %d findings: the other objects were not analysed", doc.Stats.Events, whole.Stats.Events, len(doc.Findings))
	}
}

func listKeys(t *testing.T, dir string) []string {
	t.Helper()
	var keys []string
	filepath.WalkDir(dir+"/AWSLogs", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(keys)
	return keys
}

// TestCloudTrailAccountRegionFilters: with --from, --account and --region keep only those
// folders of a tree, local or in S3 (where the others are never listed).
func TestCloudTrailAccountRegionFilters(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	for _, from := range []string{ctScenario + "/AWSLogs", "s3://kp-trail/AWSLogs/"} {
		doc, stderr, code := runJSON(t, "cloudtrail", "--quiet", "--from", from, "--account", "428190375562", "--region", "eu-central-1")
		if code > 1 || len(doc.Stats.Files) == 0 {
			t.Fatalf("%s: exit %d, %d files\n%s", from, code, len(doc.Stats.Files), stderr)
		}
		for _, f := range doc.Stats.Files {
			if !strings.Contains(f.File, "/428190375562/") || !strings.Contains(f.File, "/eu-central-1/") {
				t.Errorf("%s: read %s", from, f.File)
			}
		}
		if strings.HasPrefix(from, "s3://") && (doc.Stats.S3 == nil || doc.Stats.S3.Listed != len(doc.Stats.Files)) {
			t.Errorf("s3: %+v for %d files: other accounts or regions were listed", doc.Stats.S3, len(doc.Stats.Files))
		}
	}
}

// TestTraceAndScanS3: trace and scan take s3:// paths like files (the practice tree's
// organisation trail), with the same events as the local tree.
func TestTraceAndScanS3(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	for _, cmd := range []string{"trace", "scan"} {
		args := []string{cmd, "--format", "json"}
		if cmd == "trace" {
			args = append(args, "--ip", "0.0.0.0/0")
		}
		sl, lout, lerr := TestStreams()
		lcode := Main(context.Background(), append(args, ctScenario+"/AWSLogs"), sl)
		sr, rout, rerr := TestStreams()
		rcode := Main(context.Background(), append(args, "s3://kp-trail/AWSLogs/"), sr)
		abs, _ := filepath.Abs(ctScenario)
		l := strings.NewReplacer(ctScenario+"/", "", abs+"/", "").Replace(lout.String())
		r := strings.ReplaceAll(rout.String(), "s3://kp-trail/", "")
		if lcode != rcode || lcode > 1 || len(l) < 100 {
			t.Fatalf("%s: exit %d local, %d s3\n%s\n%s", cmd, lcode, rcode, lerr, rerr)
		}
		if cmd == "trace" {
			if lw, rw := withoutFiles(t, l), withoutFiles(t, r); lw != rw {
				i := 0
				for i < len(lw) && i < len(rw) && lw[i] == rw[i] {
					i++
				}
				from := max(0, i-300)
				t.Errorf("trace differs at byte %d:\nlocal …%.2000s\ns3    …%.2000s", i, lw[from:], rw[from:])
			}
		}
		if cmd == "scan" && !strings.Contains(r, `"s3": {`) {
			t.Errorf("scan JSON has no s3 statistics")
		}
	}
}

// withoutFiles is a trace's JSON without its per-file statistics (the local tree's digests are
// files skipped there, never listed from S3).
func withoutFiles(t *testing.T, js string) string {
	var doc map[string]any
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "files")
	b, _ := json.Marshal(doc)
	return string(b)
}

// TestS3PrunedParity: pruning is safe: --since 24h over S3 (older day folders never listed)
// gives the findings of the same window over the whole local tree.
func TestS3PrunedParity(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	for _, window := range [][]string{{"--since", "24h"}, {"--since", "2026-09-12T00:00:00Z", "--until", "2026-09-12T06:00:00Z"}} {
		common := append([]string{"cloudtrail", "--config", ctScenario + "/vaultsentry.yaml", "--quiet"}, window...)
		local, _, lcode := runJSON(t, append(common, "--from", ctScenario+"/AWSLogs")...)
		remote, stderr, rcode := runJSON(t, append(common, "--from", "s3://kp-trail/AWSLogs/")...)
		abs, _ := filepath.Abs(ctScenario)
		l := comparable(local.Findings, ctScenario+"/", "s3://kp-trail/")
		r := comparable(remote.Findings, abs+"/", "s3://kp-trail/")
		if lcode != rcode || l != r || local.Stats.Events != remote.Stats.Events || local.Stats.Events == 0 {
			t.Errorf("%v: exit %d/%d, events %d/%d, findings equal %v\n%s", window, lcode, rcode, local.Stats.Events, remote.Stats.Events, l == r, stderr)
		}
		if st := remote.Stats.S3; st == nil || st.Pruned == 0 || st.Fetched >= 306 {
			t.Errorf("%v: nothing pruned: %+v", window, st)
		} else {
			t.Logf("%v: %d of 306 objects fetched, %d folders pruned, %d events, %d findings", window, st.Fetched, st.Pruned, remote.Stats.Events, len(remote.Findings))
		}
	}
}

// TestBaselineLearnS3ListsOnce: baseline learn over s3:// lists the tree once (its batch plan
// and its load share the listing).
func TestBaselineLearnS3ListsOnce(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	practiceInS3(t, srv)
	s3Env(t, srv)
	s, _, errb := TestStreams()
	code := Main(context.Background(), []string{"baseline", "learn", "--baseline", filepath.Join(t.TempDir(), "b.vsb"), "s3://kp-trail/AWSLogs/"}, s)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	lists, gets := srv.Lists.Load(), srv.Gets.Load()
	// The tree has 2 accounts x 3 services x regions x days: about 40 folders.
	s2, _, _ := TestStreams()
	srv.Lists.Store(0)
	Main(context.Background(), []string{"cloudtrail", "--quiet", "--format", "json", "-o", filepath.Join(t.TempDir(), "r.json"), "--from", "s3://kp-trail/AWSLogs/"}, s2)
	if one := srv.Lists.Load(); lists != one || gets != 306 {
		t.Errorf("baseline learn: %d list requests and %d GetObject; one listing takes %d", lists, gets, one)
	}
}
