package metrics

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/vaultsentry/vaultsentry/analyze"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/sources"
)

// DefaultTopIdentities is how many identities --metrics-top-identities lists by default.
const DefaultTopIdentities = 20

// MaxInputs caps the input files listed one by one, the ones with the most lines: a directory
// scan of a year of rotated logs names hundreds of files, and the per-store totals already
// carry every file's counts. The JSON report lists them all.
const MaxInputs = 20

// Run is what the metrics say about the run beyond its events.
type Run struct {
	// Findings are the reported findings (after the ignore list, --previous-report and
	// --min-severity): the report's list, so the series sum to its count.
	Findings []analyze.Finding
	Files    []sources.FileStats
	// Start and End bound the run in wall-clock time; End is the file's timestamp.
	Start, End time.Time
	// Success: the run finished without an error (exit 0, or 1 for findings at --fail-on).
	Success bool
	// TopIdentities is how many identities to list by reads; 0 lists none.
	TopIdentities int
	Version       string
}

// storeOfFormat is the store whose log each file format holds, named as event.Kind names it
// (and `vaultsentry rules` shows it). A format missing here is named by itself.
var storeOfFormat = map[string]string{
	"vault": "vault", "cloudtrail": "cloudtrail", "lookup-events": "cloudtrail", "k8saudit": "kubernetes",
}

// Families builds the metric families of one run, in a stable order. c is nil when the run
// failed before its events were collected: the families then say only what the files and the
// run itself can.
func Families(c *Collector, r Run) []*dto.MetricFamily {
	findings := newGauge("vaultsentry_findings", "Findings this run reported, by rule, severity and store (the finding's source: a cross-store finding names both, cloudtrail+vault); they sum to the report's count.", "rule", "severity", "store")
	for _, f := range r.Findings {
		findings.add(1, sum, f.Rule, f.Severity.String(), cmp.Or(f.Source, "unknown"))
	}

	events := newGauge("vaultsentry_events", "Events analysed (inside --since and --until), by store.", "store")
	malformed := newGauge("vaultsentry_malformed_lines", "Input lines that could not be decoded, by store.", "store")
	inputs := newGauge("vaultsentry_inputs", "Input files read, by store.", "store")
	inputEvents := newGauge("vaultsentry_input_events", fmt.Sprintf("Events read from each input file (before --since and --until), for the %d files with the most lines.", MaxInputs), "store", "input")
	inputMalformed := newGauge("vaultsentry_input_malformed_lines", fmt.Sprintf("Malformed lines of each input file, for the %d files with the most lines.", MaxInputs), "store", "input")
	stores := map[string]bool{}
	var read []sources.FileStats
	for _, f := range r.Files {
		if f.Format == "" {
			continue // no format read it: it holds no audit events
		}
		store := cmp.Or(storeOfFormat[f.Format], f.Format)
		stores[store] = true
		malformed.add(float64(f.Malformed), sum, store)
		inputs.add(1, sum, store)
		read = append(read, f)
	}
	slices.SortStableFunc(read, func(a, b sources.FileStats) int {
		return cmp.Or(cmp.Compare(b.Lines, a.Lines), cmp.Compare(a.File, b.File))
	})
	for _, f := range read[:min(len(read), MaxInputs)] {
		store := cmp.Or(storeOfFormat[f.Format], f.Format)
		inputEvents.add(float64(f.Events), sum, store, report.Sanitize(f.File))
		inputMalformed.add(float64(f.Malformed), sum, store, report.Sanitize(f.File))
	}

	lastEvent := newGauge("vaultsentry_last_event_timestamp_seconds", fmt.Sprintf("Time of the newest event of each audit stream (a Vault or Kubernetes audit file without its rotation suffixes, a CloudTrail account/region), for the %d newest per store.", MaxStreams), "store", "stream")
	streams := newGauge("vaultsentry_audit_streams", "Audit streams seen, by store, including those left out of vaultsentry_last_event_timestamp_seconds.", "store")
	reads := newGauge("vaultsentry_secret_reads", "Successful reads of secrets in the reporting period (after --learn-until, or --since with history before it), by store.", "store")
	fresh := newGauge("vaultsentry_new_secret_accesses", "Distinct (identity, secret) pairs read in the reporting period that the baseline had not seen before, by store.", "store")
	readers := newGauge("vaultsentry_reading_identities", "Identities that read secrets in the reporting period, by store.", "store")
	identityReads := newGauge("vaultsentry_identity_reads", fmt.Sprintf("Secret reads in the reporting period of the %d identities that read the most (--metrics-top-identities).", r.TopIdentities), "store", "identity")
	if c != nil {
		for s := range c.events {
			stores[s] = true
		}
		for _, s := range slices.Sorted(maps.Keys(stores)) {
			events.add(float64(c.events[s]), sum, s)
			reads.add(float64(c.reads[s]), sum, s)
			fresh.add(float64(c.fresh[s]), sum, s)
			readers.add(0, sum, s)
		}
		sks := slices.SortedFunc(maps.Keys(c.streams), func(a, b streamKey) int {
			return cmp.Or(cmp.Compare(a.store, b.store), c.streams[b].Compare(c.streams[a]), cmp.Compare(a.stream, b.stream))
		})
		perStore := map[string]int{}
		for _, k := range sks {
			streams.add(1, sum, k.store)
			if perStore[k.store]++; perStore[k.store] <= MaxStreams {
				lastEvent.add(unixSeconds(c.streams[k]), latest, k.store, report.Sanitize(k.stream))
			}
		}
		ids := slices.SortedFunc(maps.Keys(c.readers), func(a, b identityKey) int {
			return cmp.Or(cmp.Compare(c.readers[b], c.readers[a]), cmp.Compare(a.store, b.store), cmp.Compare(a.identity, b.identity))
		})
		for i, k := range ids {
			readers.add(1, sum, k.store)
			if i < r.TopIdentities {
				identityReads.add(float64(c.readers[k]), sum, k.store, report.Sanitize(k.identity))
			}
		}
	}

	duration := newGauge("vaultsentry_run_duration_seconds", "How long the run took, from start to the metrics file.")
	duration.add(max(r.End.Sub(r.Start).Seconds(), 0), sum)
	success := newGauge("vaultsentry_run_success", "1 when the run finished without an error (exit 0, or 1 for findings at --fail-on), else 0.")
	success.add(b2f(r.Success), sum)
	stamp := newGauge("vaultsentry_run_timestamp_seconds", "When the run wrote this file (Unix time).")
	stamp.add(unixSeconds(r.End), sum)
	info := newGauge("vaultsentry_build_info", "The vaultsentry version that wrote this file; always 1.", "version")
	info.add(1, latest, cmp.Or(r.Version, "unknown"))

	var out []*dto.MetricFamily
	for _, g := range []*gauge{findings, events, malformed, inputs, inputEvents, inputMalformed, lastEvent, streams,
		reads, fresh, readers, identityReads, duration, success, stamp, info} {
		if mf := g.family(); mf != nil {
			out = append(out, mf)
		}
	}
	return out
}

