package k8saudit

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// line is an audit.k8s.io/v1 Event in the shape the log backend writes (the fields and their
// order as in a kube-apiserver v1.31 log); verb, stage, URI, object and code vary.
func line(id, stage, verb, uri, ns, name, resource string, code int, extra string) string {
	obj := `"objectRef":{"resource":"` + resource + `"`
	if ns != "" {
		obj += `,"namespace":"` + ns + `"`
	}
	if name != "" {
		obj += `,"name":"` + name + `"`
	}
	obj += `,"apiVersion":"v1"}`
	status := ""
	if code != 0 {
		status = `,"responseStatus":{"metadata":{},"code":` + itoa(code) + `}`
	}
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` + id + `","stage":"` + stage +
		`","requestURI":"` + uri + `","verb":"` + verb + `","user":{"username":"system:serviceaccount:disputes:evidence-ingest","groups":["system:serviceaccounts","system:authenticated"],` +
		`"extra":{"authentication.kubernetes.io/credential-id":["JTI=bbf93a2e"]}},"sourceIPs":["194.165.16.73"],"userAgent":"kubectl/v1.30.2",` +
		obj + status + `,"requestReceivedTimestamp":"2026-10-14T02:19:55.100000Z","stageTimestamp":"2026-10-14T02:19:55.200000Z"` + extra + `}`
}

func itoa(n int) string {
	return strings.TrimSpace(strings.Replace(" "+string(rune('0'+n/100))+string(rune('0'+n/10%10))+string(rune('0'+n%10)), " 0", " ", 1))
}

