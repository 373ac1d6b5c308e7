package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/inventory"
	"github.com/vaultsentry/vaultsentry/inventory/awsinv"
	"github.com/vaultsentry/vaultsentry/report"
	"github.com/vaultsentry/vaultsentry/review"
)

// This file is the only one that calls the inventory walkers (vaultsentry inventory) and reads
// inventory files for the review (--inventory).

// InventoryRequest is one `vaultsentry inventory vault|aws`.
type InventoryRequest struct {
	IO     IO
	Output string // a file ("" or "-": IO.Out), written whole or not at all
	Quiet  bool
	// Vault: the server, token and namespace (VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE) and the
	// mounts to walk (none: every KV mount).
	Vault inventory.VaultOptions
	// Regions are the AWS regions to list (none: the configured region).
	Regions []string
}

// InventoryVault walks the Vault KV mounts and writes one JSON line per secret. A subtree the
// token may not list is a warning on stderr and a count in the summary, not a failure.
func InventoryVault(ctx context.Context, r InventoryRequest) error {
	start := time.Now()
	vo := r.Vault
	vo.Warn = func(s string) { fmt.Fprintf(r.IO.Err, "inventory: %s\n", report.Sanitize(s)) }
	var st inventory.VaultStats
	var walkErr error
	err := writeOutput(ctx, r.IO.Out, r.Output, "inventory", func(w io.Writer) error {
		iw := inventory.NewWriter(w)
		var err error
		st, err = inventory.WalkVault(ctx, vo, iw.Write)
		walkErr = err
		if ferr := iw.Flush(); err == nil {
			err = ferr
		}
		return err
	})
	if walkErr != nil {
		return inventoryError(ctx, walkErr, "check VAULT_ADDR and VAULT_TOKEN (the token needs list on the mounts' metadata/ paths and read on sys/mounts, or --mount)")
	}
	if err != nil {
		return err
	}
	if !r.Quiet {
		fmt.Fprintf(r.IO.Err, "inventory: vault %s: %d KV mounts, %d folders listed, %d secrets; %d denied, %d failed (%s)\n",
			report.Sanitize(vo.Addr), st.Mounts, st.Folders, st.Secrets, st.Denied, st.Errors, time.Since(start).Round(time.Millisecond))
		fmt.Fprintln(r.IO.Err, ownRequests)
	}
	return nil
}

// InventoryAWS lists Secrets Manager in each region and writes one JSON line per secret.
func InventoryAWS(ctx context.Context, r InventoryRequest) error {
	start := time.Now()
	var st awsinv.Stats
	var walkErr error
	err := writeOutput(ctx, r.IO.Out, r.Output, "inventory", func(w io.Writer) error {
		iw := inventory.NewWriter(w)
		var err error
		st, err = awsinv.List(ctx, r.Regions, iw.Write)
		walkErr = err
		if ferr := iw.Flush(); err == nil {
			err = ferr
		}
		return err
	})
	if walkErr != nil {
		return inventoryError(ctx, walkErr, "check the AWS credentials and --region (the identity needs secretsmanager:ListSecrets)")
	}
	if err != nil {
		return err
	}
	if !r.Quiet {
		fmt.Fprintf(r.IO.Err, "inventory: aws: %d regions, %d pages, %d secrets (%s)\n", st.Regions, st.Pages, st.Secrets,
			time.Since(start).Round(time.Millisecond))
		fmt.Fprintln(r.IO.Err, ownRequests)
	}
	return nil
}

// ownRequests is what every inventory run says: its requests are in the audit logs.
const ownRequests = "inventory: these LIST and metadata requests are in the audit logs (a walk looks like enumeration): " +
	"name the identity that ran it in the configuration's inventory_identities, and review will not count them"

func inventoryError(ctx context.Context, err error, hint string) error {
	if ctx.Err() != nil {
		return interrupted(ctx, "taking the inventory")
	}
	return runtimef(hint+"; the previous output file, if any, is intact", fmt.Errorf("inventory: %s", report.Sanitize(err.Error())))
}

// loadInventory reads the --inventory files for the review. A file that cannot be read is a
// usage error; a line that is not a record is a warning on stderr and a note in the review.
func loadInventory(o *Options, paths []string) (*review.Inventory, []string, error) {
	if len(paths) == 0 {
		return nil, nil, nil
	}
	inv := &review.Inventory{Secrets: []review.InventorySecret{}}
	var notes []string
	for _, p := range paths {
		recs, probs, err := inventory.ReadFile(p)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
				return nil, nil, usagef("give the file vaultsentry inventory wrote (or aws secretsmanager list-secrets output)", "--inventory: %v", err)
			}
			return nil, nil, usagef("give JSON Lines from vaultsentry inventory, or aws secretsmanager list-secrets output", "--inventory %s: %s", p, report.Sanitize(err.Error()))
		}
		inv.Files = append(inv.Files, p)
		for i, pr := range probs {
			if i < 10 {
				fmt.Fprintf(o.IO.Err, "review: inventory %s\n", report.Sanitize(pr.String()))
			}
		}
		if len(probs) > 0 {
			notes = append(notes, fmt.Sprintf("%d lines of the inventory %s are not records and were skipped (first: %s)", len(probs), p, probs[0]))
		}
		deleted := 0
		for i := range recs {
			rec := &recs[i]
			if rec.Deleted {
				deleted++ // nothing to read or rotate until it is undeleted
				continue
			}
			store := event.KindVault.String()
			if rec.Store == inventory.StoreAWS {
				store = event.KindCloudTrail.String() // the review names AWS secrets' store after their logs
			}
			inv.Secrets = append(inv.Secrets, review.InventorySecret{Store: store, Secret: rec.Key(), Created: deref(rec.CreatedTime),
				Written: rec.LastWrite(), LastAccessed: deref(rec.LastAccessedTime)})
		}
		if deleted > 0 {
			notes = append(notes, fmt.Sprintf("%d secrets of the inventory %s are left out: their current version is deleted or destroyed", deleted, p))
		}
	}
	return inv, notes, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// withoutInventoryRequests are the period's events without the inventory's own requests, for
// the detectors: a LIST walk is what enumeration looks for.
func withoutInventoryRequests(evs []event.Event, cfg *review.Config) []event.Event {
	if len(cfg.InventoryIdentities) == 0 {
		return evs
	}
	out := make([]event.Event, 0, len(evs))
	for i := range evs {
		if !review.InventoryRequest(&evs[i], cfg) {
			out = append(out, evs[i])
		}
	}
	return out
}
