package k8saudit

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaultsentry/vaultsentry/sources"
)

func read(data []byte, st *sources.FileStats) sources.Batch {
	f := &sources.File{Name: "audit.log", R: bufio.NewReader(bytes.NewReader(data)), MaxLineBytes: 1 << 20,
		Strings: sources.NewInterner(), Local: sources.NewInterner().Local()}
	return Format{}.Read(context.Background(), f, st)
}

// FuzzK8sAudit: whatever the bytes, Read never panics and accounts for every line.
func FuzzK8sAudit(f *testing.F) {
	f.Add([]byte(line("a1", "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "") + "\n"))
	f.Add([]byte(line("a1", "RequestReceived", "list", "/api/v1/secrets", "", "", "secrets", 0, "") + "\n" +
		line("a1", "ResponseComplete", "list", "/api/v1/secrets", "", "", "secrets", 403, "") + "\n"))
	f.Add([]byte("{\"auditID\":1}\n\n{"))
	// One seed per cloud wrapper (wrap.go), from the same-request fixtures and the table tests.
	for _, name := range []string{"gke.log", "aks.log", "aks-records.json", "eks-filter-log-events.json", "eks-subscription.json"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/k8saudit/same-request", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	get := line("w1", "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "")
	f.Add([]byte(gkeEntry("k8s.io", "io.k8s.core.v1.secrets.get", "core/v1/namespaces/n/secrets/s", "a@example.com", 7, `,"response":{"data":{}}`) + "\n"))
	f.Add([]byte(`{"records":[` + wrapAKS("kube-audit", get) + `,{}]}` + "\n" + wrapAKS("kube-audit", "{") + "\n"))
	f.Add([]byte(`{"events":[` + wrapCW("kube-apiserver-audit-1", get) + `,` + wrapCW("authenticator-1", "x") + `]}` + "\n"))
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","logGroup":"/aws/eks/c/cluster","logStream":"kube-apiserver-audit-1","logEvents":[{"id":"1","timestamp":1,"message":"{}"}]}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st sources.FileStats
		b := read(data, &st)
		if !st.Balanced() || st.Events != b.Events.Len() || st.Parsed < st.Events {
			t.Fatalf("stats %+v, %d events", st, b.Events.Len())
		}
		for _, p := range st.Problems {
			if p.Line < 1 || p.Reason == "" {
				t.Fatalf("problem without a position or a reason: %+v", p)
			}
		}
	})
}

// BenchmarkReadK8sAudit: the mix of a control plane's log: secrets and other resources, two
// stages per request.
func BenchmarkReadK8sAudit(b *testing.B) {
	var sb strings.Builder
	for i := range 5000 {
		id := "id-" + itoa(i%1000) + "-" + itoa(i/1000)
		sb.WriteString(line(id, "RequestReceived", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 0, "") + "\n")
		sb.WriteString(line(id, "ResponseComplete", "get", "/api/v1/namespaces/n/secrets/s", "n", "s", "secrets", 200, "") + "\n")
		sb.WriteString(line(id+"p", "ResponseComplete", "get", "/api/v1/namespaces/n/pods/p", "n", "p", "pods", 200, "") + "\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var st sources.FileStats
		read(data, &st)
	}
}
