package sources

import (
	"context"
	"github.com/vaultsentry/vaultsentry/event"
)

// VaultFormat reads Vault / OpenBao file audit device logs (NDJSON, one entry per line).
type VaultFormat struct{}

func (VaultFormat) Name() string  { return string(FormatVault) }
func (VaultFormat) Title() string { return "Vault / OpenBao audit log" }

// Sniff: an audit entry has "time" and "type" (request or response) and an "auth" or a
// "request" object at the top level.
func (VaultFormat) Sniff(_ string, h *Head) bool {
	for _, v := range h.Values {
		if !v.Array && v.Has("time", "type") && v.HasAny("request", "auth") {
			return true
		}
	}
	return false
}

func (VaultFormat) Read(ctx context.Context, f *File, st *FileStats) Batch {
	var sizeHint int64 // lets the reader size its event store in one go
	if !f.Compressed {
		sizeHint = f.Size
	}
	return Batch{Events: readVault(ctx, f.Name, f.R, sizeHint, f.MaxLineBytes, st, f.Strings, f.Progress)}
}

// CloudTrailFormat reads CloudTrail records in every framing they are stored in: S3 log files
// ({"Records":[...]}), lookup-events output, arrays, NDJSON, EventBridge events.
type CloudTrailFormat struct{}

func (CloudTrailFormat) Name() string  { return string(FormatCloudTrail) }
func (CloudTrailFormat) Title() string { return "CloudTrail records" }

var ctRecordKeys = []string{"eventVersion", "eventSource", "eventName", "CloudTrailEvent"}

func (CloudTrailFormat) Sniff(name string, h *Head) bool {
	if isDigestPath(name) {
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

func (CloudTrailFormat) Read(_ context.Context, f *File, st *FileStats) Batch {
	evs, keys, _ := readCloudTrail(f.Name, f.R, f.MaxLineBytes, st, f.Local)
	return Batch{Events: StoreOf(evs), Extra: keys}
}

// Combine drops the records seen in an earlier file (CloudTrail delivers at least once), then
// orders each file: a delivered file holds its records in no particular order.
func (CloudTrailFormat) Combine(batches []*Batch, stats []*FileStats) {
	flat := make([][]event.Event, len(batches))
	ids := make([][]recKey, len(batches))
	for i, b := range batches {
		flat[i] = b.Events.flat
		ids[i], _ = b.Extra.([]recKey)
	}
	dropDuplicateRecords(flat, ids, stats)
	var keys []sortKey
	for i, b := range batches {
		keys = sortFlat(flat[i], keys)
		b.Events, b.Extra = StoreOf(flat[i]), nil
	}
}

// Finish drops the GetSecretValue echoes of batch reads from the merged stream.
func (CloudTrailFormat) Finish(evs []event.Event, files []FileStats) []event.Event {
	return dropBatchEchoes(evs, files)
}

// FileFormats are the formats Load detects by default, in the order they are asked.
func FileFormats() []FileFormat { return []FileFormat{VaultFormat{}, CloudTrailFormat{}} }
