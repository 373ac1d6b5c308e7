package k8saudit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

const fixtures = "../../testdata/k8saudit"

// loadFile reads one fixture through Load, so that detection is part of the test.
func loadFile(t *testing.T, p string) *sources.Loaded {
	t.Helper()
	l, err := sources.Load(context.Background(), []sources.Input{{Name: p}}, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != 1 || l.Files[0].Format != "k8saudit" || !l.Files[0].Balanced() {
		t.Fatalf("%s: stats %+v", p, l.Files)
	}
	return l
}

// seen is what a detector reads of an event; groups and the credential id are left out, as
// GKE's entries carry neither.
type seen struct {
	Principal, Addr, UserAgent, Resource, Name, Path, Action string
	Op                                                       event.Op
	Outcome                                                  event.Outcome
	Time                                                     time.Time
	Flags                                                    event.Flags
}

func seenOf(evs []event.Event) []seen {
	var out []seen
	for _, ev := range evs {
		out = append(out, seen{ev.Principal, ev.RemoteAddr.String(), ev.UserAgent, ev.Resource, ev.Name(), ev.Path, ev.Action,
			ev.Op, ev.Outcome, ev.Time, ev.Flags})
	}
	return out
}

// TestWrappersSameRequest: the same three Secret requests (and one on a lease), logged natively
// and shipped by GKE, AKS and EKS, give the same events.
func TestWrappersSameRequest(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	want := []seen{
		{"attacker@example.com", "203.0.113.42", "kubectl/v1.28.0", "k8s:production/db-credentials", "production/db-credentials",
			"/api/v1/namespaces/production/secrets/db-credentials", "get", event.OpRead, event.OutcomeOK, at("2025-07-16T10:12:56.525137Z"), event.FlagValueRead | event.FlagInteractive},
		{"user@company.com", "8.8.8.8", "kubectl/v1.28.0", "k8s:production/tls-cert", "production/tls-cert",
			"/api/v1/namespaces/production/secrets/tls-cert", "get", event.OpRead, event.OutcomeDenied, at("2025-07-16T10:13:02.104511Z"), event.FlagValueRead | event.FlagInteractive},
		{"compromised-user@example.com", "1.2.3.4", "kubectl/v1.28.0", "k8s:*", "", "/api/v1/secrets", "list",
			event.OpList, event.OutcomeOK, at("2025-07-16T10:13:40.880912Z"), event.FlagListAll | event.FlagInteractive},
	}
	for _, c := range []struct {
		file  string
		lines int // requests: a batch line counts one per request
	}{
		{"native.log", 4},
		{"gke.log", 4},
		{"aks.log", 4},
		{"aks-records.json", 4},
		{"eks-filter-log-events.json", 4},
		{"eks-subscription.json", 4},
	} {
		t.Run(c.file, func(t *testing.T) {
			l := loadFile(t, filepath.Join(fixtures, "same-request", c.file))
			st := l.Files[0]
			if st.Lines != c.lines || st.Parsed != 3 || st.Malformed != 0 || st.Skipped["not-secrets"] != 1 {
				t.Errorf("stats %+v", st)
			}
			if got := seenOf(l.Events); !reflect.DeepEqual(got, want) {
				t.Errorf("events\n got %+v\nwant %+v", got, want)
			}
			for _, ev := range l.Events {
				if ev.Kind != event.KindKubernetes || ev.Pos.Line == 0 {
					t.Errorf("kind %v, position %+v", ev.Kind, ev.Pos)
				}
			}
		})
	}
}

// TestWrappersRealRecords: Elastic's and Panther's test records. Elastic's (native, GKE, AKS
// with the event as an object or as a string) are on leases, pods and readyz: all read, all
// skipped. Panther's GKE and AKS Secret events are trimmed by hand and lack an id and a time:
// each is an error at its line, not an event.
func TestWrappersRealRecords(t *testing.T) {
	for _, c := range []struct {
		file     string
		skipped  int
		problems []sources.Problem
	}{
		{"elastic-test-audit.log", 5, nil},
		{"elastic-test-kube-audit.log", 1, nil},
		{"panther-tests.jsonl", 0, []sources.Problem{
			{Line: 1, Reason: "AKS record without an audit event (no auditID or verb)"},
			{Line: 2, Reason: "GKE entry without insertId or operation.id"},
			{Line: 3, Reason: "AKS record without an audit event (no auditID or verb)"},
			{Line: 4, Reason: "GKE entry without insertId or operation.id"},
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			l := loadFile(t, filepath.Join(fixtures, c.file))
			st := l.Files[0]
			if st.Skipped["not-secrets"] != c.skipped || len(l.Events) != 0 {
				t.Errorf("stats %+v, %d events", st, len(l.Events))
			}
			if !reflect.DeepEqual(st.Problems, c.problems) {
				t.Errorf("problems\n got %+v\nwant %+v", st.Problems, c.problems)
			}
		})
	}
}

// wrapAKS, wrapCW and gkeEntry build the wrappers around a native line for the cases below.
func wrapAKS(category, native string) string {
	return `{"category":"` + category + `","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{"log":` +
		fmt.Sprintf("%q", native) + `},"time":"2026-10-14T02:19:56Z"}`
}

func wrapCW(stream, message string) string {
	return `{"logStreamName":"` + stream + `","timestamp":1791944396000,"message":` + fmt.Sprintf("%q", message) + `}`
}

func gkeEntry(service, method, resource, principal string, code int, extra string) string {
	return `{"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"` + principal +
		`"},"methodName":"` + method + `","requestMetadata":{"callerIp":"194.165.16.73","callerSuppliedUserAgent":"kubectl/v1.30.2"},"resourceName":"` +
		resource + `","serviceName":"` + service + `","status":{"code":` + fmt.Sprint(code) + `}` + extra + `},"insertId":"i1",` +
		`"timestamp":"2026-10-14T02:19:55.1Z","logName":"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access","operation":{"id":"op-1"}}`
}

// TestWrappersAccounting: every request a wrapper holds is parsed, skipped or malformed with its
// line; a wrapper whose event lacks a user or a verb is an error, not an empty event.
func TestWrappersAccounting(t *testing.T) {
	get := line("w1", "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "")
	noUser := strings.Replace(get, `"username":"system:serviceaccount:disputes:evidence-ingest",`, "", 1)
	noVerb := strings.Replace(get, `"verb":"get",`, "", 1)
	noTime := strings.NewReplacer(`,"requestReceivedTimestamp":"2026-10-14T02:19:55.100000Z"`, "", `,"stageTimestamp":"2026-10-14T02:19:55.200000Z"`, "").Replace(get)
	for _, c := range []struct {
		name    string
		line    string
		parsed  int
		skipped map[string]int
		bad     []string
	}{
		{"AKS", wrapAKS("kube-audit", get), 1, nil, nil},
		{"AKS admin category", wrapAKS("kube-audit-admin", get), 1, nil, nil},
		{"AKS other category", wrapAKS("guard", get), 0, map[string]int{"not-kube-audit": 1}, nil},
		{"AKS event without a user", wrapAKS("kube-audit", noUser), 0, nil, []string{"AKS audit event without a user"}},
		{"AKS event without a verb", wrapAKS("kube-audit", noVerb), 0, nil, []string{"AKS record without an audit event (no auditID or verb)"}},
		{"AKS event without its time takes the record's", wrapAKS("kube-audit", noTime), 1, nil, nil},
		{"AKS without properties.log", `{"category":"kube-audit","properties":{}}`, 0, nil, []string{"AKS record without properties.log"}},
		{"AKS log not JSON", `{"category":"kube-audit","properties":{"log":"I1014 02:19:55 started"}}`, 0, nil,
			[]string{"invalid audit event in properties.log: syntax error at offset 1: invalid char"}},
		{"AKS batch, one bad", `{"records":[` + wrapAKS("kube-audit", get) + `,{"operationName":"x"},` + wrapAKS("kube-audit", noUser) + `]}`, 1, nil,
			[]string{"record 2: not an AKS diagnostic record (no category or properties)", "record 3: AKS audit event without a user"}},
		{"AKS empty batch", `{"records":[]}`, 0, map[string]int{"empty-batch": 1}, nil},
		{"CloudWatch", `{"events":[` + wrapCW("kube-apiserver-audit-1", get) + `],"searchedLogStreams":[]}`, 1, nil, nil},
		{"CloudWatch other stream", `{"events":[` + wrapCW("authenticator-1", "time=x msg=y") + `,` + wrapCW("kube-apiserver-audit-1", get) + `]}`, 1,
			map[string]int{"not-audit-stream": 1}, nil},
		{"CloudWatch message not an event", `{"events":[` + wrapCW("kube-apiserver-audit-1", "{") + `]}`, 0, nil,
			[]string{"CloudWatch message is not an audit event: truncated entry (unexpected end of line)"}},
		{"CloudWatch event without a user", `{"events":[` + wrapCW("kube-apiserver-audit-1", noUser) + `]}`, 0, nil, []string{"CloudWatch audit event without a user"}},
		{"subscription", `{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","logEvents":[{"id":"1","timestamp":1791944396000,"message":` +
			fmt.Sprintf("%q", noTime) + `}]}`, 1, nil, nil},
		{"subscription control message", `{"messageType":"CONTROL_MESSAGE","logGroup":"","logStream":"","logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`,
			0, map[string]int{"control-message": 1}, nil},
		{"GKE", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "alice@example.com", 0, ""), 1, nil, nil},
		{"GKE other service", gkeEntry("secretmanager.googleapis.com", "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
			"projects/1/secrets/s/versions/1", "alice@example.com", 0, ""), 0, map[string]int{"not-kubernetes": 1}, nil},
		{"GKE pods", gkeEntry("k8s.io", "io.k8s.core.v1.pods.get", "core/v1/namespaces/n/pods/p", "alice@example.com", 0, ""), 0, map[string]int{"not-secrets": 1}, nil},
		{"GKE subresource", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.status.get", "core/v1/namespaces/n/secrets/s/status", "alice@example.com", 0, ""), 0,
			map[string]int{"not-secrets": 1}, nil},
		{"GKE without a principal", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "", 0, ""), 0, nil,
			[]string{"GKE audit event without a user"}},
		{"GKE without a method", gkeEntry("k8s.io", "", "core/v1/namespaces/n/secrets/s", "alice@example.com", 0, ""), 0, nil,
			[]string{"GKE entry without a methodName"}},
		{"neither", `{"level":"info","msg":"started"}`, 0, nil, []string{"not an audit event (no auditID or verb)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st sources.FileStats
			b := read([]byte(c.line+"\n"), &st)
			var bad []string
			for _, p := range st.Problems {
				if p.Line != 1 {
					t.Errorf("problem at line %d", p.Line)
				}
				bad = append(bad, p.Reason)
			}
			if st.Parsed != c.parsed || b.Events.Len() != c.parsed || !st.Balanced() || st.Malformed != len(c.bad) {
				t.Errorf("stats %+v, %d events", st, b.Events.Len())
			}
			if !reflect.DeepEqual(bad, c.bad) {
				t.Errorf("problems\n got %q\nwant %q", bad, c.bad)
			}
			for k, n := range c.skipped {
				if st.Skipped[k] != n {
					t.Errorf("skipped %v, want %s: %d", st.Skipped, k, n)
				}
			}
		})
	}
}

