package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/internal/testutil"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/bytedance/sonic"
	"github.com/klauspost/compress/gzip"
)

const ctData = "../../testdata/cloudtrail"

func loadCT(t *testing.T, paths ...string) *sources.Loaded {
	t.Helper()
	var ins []sources.Input
	for _, p := range paths {
		ins = append(ins, sources.Input{Name: p})
	}
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, f := range l.Files {
		if !f.Balanced() {
			t.Errorf("%s: lines %d != parsed %d + malformed %d + skipped %v", f.File, f.Lines, f.Parsed, f.Malformed, f.Skipped)
		}
	}
	return l
}

// TestCloudTrailCorpusShapes reads every corpus file shape and checks what each becomes.
func TestCloudTrailCorpusShapes(t *testing.T) {
	tests := []struct {
		file                     string
		lines, parsed, malformed int
		skipped                  map[string]int
		check                    func(t *testing.T, evs []event.Event)
	}{
		{"awscli-lookup-events-example.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpLogin)
			want(t, evs[0].Principal, "arn:aws:iam::123456789012:role/my-role")
			want(t, evs[0].DisplayName, "my-session-name")
			want(t, evs[0].RemoteAddr.String(), "72.21.198.70")
		}},
		{"awsdocs-ct-digest-file-empty-example.json", 1, 0, 0, map[string]int{"digest-file": 1}, nil},
		{"awsdocs-ct-digest-file-example.json", 1, 0, 0, map[string]int{"digest-file": 1}, nil},
		{"elastic-test-cloudtrail-digest-json.log", 1, 0, 0, map[string]int{"digest-file": 1}, nil},
		{"awsdocs-ct-insight-records-example.json", 2, 0, 0, map[string]int{"insight": 2}, nil},
		{"awsdocs-ct-records-wrapper-errorcode-example.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			// UpdateTrail of a trail that does not exist, naming no setting: changed nothing, tried nothing.
			want(t, evs[0].Op, event.OpOther)
			want(t, evs[0].Outcome, event.OutcomeError)
			want(t, evs[0].Path, "myTrail2")
			want(t, evs[0].Principal, "arn:aws:iam::123456789012:user/Alice")
			want(t, evs[0].Credential, "EXAMPLE_KEY_ID")
		}},
		{"stratus-aws.credential-access.ssm-retrieve-securestring-parameters.json", 4, 4, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, len(evs), 14) // 2 DescribeParameters + GetParameters of 10 and 2 names
			want(t, evs[0].Op, event.OpList)
			want(t, evs[0].Resource, "ssm:*")
		}},
		{"awsdocs-sm-createsecret-root.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpWrite)
			want(t, evs[0].Principal, "arn:aws:iam::123456789012:root")
			want(t, evs[0].DisplayName, "root")
		}},
		{"awsdocs-sm-deletesecret-root.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpAdmin)
			want(t, evs[0].Namespace, "123456789012")
		}},
		{"awsdocs-sm-getsecretvalue-vpce.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpRead)
			// "172.01.01.001" is a documentation placeholder, not an address; nor is it AWS's.
			want(t, evs[0].RemoteAddr.IsValid(), false)
			want(t, evs[0].Has(event.FlagAWSInternal), false)
		}},
		{"awsdocs-sm-kms-decrypt-invokedby-secretsmanager.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			// The decrypt Secrets Manager makes for a caller is the caller's, carried by the service.
			want(t, evs[0].Has(event.FlagServiceActor), false)
			want(t, evs[0].Has(event.FlagViaService), true)
			want(t, evs[0].Has(event.FlagAWSInternal), true)
			want(t, evs[0].Op, event.OpOther)
			want(t, evs[0].Resource, "")
		}},
		{"awsdocs-sm-kms-generatedatakey-invokedby-secretsmanager.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Has(event.FlagViaService), true)
		}},
		{"awsdocs-sm-rotationfailed-awsserviceevent.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Has(event.FlagServiceActor), true)
			want(t, evs[0].Principal, "secretsmanager.amazonaws.com")
			want(t, evs[0].Op, event.OpOther)
			want(t, evs[0].Action, "RotationFailed")
			want(t, evs[0].Resource, "MyDatabaseSecret")
		}},
		{"elastic-test-get-secret-value-json.log", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Resource, "MyTestSecret")
			want(t, evs[0].Path, "arn:aws:secretsmanager:us-east-1:000000000:secret:MyTestSecret-nxYStj")
		}},
		{"elastic-test-batch-get-secret-value-json.log", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			if len(evs) != 2 {
				t.Fatalf("%d events, want one read per secret id", len(evs))
			}
			want(t, evs[0].Op, event.OpRead)
			want(t, evs[0].Action, "BatchGetSecretValue")
			// The name itself contains "-xxxxxx"-like parts; only the ARN's suffix goes.
			got := []string{evs[0].Resource, evs[1].Resource}
			slices.Sort(got)
			want(t, strings.Join(got, " "), "DdApiKeySecret-aUFEgO4SmSGN MyTestSecret")
		}},
		{"panther-getsecretvalue-accessdenied-assumedrole-sso.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Time, time.Date(2024, 10, 17, 21, 48, 45, 0, time.UTC))
			want(t, evs[0].Outcome, event.OutcomeDenied)
			want(t, evs[0].DisplayName, "evil.genius")
			if !strings.Contains(evs[0].Principal, ":role/") || !strings.Contains(evs[0].Principal, "AWSReservedSSO_DevAdmin_635426549a280cc6") {
				t.Errorf("principal %q, want the SSO role ARN", evs[0].Principal)
			}
			want(t, evs[0].Resource, "stratus-red-team-retrieve-secret-3")
		}},
		{"stratus-aws.credential-access.secretsmanager-batch-retrieve-secrets.json", 5, 5, 0, nil, func(t *testing.T, evs []event.Event) {
			for _, ev := range evs {
				want(t, ev.Op, event.OpList)
				want(t, ev.Resource, "*")
				want(t, ev.Detail, "filters key=tag-key values=StratusRedTeam")
			}
		}},
		{"stratus-aws.credential-access.secretsmanager-retrieve-secrets.json", 21, 21, 0, nil, func(t *testing.T, evs []event.Event) {
			reads := map[string]bool{}
			for _, ev := range evs {
				if ev.Op == event.OpRead {
					reads[ev.Resource] = true
				}
				want(t, ev.Principal, "arn:aws:iam::903144391865:user/christophe")
			}
			if len(reads) < 10 {
				t.Errorf("%d distinct secrets read, want the detonation's breadth", len(reads))
			}
		}},
		{"stratus-aws.defense-evasion.cloudtrail-delete.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpAudit)
			want(t, evs[0].Detail, "trail deleted")
			want(t, evs[0].RemoteAddr.IsValid(), false) // "08.1.250.216" is not an IP
		}},
		{"stratus-aws.defense-evasion.cloudtrail-stop.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpAudit)
			want(t, evs[0].Detail, "logging stopped")
			if !strings.HasPrefix(evs[0].Resource, "stratus-red-team-ct-stop-trail") {
				t.Errorf("resource %q, want the trail name", evs[0].Resource)
			}
		}},
		{"stratus-aws.defense-evasion.cloudtrail-event-selectors.json", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpAudit)
			if !strings.Contains(evs[0].Detail, "management events excluded") {
				t.Errorf("detail %q", evs[0].Detail)
			}
		}},
		{"stratus-aws.defense-evasion.organizations-leave.json", 3, 3, 0, nil, func(t *testing.T, evs []event.Event) {
			last := evs[len(evs)-1]
			want(t, last.Outcome, event.OutcomeDenied)
			want(t, last.Op, event.OpOther)
		}},
		{"stratus-aws.persistence.sts-federation-token.json", 2, 2, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Op, event.OpLogin)
			want(t, evs[0].Principal, "arn:aws:sts::742491224508:federated-user/stratus_red_team")
			want(t, evs[1].Principal, "arn:aws:sts::742491224508:federated-user/stratus_red_team")
			want(t, evs[1].DisplayName, "stratus_red_team")
			want(t, evs[1].Credential, "ASIASTJKC5GCM7ZE6LUP")
		}},
		// Amazon Security Lake OCSF events (ocsf_test.go has the rest).
		{"elastic-securitylake-test-api-activity.log", 1, 1, 0, nil, func(t *testing.T, evs []event.Event) {
			want(t, evs[0].Action, "DescribeDirectConnectGateways")
			want(t, evs[0].Credential, "AKIA3Z2XBVUDFQ9TU4MD")
		}},
		{"elastic-securitylake-test-authentication.log", 1, 0, 0, map[string]int{"ocsf-class-3002": 1}, nil},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			l := loadCT(t, filepath.Join(ctData, tt.file))
			st := l.Files[0]
			if st.Lines != tt.lines || st.Parsed != tt.parsed || st.Malformed != tt.malformed {
				t.Fatalf("lines %d parsed %d malformed %d (problems %v), want %d %d %d",
					st.Lines, st.Parsed, st.Malformed, st.Problems, tt.lines, tt.parsed, tt.malformed)
			}
			for k, n := range tt.skipped {
				if st.Skipped[k] != n {
					t.Errorf("skipped %v, want %s=%d", st.Skipped, k, n)
				}
			}
			for _, ev := range l.Events {
				if ev.Kind != event.KindCloudTrail || ev.Pos.File == "" || ev.Pos.Line == 0 {
					t.Errorf("event without kind or position: %+v", ev)
				}
			}
			if tt.check != nil {
				if len(l.Events) == 0 {
					t.Fatal("no events")
				}
				tt.check(t, l.Events)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(ctData, "*.json*"))
	logs, _ := filepath.Glob(filepath.Join(ctData, "*.log"))
	for _, f := range append(files, logs...) {
		if !covered[filepath.Base(f)] {
			t.Errorf("no case for %s", f)
		}
	}
}

