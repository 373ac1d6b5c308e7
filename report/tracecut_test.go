package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"iter"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/formats"
	"github.com/vaultsentry/vaultsentry/trace"
)

// longTrace is 5,000 reads by one identity under 1,200 tokens (a login per few requests), one
// event a second from 2026-09-23T10:00:00Z: more than the timeline and the credentials keep.
func longTrace() (func() iter.Seq[*event.Event], *trace.Trace) {
	const n = 5000
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	creds := make([]string, 1200)
	for i := range creds {
		creds[i] = fmt.Sprintf("hmac-sha256:tok-%04d", i)
	}
	events := func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			var ev event.Event
			for i := range n {
				ev = event.Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: event.KindVault, Op: event.OpRead, Action: "read",
					Principal: "entity-harvester", DisplayName: "k8s-harvester", Credential: creds[i*len(creds)/n],
					Path: "kv/data/prod/s" + string(rune('a'+i%26)), Resource: "kv/prod/s" + string(rune('a'+i%26)), Mount: "kv/", MountType: "kv",
					RemoteAddr: netip.MustParseAddr("203.0.113.9"), Flags: event.FlagValueRead, Pos: event.Pos{File: "audit.log", Line: i + 1}}
				if !yield(&ev) {
					return
				}
			}
		}
	}
	return events, trace.NewSeq(events, trace.Query{Identity: "k8s-harvester"}, func(netip.Addr) bool { return false })
}

