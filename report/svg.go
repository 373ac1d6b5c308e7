package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/analyze"
)

// Inline SVG charts for the HTML report, computed here and drawn by html/template, so that every
// label (identity names come from logs) is escaped by the template and no script is needed.

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	svgW       = 960.0
	svgH       = 260.0
	svgLeft    = 56.0
	svgRight   = 16.0
	svgTop     = 14.0
	svgBottom  = 40.0 // two lines of tick labels: the time, and the date where it changes
	svgRowH    = 26.0
	svgLabelW  = 170.0
	svgMinMark = 4.0
)

// seriesColors are the Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.
var seriesColors = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"}

var severityColors = map[analyze.Severity]string{
	analyze.Critical: "#9f1239", analyze.High: "#dc2626", analyze.Medium: "#d97706", analyze.Low: "#2563eb", analyze.Info: "#6b7280",
}

type svgTick struct {
	Pos    float64
	Label  string
	Date   string // the date under a time label: on the first tick and where the day changes
	Anchor string // text-anchor: labels at the ends of the axis stay inside the drawing
}

// svgThreshold is a rule's threshold drawn across a chart.
type svgThreshold struct {
	Y     float64
	Label string
}

type svgLine struct {
	Points  string
	Color   string
	Label   string
	Total   int
	Flagged bool
	Dots    []svgDot // single points (a line of one point would not show)
}

type svgDot struct{ X, Y float64 }

type svgChart struct {
	W, H                       float64
	PlotX, PlotY, PlotW, PlotH float64
	XTicks, YTicks             []svgTick
	Lines                      []svgLine
	Empty                      bool
	Bucket, Window             string
	TotalLabel                 string
	Threshold                  *svgThreshold
}

type svgMark struct {
	X, Y, W, H float64
	Color      string
	Tip        string
	Anchor     string
}

type svgRow struct {
	Y     float64
	Label string
}

type svgTimeline struct {
	W, H                       float64
	PlotX, PlotY, PlotW, PlotH float64
	XTicks                     []svgTick
	Rows                       []svgRow
	Marks                      []svgMark
	Empty                      bool
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// lineChart lays out series over the charted period, with a threshold line at limit (0: none).
func lineChart(ch *Charts, series []Series, loc *time.Location, totalLabel string, limit int, limitLabel string) svgChart {
	c := svgChart{W: svgW, H: svgH, PlotX: svgLeft, PlotY: svgTop, PlotW: svgW - svgLeft - svgRight, PlotH: svgH - svgTop - svgBottom,
		Bucket: humanDuration(ch.Bucket), Window: humanDuration(ch.Window), TotalLabel: totalLabel}
	peak := 0
	n := 0
	for _, s := range series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			peak = max(peak, v)
		}
	}
	if len(series) == 0 || n == 0 {
		c.Empty = true
		return c
	}
	step, ticks := niceStep(max(peak, limit))
	top := step * ticks
	for i := 0; i <= ticks; i++ {
		c.YTicks = append(c.YTicks, svgTick{Pos: c.PlotY + c.PlotH - c.PlotH*float64(i)/float64(ticks), Label: strconv.Itoa(step * i)})
	}
	c.XTicks = timeTicks(ch.From, ch.To, c.PlotX, c.PlotW, loc)
	x := func(i int) float64 {
		if n == 1 {
			return c.PlotX + c.PlotW/2
		}
		return c.PlotX + c.PlotW*float64(i)/float64(n-1)
	}
	y := func(v int) float64 { return c.PlotY + c.PlotH - c.PlotH*float64(v)/float64(top) }
	if limit > 0 {
		c.Threshold = &svgThreshold{Y: y(limit), Label: limitLabel}
	}
	for k, s := range series {
		var b strings.Builder
		for i, v := range s.Values {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(f1(x(i)) + "," + f1(y(v)))
		}
		l := svgLine{Points: b.String(), Color: seriesColors[k%len(seriesColors)], Label: Sanitize(s.Label), Total: s.Total, Flagged: s.Flagged}
		if n == 1 {
			l.Dots = []svgDot{{X: x(0), Y: y(s.Values[0])}}
		}
		c.Lines = append(c.Lines, l)
	}
	return c
}

