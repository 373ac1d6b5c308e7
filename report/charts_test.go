package report

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

func TestBuildCharts(t *testing.T) {
	t0 := time.Date(2026, 9, 23, 10, 0, 0, 0, time.UTC)
	ev := func(at time.Duration, who, res string) event.Event {
		return event.Event{Time: t0.Add(at), Kind: event.KindVault, Op: event.OpRead, Principal: "e-" + who,
			DisplayName: who, Resource: res, RemoteAddr: netip.MustParseAddr("10.0.0.1")}
	}
	var evs []event.Event
	// eight busy readers, one quiet identity with a finding
	for i := range 8 {
		for k := range 20 + i {
			evs = append(evs, ev(time.Duration(k)*time.Minute, string(rune('a'+i)), "kv/app"))
		}
	}
	for k := range 6 {
		evs = append(evs, ev(2*time.Hour+time.Duration(k)*time.Second, "thief", "kv/s"+string(rune('0'+k))))
	}
	evs = append(evs, ev(2*time.Hour+10*time.Second, "thief", "kv/s0")) // a repeat is not a new distinct secret
	evs = append(evs, event.Event{Time: t0.Add(3 * time.Hour), Op: event.OpWrite, Principal: "e-writer", Resource: "kv/x"})
	sources.SortEvents(evs)
	findings := []analyze.Finding{{Rule: "bulk-read", Severity: analyze.Critical, Identity: "e-thief", DisplayName: "thief"}}

	ch := BuildCharts(evs, findings, t0, t0.Add(3*time.Hour))
	if ch.Bucket != 2*time.Minute {
		t.Errorf("bucket = %s, want 2m for a 3h period (at most %d points)", ch.Bucket, maxBuckets)
	}
	if len(ch.Reads) != MaxSeries {
		t.Fatalf("%d series, want %d", len(ch.Reads), MaxSeries)
	}
	if ch.Reads[0].Identity != "e-thief" || !ch.Reads[0].Flagged {
		t.Errorf("the identity with a finding should come first: %+v", ch.Reads[0].Identity)
	}
	if ch.Reads[1].Identity != "e-h" || ch.Reads[1].Total != 27 {
		t.Errorf("then the busiest reader: %s %d", ch.Reads[1].Identity, ch.Reads[1].Total)
	}
	for _, s := range ch.Reads {
		if s.Identity == "e-writer" || s.Identity == "e-a" {
			t.Errorf("%s should not be charted (no reads / least busy)", s.Identity)
		}
	}
	b := int(2 * time.Hour / ch.Bucket)
	if got := ch.Distinct[0].Values[b]; got != 6 {
		t.Errorf("thief's distinct secrets in its bucket = %d, want 6", got)
	}
	if got := ch.Reads[0].Values[b]; got != 7 {
		t.Errorf("thief's reads in its bucket = %d, want 7", got)
	}
}

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ peak, step, ticks int }{{0, 1, 2}, {3, 1, 3}, {5, 1, 5}, {7, 2, 4}, {45, 10, 5}, {63, 20, 4}, {1200, 500, 3}} {
		if s, n := niceStep(tt.peak); s != tt.step || n != tt.ticks {
			t.Errorf("niceStep(%d) = %d x %d, want %d x %d", tt.peak, s, n, tt.step, tt.ticks)
		}
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")", "+1": "'+1", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)",
		"kv/data/x": "kv/data/x", "": "", "a=b": "a=b",
		// After any separator a spreadsheet may split on, past spaces and quotes.
		";=HYPERLINK(\"x\")": ";'=HYPERLINK(\"x\")", "a,=1+1": "a,'=1+1", "a\t@x": "a\t'@x", "a; +1": "a;' +1",
		"a;\"=1\"": "a;'\"=1\"", "=1;-2,@3": "'=1;'-2,'@3", "\t=x": "'\t'=x", "a;b,c": "a;b,c", "a;": "a;",
		"x;＝1": "x;'＝1", "a - b": "a - b", "\r=x": "'\r=x",
	} {
		if got := CSVSafe(in); got != want {
			t.Errorf("CSVSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
