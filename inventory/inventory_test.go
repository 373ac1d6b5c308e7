package inventory

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriteReadRoundTrip(t *testing.T) {
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	v := 4
	in := []Record{
		{Store: StoreVault, Namespace: "team-a/", Mount: "secret/", Path: "production/stripe/api-key", KVVersion: 2, CreatedTime: &created, UpdatedTime: &created, CurrentVersion: &v,
			CustomMetadata: map[string]string{"owner": "<payments>"}},
		{Store: StoreAWS, Path: "prod/db", ARN: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbC123", Region: "eu-west-1", CreatedTime: &created},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range in {
		if err := w.Write(&in[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if !strings.HasPrefix(buf.String(), `{"store":"vault","namespace":"team-a/","mount":"secret/","path":"production/stripe/api-key","kv_version":2,"created_time":"2025-01-02T03:04:05Z"`) {
		t.Errorf("first line: %s", buf.String())
	}
	out, probs, err := Read(&buf, "inv.jsonl")
	if err != nil || len(probs) != 0 || len(out) != 2 {
		t.Fatalf("read back %d records, problems %v, %v", len(out), probs, err)
	}
	if out[0].Key() != "team-a/secret/production/stripe/api-key" || out[1].Key() != "prod/db" || *out[0].CurrentVersion != 4 ||
		out[0].CustomMetadata["owner"] != "<payments>" {
		t.Errorf("records %+v", out)
	}
}

// A bad line is a located problem; the lines around it are read.
func TestReadProblems(t *testing.T) {
	in := `{"store":"vault","mount":"secret/","path":"a","created_time":null,"updated_time":null,"current_version":null,"custom_metadata":null}
not json
{"store":"gcp","path":"x"}
{"store":"vault","mount":"secret","path":"b"}
{"store":"aws","path":"c","surprise":1}

{"store":"aws","path":"d"}
`
	out, probs, err := Read(strings.NewReader(in), "inv.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Path != "a" || out[1].Path != "d" {
		t.Errorf("records %+v", out)
	}
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	want := []string{"inv.jsonl:2: not an inventory record", "inv.jsonl:3: store \"gcp\"", "inv.jsonl:4: mount \"secret\"", "inv.jsonl:5: not an inventory record"}
	if len(got) != len(want) {
		t.Fatalf("problems %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d: %q, want %q...", i, got[i], want[i])
		}
	}
}

// `aws secretsmanager list-secrets` output as is: CLI v2's ISO 8601 strings and v1's epoch seconds.
func TestReadCLIOutput(t *testing.T) {
	cli := `{
    "SecretList": [
        {
            "ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-a1b2c3",
            "Name": "MyTestSecret",
            "LastChangedDate": "2023-07-25T13:17:02.349000-07:00",
            "LastAccessedDate": "2023-07-25T00:00:00+00:00",
            "Tags": [{"Key": "env", "Value": "prod"}],
            "SecretVersionsToStages": {"a1b2": ["AWSCURRENT"]},
            "CreatedDate": "2023-01-05T10:38:00.123000+00:00",
            "RotationEnabled": false
        },
        {
            "ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:old-XyZ789",
            "Name": "old",
            "CreatedDate": 1523477145.713,
            "LastRotatedDate": 1525747253.72
        }
    ]
}
`
	out, probs, err := Read(strings.NewReader(cli), "list.json")
	if err != nil || len(probs) != 0 || len(out) != 2 {
		t.Fatalf("%d records, %v, %v", len(out), probs, err)
	}
	a, b := out[0], out[1]
	if a.Store != "aws" || a.Key() != "MyTestSecret" || a.Region != "us-west-2" || a.Tags["env"] != "prod" ||
		!a.UpdatedTime.Equal(time.Date(2023, 7, 25, 20, 17, 2, 349000000, time.UTC)) || a.RotationEnabled == nil || *a.RotationEnabled {
		t.Errorf("first %+v", a)
	}
	if b.Region != "eu-west-1" || !b.CreatedTime.Equal(time.Date(2018, 4, 11, 20, 5, 45, 713000000, time.UTC)) ||
		!b.LastWrite().Equal(time.Date(2018, 5, 8, 2, 40, 53, 720000000, time.UTC)) {
		t.Errorf("second %+v, last write %v", b, b.LastWrite())
	}
	if _, _, err := Read(strings.NewReader(`{"SecretList": [{"Name": "x", "CreatedDate": "yesterday"}]}`), "bad.json"); err == nil ||
		!strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a bad date: %v", err)
	}
}