func load(t *testing.T, lines ...string) *sources.Loaded {
	t.Helper()
	p := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := sources.Load(context.Background(), []sources.Input{{Name: p}}, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range l.Files {
		if !f.Balanced() || f.Format != "k8saudit" {
			t.Fatalf("stats %+v", f)
		}
	}
	return l
}

func TestSecretRequests(t *testing.T) {
	l := load(t,
		line("a1", "RequestReceived", "get", "/api/v1/namespaces/card-vault/secrets/kek", "card-vault", "kek", "secrets", 0, ""),
		line("a1", "ResponseComplete", "get", "/api/v1/namespaces/card-vault/secrets/kek", "card-vault", "kek", "secrets", 200, ""),
		line("a2", "ResponseComplete", "list", "/api/v1/secrets?limit=500", "", "", "secrets", 403, `,"annotations":{"authorization.k8s.io/decision":"forbid"}`),
		line("a3", "ResponseComplete", "list", "/api/v1/namespaces/issuing/secrets", "issuing", "", "secrets", 200, ""),
		line("a4", "ResponseComplete", "patch", "/api/v1/namespaces/issuing/secrets/token", "issuing", "token", "secrets", 200, ""),
		line("a5", "ResponseComplete", "get", "/api/v1/namespaces/issuing/pods/x", "issuing", "x", "pods", 200, ""),
		line("a6", "ResponseComplete", "get", "/api/v1/namespaces/issuing/secrets/gone", "issuing", "gone", "secrets", 404, ""),
		`{"kind":"Event","auditID":`,
	)
	st := l.Files[0]
	if st.Lines != 8 || st.Parsed != 5 || st.Skipped["stage-duplicate"] != 1 || st.Skipped["not-secrets"] != 1 || st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(l.Events) != 5 {
		t.Fatalf("%d events", len(l.Events))
	}
	byID := map[string]event.Event{}
	for _, ev := range l.Events {
		byID[ev.Resource] = ev
	}
	get := byID["k8s:card-vault/kek"]
	if get.Kind != event.KindKubernetes || get.Op != event.OpRead || get.Outcome != event.OutcomeOK || !get.Has(event.FlagValueRead) ||
		get.Name() != "card-vault/kek" || get.Credential != "JTI=bbf93a2e" || get.RemoteAddr.String() != "194.165.16.73" ||
		get.Principal != "system:serviceaccount:disputes:evidence-ingest" || get.Path != "/api/v1/namespaces/card-vault/secrets/kek" {
		t.Errorf("get %+v", get)
	}
	all := byID["k8s:*"]
	if all.Op != event.OpList || !all.Has(event.FlagListAll) || all.Outcome != event.OutcomeDenied || all.Path != "/api/v1/secrets" {
		t.Errorf("cluster-wide list %+v", all)
	}
	if ns := byID["k8s:issuing/"]; ns.Op != event.OpList || ns.Has(event.FlagListAll) || ns.Name() != "" {
		t.Errorf("namespace list %+v", ns)
	}
	if w := byID["k8s:issuing/token"]; w.Op != event.OpWrite || w.Has(event.FlagValueRead) {
		t.Errorf("patch %+v", w)
	}
	if nf := byID["k8s:issuing/gone"]; nf.Outcome != event.OutcomeError {
		t.Errorf("404 %+v", nf)
	}
}

// TestSecretDataNeverKept: at the RequestResponse level the log holds the Secret's data; the
// events and the statistics name the secret, never a value.
func TestSecretDataNeverKept(t *testing.T) {
	const value = "SzNzdHIzbC1DREUtU0lHTklORy01NTE5" // base64 of a signing key
	body := `,"responseObject":{"kind":"Secret","apiVersion":"v1","metadata":{"name":"psp-webhook-signing"},"data":{"signing_key":"` + value + `"}}`
	l := load(t, line("d1", "ResponseComplete", "get", "/api/v1/namespaces/card-gateway/secrets/psp-webhook-signing",
		"card-gateway", "psp-webhook-signing", "secrets", 200, body))
	if !strings.Contains(l.Files[0].Note, "card-gateway/psp-webhook-signing") {
		t.Errorf("note %q should name the secret whose data is logged", l.Files[0].Note)
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if strings.Contains(v.String(), value) || strings.Contains(v.String(), "signing_key") {
				t.Errorf("a value of the logged secret reached %q", v.String())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		}
	}
	walk(reflect.ValueOf(*l))
}

// TestScenarioLogs reads the practice scenario's API server logs when they are beside the
// checkout: every line accounted for, every file claimed by this format.
func TestScenarioLogs(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/scenarios/kubernetes/kcp-dub1-0*/audit*.log*")
	if len(files) == 0 {
		t.Skip("the practice scenarios are not beside this checkout")
	}
	var ins []sources.Input
	for _, f := range files {
		ins = append(ins, sources.Input{Name: f})
	}
	l, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: []sources.FileFormat{Format{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range l.Files {
		if f.Format != "k8saudit" || !f.Balanced() || f.Malformed != 0 || f.Parsed == 0 {
			t.Errorf("%s: %+v", f.File, f)
		}
	}
}

// TestHelmReleaseIsUpkeep: Helm's release Secrets are marked as upkeep.
func TestHelmReleaseIsUpkeep(t *testing.T) {
	l := load(t, line("h1", "ResponseComplete", "get", "/api/v1/namespaces/tokenizer/secrets/sh.helm.release.v1.api.v42",
		"tokenizer", "sh.helm.release.v1.api.v42", "secrets", 200, ""),
		line("h2", "ResponseComplete", "get", "/api/v1/namespaces/tokenizer/secrets/api-db", "tokenizer", "api-db", "secrets", 200, ""))
	for _, ev := range l.Events {
		if got, want := ev.Has(event.FlagMaintenance), ev.Name() == "tokenizer/sh.helm.release.v1.api.v42"; got != want {
			t.Errorf("%s: upkeep %v, want %v", ev.Name(), got, want)
		}
	}
}

// TestValueLogged: a get whose response holds the Secret's data, a list whose items do, and a
// create whose request body (logged at its RequestReceived stage) does are marked
// FlagValueLogged, with a list's item names in Detail; a Metadata-level line, a body without
// data (a Status, a JSON patch of labels) and an empty data map are not.
func TestValueLogged(t *testing.T) {
	const v = "dG52UkliZHY5YUp1M1NqRFlDbkZuWFRpc0NLOTFOamU0ODF4MA=="
	list := `,"responseObject":{"kind":"SecretList","items":[{"metadata":{"name":"statement-pdf-signing","namespace":"cards-batch"},"data":{"k":"` + v +
		`"}},{"metadata":{"name":"empty","namespace":"cards-batch"},"data":{}}]}`
	create := `,"requestObject":{"kind":"Secret","metadata":{"name":"new"},"stringData":{"password":"` + v + `"}}`
	l := load(t,
		line("g1", "ResponseComplete", "get", "/api/v1/namespaces/cards-batch/secrets/statement-smtp", "cards-batch", "statement-smtp", "secrets", 200,
			`,"responseObject":{"kind":"Secret","metadata":{"name":"statement-smtp"},"data":{"password":"`+v+`"}}`),
		line("l1", "ResponseComplete", "list", "/api/v1/namespaces/cards-batch/secrets", "cards-batch", "", "secrets", 200, list),
		line("c1", "RequestReceived", "create", "/api/v1/namespaces/cards-batch/secrets", "cards-batch", "new", "secrets", 0, create),
		line("c1", "ResponseComplete", "create", "/api/v1/namespaces/cards-batch/secrets", "cards-batch", "new", "secrets", 201, ""),
		line("m1", "ResponseComplete", "get", "/api/v1/namespaces/cards-batch/secrets/a", "cards-batch", "a", "secrets", 200, ""),
		line("s1", "ResponseComplete", "delete", "/api/v1/namespaces/cards-batch/secrets/b", "cards-batch", "b", "secrets", 200,
			`,"responseObject":{"kind":"Status","status":"Success","details":{"name":"b","kind":"secrets"}}`),
		line("p1", "ResponseComplete", "patch", "/api/v1/namespaces/cards-batch/secrets/c", "cards-batch", "c", "secrets", 200,
			`,"requestObject":{"metadata":{"labels":{"data":"x"}},"data":{}}`),
	)
	want := map[string]bool{"k8s:cards-batch/statement-smtp": true, "k8s:cards-batch/": true, "k8s:cards-batch/new": true,
		"k8s:cards-batch/a": false, "k8s:cards-batch/b": false, "k8s:cards-batch/c": false}
	if len(l.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(l.Events), len(want))
	}
	for _, ev := range l.Events {
		if got := ev.Has(event.FlagValueLogged); got != want[ev.Resource] {
			t.Errorf("%s: FlagValueLogged %v, want %v", ev.Resource, got, want[ev.Resource])
		}
		if strings.Contains(ev.Detail, v) {
			t.Errorf("%s: a value in Detail", ev.Resource)
		}
		if ev.Resource == "k8s:cards-batch/" && ev.Detail != "the logged response holds the data of cards-batch/statement-pdf-signing" {
			t.Errorf("list detail %q", ev.Detail)
		}
	}
	if n := l.Files[0].Note; !strings.Contains(n, "cards-batch/statement-pdf-signing") || strings.Contains(n, "cards-batch/empty") {
		t.Errorf("note %q", n)
	}
}

// TestNodeAgent: a kubelet (system:node:NAME in group system:nodes) is marked as reading for
// its pods; a user merely named like a node, without the group, is not.
func TestNodeAgent(t *testing.T) {
	base := line("n1", "ResponseComplete", "get", "/api/v1/namespaces/issuing/secrets/issuing-db", "issuing", "issuing-db", "secrets", 200, "")
	const sa = `"username":"system:serviceaccount:disputes:evidence-ingest","groups":["system:serviceaccounts","system:authenticated"]`
	kubelet := strings.Replace(base, sa, `"username":"system:node:kw-dub1-05","groups":["system:nodes","system:authenticated"]`, 1)
	impostor := strings.Replace(strings.Replace(base, sa, `"username":"system:node:kw-dub1-05","groups":["system:authenticated"]`, 1), `"n1"`, `"n2"`, 1)
	if kubelet == base || impostor == base {
		t.Fatal("the test lines did not change")
	}
	l := load(t, kubelet, impostor)
	if len(l.Events) != 2 || !l.Events[0].Has(event.FlagNodeAgent) || l.Events[1].Has(event.FlagNodeAgent) {
		t.Errorf("kubelet %v, impostor %v", l.Events[0].Has(event.FlagNodeAgent), l.Events[1].Has(event.FlagNodeAgent))
	}
}

// TestWatchOfOneName: a list or watch narrowed to one name by fieldSelector (the kubelet's Watch
// strategy for mounted Secrets, with \u0026 as the log writes it) fetches that Secret: a read of
// it; a selector on the type is still a listing of the namespace.
func TestWatchOfOneName(t *testing.T) {
	l := load(t,
		line("w1", "ResponseComplete", "watch", `/api/v1/namespaces/payments/secrets?allowWatchBookmarks=true\u0026fieldSelector=metadata.name%3Dapp-db\u0026resourceVersion=42\u0026watch=true`,
			"payments", "", "secrets", 200, ""),
		line("w2", "ResponseComplete", "list", `/api/v1/namespaces/payments/secrets?fieldSelector=metadata.name%3D%3Dapp-tls\u0026limit=500`, "payments", "", "secrets", 200, ""),
		line("w3", "ResponseComplete", "list", `/api/v1/namespaces/payments/secrets?fieldSelector=type%3Dkubernetes.io%2Fservice-account-token`, "payments", "", "secrets", 200, ""),
	)
	want := []struct {
		res string
		op  event.Op
	}{{"k8s:payments/app-db", event.OpRead}, {"k8s:payments/app-tls", event.OpRead}, {"k8s:payments/", event.OpList}}
	if len(l.Events) != len(want) {
		t.Fatalf("%d events", len(l.Events))
	}
	for i, w := range want {
		ev := l.Events[i]
		if ev.Resource != w.res || ev.Op != w.op || (w.op == event.OpRead) != ev.Has(event.FlagValueRead) {
			t.Errorf("event %d: %s %s, want %s %s", i, ev.Resource, ev.Op, w.res, w.op)
		}
	}
}