// Write writes families in the Prometheus text exposition format.
func Write(w io.Writer, families []*dto.MetricFamily) error {
	bw := bufio.NewWriter(w)
	for _, mf := range families {
		if _, err := expfmt.MetricFamilyToText(bw, mf); err != nil {
			return fmt.Errorf("write metric %s: %w", mf.GetName(), err)
		}
	}
	return bw.Flush()
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sum and latest say how a value joins a series that already has it. Series are keyed by the
// label values as written (sanitized, streams without rotation suffixes), so the file never
// holds one series twice, which the exposition format forbids.
func sum(old, v float64) float64 { return old + v }

func latest(old, v float64) float64 { return max(old, v) }

// gauge gathers the series of one gauge family, one per distinct set of label values.
type gauge struct {
	name, help string
	labels     []string
	series     map[string]*dto.Metric
	order      []string
}

func newGauge(name, help string, labels ...string) *gauge {
	return &gauge{name: name, help: help, labels: labels, series: map[string]*dto.Metric{}}
}

func (g *gauge) add(v float64, merge func(old, v float64) float64, values ...string) {
	key := strings.Join(values, "\x00")
	if m, ok := g.series[key]; ok {
		m.Gauge.Value = new(merge(m.Gauge.GetValue(), v))
		return
	}
	m := &dto.Metric{Gauge: &dto.Gauge{Value: new(v)}}
	for i, l := range g.labels {
		m.Label = append(m.Label, &dto.LabelPair{Name: new(l), Value: new(values[i])})
	}
	g.series[key] = m
	g.order = append(g.order, key)
}

// family is the gauge's metric family, series sorted by label values, or nil when it has no series (the text format has no
// way to say "a family without samples").
func (g *gauge) family() *dto.MetricFamily {
	if len(g.order) == 0 {
		return nil
	}
	mf := &dto.MetricFamily{Name: new(g.name), Help: new(g.help), Type: dto.MetricType_GAUGE.Enum()}
	for _, k := range slices.Sorted(slices.Values(g.order)) { // by label values: stable output
		mf.Metric = append(mf.Metric, g.series[k])
	}
	return mf
}
