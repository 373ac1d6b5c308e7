package report

import (
	"net/netip"
	"strings"
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

// TestTimeTicks: an axis that crosses midnight names the dates (on the first tick and where the
// day changes), in the report's zone, and the labels at the ends are anchored inside the chart.
func TestTimeTicks(t *testing.T) {
	from := time.Date(2026, 9, 23, 12, 0, 0, 0, time.UTC)
	ticks := timeTicks(from, from.Add(15*time.Hour), 56, 888, time.UTC)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label+"/"+tk.Date+"/"+tk.Anchor)
	}
	want := "12:00/Sep 23/start 15:00//middle 18:00//middle 21:00//middle 00:00/Sep 24/middle 03:00//end"
	if got := strings.Join(labels, " "); got != want {
		t.Errorf("ticks = %s\nwant    %s", got, want)
	}
	dublin, err := loadZone("Europe/Dublin")
	if err != nil {
		t.Skip(err)
	}
	// Round hours of Dublin's clock (UTC+1 in September), and its midnight.
	ticks = timeTicks(from.Add(-30*time.Minute), from.Add(14*time.Hour), 56, 888, dublin)
	if ticks[0].Label != "15:00" || ticks[0].Date != "Sep 23" || ticks[3].Label != "00:00" || ticks[3].Date != "Sep 24" {
		t.Errorf("Dublin ticks: %+v", ticks)
	}
	days := timeTicks(from, from.Add(20*24*time.Hour), 56, 888, time.UTC)
	if !strings.HasPrefix(days[0].Label, "Sep ") || days[0].Date != "" {
		t.Errorf("a step of days or more labels dates only: %+v", days[0])
	}
}

// TestChartThresholds: the line charts draw bulk-read's thresholds as configured, with the
// scale raised to show them, and the timeline leaves room for the longest rule id.
func TestChartThresholds(t *testing.T) {
	t0 := time.Date(2026, 9, 23, 23, 0, 0, 0, time.UTC)
	var evs []event.Event
	for k := range 8 {
		evs = append(evs, event.Event{Time: t0.Add(time.Duration(k) * time.Second), Kind: event.KindVault, Op: event.OpRead,
			Principal: "e-1", Resource: "kv/s" + string(rune('0'+k))})
	}
	ch := BuildChartsFor(evs, nil, t0, t0.Add(2*time.Hour), analyze.BulkReadConfig{Window: 10 * time.Minute, MinCount: 40, MinDistinct: 12})
	if ch.Window != 10*time.Minute || ch.ReadLimit != 40 || ch.DistinctLimit != 12 {
		t.Fatalf("charts: window %s, limits %d %d", ch.Window, ch.ReadLimit, ch.DistinctLimit)
	}
	if got := ch.Distinct[0].Values[0]; got != 8 {
		t.Errorf("peak distinct secrets in the window = %d, want 8", got)
	}
	c := lineChart(ch, ch.Distinct, time.UTC, "peak", ch.DistinctLimit, "limit")
	if c.Threshold == nil || c.Threshold.Y < c.PlotY || c.Threshold.Y > c.PlotY+c.PlotH {
		t.Errorf("threshold line %+v outside the plot (%.0f..%.0f)", c.Threshold, c.PlotY, c.PlotY+c.PlotH)
	}
	if c := lineChart(ch, ch.Distinct, time.UTC, "peak", 0, ""); c.Threshold != nil {
		t.Error("no limit, no line")
	}
	fs := []analyze.Finding{{Rule: "privileged-token-created-off-hours", FirstSeen: t0, LastSeen: t0}}
	if tl := findingTimeline(fs, ch, time.UTC); tl.PlotX < 7.5*float64(len(fs[0].Rule)) {
		t.Errorf("timeline labels get %.0f units, too few for %q", tl.PlotX, fs[0].Rule)
	}
}
