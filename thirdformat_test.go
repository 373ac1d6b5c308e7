package main

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytedance/sonic"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
)

// kindFake is a store no rule knows, as a new input format is before any rule declares it.
const kindFake event.Kind = 42

// fakeFormat is a third input format registered only here: a few lines of JSON, one event each.
type fakeFormat struct{}

func (fakeFormat) Name() string  { return "fake" }
func (fakeFormat) Title() string { return "fake store log" }
func (fakeFormat) Sniff(_ string, h *sources.Head) bool {
	return len(h.Values) > 0 && h.Values[0].Has("fake_time", "who", "what")
}

func (fakeFormat) Read(_ context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	var evs []event.Event
	sc := bufio.NewScanner(f.R)
	for sc.Scan() {
		st.Lines++
		var rec struct {
			Time time.Time `json:"fake_time"`
			Who  string    `json:"who"`
			What string    `json:"what"`
		}
		if err := sonic.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Who == "" {
			st.Bad(st.Lines, "not a fake record")
			continue
		}
		st.Parsed++
		evs = append(evs, event.Event{Kind: kindFake, Time: rec.Time, Principal: rec.Who, DisplayName: rec.Who,
			Op: event.OpRead, Path: rec.What, Resource: rec.What, Outcome: event.OutcomeOK,
			Flags: event.FlagRootToken, RemoteAddr: netip.MustParseAddr("203.0.113.9"), Pos: event.Pos{File: f.Name, Line: st.Lines}})
		st.Events++
	}
	return sources.Batch{Events: sources.StoreOf(evs)}
}

// TestThirdFormat: a format the engine has never seen is detected beside Vault in one load,
// its events flow through Run in time order with the Vault ones, and no detector treats them
// as Vault's: the same traffic as a root-token harvest gets findings (and Vault remedies) only
// in its Vault copy.
func TestThirdFormat(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 9, 27, 3, 14, 0, 0, time.UTC)
	var fake, vault strings.Builder
	for i := range 120 {
		at := start.Add(time.Duration(i) * 200 * time.Millisecond).Format(time.RFC3339Nano)
		path := "kv/data/prod/app" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		fake.WriteString(`{"fake_time":"` + at + `","who":"intruder","what":"` + path + `"}` + "\n")
		vault.WriteString(`{"time":"` + at + `","type":"request","auth":{"accessor":"hmac-sha256:aa","display_name":"intruder","entity_id":"e1","policies":["root"]},"request":{"id":"r` +
			string(rune('a'+i%26)) + string(rune('a'+i/26)) + `","operation":"read","path":"` + path + `","mount_point":"kv/","mount_type":"kv","remote_address":"203.0.113.9"}}` + "\n")
	}
	for name, data := range map[string]string{"fake.log": fake.String(), "audit.log": vault.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ins, errs := sources.Expand([]string{dir})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	formats := append(formats.Files(), fakeFormat{})
	loaded, err := sources.Load(context.Background(), ins, sources.LoadOptions{Formats: formats})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[event.Kind]int{}
	for i, ev := range loaded.Events {
		kinds[ev.Kind]++
		if i > 0 && ev.Time.Before(loaded.Events[i-1].Time) {
			t.Fatalf("event %d out of time order", i)
		}
	}
	if kinds[kindFake] != 120 || kinds[event.KindVault] != 120 {
		t.Fatalf("events by kind %v, want 120 fake and 120 Vault", kinds)
	}
	for _, f := range loaded.Files {
		want := map[string]string{"fake.log": "fake", "audit.log": "vault"}[filepath.Base(f.File)]
		if f.Format != want || f.Events != 120 || !f.Balanced() {
			t.Errorf("%s: format %q events %d balanced %v, want %q 120 true", f.File, f.Format, f.Events, f.Balanced(), want)
		}
	}
	cfg := analyze.DefaultConfig()
	res := analyze.Run(loaded.Events, analyze.Env{Config: &cfg})
	vaultFindings := 0
	for _, f := range res.Findings {
		for _, ev := range f.Evidence {
			if filepath.Base(ev.File) == "fake.log" {
				t.Errorf("finding %s cites the fake format's event: remedy %q", f.Rule, f.Remediation)
			}
		}
		if f.Source == "vault" {
			vaultFindings++
		}
	}
	if vaultFindings == 0 {
		t.Fatalf("the Vault copy of the traffic should be found (it proves the input is loud), got %d findings", len(res.Findings))
	}
}
