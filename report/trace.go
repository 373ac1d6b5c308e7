package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/trace"
)

// TraceResult is what `vaultsentry trace` shows: the trace and where it came from.
type TraceResult struct {
	Trace    *trace.Trace
	Files    []sources.FileStats
	Version  string
	Location *time.Location // for the table; nil means UTC
	// Internal classifies addresses in the timeline (the configured internal networks).
	Internal func(netip.Addr) bool
	// Summary: the table shows the answer only (who, what to rotate, what changed), no timeline.
	Summary bool
	// Events, when set, passes over the events again (each call a new pass, as trace.NewSeq's
	// events): the CSV then holds every matched event, where the Trace keeps a timeline cut to
	// its first and last events. nil: the CSV holds the Trace's timeline, with a note where it
	// was cut.
	Events func() iter.Seq[*event.Event]
}

// TraceFormats lists the trace output formats.
func TraceFormats() []string { return []string{"table", "json", "csv"} }

// RenderTrace writes r in format (one of TraceFormats).
func RenderTrace(w io.Writer, format string, r *TraceResult) error {
	switch format {
	case "table":
		return traceTable(w, r)
	case "json":
		return traceJSON(w, r)
	case "csv":
		return traceCSV(w, r)
	}
	return fmt.Errorf("unknown trace format %q (want one of %s)", format, strings.Join(TraceFormats(), ", "))
}

func (r *TraceResult) when(t time.Time) string {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02T15:04:05Z07:00")
}

// network names the side of an address: internal, external, aws (AWS-internal caller) or unknown.
func (r *TraceResult) network(ev *event.Event) string {
	switch {
	case ev.RemoteAddr.IsValid() && r.Internal != nil && r.Internal(ev.RemoteAddr):
		return "internal"
	case ev.RemoteAddr.IsValid():
		return "external"
	case ev.Has(event.FlagAWSInternal):
		return "aws"
	}
	return "unknown"
}

// decoyMark flags an event on a configured decoy in the timeline.
func (r *TraceResult) decoyMark(ev *event.Event) string {
	if r.Trace.Query.Decoy != nil && r.Trace.Query.Decoy(ev) {
		return "  DECOY"
	}
	return ""
}

func from(ev *event.Event) string {
	switch {
	case ev.RemoteAddr.IsValid():
		return ev.RemoteAddr.String()
	case ev.Has(event.FlagAWSInternal):
		return "aws-internal"
	}
	return "-"
}

// DescribeQuery is the query in words, for headings and messages.
func DescribeQuery(q trace.Query) string {
	var parts []string
	if q.Identity != "" {
		parts = append(parts, fmt.Sprintf("identity %q", q.Identity))
	}
	if q.Credential != "" {
		parts = append(parts, fmt.Sprintf("credential %q", q.Credential))
	}
	if q.Addr.IsValid() {
		if q.Addr.IsSingleIP() {
			parts = append(parts, "address "+q.Addr.Addr().String())
		} else {
			parts = append(parts, "addresses "+q.Addr.String())
		}
	}
	return strings.Join(parts, " and ")
}

