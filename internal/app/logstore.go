package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
	"github.com/vaultsentry/vaultsentry/sources/elastic"
	"github.com/vaultsentry/vaultsentry/sources/loki"
)

// This file is the only one that calls the live log-store readers (sources/loki,
// sources/elastic): scan --loki, --elasticsearch, --opensearch.

// Log stores scan reads.
const (
	StoreLoki          = "loki"
	StoreElasticsearch = "elasticsearch"
	StoreOpenSearch    = "opensearch"
)

// StoreRequest names the log store a scan reads instead of files.
type StoreRequest struct {
	Kind  string // StoreLoki, StoreElasticsearch, StoreOpenSearch
	URL   string
	Query string // LogQL (Loki)
	Index string // index pattern (Elasticsearch, OpenSearch)
	OrgID string // X-Scope-OrgID (Loki); "" reads LOKI_ORG_ID
	// Getenv reads the credentials (nil: os.Getenv).
	Getenv func(string) string
	// PageLimit is the page size asked for (0: the store's default, 5000).
	PageLimit int
	// Client and RetryWait are for tests.
	Client    *http.Client
	RetryWait time.Duration
}

// storeLookback bounds how far back the newest entry is looked for, when durations count back
// from it: Loki's default retention is far shorter.
const storeLookback = 400 * 24 * time.Hour

// storeCeil is how far past the wall clock an entry may be dated and still count as the newest
// (as newestPlausible allows for files): a planted far-future line must not move --since.
const storeCeil = 24 * time.Hour

// scanStore exports the store's entries into a spool, one input per stream, and analyses them as
// files of Vault audit records. Durations in --since/--until/--learn-until count back from the
// newest entry the store holds (asked for first), never from the wall clock. An export that
// fails part-way is analysed as far as it got, reported, and then exits 3.
func scanStore(ctx context.Context, r *ScanRequest) (Outcome, error) {
	o := &r.Options
	s := r.Store
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	now := o.now().UTC()
	lo := loki.Options{URL: s.URL, Query: s.Query, OrgID: s.OrgID, PageLimit: s.PageLimit, Client: s.Client, RetryWait: s.RetryWait}
	eo := elastic.Options{Flavor: elastic.Elasticsearch, URL: s.URL, Index: s.Index, PageSize: s.PageLimit, Client: s.Client, RetryWait: s.RetryWait}
	if s.Kind == StoreOpenSearch {
		eo.Flavor = elastic.OpenSearch
	}
	lo.FromEnv(getenv)
	eo.FromEnv(getenv)
	hint := storeHint(s.Kind)

	var ref time.Time
	if isAgo(o.Since) || isAgo(o.Until) || isAgo(o.LearnUntil) {
		var ok bool
		var err error
		if s.Kind == StoreLoki {
			ref, ok, err = loki.Newest(ctx, lo, now.Add(storeCeil), storeLookback)
		} else {
			ref, ok, err = elastic.Newest(ctx, eo, now.Add(storeCeil))
		}
		if ctx.Err() != nil {
			return Outcome{}, interrupted(ctx, "asking "+s.Kind+" for its newest entry")
		}
		if err != nil {
			return Outcome{}, runtimef(hint, fmt.Errorf("scan: %s: newest entry: %w", s.Kind, err))
		}
		if !ok {
			return Outcome{}, runtimef("check the query and the index; give --since/--until as RFC 3339 times to ask for a fixed range",
				fmt.Errorf("scan: %s: no entry matches (looked for the newest, to count --since back from it)", s.Kind))
		}
		if o.Verbose {
			fmt.Fprintf(o.IO.Err, "%s: newest entry at %s; durations count back from it\n", s.Kind, ref.Format(time.RFC3339Nano))
		}
	}
	start, end := o.Since.Resolve(ref), o.Until.Resolve(ref)
	if end.IsZero() && s.Kind == StoreLoki {
		end = now.Add(storeCeil)
		if !ref.IsZero() {
			end = ref.Add(1) // end is exclusive: the newest entry is in
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return Outcome{}, usagef("--until must be later than --since", "scan: empty time range %s .. %s",
			start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	}
	sp, err := sources.NewSpool()
	if err != nil {
		return Outcome{}, runtimef("check TMPDIR: the export is kept there until it is analysed", err)
	}
	defer sp.Close()
	prog := &storeProgress{io: o.IO, kind: s.Kind}
	var st *sources.StoreStats
	var exportErr error
	if s.Kind == StoreLoki {
		lo.Start, lo.End, lo.Progress = start, end, prog.update
		st, exportErr = loki.Export(ctx, lo, sp)
	} else {
		eo.Start, eo.End, eo.Progress = start, end, prog.update
		st, exportErr = elastic.Export(ctx, eo, sp)
	}
	prog.done()
	st.Reference = ref
	if ctx.Err() != nil {
		return Outcome{}, interrupted(ctx, "reading "+s.Kind)
	}
	if exportErr != nil && st.Entries == 0 {
		return Outcome{}, runtimef(hint, fmt.Errorf("scan: %s: %w", s.Kind, exportErr))
	}
	if st.Entries == 0 {
		return Outcome{}, runtimef("check the query (or index), the time range and the tenant",
			fmt.Errorf("scan: %s: %w: no entry in %s .. %s", s.Kind, errNoEvents, fmtTime(start), fmtTime(end)))
	}
	ins, err := sp.Inputs()
	if err != nil {
		return Outcome{}, runtimef("check the free space of TMPDIR", err)
	}
	if o.Verbose {
		fmt.Fprintf(o.IO.Err, "%s: %d entries in %d pages, %d streams\n", s.Kind, st.Entries, st.Pages, st.Streams)
	}
	// An export that stopped part-way is said once in the summary (NOT READ, with the range)
	// and once as the run's error after the report; stats.stores[].gap holds it in JSON.
	p := &pipeline{ctx: ctx, opts: o, command: "scan", timeRef: ref, stores: []sources.StoreStats{*st}}
	if os.Getenv(inMemoryEnv) == "1" {
		if p.loaded, err = loadExpanded(ctx, o, "scan", ins, "vault", hint); err != nil {
			return Outcome{}, err
		}
	} else {
		p.stream = &streamSource{ins: ins, command: "scan", format: "vault", hint: hint} // the spooled streams, read as files
	}
	out, err := p.run()
	if err == nil && exportErr != nil {
		err = runtimef("the report covers what was read before the failure (stats.stores[].gap names the rest); "+storeRetryHint(s.Kind, exportErr),
			fmt.Errorf("scan: %s: export incomplete: %w", s.Kind, exportErr))
	}
	return out, err
}

func isAgo(a TimeArg) bool { return a.set && a.at.IsZero() }

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "(unbounded)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func storeHint(kind string) string {
	switch kind {
	case StoreLoki:
		return "check --loki (the base URL, e.g. http://loki:3100), --query, LOKI_USERNAME/LOKI_PASSWORD or LOKI_BEARER_TOKEN, and --loki-org-id (LOKI_ORG_ID)"
	case StoreOpenSearch:
		return "check --opensearch (the base URL), --index, and OPENSEARCH_USERNAME/OPENSEARCH_PASSWORD"
	}
	return "check --elasticsearch (the base URL), --index, and ELASTIC_API_KEY or ELASTIC_USERNAME/ELASTIC_PASSWORD"
}

func storeRetryHint(kind string, err error) string {
	switch {
	case errors.Is(err, elastic.ErrPITExpired):
		return "run again: a point in time lives 5 minutes between pages"
	case errors.Is(err, loki.ErrSameNanosecond):
		return "raise Loki's max_entries_limit_per_query or narrow --query"
	}
	return "run again, or narrow --since/--until"
}

// storeProgress prints one self-overwriting line on a terminal while pages arrive.
type storeProgress struct {
	io    IO
	kind  string
	mu    sync.Mutex
	last  time.Time
	shown bool
}

func (p *storeProgress) update(entries int, at time.Time) {
	if !p.io.ErrTTY {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.io.Err, "\r\x1b[Kreading %s: %d entries, up to %s", p.kind, entries, at.Format(time.RFC3339))
	p.shown = true
}

func (p *storeProgress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.io.Err, "\r\x1b[K")
	}
}