// TestWrappersTimeAndOutcome: a wrapper's own time stands in for an event without one, and
// GKE's google.rpc codes read as the HTTP statuses they replace.
func TestWrappersTimeAndOutcome(t *testing.T) {
	get := line("w1", "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "")
	noTime := strings.NewReplacer(`,"requestReceivedTimestamp":"2026-10-14T02:19:55.100000Z"`, "", `,"stageTimestamp":"2026-10-14T02:19:55.200000Z"`, "").Replace(get)
	for _, c := range []struct {
		name    string
		line    string
		time    string
		outcome event.Outcome
	}{
		{"AKS record time", wrapAKS("kube-audit", noTime), "2026-10-14T02:19:56Z", event.OutcomeOK},
		{"CloudWatch timestamp", `{"events":[` + wrapCW("kube-apiserver-audit-1", noTime) + `]}`, "2026-10-14T02:19:56Z", event.OutcomeOK},
		{"GKE denied", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "a@example.com", 7, ""), "2026-10-14T02:19:55.1Z", event.OutcomeDenied},
		{"GKE unauthenticated", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "a@example.com", 16, ""), "2026-10-14T02:19:55.1Z", event.OutcomeDenied},
		{"GKE not found", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "a@example.com", 5, ""), "2026-10-14T02:19:55.1Z", event.OutcomeError},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st sources.FileStats
			b := read([]byte(c.line+"\n"), &st)
			evs := b.Events.Flat()
			if len(evs) != 1 {
				t.Fatalf("stats %+v", st)
			}
			if got := evs[0].Time.Format(time.RFC3339Nano); got != c.time || evs[0].Outcome != c.outcome {
				t.Errorf("time %s outcome %v, want %s %v", got, evs[0].Outcome, c.time, c.outcome)
			}
		})
	}
}

