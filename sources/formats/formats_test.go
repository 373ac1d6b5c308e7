package formats

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/vaultsentry/vaultsentry/sources"
)

// sniffName is the name of the first of Files() that claims data, or "".
func sniffName(name string, data []byte) string {
	h := sources.ScanHead(data[:min(len(data), sources.HeadBytes)], len(data) <= sources.HeadBytes)
	if i := sources.Detect(Files(), name, h); i >= 0 {
		return Files()[i].Name()
	}
	return ""
}

// TestSniffRealFiles: every copied corpus file is claimed by its own format and by no other.
func TestSniffRealFiles(t *testing.T) {
	for dir, want := range map[string]string{"../../testdata/vault": "vault", "../../testdata/cloudtrail": "cloudtrail"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		n := 0
		for _, p := range files {
			if strings.HasSuffix(p, ".md") {
				continue
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(zr)
				data = buf.Bytes()
			}
			n++
			if got := sniffName(p, data); got != want {
				t.Errorf("%s: sniffed %q, want %q", p, got, want)
			}
			// And each format alone: the other one never claims it.
			h := sources.ScanHead(data[:min(len(data), sources.HeadBytes)], len(data) <= sources.HeadBytes)
			for _, ff := range Files() {
				if ff.Name() != want && ff.Sniff(p, h) {
					t.Errorf("%s: %s claims a %s file", p, ff.Name(), want)
				}
			}
		}
		if n < 5 {
			t.Fatalf("%s: only %d files", dir, n)
		}
	}
}

// TestSniffShapes: the shapes that real logs and the files beside them take.
func TestSniffShapes(t *testing.T) {
	vaultLine := `{"time":"2026-09-23T10:00:00Z","type":"request","auth":{"accessor":"hmac-sha256:aa"},"request":{"id":"1","operation":"read","path":"kv/data/a"}}`
	record := `{"eventVersion":"1.08","eventTime":"2026-09-23T10:00:00Z","eventSource":"secretsmanager.amazonaws.com","eventName":"GetSecretValue"}`
	for _, c := range []struct {
		name, data, want, describe string
	}{
		{"audit.log", vaultLine + "\n" + vaultLine + "\n", "vault", ""},
		{"damaged-first.log", "garbage\n" + vaultLine + "\n", "vault", ""},
		{"prefixed.log", "bao-audit: " + vaultLine + "\n", "vault", ""},
		{"bracket-prefixed.log", "[vault-bo] " + vaultLine + "\n", "vault", ""},
		{"s3.json", `{"Records":[` + record + `,` + strings.Repeat(record+",", 2000) + record + `]}`, "cloudtrail", ""},
		{"records.ndjson", record + "\n" + record + "\n", "cloudtrail", ""},
		{"array.json", "[\n  " + record + "\n]", "cloudtrail", ""},
		{"pretty.json", "{\n  \"Records\": [\n    " + record + "\n  ]\n}\n", "cloudtrail", ""},
		{"lookup.json", `{"Events":[{"EventId":"1","CloudTrailEvent":"{}"}],"NextToken":"x"}`, "cloudtrail", ""},
		{"eventbridge.json", `{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.secretsmanager","detail":` + record + `}`, "cloudtrail", ""},
		{"empty-s3.json", `{"Records":[]}`, "cloudtrail", ""},
		{"kube-apiserver-audit.log", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"7f24","stage":"ResponseComplete","requestURI":"/api/v1/secrets","verb":"list","user":{"username":"system:kube-controller-manager"}}` + "\n", "k8saudit", ""},
		// Not logs, and what they are said to be.
		{"values.yaml", "replicaCount: 2\nimage:\n  tag: 1.2\n", "", "YAML"},
		{"README.md", "# Logs\n\nSee below.\n", "", "Markdown or a commented text file"},
		{"page.html", "<!DOCTYPE html>\n<html></html>\n", "", "HTML"},
		{"blob.bin", "\x00\x01\x02\xff\xfe", "", "binary data"},
		{"package.json", `{"name":"x","version":"1"}`, "", `a JSON object with keys "name", "version"`},
		{"strings.json", `["a","b"]`, "", "text"},
		{"k8s-list.json", `{"apiVersion":"v1","kind":"List","items":[]}`, "", `a JSON object with keys "apiVersion", "kind", "items"`},
		// A value never decides: a Vault path that names a CloudTrail key is still a Vault entry.
		{"vault-odd-path.log", strings.Replace(vaultLine, "kv/data/a", `kv/data/eventVersion\"Records`, 1) + "\n", "vault", ""},
	} {
		if got := sniffName(c.name, []byte(c.data)); got != c.want {
			t.Errorf("%s: sniffed %q, want %q", c.name, got, c.want)
		}
		if c.describe != "" {
			if got := sources.ScanHead([]byte(c.data), true).Describe(); got != c.describe {
				t.Errorf("%s: described as %q, want %q", c.name, got, c.describe)
			}
		}
	}
}

