package cloudtrail

import (
	"context"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// Format reads CloudTrail records in every framing they are stored in: S3 log files
// ({"Records":[...]}), lookup-events output, arrays, NDJSON, EventBridge events, and Amazon
// Security Lake's OCSF API Activity events as JSON or Parquet (ocsf.go, ocsf_parquet.go).
type Format struct{}

var (
	_ sources.Combiner       = Format{}
	_ sources.StreamFinisher = Format{}
	_ sources.Stager         = Format{}
)

func (Format) Name() string  { return "cloudtrail" }
func (Format) Title() string { return "CloudTrail records" }

var ctRecordKeys = []string{"eventVersion", "eventSource", "eventName", "CloudTrailEvent"}

func (Format) Sniff(name string, h *sources.Head) bool {
	if isParquet(h.Bytes) {
		return securityLakeParquet(h) // ocsf_parquet.go
	}
	if isDigestPath(name) || ocsfHead(h) { // ocsf.go: Security Lake's events as JSON
		return true
	}
	for _, v := range h.Values {
		switch {
		case v.HasAny(ctRecordKeys...):
			return true
		case v.Array:
			continue
		case v.HasAny("Records", "Events", "digestPublicKeyFingerprint", "digestStartTime"),
			v.Has("detail-type", "detail"):
			return true
		}
	}
	return false
}

func (Format) Read(_ context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	if head, _ := f.R.Peek(sources.HeadBytes); isParquet(head) {
		return sources.Batch{Events: sources.StoreOf(readOCSFParquet(f.Name, f.R, st, f.Local))}
	} else if !isDigestPath(f.Name) && ocsfHead(sources.ScanHead(head, len(head) < sources.HeadBytes)) {
		return sources.Batch{Events: sources.StoreOf(readOCSFJSON(f.Name, f.R, f.MaxLineBytes, st, f.Local))}
	}
	evs, _ := readCloudTrail(f.Name, f.R, f.MaxLineBytes, st, f.Local)
	return sources.Batch{Events: sources.StoreOf(evs)}
}

// Combine drops the records seen in an earlier file (CloudTrail delivers at least once), then
// orders each file: a delivered file holds its records in no particular order. (sources.Stream
// does neither: its stage, NewStage, drops the copies in the merged stream.)
func (Format) Combine(batches []*sources.Batch, stats []*sources.FileStats) {
	flat := make([][]event.Event, len(batches))
	for i, b := range batches {
		flat[i] = b.Events.Flat()
	}
	dropDuplicateRecords(flat, stats)
	var sorter sources.Sorter
	for i, b := range batches {
		sorter.Sort(flat[i])
		b.Events, b.Extra = sources.StoreOf(flat[i]), nil
	}
}

// Finish drops the GetSecretValue echoes of batch reads from the merged stream (the stage's
// echoes, run over the slice).
func (Format) Finish(evs []event.Event, files []sources.FileStats) []event.Event {
	return dropBatchEchoes(evs, files)
}
