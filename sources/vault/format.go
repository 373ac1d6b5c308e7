package vault

import (
	"context"

	"github.com/vaultsentry/vaultsentry/sources"
)

// Format reads Vault / OpenBao file audit device logs (NDJSON, one entry per line).
type Format struct{}

func (Format) Name() string  { return "vault" }
func (Format) Title() string { return "Vault / OpenBao audit log" }

// Sniff: an audit entry has "time" and "type" (request or response) and an "auth" or a
// "request" object at the top level; a shipped one is a Fluent Bit lifted record, a Loki
// jsonl line or query_range response whose line is an entry, or a hashicorp_vault document.
func (Format) Sniff(_ string, h *sources.Head) bool {
	for _, v := range h.Values {
		if v.Has("time", "type") && v.HasAny("request", "auth") { // an array: jq -s, json-array
			return true
		}
	}
	// A shipped shape (shipped.go): by its keys, and for a Loki line by the keys of the
	// record it holds.
	return sniffShipped(h.Bytes)
}

func (Format) Read(ctx context.Context, f *sources.File, st *sources.FileStats) sources.Batch {
	var sizeHint int64 // lets the reader size its event store in one go
	if !f.Compressed {
		sizeHint = f.Size
	}
	return sources.Batch{Events: readVault(ctx, f.Name, f.R, sizeHint, f.MaxLineBytes, st, f.Strings, f.Progress, f.Emit)}
}