// TestWrappersSecretDataNeverKept: GKE's request/response and an AKS event at the
// RequestResponse level hold the Secret's data; the events and statistics name the secret only.
func TestWrappersSecretDataNeverKept(t *testing.T) {
	const value = "SzNzdHIzbC1DREUtU0lHTklORy01NTE5"
	body := `"kind":"Secret","apiVersion":"v1","metadata":{"name":"psp-webhook-signing"},"data":{"signing_key":"` + value + `"}`
	native := line("d1", "ResponseComplete", "get", "/api/v1/namespaces/card-gateway/secrets/psp-webhook-signing",
		"card-gateway", "psp-webhook-signing", "secrets", 200, `,"responseObject":{`+body+`}`)
	p := filepath.Join(t.TempDir(), "wrapped.log")
	data := gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/card-gateway/secrets/psp-webhook-signing", "a@example.com", 0,
		`,"response":{"@type":"core.k8s.io/v1.Secret",`+body+`}`) + "\n" + wrapAKS("kube-audit", native) + "\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	l := loadFile(t, p)
	if len(l.Events) != 2 || !strings.Contains(l.Files[0].Note, "card-gateway/psp-webhook-signing") {
		t.Errorf("%d events, note %q should name the secret whose data is logged", len(l.Events), l.Files[0].Note)
	}
	if s := fmt.Sprintf("%+v", *l); strings.Contains(s, value) || strings.Contains(s, "signing_key") {
		t.Error("a value of the logged secret reached the loaded events or statistics")
	}
}