// traceTable is the responder's view, the answer first: who matched, the secrets to rotate and
// those changed; then the credentials and addresses involved, and the timeline (both left out
// with Summary).
func traceTable(w io.Writer, r *TraceResult) error {
	t := r.Trace
	bw := &errWriter{w: w}
	fmt.Fprintf(bw, "Trace of %s\n", Sanitize(DescribeQuery(t.Query)))
	if t.Total() == 0 {
		fmt.Fprintln(bw, "No matching events.")
		return bw.err
	}
	fmt.Fprintf(bw, "%d events from %s to %s (%d denied, %d failed)\n\n", t.Total(), r.when(t.First), r.when(t.Last), t.Denied, t.Errors)

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENTITY\tDISPLAY NAMES\tEVENTS")
	for _, id := range t.Identities {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", cell(id.Principal, 60), cell(strings.Join(id.DisplayNames, ", "), 80)+andMore(id.MoreDisplayNames, len(id.DisplayNames), "display names"), id.Events)
	}
	tw.Flush()
	r.writeRestNote(bw, t.MoreIdentities, len(t.Identities), "identities")
	fmt.Fprintln(bw)
	n := 0
	for _, g := range t.Read {
		n += len(g.Secrets)
	}
	fmt.Fprintf(bw, "Secrets read successfully: rotate these (%d secrets in %d groups)\n", n, len(t.Read))
	if n == 0 {
		fmt.Fprintln(bw, "  none")
	}
	writeGroups(bw, tw, r, t.Read, true)
	if len(t.Unanswered) > 0 {
		n = 0
		for _, g := range t.Unanswered {
			n += len(g.Secrets)
		}
		fmt.Fprintf(bw, "\nSecrets requested, outcome unknown (no response in the log): rotate these too when in doubt (%d secrets)\n", n)
		writeGroups(bw, tw, r, t.Unanswered, true)
	}
	if len(t.Changed) > 0 {
		n = 0
		for _, g := range t.Changed {
			n += len(g.Secrets)
		}
		fmt.Fprintf(bw, "\nSecrets written or deleted: check their current values and versions (%d secrets)\n", n)
		writeGroups(bw, tw, r, t.Changed, false)
	}
	if r.Summary {
		return bw.err
	}
	if len(t.Credentials) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(tw, "CREDENTIAL\tEVENTS\tFIRST\tLAST")
		for _, c := range t.Credentials {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", cell(c.Value, 80), c.Events, r.when(c.First), r.when(c.Last))
		}
		tw.Flush()
		r.writeRestNote(bw, t.MoreCredentials, len(t.Credentials), "credentials")
	}
	if len(t.Addresses) > 0 {
		fmt.Fprintln(bw)
		fmt.Fprintln(tw, "ADDRESS\tNETWORK\tEVENTS\tFIRST\tLAST")
		for _, a := range t.Addresses {
			nw := "external"
			if a.Internal {
				nw = "internal"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", a.Value, nw, a.Events, r.when(a.First), r.when(a.Last))
		}
		tw.Flush()
		r.writeRestNote(bw, t.MoreAddresses, len(t.Addresses), "addresses")
	}

	fmt.Fprintln(bw, "\nTimeline")
	if n := r.timelineNote(); n != "" {
		fmt.Fprintln(bw, n)
	}
	many := len(t.Identities) > 1 || len(t.Credentials) > 1
	if many {
		fmt.Fprintln(tw, "TIME\tOPERATION\tPATH\tFROM\tOUTCOME\tWHO\tCREDENTIAL")
	} else {
		fmt.Fprintln(tw, "TIME\tOPERATION\tPATH\tFROM\tOUTCOME")
	}
	for i := range t.Events {
		if i == t.Cut.At && t.Cut.Events > 0 {
			tw.Flush()
			fmt.Fprintf(bw, "... %s events from %s to %s left out ...\n", thousands(t.Cut.Events), r.when(t.Cut.First), r.when(t.Cut.Last))
		}
		ev := &t.Events[i]
		path := ev.Path
		if path == "" {
			path = ev.Resource
		}
		row := fmt.Sprintf("%s\t%s\t%s%s\t%s (%s)\t%s", r.when(ev.Time), cell(ev.Action, 30), cell(path, 80), r.decoyMark(ev), from(ev), r.network(ev), ev.Outcome)
		if many {
			who := ev.DisplayName
			if who == "" {
				who = ev.Actor()
			}
			row += "\t" + cell(who, 40) + "\t" + cell(ev.Credential, 40)
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()

	return bw.err
}

func writeGroups(bw io.Writer, tw *tabwriter.Writer, r *TraceResult, gs []trace.SecretGroup, read bool) {
	for _, g := range gs {
		fmt.Fprintf(bw, "  %s %s (%d)", storeLabel(g.Store), cell(g.Group, 80), len(g.Secrets))
		if read && g.Dynamic {
			fmt.Fprint(bw, "  dynamic credentials: revoke the leases of each path (vault lease revoke -prefix PATH)")
		}
		fmt.Fprintln(bw)
		noun := "change"
		if read {
			noun = "read"
		}
		for _, s := range g.Secrets {
			mark := ""
			if s.Decoy {
				mark = "  DECOY"
			}
			fmt.Fprintf(tw, "    %s%s\t%d %s%s\t%s\t%s\tfrom %s\n", cell(s.Resource, 100), mark, s.Count, noun, plural(s.Count),
				r.when(s.First), r.when(s.Last), cell(strings.Join(s.Addresses, ", "), 60)+andMore(s.MoreAddresses, len(s.Addresses), "addresses"))
		}
		tw.Flush()
	}
}

// storeLabel names a store for people, in the trace's lists.
func storeLabel(kind string) string {
	switch kind {
	case "vault":
		return "[Vault]"
	case "cloudtrail":
		return "[AWS]"
	case "kubernetes":
		return "[Kubernetes]"
	}
	return "[" + kind + "]"
}

// errWriter keeps the first write error, so a long rendering checks once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}

type traceJSONDoc struct {
	Tool           string              `json:"tool"`
	Version        string              `json:"version"`
	Command        string              `json:"command"`
	Query          traceJSONQuery      `json:"query"`
	Summary        traceJSONSummary    `json:"summary"`
	Identities     []traceJSONIdentity `json:"identities"`
	Credentials    []traceJSONCount    `json:"credentials"`
	Addresses      []traceJSONAddress  `json:"addresses"`
	SecretsRead    []traceJSONGroup    `json:"secrets_read"`
	SecretsChanged []traceJSONGroup    `json:"secrets_changed"`
	SecretsUnknown []traceJSONGroup    `json:"secrets_outcome_unknown"` // value reads with no logged response
	Timeline       []traceJSONEvent    `json:"timeline"`
	Files          []sources.FileStats `json:"files"`
	// Cut: what the lists above leave out (a long timeline, past 1,000 credentials...);
	// absent when nothing was.
	Cut *traceJSONCut `json:"cut,omitempty"`
}

type traceJSONQuery struct {
	Identity   string `json:"identity,omitempty"`
	Credential string `json:"credential,omitempty"`
	Address    string `json:"address,omitempty"`
	Since      string `json:"since,omitempty"`
	Until      string `json:"until,omitempty"`
}

type traceJSONSummary struct {
	Events  int    `json:"events"`
	Denied  int    `json:"denied"`
	Errors  int    `json:"errors"`
	Secrets int    `json:"secrets_read"`
	First   string `json:"first_event,omitempty"`
	Last    string `json:"last_event,omitempty"`

	Timeline int `json:"timeline_events"` // the events of "timeline": Events unless it was cut
}

type traceJSONIdentity struct {
	Identity     string   `json:"identity"`
	DisplayNames []string `json:"display_names"`
	Events       int      `json:"events"`

	MoreDisplayNames bool `json:"more_display_names,omitempty"` // display_names holds the first 50 of more
}

type traceJSONCount struct {
	Value  string `json:"credential"`
	Events int    `json:"events"`
	First  string `json:"first_seen"`
	Last   string `json:"last_seen"`
}

type traceJSONAddress struct {
	Address  string `json:"address"`
	Internal bool   `json:"internal"`
	Events   int    `json:"events"`
	First    string `json:"first_seen"`
	Last     string `json:"last_seen"`
}

type traceJSONGroup struct {
	Store   string            `json:"store"` // vault, cloudtrail, kubernetes
	Group   string            `json:"group"`
	Dynamic bool              `json:"dynamic"`
	Secrets []traceJSONSecret `json:"secrets"`
}

type traceJSONSecret struct {
	Resource  string   `json:"resource"`
	Count     int      `json:"count"`
	First     string   `json:"first_seen"`
	Last      string   `json:"last_seen"`
	Addresses []string `json:"source_ips"`
	Decoy     bool     `json:"decoy,omitempty"` // a configured decoy

	MoreAddresses bool `json:"more_source_ips,omitempty"` // source_ips holds the first 50 of more
}

type traceJSONEvent struct {
	Time          string `json:"time"`
	Source        string `json:"source"`
	Identity      string `json:"identity"`
	DisplayName   string `json:"display_name"`
	Credential    string `json:"credential"`
	Operation     string `json:"operation"`
	Op            string `json:"op"`
	Path          string `json:"path"`
	Resource      string `json:"resource"`
	Mount         string `json:"mount,omitempty"`
	RemoteAddress string `json:"remote_address"`
	Network       string `json:"network"`
	Outcome       string `json:"outcome"`
	ValueRead     bool   `json:"value_read"`
	File          string `json:"file"`
	Line          int    `json:"line"`
}

func traceJSON(w io.Writer, r *TraceResult) error {
	t := r.Trace
	q := t.Query
	doc := traceJSONDoc{Tool: "vaultsentry", Version: r.Version, Command: "trace",
		Query:      traceJSONQuery{Identity: validUTF8(q.Identity), Credential: validUTF8(q.Credential), Since: utc(q.Since), Until: utc(q.Until)},
		Summary:    traceJSONSummary{Events: t.Total(), Timeline: len(t.Events), Denied: t.Denied, Errors: t.Errors, First: utc(t.First), Last: utc(t.Last)},
		Identities: []traceJSONIdentity{}, Credentials: []traceJSONCount{}, Addresses: []traceJSONAddress{},
		SecretsRead: jsonGroups(t.Read), SecretsChanged: jsonGroups(t.Changed), SecretsUnknown: jsonGroups(t.Unanswered),
		Timeline: make([]traceJSONEvent, 0, len(t.Events)), Files: r.Files, Cut: r.jsonCut()}
	if doc.Files == nil {
		doc.Files = []sources.FileStats{}
	}
	if q.Addr.IsValid() {
		doc.Query.Address = q.Addr.String()
		if q.Addr.IsSingleIP() {
			doc.Query.Address = q.Addr.Addr().String()
		}
	}
	for _, g := range t.Read {
		doc.Summary.Secrets += len(g.Secrets)
	}
	for _, id := range t.Identities {
		doc.Identities = append(doc.Identities, traceJSONIdentity{Identity: validUTF8(id.Principal), DisplayNames: validAll(id.DisplayNames), Events: id.Events,
			MoreDisplayNames: id.MoreDisplayNames})
	}
	for _, c := range t.Credentials {
		doc.Credentials = append(doc.Credentials, traceJSONCount{Value: validUTF8(c.Value), Events: c.Events, First: utc(c.First), Last: utc(c.Last)})
	}
	for _, a := range t.Addresses {
		doc.Addresses = append(doc.Addresses, traceJSONAddress{Address: a.Value, Internal: a.Internal, Events: a.Events, First: utc(a.First), Last: utc(a.Last)})
	}
	for i := range t.Events {
		doc.Timeline = append(doc.Timeline, jsonEvent(r, &t.Events[i]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(EscapeInvisibleJSON(buf.Bytes()))
	return err
}

func jsonEvent(r *TraceResult, ev *event.Event) traceJSONEvent {
	addr := ""
	if ev.RemoteAddr.IsValid() {
		addr = ev.RemoteAddr.String()
	}
	return traceJSONEvent{Time: utc(ev.Time), Source: ev.Kind.String(), Identity: validUTF8(ev.Actor()), DisplayName: validUTF8(ev.DisplayName),
		Credential: validUTF8(ev.Credential), Operation: validUTF8(ev.Action), Op: ev.Op.String(), Path: validUTF8(ev.Path),
		Resource: validUTF8(ev.Resource), Mount: validUTF8(ev.Mount), RemoteAddress: addr, Network: r.network(ev),
		Outcome: ev.Outcome.String(), ValueRead: trace.ValueRead(ev), File: validUTF8(ev.Pos.File), Line: ev.Pos.Line}
}

func jsonGroups(gs []trace.SecretGroup) []traceJSONGroup {
	out := make([]traceJSONGroup, 0, len(gs))
	for _, g := range gs {
		jg := traceJSONGroup{Store: g.Store, Group: validUTF8(g.Group), Dynamic: g.Dynamic, Secrets: make([]traceJSONSecret, 0, len(g.Secrets))}
		for _, s := range g.Secrets {
			jg.Secrets = append(jg.Secrets, traceJSONSecret{Resource: validUTF8(s.Resource), Count: s.Count,
				First: utc(s.First), Last: utc(s.Last), Addresses: nonNil(s.Addresses), MoreAddresses: s.MoreAddresses, Decoy: s.Decoy})
		}
		out = append(out, jg)
	}
	return out
}

// traceCSV writes the timeline, one event per row, for spreadsheets and SIEM imports.
func traceCSV(w io.Writer, r *TraceResult) error {
	cw := csv.NewWriter(w)
	header := []string{"time", "source", "identity", "display_name", "credential", "operation", "op", "path", "resource",
		"mount", "remote_address", "network", "outcome", "value_read", "file", "line"}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	row := func(ev *event.Event) error {
		e := jsonEvent(r, ev)
		rec = append(rec[:0], e.Time, e.Source, e.Identity, e.DisplayName, e.Credential, e.Operation, e.Op, e.Path, e.Resource,
			e.Mount, e.RemoteAddress, e.Network, e.Outcome, strconv.FormatBool(e.ValueRead), e.File, strconv.Itoa(e.Line))
		for k := range rec {
			rec[k] = CSVSafe(Sanitize(rec[k])) // CSV files get cat'ed to terminals too
		}
		return cw.Write(rec)
	}
	t := r.Trace
	if r.Events != nil { // every matched event, in one more pass: none is cut
		for ev := range t.Filter(r.Events()) {
			if err := row(ev); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	for i := range t.Events {
		if i == t.Cut.At && t.Cut.Events > 0 {
			// A comment line where the events were left out (pandas comment='#', or skip it):
			// the cut is said where it is, not left for the reader to guess.
			cw.Flush()
			u := *r
			u.Location = nil // the CSV's times are UTC
			if _, err := io.WriteString(w, "# "+CSVSafe(Sanitize(u.timelineNote()))+"\n"); err != nil {
				return err
			}
		}
		if err := row(&t.Events[i]); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe defuses formula injection (OWASP "CSV injection"): a cell that starts with = + - @
// (or their full-width forms), a tab or a carriage return is evaluated by a spreadsheet. A cell
// starts at the beginning of the value and, for a spreadsheet told to split on another
// separator than ours (a semicolon is the default wherever the comma is the decimal mark),
// after any comma, semicolon or tab inside it: `x;=HYPERLINK(...)` is two cells there, and
// encoding/csv does not quote it. Quoting would not be enough either, as some importers ignore
// quotes. So a quote is put at each place a cell could start when a formula start follows,
// past any spaces and double quotes: the spreadsheet shows the rest as text. Newlines stay:
// encoding/csv quotes them, so they cannot start a new record (and Sanitize escapes them).
func CSVSafe(s string) string {
	var b strings.Builder
	last := 0
	for p := 0; p <= len(s); p++ {
		if p > 0 && !isCSVSeparator(s[p-1]) {
			continue
		}
		j := p
		for j < len(s) && (s[j] == ' ' || s[j] == '"') {
			j++
		}
		if !formulaStart(s[j:]) {
			continue
		}
		b.WriteString(s[last:p])
		b.WriteByte('\'')
		last = p
	}
	if b.Len() == 0 {
		return s // nothing to defuse: no copy
	}
	b.WriteString(s[last:])
	return b.String()
}

// isCSVSeparator reports the separators a spreadsheet may split a CSV line on.
func isCSVSeparator(c byte) bool { return c == ',' || c == ';' || c == '\t' }

// formulaStart reports whether a cell beginning with s is evaluated as a formula.
func formulaStart(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r == '＝' || r == '＋' || r == '－' || r == '＠'
}
