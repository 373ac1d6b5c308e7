package lake

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vaultsentry/vaultsentry/event"
)

func sampleEvents() []event.Event {
	t0 := time.Date(2026, 9, 23, 23, 59, 59, 123456789, time.UTC)
	kv := event.Event{Time: t0, Pos: event.Pos{File: "vault/audit.log", Line: 42}, Kind: event.KindVault, Op: event.OpRead,
		Flags: event.FlagValueRead | event.FlagInteractive, Class: event.ClassPerson, Action: "read",
		Credential: "hmac-sha256:abc", Principal: "entity-1", DisplayName: "oidc-alice", Namespace: "ns1/",
		Path: "ns1/secret/data/prod/db", Resource: "ns1/secret/prod/db", Mount: "ns1/secret/", MountType: "kv",
		RemoteAddr: netip.MustParseAddr("203.0.113.9"), UserAgent: "curl/8.5.0", Policies: []string{"default", "dev"}}
	kv.SetName(len("ns1/secret/"))
	ct := event.Event{Time: t0.Add(time.Second), Pos: event.Pos{File: "AWSLogs/x.json.gz", Line: 3}, Kind: event.KindCloudTrail,
		Op: event.OpAdmin, Outcome: event.OutcomeDenied, Flags: event.FlagCrossAccount | event.FlagReadOnly, Class: event.ClassWorkload,
		Action: "PutResourcePolicy", Principal: "arn:aws:iam::111122223333:role/app", Namespace: "111122223333", Region: "eu-west-1",
		Resource: "prod/stripe", Path: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/stripe-AbCdEf",
		RemoteAddr: netip.MustParseAddr("2001:db8::1"),
		Grant:      &event.Grant{Principals: []string{"*"}, Condition: true, BlockPublic: "false", OrgScoped: true, Conditions: []string{"aws:PrincipalOrgID=o-1"}},
		Workload:   "arn:aws:iam::111122223333:role/app"}
	ct.SetName(0)
	login := event.Event{Time: t0.Add(2 * time.Second), Pos: event.Pos{File: "-", Line: 1}, Kind: event.KindKubernetes, Op: event.OpLogin,
		Outcome: event.OutcomeError, Flags: event.FlagUnauthenticated, NewPolicies: []string{"admin"}, Detail: "filters name=prod"}
	return []event.Event{kv, ct, login}
}