func renderTrace(t *testing.T, format string, r *TraceResult) string {
	t.Helper()
	var b bytes.Buffer
	if err := RenderTrace(&b, format, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTraceCutNotes: a trace whose timeline and credentials were cut says so in every format,
// with the exact totals and how to see the rest; the CSV, given the events again, holds them all.
func TestTraceCutNotes(t *testing.T) {
	events, tr := longTrace()
	if tr.Cut.Events != 3000 || tr.MoreCredentials.Events == 0 {
		t.Fatalf("cut %+v, more credentials %+v", tr.Cut, tr.MoreCredentials)
	}
	r := &TraceResult{Trace: tr}

	table := renderTrace(t, "table", r)
	for _, want := range []string{
		"5000 events from 2026-09-23T10:00:00Z to 2026-09-23T11:23:19Z",
		"\nTimeline\nshowing the first 1,000 and the last 1,000 of 5,000 events: 3,000 events from 2026-09-23T10:16:40Z to 2026-09-23T11:06:39Z left out (narrow --since/--until to see them)\n",
		"\n... 3,000 events from 2026-09-23T10:16:40Z to 2026-09-23T11:06:39Z left out ...\n",
		"  and 833 events of further credentials, from 2026-09-23T11:09:27Z to 2026-09-23T11:23:19Z: only the first 1,000 credentials seen are listed\n",
		"Secrets read successfully: rotate these (26 secrets in 1 groups)",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// The gap is where the events are: after the first 1,000 rows, before the last 1,000.
	_, after, _ := strings.Cut(table, "\nTIME ")
	lines := strings.Split(strings.TrimSuffix(after, "\n"), "\n")
	if len(lines) != 1+2000+1 || !strings.HasPrefix(lines[1001], "... 3,000 events") ||
		!strings.HasPrefix(lines[1000], "2026-09-23T10:16:39Z") || !strings.HasPrefix(lines[1002], "2026-09-23T11:06:40Z") {
		t.Errorf("timeline: %d lines, around the gap %q", len(lines), lines[min(999, len(lines)-1):min(1003, len(lines))])
	}

	var doc struct {
		Summary struct {
			Events   int `json:"events"`
			Timeline int `json:"timeline_events"`
		} `json:"summary"`
		Timeline    []json.RawMessage `json:"timeline"`
		Credentials []json.RawMessage `json:"credentials"`
		Cut         *struct {
			Note     string `json:"note"`
			Timeline struct {
				Left  int    `json:"events_left_out"`
				Next  int    `json:"next_index"`
				First string `json:"first_event"`
				Last  string `json:"last_event"`
			} `json:"timeline"`
			Credentials *struct {
				Listed int `json:"listed"`
				Left   int `json:"events_left_out"`
			} `json:"credentials"`
			Addresses *json.RawMessage `json:"addresses"`
		} `json:"cut"`
	}
	if err := json.Unmarshal([]byte(renderTrace(t, "json", r)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Summary.Events != 5000 || doc.Summary.Timeline != 2000 || len(doc.Timeline) != 2000 || len(doc.Credentials) != 1000 || doc.Cut == nil {
		t.Fatalf("summary %+v, %d in the timeline, %d credentials, cut %v", doc.Summary, len(doc.Timeline), len(doc.Credentials), doc.Cut)
	}
	if c := doc.Cut; c.Timeline.Left != 3000 || c.Timeline.Next != 1000 || c.Timeline.First != "2026-09-23T10:16:40Z" ||
		c.Timeline.Last != "2026-09-23T11:06:39Z" || c.Credentials == nil || c.Credentials.Listed != 1000 || c.Credentials.Left != 833 ||
		c.Addresses != nil || !strings.Contains(c.Note, "narrow --since/--until") {
		t.Errorf("cut %+v (credentials %+v)", c, c.Credentials)
	}

	// Without the events again, the CSV says where it was cut, in a comment line.
	rows := strings.Split(strings.TrimSuffix(renderTrace(t, "csv", r), "\n"), "\n")
	if len(rows) != 1+2000+1 || !strings.HasPrefix(rows[1001], "# showing the first 1,000 and the last 1,000 of 5,000 events") {
		t.Errorf("csv: %d rows, around the gap %q", len(rows), rows[min(1000, len(rows)-1):min(1003, len(rows))])
	}
	rd := csv.NewReader(strings.NewReader(strings.Join(rows, "\n")))
	rd.Comment = '#'
	if recs, err := rd.ReadAll(); err != nil || len(recs) != 2001 {
		t.Errorf("csv with comments: %d records, %v", len(recs), err)
	}

	// With the events again, the CSV holds every one, and the others say where to get them.
	r.Events = events
	recs, err := csv.NewReader(strings.NewReader(renderTrace(t, "csv", r))).ReadAll()
	if err != nil || len(recs) != 1+5000 || recs[5000][15] != "5000" {
		t.Errorf("full csv: %d records, %v", len(recs), err)
	}
	if table := renderTrace(t, "table", r); !strings.Contains(table, "left out (every event: --format csv; or narrow --since/--until)") {
		t.Errorf("table does not say the CSV has every event")
	}
	if js := renderTrace(t, "json", r); !strings.Contains(js, "every event: --format csv") {
		t.Errorf("json does not say the CSV has every event")
	}
}

// TestTraceNoCutNote: a trace that kept everything says nothing of a cut in any format, and
// its CSV is the same with or without the events again.
func TestTraceNoCutNote(t *testing.T) {
	loaded, err := sources.Load(context.Background(), []sources.Input{{Name: incidentFile}}, sources.LoadOptions{Formats: formats.Files(), Only: "vault"})
	if err != nil {
		t.Fatal(err)
	}
	tr := trace.New(loaded.Events, trace.Query{Identity: "k8s-fraud-model"}, func(netip.Addr) bool { return false })
	if tr.Matched != 68 || len(tr.Events) != 68 {
		t.Fatalf("matched %d, kept %d", tr.Matched, len(tr.Events))
	}
	r := &TraceResult{Trace: tr}
	if table := renderTrace(t, "table", r); strings.Contains(table, "left out") || strings.Contains(table, "further") || !strings.Contains(table, "68 events from") {
		t.Errorf("table of a complete trace:\n%s", table)
	}
	js := renderTrace(t, "json", r)
	if strings.Contains(js, `"cut"`) || !strings.Contains(js, `"timeline_events": 68`) || !strings.Contains(js, `"events": 68,`) {
		t.Errorf("json of a complete trace:\n%s", js)
	}
	plain := renderTrace(t, "csv", r)
	if strings.Contains(plain, "\n#") {
		t.Errorf("csv of a complete trace has a note")
	}
	r.Events = func() iter.Seq[*event.Event] {
		return func(yield func(*event.Event) bool) {
			for i := range loaded.Events {
				if !yield(&loaded.Events[i]) {
					return
				}
			}
		}
	}
	if full := renderTrace(t, "csv", r); full != plain {
		t.Errorf("csv over the events again differs from the trace's timeline")
	}
}

// TestTraceMoreAddresses: a secret read from more addresses than its list holds says so; one
// read from a few does not.
func TestTraceMoreAddresses(t *testing.T) {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	var evs []event.Event
	for i := range 60 {
		evs = append(evs, event.Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: event.KindVault, Op: event.OpRead, Action: "read",
			Principal: "entity-bot", DisplayName: fmt.Sprintf("bot-%02d", i), Path: "kv/data/a", Resource: "kv/a", Mount: "kv/", MountType: "kv",
			RemoteAddr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), Flags: event.FlagValueRead})
	}
	evs = append(evs, event.Event{Time: t0.Add(time.Hour), Kind: event.KindVault, Op: event.OpRead, Action: "read",
		Principal: "entity-bot", DisplayName: "bot-00", Path: "kv/data/b", Resource: "kv/b", Mount: "kv/", MountType: "kv",
		RemoteAddr: netip.MustParseAddr("198.51.100.1"), Flags: event.FlagValueRead})
	r := &TraceResult{Trace: trace.New(evs, trace.Query{Identity: "entity-bot"}, func(netip.Addr) bool { return false })}
	js := renderTrace(t, "json", r)
	if strings.Count(js, `"more_source_ips": true`) != 1 || strings.Count(js, `"more_display_names": true`) != 1 || strings.Contains(js, `"cut"`) {
		t.Errorf("json: more_source_ips %d times, more_display_names %d times", strings.Count(js, `"more_source_ips": true`), strings.Count(js, `"more_display_names": true`))
	}
	table := renderTrace(t, "table", r)
	var a, b string
	for _, l := range strings.Split(table, "\n") {
		switch {
		case strings.HasPrefix(l, "    kv/a "):
			a = l
		case strings.HasPrefix(l, "    kv/b "):
			b = l
		}
	}
	if !strings.HasSuffix(a, " (the first 50 of more addresses)") || strings.Contains(b, "more") ||
		!strings.Contains(table, " (the first 50 of more display names)") {
		t.Errorf("table:\n%s\n%s", a, b)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 2345678: "2,345,678", -1234: "-1,234", 100000: "100,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