// TestScanHeadCut: a value cut off by the end of the head still gives its first keys.
func TestScanHeadCut(t *testing.T) {
	h := sources.ScanHead([]byte(`{"Records":[{"eventVersion":"1.08","eventTi`), false)
	if len(h.Values) != 1 || !h.Values[0].Has("Records") {
		t.Fatalf("values %+v", h.Values)
	}
}

// TestSniffShipped: Vault entries as log stores keep them are claimed by the vault format and
// by no other; the same wrappers around another log are claimed by none.
func TestSniffShipped(t *testing.T) {
	lifted := `{"time":"2026-09-23T10:00:00Z","type":"request","auth_accessor":"hmac-sha256:a","auth_display_name":"ci","request_id":"r1","request_operation":"read","request_path":"kv/data/x","request_namespace":{"id":"root"}}`
	noType := `{"request_id":"r1","request_operation":"read","request_path":"kv/data/x","auth_display_name":"ci"}`
	esc := strings.NewReplacer(`"`, `\"`).Replace
	for name, tt := range map[string]struct {
		data string
		want string
	}{
		"fluent bit lift":               {lifted, "vault"},
		"fluent bit lift, labels moved": {noType, "vault"},
		"loki jsonl":                    {`{"labels":{"type":"request"},"line":"` + esc(noType) + `","timestamp":"2026-09-23T10:00:00Z"}`, "vault"},
		"loki query_range":              {`{"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"v"},"values":[["1758621600000000000","` + esc(lifted) + `"]]}]}}`, "vault"},
		"elastic document":              {`{"@timestamp":"2026-09-23T10:00:00Z","hashicorp_vault":{"audit":{"type":"request"}}}`, "vault"},
		"elastic hit":                   {`{"_index":"logs","_source":{"hashicorp_vault":{"audit":{}}}}`, "vault"},
		"elastic _search":               {`{"took":1,"hits":{"total":{"value":1},"hits":[{"_source":{"event":{},"hashicorp_vault":{"audit":{}}}}]}}`, "vault"},
		"loki jsonl of kubernetes":      {`{"labels":{},"line":"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"auditID\":\"a\"}","timestamp":"2026-09-23T10:00:00Z"}`, ""},
		"_search of other logs":         {`{"took":1,"hits":{"hits":[{"_source":{"message":"x"}}]}}`, ""},
		"app log with request_id":       {`{"time":"2026-09-23T10:00:00Z","request_id":"x","request_path":"/"}`, ""},
	} {
		data := []byte(tt.data + "\n")
		if got := sniffName("x.log", data); got != tt.want {
			t.Errorf("%s: sniffed %q, want %q", name, got, tt.want)
		}
		h := sources.ScanHead(data, true)
		for _, ff := range Files() {
			if ff.Name() != "vault" && ff.Sniff("x.log", h) {
				t.Errorf("%s: %s claims it", name, ff.Name())
			}
		}
	}
}
