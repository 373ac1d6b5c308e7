package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/vaultsentry/vaultsentry/trace"
)

// The notes of a trace whose lists were cut (trace.TimelineFirst and the others bound what a
// Trace keeps, whatever the number of events): every format says what it leaves out, with the
// exact totals, and how to get the rest.

// thousands writes n with commas between groups of three digits: 2,345,678.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// timelineRest says how to see the events a cut timeline leaves out.
func (r *TraceResult) timelineRest() string {
	if r.Events != nil {
		return "every event: --format csv; or narrow --since/--until"
	}
	return "narrow --since/--until to see them"
}

// timelineNote is the one-line account of a cut timeline; "" when it is complete.
func (r *TraceResult) timelineNote() string {
	t := r.Trace
	if t.Cut.Events == 0 {
		return ""
	}
	return fmt.Sprintf("showing the first %s and the last %s of %s events: %s events from %s to %s left out (%s)",
		thousands(t.Cut.At), thousands(len(t.Events)-t.Cut.At), thousands(t.Total()), thousands(t.Cut.Events),
		r.when(t.Cut.First), r.when(t.Cut.Last), r.timelineRest())
}

// restNote is the account of the values a list leaves out ("" when it is complete): noun is
// the list's (identities, credentials, addresses).
func (r *TraceResult) restNote(rest trace.Rest, listed int, noun string) string {
	if rest.Events == 0 {
		return ""
	}
	return fmt.Sprintf("%s events of further %s, from %s to %s: only the first %s %s seen are listed",
		thousands(rest.Events), noun, r.when(rest.First), r.when(rest.Last), thousands(listed), noun)
}

// writeRestNote writes restNote as a line of the table, indented.
func (r *TraceResult) writeRestNote(w io.Writer, rest trace.Rest, listed int, noun string) {
	if n := r.restNote(rest, listed, noun); n != "" {
		fmt.Fprintln(w, "  and "+n)
	}
}

// traceJSONCut is the JSON "cut" object: present only when a list was cut.
type traceJSONCut struct {
	Note        string             `json:"note"`
	Timeline    *traceJSONCutPart  `json:"timeline,omitempty"`
	Identities  *traceJSONRestPart `json:"identities,omitempty"`
	Credentials *traceJSONRestPart `json:"credentials,omitempty"`
	Addresses   *traceJSONRestPart `json:"addresses,omitempty"`
}

// traceJSONCutPart is the events a cut timeline leaves out: NextIndex is the index in
// "timeline" of the first event kept after them.
type traceJSONCutPart struct {
	EventsLeftOut int    `json:"events_left_out"`
	NextIndex     int    `json:"next_index"`
	First         string `json:"first_event"`
	Last          string `json:"last_event"`
}

// traceJSONRestPart is what the values a list leaves out add up to.
type traceJSONRestPart struct {
	Listed        int    `json:"listed"`
	EventsLeftOut int    `json:"events_left_out"`
	First         string `json:"first_event"`
	Last          string `json:"last_event"`
}

// jsonCut is the "cut" object of r, nil when nothing was cut.
func (r *TraceResult) jsonCut() *traceJSONCut {
	t := r.Trace
	u := *r
	u.Location = nil // JSON times are UTC
	r = &u
	c := &traceJSONCut{}
	var notes []string
	if t.Cut.Events > 0 {
		c.Timeline = &traceJSONCutPart{EventsLeftOut: t.Cut.Events, NextIndex: t.Cut.At, First: utc(t.Cut.First), Last: utc(t.Cut.Last)}
		notes = append(notes, "timeline: "+r.timelineNote())
	}
	rest := func(rs trace.Rest, listed int, noun string) *traceJSONRestPart {
		if rs.Events == 0 {
			return nil
		}
		notes = append(notes, noun+": "+r.restNote(rs, listed, noun))
		return &traceJSONRestPart{Listed: listed, EventsLeftOut: rs.Events, First: utc(rs.First), Last: utc(rs.Last)}
	}
	c.Identities = rest(t.MoreIdentities, len(t.Identities), "identities")
	c.Credentials = rest(t.MoreCredentials, len(t.Credentials), "credentials")
	c.Addresses = rest(t.MoreAddresses, len(t.Addresses), "addresses")
	if len(notes) == 0 {
		return nil
	}
	for i, n := range notes {
		if i > 0 {
			c.Note += "; "
		}
		c.Note += n
	}
	return c
}

// andMore marks a list that holds the first n of more values.
func andMore(more bool, n int, noun string) string {
	if more {
		return fmt.Sprintf(" (the first %d of more %s)", n, noun)
	}
	return ""
}
