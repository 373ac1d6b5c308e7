package cloudtrail

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// ssmRecord is one ssm.amazonaws.com record by an IAM user.
func ssmRecord(name, params, errorCode string) []byte {
	r := map[string]any{
		"eventVersion": "1.08", "eventTime": "2026-09-21T10:00:00Z", "eventSource": SourceSSM, "eventName": name,
		"eventType": "AwsApiCall", "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2",
		"eventID": "id-" + name, "recipientAccountId": "123456789012",
		"userIdentity":      map[string]any{"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
		"requestParameters": json.RawMessage(params),
	}
	if errorCode != "" {
		r["errorCode"] = errorCode
	}
	b, _ := json.Marshal(r)
	return b
}

// ssmEventsOf decodes raw with sonic and with the fast path, checks both agree, and returns the events.
func ssmEventsOf(t *testing.T, raw []byte) []event.Event {
	t.Helper()
	if !checkCTFastMatchesSonic(t, raw) {
		t.Fatalf("SSM record not on the fast path: %s", raw)
	}
	var r ctRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return normalizeRecord(&r, time.Date(2026, 9, 21, 10, 0, 0, 0, time.UTC), event.Pos{File: "x", Line: 1}, sources.NewInterner().Local())
}

func TestSSMMapping(t *testing.T) {
	type ev struct {
		Op       event.Op
		Resource string
		Name     string
		Flags    event.Flags
		Outcome  event.Outcome
	}
	const vr, all = event.FlagValueRead, event.FlagListAll
	tests := []struct {
		name, api, params, errorCode string
		want                         []ev
	}{
		{"GetParameter decrypted", "GetParameter", `{"name":"/prod/db/password","withDecryption":true}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", vr, event.OutcomeOK}}},
		{"GetParameter without decryption is a read without the value", "GetParameter", `{"name":"/prod/db/password","withDecryption":false}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeOK}}},
		{"GetParameter without the flag at all", "GetParameter", `{"name":"/prod/db/password"}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeOK}}},
		{"GetParameter by ARN is the same parameter", "GetParameter", `{"name":"arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password","withDecryption":true}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", vr, event.OutcomeOK}}},
		{"selectors stripped", "GetParameters", `{"names":["/prod/db/password:3","/prod/db/user:live","arn:aws:ssm:eu-west-1:123456789012:parameter/prod/x:2"],"withDecryption":true}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", vr, event.OutcomeOK},
				{event.OpRead, "ssm:/prod/db/user", "/prod/db/user", vr, event.OutcomeOK},
				{event.OpRead, "ssm:/prod/x", "/prod/x", vr, event.OutcomeOK}}},
		{"a name without a slash and its ARN agree", "GetParameters", `{"names":["helloWorld","arn:aws:ssm:eu-west-1:123456789012:parameter/helloWorld"]}`, "",
			[]ev{{event.OpRead, "ssm:/helloWorld", "/helloWorld", 0, event.OutcomeOK},
				{event.OpRead, "ssm:/helloWorld", "/helloWorld", 0, event.OutcomeOK}}},
		{"denied read keeps Denied and has no value", "GetParameter", `{"name":"/prod/db/password","withDecryption":true}`, "AccessDenied",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeDenied}}},
		{"denied AccessDeniedException", "GetParameters", `{"names":["/a"],"withDecryption":true}`, "AccessDeniedException",
			[]ev{{event.OpRead, "ssm:/a", "/a", 0, event.OutcomeDenied}}},
		{"history", "GetParameterHistory", `{"name":"/prod/db/password","withDecryption":true}`, "",
			[]ev{{event.OpRead, "ssm:/prod/db/password", "/prod/db/password", vr, event.OutcomeOK}}},
		{"by path decrypted", "GetParametersByPath", `{"path":"/prod","recursive":false,"withDecryption":true}`, "",
			[]ev{{event.OpList, "ssm:/prod/", "", vr, event.OutcomeOK}}},
		{"by path recursive from the root lists all", "GetParametersByPath", `{"path":"/","recursive":true}`, "",
			[]ev{{event.OpList, "ssm:/**", "", all, event.OutcomeOK}}},
		{"describe without filters lists all", "DescribeParameters", `{"maxResults":10}`, "",
			[]ev{{event.OpList, "ssm:*", "", all, event.OutcomeOK}}},
		{"describe with a name filter", "DescribeParameters", `{"parameterFilters":[{"key":"Name","option":"BeginsWith","values":["/prod"]}]}`, "",
			[]ev{{event.OpList, "ssm:/prod", "", 0, event.OutcomeOK}}},
		{"describe with a type filter is not narrowed by name", "DescribeParameters", `{"filters":[{"key":"Type","values":["SecureString"]}]}`, "",
			[]ev{{event.OpList, "ssm:*", "", 0, event.OutcomeOK}}},
		{"put", "PutParameter", `{"name":"/prod/db/password","type":"SecureString","value":"HIDDEN_DUE_TO_SECURITY_REASONS","overwrite":true}`, "",
			[]ev{{event.OpWrite, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeOK}}},
		{"label", "LabelParameterVersion", `{"name":"/prod/db/password","parameterVersion":3,"labels":["live"]}`, "",
			[]ev{{event.OpWrite, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeOK}}},
		{"delete", "DeleteParameter", `{"name":"/prod/db/password"}`, "",
			[]ev{{event.OpDelete, "ssm:/prod/db/password", "/prod/db/password", 0, event.OutcomeOK}}},
		{"delete several", "DeleteParameters", `{"names":["/a","/b"]}`, "",
			[]ev{{event.OpDelete, "ssm:/a", "/a", 0, event.OutcomeOK}, {event.OpDelete, "ssm:/b", "/b", 0, event.OutcomeOK}}},
		{"other SSM calls are other", "SendCommand", `{"documentName":"AWS-RunShellScript"}`, "",
			[]ev{{event.OpOther, "", "", 0, event.OutcomeOK}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ev
			for _, e := range ssmEventsOf(t, ssmRecord(tt.api, tt.params, tt.errorCode)) {
				if e.Principal != "arn:aws:iam::123456789012:user/alice" || e.Action != tt.api {
					t.Errorf("principal %q action %q", e.Principal, e.Action)
				}
				got = append(got, ev{e.Op, e.Resource, e.Name(), e.Flags & (vr | all), e.Outcome})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestSSMGetParametersOneEventPerName: a GetParameters of N names is N reads.
func TestSSMGetParametersOneEventPerName(t *testing.T) {
	names := make([]string, 10)
	for i := range names {
		names[i] = "/app/p" + string(rune('a'+i))
	}
	b, _ := json.Marshal(map[string]any{"names": names, "withDecryption": true})
	evs := ssmEventsOf(t, ssmRecord("GetParameters", string(b), ""))
	if len(evs) != 10 {
		t.Fatalf("%d events, want 10", len(evs))
	}
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Resource] = true
	}
	if len(seen) != 10 {
		t.Errorf("%d distinct resources, want 10", len(seen))
	}
}

// TestSSMPutParameterValueNeverKept: whatever PutParameter's value holds, no string field of
// any event carries it.
func TestSSMPutParameterValueNeverKept(t *testing.T) {
	const secret = "s3cr3t-VALUE-ssm-xyz"
	for _, params := range []string{
		`{"name":"/prod/db/password","type":"SecureString","value":"` + secret + `"}`,
		`{"value":"` + secret + `","name":"/prod/db/password","overwrite":true,"description":"x"}`,
		`{"name":"/prod/db/password","value":{"v":"` + secret + `"}}`, // an odd type: parameters to sonic
	} {
		raw := ssmRecord("PutParameter", params, "")
		var r ctRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		checkCTFastMatchesSonic(t, raw)
		evs := normalizeRecord(&r, time.Now(), event.Pos{File: "x", Line: 1}, sources.NewInterner().Local())
		if len(evs) == 0 {
			t.Fatal("no event")
		}
		for _, e := range evs {
			walkStrings(reflect.ValueOf(e), func(s string) {
				if strings.Contains(s, secret) {
					t.Errorf("value in an event field: %q", s)
				}
			})
		}
	}
}

func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			walkStrings(v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fn)
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	}
}

// TestSSMStratusDetonation reads the Stratus Red Team detonation excerpt: 2 listings of every
// parameter and 12 decrypted reads of 12 distinct parameters by one IAM user.
func TestSSMStratusDetonation(t *testing.T) {
	l := loadCT(t, ctData+"/stratus-aws.credential-access.ssm-retrieve-securestring-parameters.json")
	var lists, reads int
	res := map[string]bool{}
	for _, e := range l.Events {
		if e.Principal != "arn:aws:iam::933175858973:user/christophe" {
			t.Errorf("principal %q", e.Principal)
		}
		switch {
		case e.Op == event.OpList && e.Has(event.FlagListAll):
			lists++
		case e.Op == event.OpRead && e.Has(event.FlagValueRead):
			reads++
			res[e.Resource] = true
		default:
			t.Errorf("unexpected event %+v", e)
		}
	}
	if lists != 2 || reads != 12 || len(res) != 12 || !res["ssm:/credentials/stratus-red-team/credentials-40"] {
		t.Errorf("%d listings, %d reads of %d parameters", lists, reads, len(res))
	}
}