func want[T comparable](t *testing.T, got, wanted T) {
	t.Helper()
	if got != wanted {
		t.Errorf("got %v, want %v", got, wanted)
	}
}

func TestNormalizeSecretID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"prod/db", "prod/db"},
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "prod/db"},
		{"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db-AbCdEf", "prod/db"},
		// a name that looks like it ends in a suffix keeps it: only ARNs carry one
		{"my-secret-AbCdEf", "my-secret-AbCdEf"},
		{"arn:aws:secretsmanager:us-east-1:000000000:secret:DdApiKeySecret-aUFEgO4SmSGN-xqgqXR", "DdApiKeySecret-aUFEgO4SmSGN"},
		// five characters after the dash: not the suffix
		{"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-abcde", "prod/db-abcde"},
		{" prod/db ", "prod/db"},
		{"arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012:role/x"},
	}
	for _, tt := range tests {
		if got := NormalizeSecretID(tt.in); got != tt.want {
			t.Errorf("NormalizeSecretID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func writeGz(t *testing.T, path string, v any) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCloudTrailS3Tree: an export tree with gzip log files in shuffled order, a record
// delivered twice, digests, an Insights file and a stray file; walked as a directory.
func TestCloudTrailS3Tree(t *testing.T) {
	root := t.TempDir()
	base := filepath.Join(root, "AWSLogs", "o-abc123", "111122223333")
	day := filepath.Join("2026", "09", "11")
	t0 := time.Date(2026, 9, 11, 10, 0, 0, 0, time.UTC)
	var recs []map[string]any
	for i := range 30 {
		recs = append(recs, testutil.CTRecord(fmt.Sprintf("ev-%02d", i), t0.Add(time.Duration(i)*time.Minute), "GetSecretValue",
			fmt.Sprintf(`{"secretId":"prod/app-%d"}`, i%7), ""))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(recs)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	logDir := filepath.Join(base, "CloudTrail", "eu-west-1", day)
	writeGz(t, filepath.Join(logDir, "111122223333_CloudTrail_eu-west-1_20260911T1015Z_aaaaaaaaaaaaaaaa.json.gz"),
		map[string]any{"Records": shuffled[:18]})
	// the later file repeats two records of the first (at-least-once delivery)
	later := append(slices.Clone(shuffled[18:]), shuffled[3], shuffled[7])
	rng.Shuffle(len(later), func(i, j int) { later[i], later[j] = later[j], later[i] })
	writeGz(t, filepath.Join(logDir, "111122223333_CloudTrail_eu-west-1_20260911T1045Z_bbbbbbbbbbbbbbbb.json.gz"),
		map[string]any{"Records": later})
	digest, _ := os.ReadFile(filepath.Join(ctData, "awsdocs-ct-digest-file-example.json"))
	for i := range 3 {
		writeGz(t, filepath.Join(base, "CloudTrail-Digest", "eu-west-1", day,
			fmt.Sprintf("111122223333_CloudTrail-Digest_eu-west-1_org-trail_eu-west-1_20260911T1%d0000Z.json.gz", i)), json.RawMessage(digest))
	}
	insight, _ := os.ReadFile(filepath.Join(ctData, "awsdocs-ct-insight-records-example.json"))
	writeGz(t, filepath.Join(base, "CloudTrail-Insight", "eu-west-1", day, "111122223333_CloudTrail-Insight_eu-west-1_20260911T1100Z_cccccccccccccccc.json.gz"),
		json.RawMessage(insight))
	os.WriteFile(filepath.Join(root, "AWSLogs", "README.txt"), []byte("exported for the incident\n"), 0o644)

	ins, errs := sources.Expand([]string{root})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatal(err)
	}
	var lines, parsed, dups int
	skipped := map[string]int{}
	for _, f := range l.Files {
		if !f.Balanced() {
			t.Errorf("%s not balanced: %+v", f.File, f)
		}
		lines += f.Lines
		parsed += f.Parsed
		dups += f.Duplicates
		for k, n := range f.Skipped {
			skipped[k] += n
		}
	}
	if parsed != 30 || dups != 2 || len(l.Events) != 30 {
		t.Errorf("parsed %d, duplicates %d, events %d; want 30, 2, 30", parsed, dups, len(l.Events))
	}
	// The stray non-JSON object of the tree is not read at all: it is listed, not counted as lines.
	notRead := 0
	for _, f := range l.Files {
		if f.NotRead != "" {
			notRead++
		}
	}
	if notRead != 1 {
		t.Errorf("%d files not read, want the one stray non-JSON object", notRead)
	}
	wantSkip := map[string]int{"digest-file": 3, "insight": 2, "duplicate": 2}
	for k, n := range wantSkip {
		if skipped[k] != n {
			t.Errorf("skipped %v, want %v", skipped, wantSkip)
			break
		}
	}
	if lines != 30+3+2+2 {
		t.Errorf("lines %d", lines)
	}
	for i := 1; i < len(l.Events); i++ {
		if l.Events[i].Time.Before(l.Events[i-1].Time) {
			t.Fatalf("events not in time order at %d", i)
		}
	}
	want(t, l.Events[0].Principal, "arn:aws:iam::111122223333:role/secret-sync")
	want(t, l.Events[0].Namespace, "111122223333")
	want(t, l.Events[0].Region, "eu-west-1")
}

// TestBatchEchoes: a BatchGetSecretValue by id list plus the GetSecretValue record CloudTrail
// writes for each returned secret count each secret once; without those records (a log
// filtered to batch calls) the batch's reads stay.
func TestBatchEchoes(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 5, 2, 0, time.UTC)
	arn := "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/b-XyZ123"
	batch := testutil.CTRecord("b1", t0, "BatchGetSecretValue", `{"secretIdList":["prod/a","`+arn+`","prod/c"]}`, "")
	echoA := testutil.CTRecord("g1", t0, "GetSecretValue", `{"secretId":"prod/a"}`, "")
	echoB := testutil.CTRecord("g2", t0.Add(time.Second), "GetSecretValue", `{"secretId":"prod/b"}`,
		`{"resources":[{"type":"AWS::SecretsManager::Secret","ARN":"`+arn+`"}]}`)
	// prod/c was denied by its resource policy: its GetSecretValue record carries the outcome
	echoC := testutil.CTRecord("g3", t0, "GetSecretValue", `{"secretId":"prod/c"}`, `{"errorCode":"AccessDenied"}`)
	later := testutil.CTRecord("g4", t0.Add(10*time.Minute), "GetSecretValue", `{"secretId":"prod/a"}`, "")

	dir := t.TempDir()
	write := func(name string, recs ...map[string]any) string {
		var b bytes.Buffer
		for _, r := range recs {
			json.NewEncoder(&b).Encode(r)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o644)
		return p
	}
	l := loadCT(t, write("echo.ndjson", echoB, batch, echoA, echoC, later))
	var got []string
	for _, ev := range l.Events {
		got = append(got, fmt.Sprintf("%s %s %s", ev.Action, ev.Resource, ev.Outcome))
	}
	wantEvs := []string{"GetSecretValue prod/a ok", "GetSecretValue prod/c denied", "GetSecretValue prod/b ok", "GetSecretValue prod/a ok"}
	if strings.Join(got, "|") != strings.Join(wantEvs, "|") {
		t.Errorf("events\n got %v\nwant %v", got, wantEvs)
	}
	want(t, l.Files[0].BatchEchoes, 3)
	want(t, l.Files[0].Parsed, 5)

	l = loadCT(t, write("batch-only.ndjson", batch))
	if len(l.Events) != 3 || l.Files[0].BatchEchoes != 0 {
		t.Errorf("batch alone: %d events, %d echoes; want 3, 0", len(l.Events), l.Files[0].BatchEchoes)
	}
}

// TestCloudTrailFramings: the same records as lookup-events output, a JSON array, NDJSON,
// EventBridge events and a pretty-printed single record all give the same events.
func TestCloudTrailFramings(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	r1 := testutil.CTRecord("e1", t0, "GetSecretValue", `{"secretId":"prod/a"}`, "")
	r2 := testutil.CTRecord("e2", t0.Add(time.Minute), "ListSecrets", `{"filters":[{"key":"name","values":["prod/treasury/"]}]}`, `{"sessionCredentialFromConsole":"true","sourceIPAddress":"AWS Internal"}`)
	j1, _ := json.Marshal(r1)
	j2, _ := json.Marshal(r2)
	lookup, _ := json.MarshalIndent(map[string]any{"Events": []map[string]any{
		{"EventId": "e2", "EventTime": "2026-09-11T13:01:00+01:00", "CloudTrailEvent": string(j2)},
		{"EventId": "e1", "EventTime": "2026-09-11T13:00:00+01:00", "CloudTrailEvent": string(j1)}}}, "", "  ")
	array, _ := json.MarshalIndent([]any{r2, r1}, "", "  ")
	eb1, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.secretsmanager", "detail": r1})
	eb2, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.secretsmanager", "detail": r2})
	pretty, _ := json.MarshalIndent(r2, "", "    ")
	dir := t.TempDir()
	cases := map[string][]byte{
		"lookup.json":     lookup,
		"array.json":      array,
		"records.ndjson":  []byte(string(j1) + "\n\n" + string(j2) + "\n"),
		"eventbridge.log": []byte(string(eb1) + "\n" + string(eb2)),
		"records.json":    []byte(`{"Records":[` + string(j2) + "," + string(j1) + "]}"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			os.WriteFile(p, data, 0o644)
			l := loadCT(t, p)
			if len(l.Events) != 2 || l.Files[0].Malformed != 0 {
				t.Fatalf("%d events, %+v", len(l.Events), l.Files[0])
			}
			ls := l.Events[1]
			want(t, ls.Op, event.OpList)
			want(t, ls.Resource, "prod/treasury/")
			want(t, ls.Has(event.FlagConsole), true)
			want(t, ls.Has(event.FlagAWSInternal), true)
			want(t, ls.Detail, "filters key=name values=prod/treasury/")
		})
	}
	t.Run("pretty single record", func(t *testing.T) {
		p := filepath.Join(dir, "one.json")
		os.WriteFile(p, pretty, 0o644)
		l := loadCT(t, p)
		if len(l.Events) != 1 {
			t.Fatalf("%d events", len(l.Events))
		}
	})
	t.Run("truncated document is malformed, not fatal", func(t *testing.T) {
		p := filepath.Join(dir, "cut.json")
		os.WriteFile(p, array[:len(array)/2], 0o644)
		l := loadCT(t, p)
		want(t, l.Files[0].Malformed, 1)
	})
	t.Run("bad line among good ones", func(t *testing.T) {
		p := filepath.Join(dir, "mixed.ndjson")
		os.WriteFile(p, []byte(string(j1)+"\n{\"eventTime\": \n"+string(j2)+"\n"), 0o644)
		l := loadCT(t, p)
		want(t, len(l.Events), 2)
		want(t, l.Files[0].Malformed, 1)
		want(t, l.Files[0].Problems[0].Line, 2)
	})
}

// TestCloudTrailNormalize covers the mapping rules on the scenario's record shapes.
func TestCloudTrailNormalize(t *testing.T) {
	t0 := time.Date(2026, 9, 11, 12, 0, 0, 0, time.UTC)
	in := sources.NewInterner().Local()
	norm := func(r map[string]any) []event.Event {
		t.Helper()
		data, _ := json.Marshal(r)
		var rec ctRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		tm, _ := parseCTTime(rec.EventTime)
		return normalizeRecord(&rec, tm, event.Pos{File: "x", Line: 1}, in)
	}
	t.Run("put resource policy summary is value-free", func(t *testing.T) {
		evs := norm(testutil.CTRecord("p", t0, "PutResourcePolicy", `{"secretId":"prod/payments/psp-master-key","resourcePolicy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"secretsmanager:GetSecretValue\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"999988887777\",\"arn:aws:iam::111122223333:role/app\"]},\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"aws:PrincipalOrgID\":\"o-1\"}}}]}","blockPublicPolicy":false}`, ""))
		want(t, evs[0].Op, event.OpAdmin)
		want(t, evs[0].Detail, "principal=* principal=arn:aws:iam::111122223333:role/app principal=arn:aws:iam::999988887777:root condition=true blockPublicPolicy=false")
	})
	t.Run("staged value is not a write; promotion to AWSCURRENT is", func(t *testing.T) {
		staged := norm(testutil.CTRecord("w1", t0, "PutSecretValue", `{"secretId":"prod/x","versionStages":["AWSPENDING"]}`, ""))
		want(t, staged[0].Op, event.OpOther)
		put := norm(testutil.CTRecord("w2", t0, "PutSecretValue", `{"secretId":"prod/x"}`, ""))
		want(t, put[0].Op, event.OpWrite)
		promote := norm(testutil.CTRecord("w3", t0, "UpdateSecretVersionStage", `{"secretId":"prod/x","versionStage":"AWSCURRENT","moveToVersionId":"v2"}`, ""))
		want(t, promote[0].Op, event.OpWrite)
		other := norm(testutil.CTRecord("w4", t0, "UpdateSecretVersionStage", `{"secretId":"prod/x","versionStage":"AWSPREVIOUS"}`, ""))
		want(t, other[0].Op, event.OpOther)
	})
	t.Run("filter batch is a listing that returns values", func(t *testing.T) {
		evs := norm(testutil.CTRecord("b", t0, "BatchGetSecretValue", `{"filters":[{"key":"all","values":["prod"]}],"maxResults":20}`, ""))
		want(t, len(evs), 1)
		want(t, evs[0].Op, event.OpList)
		want(t, evs[0].Has(event.FlagValueRead), true)
		want(t, evs[0].Has(event.FlagListAll), false)
		want(t, evs[0].Detail, "filters key=all values=prod")
		// A negated tag key matches every secret: the whole store in one call.
		all := norm(testutil.CTRecord("c", t0, "BatchGetSecretValue", `{"filters":[{"key":"tag-key","values":["!nonexistent"]}]}`, ""))
		want(t, all[0].Has(event.FlagListAll), true)
	})
	t.Run("identity types", func(t *testing.T) {
		cases := []struct {
			identity, principal, display string
			service                      bool
		}{
			{`{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/svc","userName":"svc","accessKeyId":"AKIA1"}`, "arn:aws:iam::111122223333:user/svc", "svc", false},
			{`{"type":"Root","accountId":"111122223333","principalId":"111122223333"}`, "arn:aws:iam::111122223333:root", "root", false},
			{`{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_PlatformAdmin_3f8a/ciaran.walsh","principalId":"AROA:ciaran.walsh","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PlatformAdmin_3f8a"}}}`,
				"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PlatformAdmin_3f8a", "ciaran.walsh", false},
			{`{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/batch/i-0b7d3e9a1c4f25e60","principalId":"AROA:i-0b7d3e9a1c4f25e60"}`, "arn:aws:iam::111122223333:role/batch", "i-0b7d3e9a1c4f25e60", false},
			{`{"type":"FederatedUser","principalId":"111122223333:recon-partner","accountId":"111122223333"}`, "arn:aws:sts::111122223333:federated-user/recon-partner", "recon-partner", false},
			// Another account's principal, never that account's root (nor an administrator).
			{`{"type":"AWSAccount","principalId":"AIDAOTHER","accountId":"999988887777"}`, "aws-account:999988887777:AIDAOTHER", "AIDAOTHER", false},
			{`{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}}`, "arn:aws:identitystore::111122223333:identitystore/d-1/user/u-1", "u-1", false},
			{`{"type":"AWSService","invokedBy":"lambda.amazonaws.com"}`, "lambda.amazonaws.com", "lambda.amazonaws.com", true},
			{`{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForConfig/AWSConfig-Describe","invokedBy":"config.amazonaws.com"}`, "arn:aws:iam::111122223333:role/AWSServiceRoleForConfig", "AWSConfig-Describe", true},
		}
		for _, c := range cases {
			r := testutil.CTRecord("i", t0, "GetSecretValue", `{"secretId":"prod/x"}`, "")
			r["userIdentity"] = json.RawMessage(c.identity)
			ev := norm(r)[0]
			if ev.Principal != c.principal || ev.DisplayName != c.display || ev.Has(event.FlagServiceActor) != c.service {
				t.Errorf("%s\n got %q %q service=%v\nwant %q %q service=%v", c.identity, ev.Principal, ev.DisplayName,
					ev.Has(event.FlagServiceActor), c.principal, c.display, c.service)
			}
		}
	})
	t.Run("a service carrying a principal's call is the principal's", func(t *testing.T) {
		// CloudFormation deleting a trail for the role that runs the stack (invokedBy with a principal).
		r := testutil.CTRecord("cf", t0, "DeleteTrail", `{"name":"kp-org-trail"}`, "")
		r["eventSource"], r["sourceIPAddress"], r["userAgent"] = "cloudtrail.amazonaws.com", "cloudformation.amazonaws.com", "cloudformation.amazonaws.com"
		r["userIdentity"] = json.RawMessage(`{"type":"AssumedRole","principalId":"AROAEXAMPLE:AWSCloudFormation","arn":"arn:aws:sts::111122223333:assumed-role/cfn-deployer/AWSCloudFormation","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/cfn-deployer"}},"invokedBy":"cloudformation.amazonaws.com"}`)
		ev := norm(r)[0]
		want(t, ev.Principal, "arn:aws:iam::111122223333:role/cfn-deployer")
		want(t, ev.Has(event.FlagServiceActor), false)
		want(t, ev.Has(event.FlagViaService), true)
		want(t, ev.Op, event.OpAudit)
	})
	t.Run("the root user and read-only calls are marked", func(t *testing.T) {
		r := testutil.CTRecord("r", t0, "CreateAccessKey", `{}`, `{"eventSource":"iam.amazonaws.com","readOnly":false}`)
		r["userIdentity"] = json.RawMessage(`{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333"}`)
		ev := norm(r)[0]
		want(t, ev.Has(event.FlagRootToken), true)
		want(t, ev.Has(event.FlagReadOnly), false)
		r["readOnly"], r["eventName"] = true, "GetAccountSummary"
		want(t, norm(r)[0].Has(event.FlagReadOnly), true)
		user := norm(testutil.CTRecord("u", t0, "GetSecretValue", `{"secretId":"prod/x"}`, ""))[0]
		want(t, user.Has(event.FlagRootToken), false)
	})
	t.Run("a policy for the organisation is not public", func(t *testing.T) {
		// The shape of the Secrets Manager documentation's examples (attach a permissions policy).
		org := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*",` +
			`"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-7k2pq9x1ab"}}}]}`
		g, _ := ResourcePolicyGrant(org, nil)
		want(t, g.OrgScoped, true)
		want(t, strings.Join(g.Conditions, ","), "aws:PrincipalOrgID=o-7k2pq9x1ab")
		vpce := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"secretsmanager:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b"}}}]}`
		g, _ = ResourcePolicyGrant(vpce, nil)
		want(t, g.OrgScoped, false)
		want(t, g.Condition, true)
		mixed := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}},` +
			`{"Effect":"Allow","Principal":"*","Action":"secretsmanager:DescribeSecret","Resource":"*"}]}`
		g, _ = ResourcePolicyGrant(mixed, nil)
		want(t, g.OrgScoped, false)
	})
	t.Run("an instance profile's session, in any case", func(t *testing.T) {
		for session, want := range map[string]bool{"i-0b7d3e9a1c4f25e60": true, "I-0B7D3E9A1C4F25E60": true, "i-0b7d3e9a": true,
			"i-0b7d3e9g1c4f25e60": false, "ci-runner": false, "i-\x10\x11\x12\x13\x14\x15\x16\x17": false} {
			r := testutil.CTRecord("s", t0, "GetSecretValue", `{"secretId":"prod/x"}`, "")
			r["userIdentity"] = map[string]any{"type": "AssumedRole", "principalId": "AROA:" + session, "accountId": "111122223333",
				"arn": "arn:aws:sts::111122223333:assumed-role/batch/" + session}
			if got := norm(r)[0].Has(event.FlagInstanceCredential); got != want {
				t.Errorf("%q: instance credential %v, want %v", session, got, want)
			}
		}
	})
	t.Run("another account's caller", func(t *testing.T) {
		r := testutil.CTRecord("x", t0, "GetSecretValue", `{"secretId":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/x-AbCdEf"}`, "")
		r["userIdentity"] = json.RawMessage(`{"type":"AWSAccount","principalId":"AROAOTHER:build-42","accountId":"999988887777"}`)
		ev := norm(r)[0]
		want(t, ev.Principal, "aws-account:999988887777:AROAOTHER:build-42")
		want(t, ev.Has(event.FlagCrossAccount), true)
		same := norm(testutil.CTRecord("y", t0, "GetSecretValue", `{"secretId":"prod/x"}`, ""))[0]
		want(t, same.Has(event.FlagCrossAccount), false)
	})
	t.Run("failed sign-ins are denied", func(t *testing.T) {
		for _, extra := range []string{
			`{"eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"}`,
			`{"eventSource":"signin.amazonaws.com","responseElements":{"PasswordUpdated":"Failure"}}`,
		} {
			r := testutil.CTRecord("s", t0, "ConsoleLogin", "", extra)
			want(t, norm(r)[0].Outcome, event.OutcomeDenied)
		}
		ok := testutil.CTRecord("s", t0, "ConsoleLogin", "", `{"eventSource":"signin.amazonaws.com","responseElements":{"ConsoleLogin":"Success"}}`)
		want(t, norm(ok)[0].Outcome, event.OutcomeOK)
	})
	t.Run("a failed UpdateTrail that names no setting is not tampering", func(t *testing.T) {
		r := testutil.CTRecord("u", t0, "UpdateTrail", `{"name":"gone"}`, `{"eventSource":"cloudtrail.amazonaws.com","errorCode":"TrailNotFoundException"}`)
		want(t, norm(r)[0].Op, event.OpOther)
		r = testutil.CTRecord("u", t0, "UpdateTrail", `{"name":"gone","enableLogFileValidation":false}`, `{"eventSource":"cloudtrail.amazonaws.com","errorCode":"TrailNotFoundException"}`)
		ev := norm(r)[0]
		want(t, ev.Op, event.OpAudit)
		want(t, strings.Contains(ev.Detail, "failed: TrailNotFoundException"), true)
	})
	t.Run("addresses", func(t *testing.T) {
		for _, c := range []struct {
			src      string
			valid    bool
			internal bool
		}{
			{"10.42.31.77", true, false}, {"2a05:d018:1f4:ab12::1", true, false},
			{"AWS Internal", false, true}, {"secretsmanager.amazonaws.com", false, true}, {"08.1.250.216", false, false},
		} {
			ev := norm(testutil.CTRecord("a", t0, "GetSecretValue", `{"secretId":"x"}`, `{"sourceIPAddress":"`+c.src+`"}`))[0]
			if ev.RemoteAddr.IsValid() != c.valid || ev.Has(event.FlagAWSInternal) != c.internal {
				t.Errorf("%s: valid=%v internal=%v", c.src, ev.RemoteAddr.IsValid(), ev.Has(event.FlagAWSInternal))
			}
		}
	})
	t.Run("unexpected parameter types keep the record", func(t *testing.T) {
		evs := norm(testutil.CTRecord("u", t0, "GetSecretValue", `{"secretId":["not","a","string"]}`, ""))
		want(t, len(evs), 1)
		want(t, evs[0].Op, event.OpRead)
		want(t, evs[0].Detail, "request parameters unreadable")
	})
}

// TestDecodeDifferential: sonic and encoding/json agree on the record fields, for every corpus
// record (sonic falls back to encoding/json where its JIT does not run).
func TestDecodeDifferential(t *testing.T) {
	for _, f := range []string{"stratus-aws.credential-access.secretsmanager-retrieve-secrets.json", "panther-getsecretvalue-accessdenied-assumedrole-sso.json"} {
		data, _ := os.ReadFile(filepath.Join(ctData, f))
		var raws []json.RawMessage
		if err := json.Unmarshal(data, &raws); err != nil {
			raws = []json.RawMessage{data}
		}
		for _, raw := range raws {
			var a, b ctRecord
			if err := json.Unmarshal(raw, &a); err != nil {
				t.Fatal(err)
			}
			cr := newCTReader("x", &sources.FileStats{}, nil)
			cr.record(raw, 1)
			if err := sonicUnmarshal(raw, &b); err != nil {
				t.Fatal(err)
			}
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("%s: encoding/json and sonic differ:\n%s\n%s", f, ja, jb)
			}
		}
	}
}

func sonicUnmarshal(data []byte, v any) error { return sonic.Unmarshal(data, v) }