// TestSniffWrappers: the wrappers of audit events are claimed; other JSON beside them, and the
// other stores' logs, are not.
func TestSniffWrappers(t *testing.T) {
	get := line("w1", "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "")
	for _, c := range []struct {
		name string
		data string
		want bool
	}{
		{"GKE", gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "a@example.com", 0, ""), true},
		{"AKS", wrapAKS("kube-audit", get), true},
		{"AKS batch", `{"records":[` + wrapAKS("kube-audit-admin", get) + `]}`, true},
		{"filter-log-events", `{"events":[` + wrapCW("kube-apiserver-audit-1", get) + `],"searchedLogStreams":[]}`, true},
		{"get-log-events", `{"events":[{"timestamp":1,"message":"{}","ingestionTime":2}],"nextForwardToken":"f/1","nextBackwardToken":"b/1"}`, true},
		{"subscription", `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","logEvents":[]}`, true},
		{"after a damaged line", "garbage\n" + wrapAKS("kube-audit", get), true},

		{"CloudTrail record", `{"eventVersion":"1.08","eventTime":"2026-09-23T10:00:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue"}`, false},
		{"Vault audit line", `{"time":"2026-09-23T10:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:aa"},"request":{"id":"1","operation":"read","path":"kv/data/a"}}`, false},
		{"generic JSON log", `{"timestamp":"2026-09-23T10:00:00Z","level":"info","message":"GET /healthz 200","category":"http"}`, false},
		{"generic events list", `{"events":[{"timestamp":1,"message":"deploy done"}],"page":2}`, false},
		{"Azure Key Vault record", `{"time":"2026-09-23T10:00:00Z","resourceId":"/SUBSCRIPTIONS/1/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV","operationName":"SecretGet","category":"AuditEvent","properties":{"id":"https://kv.vault.azure.net/secrets/a"}}`, false},
		{"Azure Key Vault batch", `{"records":[{"time":"2026-09-23T10:00:00Z","operationName":"SecretGet","category":"AuditEvent","properties":{}}]}`, false},
		{"GCP Secret Manager entry", gkeEntry("secretmanager.googleapis.com", "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion", "projects/1/secrets/s", "a@example.com", 0, ""), false},
		{"CloudWatch export of a Lambda", `{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"2026/09/23/[$LATEST]ab","logEvents":[]}`, false},
		{"CloudWatch output of another stream", `{"events":[` + wrapCW("authenticator-1", "x") + `]}`, false},
		// A value inside a request never decides: a log line that quotes a wrapper is still a log line.
		{"quoted wrapper", `{"level":"info","msg":` + fmt.Sprintf("%q", wrapAKS("kube-audit", get)) + `}`, false},
		{"array of GKE entries", "[" + gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/secrets", "a@example.com", 0, "") + "]", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := []byte(c.data + "\n")
			if got := (Format{}).Sniff("x.json", sources.ScanHead(data, true)); got != c.want {
				t.Errorf("sniffed %v, want %v", got, c.want)
			}
		})
	}
}
