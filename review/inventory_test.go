package review

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

func verdictsOf(r *Review, secret string) []string {
	for _, s := range r.Secrets {
		if s.Secret == secret {
			var out []string
			for _, v := range s.Verdicts {
				out = append(out, v.Verdict+": "+v.Reason)
			}
			return out
		}
	}
	return []string{"<no row>"}
}

func has(vs []string, verdict string) bool {
	return slices.ContainsFunc(vs, func(s string) bool { return strings.HasPrefix(s, verdict+":") })
}

// TestReviewInventory: ten days of logs and an inventory. Planted: a secret read daily whose
// inventory says it was last written 200 days before the end (rotation-overdue from the
// inventory, the logs do not go back that far), a secret nobody read (never-read), a secret
// only the inventory knows (never-read, a row of its own), the inventory's own LIST and
// metadata requests by its identity (not accesses). Quiet: a secret read daily, written 20
// days ago per the inventory; a listed secret created after the period; the inventory
// identity's one value read, which is an access like anyone's.
func TestReviewInventory(t *testing.T) {
	end := t0.Add(10 * day)
	var evs []event.Event
	for d := range 10 {
		at := time.Duration(d) * day
		evs = append(evs, read(at+time.Hour, "app", event.ClassWorkload, "secret/prod/old-key"),
			read(at+time.Hour, "app", event.ClassWorkload, "secret/prod/fresh"))
	}
	evs = append(evs, write(2*day, "ops", "secret/prod/orphan"))
	// The inventory run on day 9: LIST and metadata reads, one denied; and one value read.
	list := read(9*day, "inventory-bot", event.ClassWorkload, "secret/")
	list.Op, list.Flags = event.OpList, 0
	meta := read(9*day+time.Minute, "inventory-bot", event.ClassWorkload, "secret/prod/old-key")
	meta.Flags = 0
	denied := read(9*day+2*time.Minute, "inventory-bot", event.ClassWorkload, "secret/hr/payroll", denyIf(true))
	denied.Flags = 0
	valueRead := read(9*day+3*time.Minute, "inventory-bot", event.ClassWorkload, "secret/prod/fresh")
	evs = append(evs, list, meta, denied, valueRead)
	slices.SortStableFunc(evs, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	inv := &Inventory{Files: []string{"inv.jsonl"}, Secrets: []InventorySecret{
		{Store: "vault", Secret: "secret/prod/old-key", Created: end.Add(-400 * day), Written: end.Add(-200 * day)},
		{Store: "vault", Secret: "secret/prod/fresh", Created: end.Add(-400 * day), Written: end.Add(-20 * day)},
		{Store: "vault", Secret: "secret/prod/orphan", Created: end.Add(-30 * day), Written: end.Add(-8 * day)},
		{Store: "vault", Secret: "secret/dev/forgotten", Created: end.Add(-300 * day), Written: end.Add(-300 * day)},
		{Store: "cloudtrail", Secret: "prod/unused-api", Created: end.Add(-50 * day), LastAccessed: end.Add(-40 * day)},
		{Store: "vault", Secret: "secret/prod/tomorrow", Created: end.Add(day)},
	}}
	cfg := DefaultConfig()
	cfg.Inventory, cfg.InventoryIdentities = inv, []string{"inventory-*"}
	r := Build(evs, t0, end, cfg, nil, nil)

	if vs := verdictsOf(r, "secret/prod/old-key"); !has(vs, VerdictRotationOverdue) || !strings.Contains(vs[0], "per the inventory, 200d") || len(vs) != 1 {
		t.Errorf("old-key: %q, want rotation-overdue from the inventory only", vs)
	}
	if vs := verdictsOf(r, "secret/prod/fresh"); len(vs) != 0 {
		t.Errorf("fresh: %q, want quiet", vs)
	}
	if vs := verdictsOf(r, "secret/prod/orphan"); !has(vs, VerdictNeverRead) {
		t.Errorf("orphan (written in the period, nobody read it): %q", vs)
	}
	vs := verdictsOf(r, "secret/dev/forgotten")
	if !has(vs, VerdictNeverRead) || !has(vs, VerdictRotationOverdue) || has(vs, VerdictUnused) {
		t.Errorf("forgotten (only in the inventory): %q, want never-read and rotation-overdue, not unused", vs)
	}
	if vs := verdictsOf(r, "prod/unused-api"); !has(vs, VerdictNeverRead) || !strings.Contains(strings.Join(vs, " "), "Secrets Manager says it was last accessed") {
		t.Errorf("unused-api: %q", vs)
	}
	if vs := verdictsOf(r, "secret/prod/tomorrow"); vs[0] != "<no row>" {
		t.Errorf("a secret created after the period has a row: %q", vs)
	}
	for _, s := range r.Secrets {
		if s.Secret == "secret/dev/forgotten" && (s.Store != "vault" || s.AgeDays != 300 || !s.LastWrite.Equal(end.Add(-300*day))) {
			t.Errorf("forgotten row %+v", s)
		}
	}
	// The inventory's LIST, metadata read and denied LIST are not accesses; its value read is.
	var bot []Access
	for _, a := range r.Access {
		if a.Identity == "inventory-bot" {
			bot = append(bot, a)
		}
	}
	if len(bot) != 1 || bot[0].Secret != "secret/prod/fresh" || bot[0].Reads != 1 || bot[0].Denied != 0 {
		t.Errorf("inventory-bot's accesses %+v: want its one value read only", bot)
	}
	sum := r.Inventory
	if sum == nil || sum.Listed != 6 || sum.InLogs != 3 || sum.NotInLogs != 2 || sum.Future != 1 || sum.Excluded != 3 {
		t.Fatalf("summary %+v", sum)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"never-read is judged on the inventory's secrets", "6 secrets listed, 3 of them in the logs",
		"3 LIST and metadata requests by inventory_identities (inventory-*) are not counted"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}

	// Without inventory_identities the same requests are accesses (the denied one), and the notes say so.
	cfg.InventoryIdentities = nil
	r = Build(evs, t0, end, cfg, nil, nil)
	denials := 0
	for _, a := range r.Access {
		if a.Identity == "inventory-bot" {
			denials += a.Denied
		}
	}
	if denials != 1 || r.Inventory.Excluded != 0 || !strings.Contains(strings.Join(r.Notes, "\n"), "none is named in inventory_identities") {
		t.Errorf("without inventory_identities: %d denials, summary %+v, notes %q", denials, r.Inventory, r.Notes)
	}

	// Without an inventory: no never-read, and the notes say it cannot be known.
	cfg.Inventory = nil
	r = Build(evs, t0, end, cfg, nil, nil)
	for _, s := range r.Secrets {
		if vs := verdictsOf(r, s.Secret); has(vs, VerdictNeverRead) {
			t.Errorf("never-read without an inventory on %s", s.Secret)
		}
	}
	if r.Inventory != nil || !strings.Contains(strings.Join(r.Notes, "\n"), "never-read needs an inventory") {
		t.Errorf("no inventory: summary %+v, notes %q", r.Inventory, r.Notes)
	}
}
