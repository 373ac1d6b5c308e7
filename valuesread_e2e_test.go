package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestValuesReadEverywhere: a harvest of 22 secrets whose values were returned, with 3 denied
// reads and 2 KV v2 metadata reads inside it. Every output says to rotate the 22 and only
// those: JSON values_read and the remediation, SARIF's properties, the Markdown and HTML
// reports, and trace's list of secrets read.
func TestValuesReadEverywhere(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 9, 23, 23, 41, 0, 0, time.UTC)
	var b strings.Builder
	n := 0
	line := func(at time.Duration, path, errMsg string) {
		n++
		b.WriteString(vaultLine(t0.Add(at), fmt.Sprintf("req-%d", n), "k8s-fraud", "ent-fraud", "hmac-sha256:acc-fraud", "read", path, "203.0.113.9", errMsg))
	}
	for i := range 22 {
		line(time.Duration(i)*2*time.Second, fmt.Sprintf("kv/data/prod/s%02d", i), "")
	}
	for i := range 3 {
		line(50*time.Second+time.Duration(i)*time.Second, fmt.Sprintf("kv/data/prod/denied%d", i), "1 error occurred:\n\t* permission denied\n\n")
	}
	for i := range 2 {
		line(55*time.Second+time.Duration(i)*time.Second, fmt.Sprintf("kv/metadata/prod/meta%d", i), "")
	}
	log := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(log, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	_, stderr, code := runBinary(t, "scan", "-o", out("r.json"), "-o", out("r.sarif"), "-o", out("r.md"), "-o", out("r.html"), log)
	if code != 0 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	var rep struct {
		Findings []struct {
			Rule        string   `json:"rule"`
			Resources   []string `json:"resources"`
			ValuesRead  []string `json:"values_read"`
			Remediation string   `json:"remediation"`
		} `json:"findings"`
	}
	data, _ := os.ReadFile(out("r.json"))
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rep.Findings, func(f struct {
		Rule        string   `json:"rule"`
		Resources   []string `json:"resources"`
		ValuesRead  []string `json:"values_read"`
		Remediation string   `json:"remediation"`
	}) bool {
		return f.Rule == "bulk-read"
	})
	if i < 0 {
		t.Fatalf("no bulk-read finding:\n%s", data)
	}
	f := rep.Findings[i]
	if len(f.Resources) != 27 || len(f.ValuesRead) != 22 {
		t.Fatalf("bulk-read: %d resources (want 27: all involved), %d values read (want 22)", len(f.Resources), len(f.ValuesRead))
	}
	for _, v := range f.ValuesRead {
		if strings.Contains(v, "denied") || strings.Contains(v, "meta") {
			t.Errorf("values_read holds %q, whose value was not returned", v)
		}
	}
	if !strings.Contains(f.Remediation, "rotate these 22") {
		t.Errorf("remediation: %s", f.Remediation)
	}

	sarif, _ := os.ReadFile(out("r.sarif"))
	if !strings.Contains(string(sarif), `"values_read"`) || !strings.Contains(string(sarif), "rotate these 22") {
		t.Errorf("SARIF lacks values_read or the rotation advice")
	}
	md, _ := os.ReadFile(out("r.md"))
	if !strings.Contains(string(md), "Values returned, rotate these (22)") {
		t.Errorf("Markdown lacks the values returned:\n%s", md)
	}
	html, _ := os.ReadFile(out("r.html"))
	if !strings.Contains(string(html), "Values returned: rotate these (22)") {
		t.Errorf("HTML lacks the values returned")
	}

	js, stderr, code := runBinary(t, "trace", "--identity", "k8s-fraud", "--format", "json", log)
	if code != 0 {
		t.Fatalf("trace exit %d: %s", code, stderr)
	}
	var tr struct {
		SecretsRead []struct {
			Secrets []struct {
				Resource string `json:"resource"`
			} `json:"secrets"`
		} `json:"secrets_read"`
	}
	if err := json.Unmarshal([]byte(js), &tr); err != nil {
		t.Fatal(err)
	}
	var traced []string
	for _, g := range tr.SecretsRead {
		for _, s := range g.Secrets {
			traced = append(traced, s.Resource)
		}
	}
	slices.Sort(traced)
	if got := slices.Sorted(slices.Values(f.ValuesRead)); !slices.Equal(got, traced) {
		t.Errorf("scan's values_read and trace's secrets read differ:\n scan  %q\n trace %q", got, traced)
	}
}