// Every field an event carries comes back from its row, the name offset and the grant included.
func TestRowRoundTrip(t *testing.T) {
	for _, ev := range sampleEvents() {
		r := FromEvent(&ev)
		back, err := r.Event(nil)
		if err != nil {
			t.Fatalf("%s: %v", ev.Action, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("round trip of %s:\n got %+v\nwant %+v", ev.Action, back, ev)
		}
		if back.Name() != ev.Name() {
			t.Errorf("name %q, want %q", back.Name(), ev.Name())
		}
	}
	evs := sampleEvents()
	if r := FromEvent(&evs[0]); !r.ValueRead || r.SourceAddress != "203.0.113.9" || r.Store != "vault" || r.Name != "prod/db" {
		t.Errorf("contract columns of a KV read: %+v", r)
	}
	if r := FromEvent(&evs[1]); r.ValueRead || r.Outcome != "denied" {
		t.Errorf("a denied call read no value: %+v", r)
	}
}

// A row that lacks what the detectors need is an error that names the column, never an empty
// event.
func TestRowEventErrors(t *testing.T) {
	evs := sampleEvents()
	good := FromEvent(&evs[0])
	for name, tc := range map[string]struct {
		mut  func(*Row)
		want string
	}{
		"no time":         {func(r *Row) { r.Time = 0 }, "no time"},
		"store":           {func(r *Row) { r.Store = "splunk" }, `store "splunk"`},
		"op class":        {func(r *Row) { r.OpClass = "peek" }, `op_class "peek"`},
		"outcome":         {func(r *Row) { r.Outcome = "maybe" }, `outcome "maybe"`},
		"class":           {func(r *Row) { r.Class = "robot" }, `class "robot"`},
		"flag":            {func(r *Row) { r.Flags = []string{"value-read", "teleported"} }, `flag "teleported"`},
		"address":         {func(r *Row) { r.SourceAddress = "vault.internal" }, `source_address "vault.internal"`},
		"name not a tail": {func(r *Row) { r.Name = "other" }, `name "other" does not end`},
	} {
		r := good
		tc.mut(&r)
		if _, err := r.Event(nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
		}
	}
}

// The OCSF record has every attribute OCSF 1.1.0 requires of API Activity (class 6003):
// the base event's activity_id, category_uid, class_uid, type_uid, severity_id, time and
// metadata (product with vendor_name, version), and the class's actor, api (operation),
// src_endpoint and cloud (provider). schema.ocsf.io/1.1.0/classes/api_activity lists them.
func TestOCSFRequired(t *testing.T) {
	for _, ev := range sampleEvents() {
		rec := ToOCSF(&ev)
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		for _, path := range []string{"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time",
			"metadata.version", "metadata.product.vendor_name", "actor", "api.operation", "src_endpoint", "cloud.provider"} {
			var v any = m
			for _, k := range strings.Split(path, ".") {
				mm, _ := v.(map[string]any)
				v = mm[k]
			}
			if v == nil || v == "" {
				t.Errorf("%s: required %s missing in %s", ev.Action, path, b)
			}
		}
		if rec.ClassUID != 6003 || rec.CategoryUID != 6 || rec.TypeUID != 600300+int64(rec.ActivityID) {
			t.Errorf("class %d category %d type %d activity %d", rec.ClassUID, rec.CategoryUID, rec.TypeUID, rec.ActivityID)
		}
		if rec.Time != ev.Time.UnixMilli() {
			t.Errorf("time %d, want milliseconds %d", rec.Time, ev.Time.UnixMilli())
		}
	}
	evs := sampleEvents()
	if r := ToOCSF(&evs[0]); r.ActivityID != 2 || r.Status != "Success" || r.SrcEndpoint.IP != "203.0.113.9" || len(r.Resources) != 1 ||
		r.Resources[0].Name != "prod/db" || r.Unmapped["vaultsentry.value_read"] != "true" {
		t.Errorf("a KV read: %+v", r)
	}
	if r := ToOCSF(&evs[1]); r.StatusID != 2 || r.StatusDetail != "denied" || r.Cloud.Provider != "AWS" || r.Cloud.Account.UID != "111122223333" {
		t.Errorf("a denied AWS call: %+v", r)
	}
}

// The writer lays events out by day, renames complete files into place (no temporary file is
// left), opens another part for a late event of a closed day, and names its files after the
// inputs so exporting them again replaces them.
func TestWriterPartitions(t *testing.T) {
	dir := t.TempDir()
	evs := sampleEvents() // the first on 2026-09-23, the others on 2026-09-24
	late := evs[0]
	late.Time = late.Time.Add(-time.Hour)
	write := func() []File {
		w, err := NewWriter(dir, FormatParquet, []string{"b.log", "a.log"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range append(evs, late) {
			if err := w.Write(&ev); err != nil {
				t.Fatal(err)
			}
		}
		files, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	files := write()
	if len(files) != 3 {
		t.Fatalf("files %+v, want 2 parts of 2026-09-23 and one of 2026-09-24", files)
	}
	if files[0].Day != "2026-09-23" || files[1].Day != "2026-09-23" || files[2].Day != "2026-09-24" || files[2].Rows != 2 {
		t.Errorf("files %+v", files)
	}
	again := write()
	if !reflect.DeepEqual(files, again) {
		t.Errorf("a second export of the same inputs wrote %+v, want the same files %+v", again, files)
	}
	var all []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			all = append(all, p)
		}
		return nil
	})
	if len(all) != 3 {
		t.Errorf("files on disk %v: a temporary file was left, or a file was written twice", all)
	}
	f, err := os.Open(files[2].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := pf.Lookup(SchemaKey); !ok || v != "1" {
		t.Errorf("schema metadata %q %v", v, ok)
	}
	rows := make([]Row, 4)
	n, _ := parquet.NewGenericReader[Row](pf).Read(rows)
	if n != 2 || rows[0].Operation != "PutResourcePolicy" || rows[0].Grant == nil || !rows[0].Grant.OrgScoped || rows[1].Grant != nil {
		t.Errorf("rows read back %d: %+v", n, rows[:n])
	}
	for _, c := range []string{"time", "store", "principal", "display_name", "credential", "operation", "secret", "mount", "namespace",
		"source_address", "user_agent", "outcome", "value_read", "file", "line"} {
		if _, ok := pf.Schema().Lookup(c); !ok {
			t.Errorf("column %q missing from the Parquet schema", c)
		}
	}
}

// The OCSF Parquet file is readable as OCSF records with the class in its metadata.
// The OCSF Parquet files are laid out as Security Lake takes a custom source's objects
// (region=/accountId=/eventDay=): a CloudTrail event under its own region and account, the
// others under the configured ones; each file holds class 6003 records only, with the class in
// its metadata.
func TestWriterOCSF(t *testing.T) {
	dir := t.TempDir()
	w, err := NewLakeWriter(dir, FormatOCSFParquet, []string{"x"}, "test", SecurityLake{Region: "eu-central-1", Account: "444455556666"})
	if err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents() // Vault on 2026-09-23; CloudTrail (eu-west-1, 111122223333) and Kubernetes on 2026-09-24
	for i := range evs {
		if err := w.Write(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	files, err := w.Close()
	if err != nil || len(files) != 3 {
		t.Fatalf("%v %+v", err, files)
	}
	rel := func(f File) string { r, _ := filepath.Rel(dir, filepath.Dir(f.Path)); return filepath.ToSlash(r) }
	want := []string{"region=eu-central-1/accountId=444455556666/eventDay=20260923", "region=eu-central-1/accountId=444455556666/eventDay=20260924",
		"region=eu-west-1/accountId=111122223333/eventDay=20260924"}
	for i, f := range files {
		if rel(f) != want[i] || f.Rows != 1 {
			t.Errorf("file %d in %s with %d rows, want %s", i, rel(f), f.Rows, want[i])
		}
	}
	f, _ := os.Open(files[2].Path)
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := pf.Lookup("ocsf.class_uid"); v != "6003" {
		t.Errorf("class metadata %q", v)
	}
	recs := make([]OCSFRecord, 4)
	n, _ := parquet.NewGenericReader[OCSFRecord](pf).Read(recs)
	if n != 1 || recs[0].API.Operation != "PutResourcePolicy" || recs[0].Cloud.Provider != "AWS" || recs[0].Cloud.Region != "eu-west-1" {
		t.Errorf("records %d: %+v", n, recs[:n])
	}
}