// writeStores adds what each log-store export did to the run summary.
func writeStores(w interface{ Write([]byte) (int, error) }, stores []sources.StoreStats) {
	for _, s := range stores {
		fmt.Fprintf(w, "Read from %-8s %d entries in %d pages (%d requests", s.Store+":", s.Entries, s.Pages, s.Requests)
		if s.Retries > 0 {
			fmt.Fprintf(w, ", %d retried", s.Retries)
		}
		fmt.Fprintf(w, "), %d streams, page limit %d", s.Streams, s.PageLimit)
		if s.PageHalvings > 0 {
			fmt.Fprintf(w, " (halved %d times)", s.PageHalvings)
		}
		if s.RangeSplits > 0 {
			fmt.Fprintf(w, ", range cut %d times", s.RangeSplits)
		}
		if s.Overlap > 0 {
			fmt.Fprintf(w, ", %d repeated at a page boundary dropped", s.Overlap)
		}
		if s.PITChanges > 0 {
			fmt.Fprintf(w, ", point in time id changed %d times", s.PITChanges)
		}
		fmt.Fprintln(w)
		if !s.Reference.IsZero() {
			fmt.Fprintf(w, "  durations counted back from the newest entry, %s\n", s.Reference.Format(time.RFC3339Nano))
		}
		if s.Gap != nil {
			fmt.Fprintf(w, "  NOT READ: %s .. %s: %s\n", fmtTime(s.Gap.From), fmtTime(s.Gap.To), report.Sanitize(s.Gap.Reason))
		}
		for _, wn := range s.Warnings {
			fmt.Fprintf(w, "  warning from %s: %s\n", s.Store, report.Sanitize(wn))
		}
	}
}
