package cloudtrail

import (
	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"
)

// RecordStream is the raw CloudTrail records fetched from one region, newest first, as the API
// returned them (each the CloudTrailEvent JSON document).
type RecordStream struct {
	Name    string // "lookup-events:<region>"
	Records [][]byte
}

// LoadRecords decodes fetched records the way Load decodes files: statistics per stream,
// duplicates dropped by eventID, events in time order, batch echoes dropped.
func LoadRecords(streams []RecordStream) *sources.Loaded {
	res := &sources.Loaded{Files: make([]sources.FileStats, len(streams))}
	perFile := make([][]event.Event, len(streams))
	in := sources.NewInterner().Local()
	for i, s := range streams {
		st := &res.Files[i]
		st.File, st.Format = s.Name, "cloudtrail"
		cr := newCTReader(s.Name, st, in)
		for j, raw := range s.Records {
			st.Lines++
			st.Bytes += int64(len(raw))
			cr.record(raw, j+1)
		}
		perFile[i] = cr.out
	}
	stats := make([]*sources.FileStats, len(res.Files))
	for i := range res.Files {
		stats[i] = &res.Files[i]
	}
	dropDuplicateRecords(perFile, stats)
	for _, evs := range perFile {
		res.Events = append(res.Events, evs...)
	}
	sources.SortEvents(res.Events)
	res.Events = dropBatchEchoes(res.Events, res.Files)
	return res
}
