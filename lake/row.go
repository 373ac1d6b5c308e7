// Package lake is vaultsentry's event as a row for data lakes (vaultsentry export): the
// normalised event with stable column names, its OCSF API Activity (class 6003) form for Amazon
// Security Lake, and the writers that lay either out by day (dt=YYYY-MM-DD/) as Parquet or
// NDJSON. It knows the event model, never a source's format: reading a Parquet export back is a
// source (sources/lakefile) that turns rows into events with Row.Event.
package lake

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
)

// SchemaVersion is the version of the row's columns, written into every Parquet file's
// key-value metadata under SchemaKey and into every NDJSON row. A reader refuses a newer one.
const SchemaVersion = 1

// SchemaKey is the Parquet key-value metadata key that marks a vaultsentry export.
const SchemaKey = "vaultsentry.schema"

// Row is one event. The first columns are the public contract (what a lake query selects by
// name); the rest carry every typed fact the detectors read, so that scanning the export finds
// what scanning the logs found.
type Row struct {
	Time          int64  `parquet:"time,timestamp(nanosecond:utc),delta" json:"-"`
	TimeText      string `parquet:"-" json:"time"`
	Store         string `parquet:"store,dict" json:"store"` // vault, cloudtrail, kubernetes
	Principal     string `parquet:"principal,dict" json:"principal"`
	DisplayName   string `parquet:"display_name,dict" json:"display_name"`
	Credential    string `parquet:"credential,dict" json:"credential"`
	Operation     string `parquet:"operation,dict" json:"operation"` // the store's verb: read, GetSecretValue, get
	Secret        string `parquet:"secret,dict" json:"secret"`       // normalised: mount + logical path, secret name or ARN
	Mount         string `parquet:"mount,dict" json:"mount"`
	Namespace     string `parquet:"namespace,dict" json:"namespace"` // Vault namespace, AWS account
	SourceAddress string `parquet:"source_address,dict" json:"source_address"`
	UserAgent     string `parquet:"user_agent,dict" json:"user_agent"`
	Outcome       string `parquet:"outcome,dict" json:"outcome"` // ok, denied, error
	ValueRead     bool   `parquet:"value_read" json:"value_read"`
	File          string `parquet:"file,dict" json:"file"`
	Line          int64  `parquet:"line,delta" json:"line"`

	OpClass     string   `parquet:"op_class,dict" json:"op_class"` // read, list, write, delete, login, admin, audit, other
	Name        string   `parquet:"name,dict" json:"name"`         // the secret's store-relative name
	Path        string   `parquet:"path,dict" json:"path"`         // as logged
	MountType   string   `parquet:"mount_type,dict" json:"mount_type"`
	Region      string   `parquet:"region,dict" json:"region"`
	Class       string   `parquet:"class,dict" json:"class"` // person, workload, unknown
	Flags       []string `parquet:"flags,list" json:"flags"`
	Policies    []string `parquet:"policies,list" json:"policies"`
	NewPolicies []string `parquet:"new_policies,list" json:"new_policies"`
	Detail      string   `parquet:"detail,dict" json:"detail"`
	Workload    string   `parquet:"workload,dict" json:"workload"`
	Grant       *Grant   `parquet:"grant,optional" json:"grant,omitempty"`
	Schema      int32    `parquet:"-" json:"vaultsentry_schema"`
}

// Grant is event.Grant's columns.
type Grant struct {
	Principals  []string `parquet:"principals,list" json:"principals"`
	Condition   bool     `parquet:"condition" json:"condition"`
	BlockPublic string   `parquet:"block_public" json:"block_public"`
	OrgScoped   bool     `parquet:"org_scoped" json:"org_scoped"`
	Conditions  []string `parquet:"conditions,list" json:"conditions"`
}