// findingTimeline draws one row per rule and one mark per finding, from first to last seen.
func findingTimeline(fs []analyze.Finding, ch *Charts, loc *time.Location) svgTimeline {
	t := svgTimeline{W: svgW, PlotX: svgLabelW, PlotY: svgTop, PlotW: svgW - svgLabelW - svgRight}
	if len(fs) == 0 {
		t.Empty = true
		t.H = 60
		return t
	}
	// The row labels are rule ids: make room for the longest (about 6.5 units a character at
	// 11px on screen, 7.5 at the print size) so none is cut at the left edge.
	longest := 0
	for _, f := range fs {
		longest = max(longest, len(f.Rule))
	}
	t.PlotX = math.Max(svgLabelW, 7.5*float64(longest)+16)
	t.PlotW = svgW - t.PlotX - svgRight
	var from, to time.Time
	if ch != nil {
		from, to = ch.From, ch.To
	}
	var rules []string
	for _, f := range fs {
		if from.IsZero() || f.FirstSeen.Before(from) {
			from = f.FirstSeen
		}
		if f.LastSeen.After(to) {
			to = f.LastSeen
		}
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
	}
	slices.Sort(rules)
	if !to.After(from) {
		from, to = from.Add(-time.Hour), to.Add(time.Hour)
	}
	t.PlotH = svgRowH * float64(len(rules))
	t.H = t.PlotY + t.PlotH + svgBottom
	for i, r := range rules {
		t.Rows = append(t.Rows, svgRow{Y: t.PlotY + svgRowH*float64(i) + svgRowH/2, Label: r})
	}
	t.XTicks = timeTicks(from, to, t.PlotX, t.PlotW, loc)
	span := float64(to.Sub(from))
	xOf := func(tm time.Time) float64 { return t.PlotX + t.PlotW*float64(tm.Sub(from))/span }
	for _, f := range fs {
		row := slices.Index(rules, f.Rule)
		x0, x1 := xOf(f.FirstSeen), xOf(f.LastSeen)
		w := math.Max(x1-x0, svgMinMark)
		if x0+w > t.PlotX+t.PlotW {
			x0 = t.PlotX + t.PlotW - w
		}
		who := f.DisplayName
		if who == "" {
			who = f.Identity
		}
		tip := fmt.Sprintf("%s %s: %s, %s .. %s", strings.ToUpper(f.Severity.String()), f.Rule, who,
			f.FirstSeen.In(loc).Format("2006-01-02 15:04:05 MST"), f.LastSeen.In(loc).Format("15:04:05"))
		t.Marks = append(t.Marks, svgMark{X: x0, Y: t.PlotY + svgRowH*float64(row) + 5, W: w, H: svgRowH - 10,
			Color: severityColors[f.Severity], Tip: Sanitize(tip), Anchor: "f-" + f.Fingerprint()})
	}
	return t
}

// timeTicks places about six labelled ticks on round times between from and to. A tick shows
// the time, and the date under it on the first tick and wherever the day changes, so an axis that
// crosses midnight says so; steps of a day or more show dates only.
func timeTicks(from, to time.Time, x0, w float64, loc *time.Location) []svgTick {
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	step := bucketSizes[len(bucketSizes)-1]
	for _, b := range bucketSizes {
		if span/b <= 6 {
			step = b
			break
		}
	}
	var ticks []svgTick
	lastDay := ""
	for tm := firstTick(from, step, loc); !tm.After(to); tm = tm.Add(step) {
		if tm.Before(from) {
			continue
		}
		lt := tm.In(loc)
		tk := svgTick{Pos: x0 + w*float64(tm.Sub(from))/float64(span), Anchor: "middle"}
		day := lt.Format("Jan 2")
		if step >= 24*time.Hour {
			tk.Label = day
		} else {
			tk.Label = lt.Format("15:04")
			if day != lastDay {
				tk.Date = day
			}
		}
		lastDay = day
		// About 40 units is half the widest label ("Sep 23" or "00:00" under it): closer to an
		// end than that, the label is anchored at that end.
		switch {
		case tk.Pos-x0 < 40:
			tk.Anchor = "start"
		case x0+w-tk.Pos < 40:
			tk.Anchor = "end"
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// firstTick is the first round time at or before from: a multiple of step in loc's clock for
// steps of a day or less (midnight, or 06:00, in the report's zone rather than in UTC).
func firstTick(from time.Time, step time.Duration, loc *time.Location) time.Time {
	if step > 24*time.Hour {
		return from.Truncate(step)
	}
	lt := from.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	return midnight.Add(lt.Sub(midnight) / step * step)
}

// niceStep picks a grid step of 1, 2 or 5 times a power of ten such that at most five steps
// cover peak, and returns it with the number of steps (at least two).
func niceStep(peak int) (step, ticks int) {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			step = m * p
			ticks = (peak + step - 1) / step
			if ticks <= 5 {
				return step, max(ticks, 2)
			}
		}
	}
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