// FromEvent is ev as a row. FlagValueRead on a request that succeeded is value_read: the value
// was returned (event.FlagValueRead alone only says it was asked for; the flag is in Flags).
func FromEvent(ev *event.Event) Row {
	r := Row{
		Time: ev.Time.UnixNano(), Store: ev.Kind.String(), Principal: ev.Principal, DisplayName: ev.DisplayName,
		Credential: ev.Credential, Operation: ev.Action, Secret: ev.Resource, Mount: ev.Mount, Namespace: ev.Namespace,
		UserAgent: ev.UserAgent, Outcome: ev.Outcome.String(),
		ValueRead: ev.Has(event.FlagValueRead) && ev.Outcome == event.OutcomeOK,
		File:      ev.Pos.File, Line: int64(ev.Pos.Line),
		OpClass: ev.Op.String(), Name: ev.Name(), Path: ev.Path, MountType: ev.MountType, Region: ev.Region,
		Class: ev.Class.String(), Flags: ev.Flags.Names(), Policies: ev.Policies, NewPolicies: ev.NewPolicies,
		Detail: ev.Detail, Workload: ev.Workload, Schema: SchemaVersion,
	}
	if ev.RemoteAddr.IsValid() {
		r.SourceAddress = ev.RemoteAddr.String()
	}
	if g := ev.Grant; g != nil {
		r.Grant = &Grant{Principals: g.Principals, Condition: g.Condition, BlockPublic: g.BlockPublic, OrgScoped: g.OrgScoped,
			Conditions: g.Conditions}
	}
	return r
}

// Strings interns the strings of a row read back (the run's interner); nil keeps them as read.
type Strings interface {
	Str(string) string
	List([]string) []string
}

// Event is the row as an event. A row that lacks what every detector needs (a time, a store
// this version knows, an operation class) is an error saying which column, never an empty
// event; an unknown flag name is an error too, since a flag a detector reads would be lost.
func (r *Row) Event(in Strings) (event.Event, error) {
	str, list := func(s string) string { return s }, func(l []string) []string { return l }
	if in != nil {
		str, list = in.Str, in.List
	}
	var ev event.Event
	if r.Time == 0 {
		return ev, fmt.Errorf("no time")
	}
	ev.Time = time.Unix(0, r.Time).UTC()
	var ok bool
	if ev.Kind, ok = event.ParseKind(r.Store); !ok {
		return ev, fmt.Errorf("store %q is not one this version reads (vault, cloudtrail, kubernetes)", r.Store)
	}
	if ev.Op, ok = event.ParseOp(r.OpClass); !ok {
		return ev, fmt.Errorf("op_class %q is not an operation class", r.OpClass)
	}
	if ev.Outcome, ok = event.ParseOutcome(r.Outcome); !ok {
		return ev, fmt.Errorf("outcome %q is not ok, denied or error", r.Outcome)
	}
	if ev.Class, ok = event.ParseClass(r.Class); !ok {
		return ev, fmt.Errorf("class %q is not person, workload or unknown", r.Class)
	}
	for _, name := range r.Flags {
		f, ok := event.FlagNamed(name)
		if !ok {
			return ev, fmt.Errorf("flag %q is not one this version knows", name)
		}
		ev.Flags |= f
	}
	if r.SourceAddress != "" {
		a, err := netip.ParseAddr(r.SourceAddress)
		if err != nil {
			return ev, fmt.Errorf("source_address %q is not an IP address", r.SourceAddress)
		}
		ev.RemoteAddr = a
	}
	ev.Pos = event.Pos{File: str(r.File), Line: int(r.Line)}
	ev.Action, ev.Credential, ev.Principal, ev.DisplayName = str(r.Operation), str(r.Credential), str(r.Principal), str(r.DisplayName)
	ev.Namespace, ev.Region, ev.Path, ev.Resource = str(r.Namespace), str(r.Region), str(r.Path), str(r.Secret)
	ev.Mount, ev.MountType, ev.UserAgent, ev.Detail, ev.Workload = str(r.Mount), str(r.MountType), str(r.UserAgent), str(r.Detail), str(r.Workload)
	if len(r.Policies) > 0 {
		ev.Policies = list(r.Policies)
	}
	if len(r.NewPolicies) > 0 {
		ev.NewPolicies = list(r.NewPolicies)
	}
	if r.Name != "" {
		if !strings.HasSuffix(r.Secret, r.Name) {
			return ev, fmt.Errorf("name %q does not end secret %q", r.Name, r.Secret)
		}
		ev.SetName(len(ev.Resource) - len(r.Name))
	}
	if g := r.Grant; g != nil {
		ev.Grant = &event.Grant{Principals: g.Principals, Condition: g.Condition, BlockPublic: g.BlockPublic, OrgScoped: g.OrgScoped,
			Conditions: g.Conditions}
	}
	return ev, nil
}
