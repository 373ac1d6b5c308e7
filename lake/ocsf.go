package lake

import (
	"strconv"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
)

// OCSF API Activity (class 6003, category 6 Application Activity) of OCSF 1.1.0, the version
// Amazon Security Lake writes and accepts from custom sources. The attributes follow the
// schema at schema.ocsf.io/1.1.0/classes/api_activity: required there are activity_id,
// category_uid, class_uid, type_uid, severity_id, time, metadata (with product and version),
// actor, api (with operation), src_endpoint and cloud (with provider). What OCSF has no
// attribute for goes into unmapped, as the schema asks.
const (
	OCSFVersion      = "1.1.0"
	OCSFClassUID     = 6003
	OCSFCategoryUID  = 6
	ocsfClassName    = "API Activity"
	ocsfCategoryName = "Application Activity"
)

// OCSF activity ids of API Activity.
const (
	ocsfUnknown = 0
	ocsfCreate  = 1
	ocsfRead    = 2
	ocsfUpdate  = 3
	ocsfDelete  = 4
	ocsfOther   = 99
)

// OCSFRecord is one event as an OCSF API Activity record, with Parquet and JSON names as the
// schema spells them.
type OCSFRecord struct {
	ActivityID   int32  `parquet:"activity_id" json:"activity_id"`
	ActivityName string `parquet:"activity_name" json:"activity_name"`
	CategoryUID  int32  `parquet:"category_uid" json:"category_uid"`
	CategoryName string `parquet:"category_name" json:"category_name"`
	ClassUID     int32  `parquet:"class_uid" json:"class_uid"`
	ClassName    string `parquet:"class_name" json:"class_name"`
	TypeUID      int64  `parquet:"type_uid" json:"type_uid"`
	TypeName     string `parquet:"type_name" json:"type_name"`
	SeverityID   int32  `parquet:"severity_id" json:"severity_id"`
	Severity     string `parquet:"severity" json:"severity"`
	// Time is milliseconds since the epoch (OCSF timestamp_t).
	Time         int64             `parquet:"time,timestamp(millisecond:utc)" json:"time"`
	StatusID     int32             `parquet:"status_id" json:"status_id"`
	Status       string            `parquet:"status" json:"status"`
	StatusDetail string            `parquet:"status_detail,optional" json:"status_detail,omitempty"`
	Metadata     OCSFMetadata      `parquet:"metadata" json:"metadata"`
	Actor        OCSFActor         `parquet:"actor" json:"actor"`
	API          OCSFAPI           `parquet:"api" json:"api"`
	SrcEndpoint  OCSFEndpoint      `parquet:"src_endpoint" json:"src_endpoint"`
	HTTPRequest  OCSFHTTPRequest   `parquet:"http_request" json:"http_request"`
	Resources    []OCSFResource    `parquet:"resources,list" json:"resources"`
	Cloud        OCSFCloud         `parquet:"cloud" json:"cloud"`
	Unmapped     map[string]string `parquet:"unmapped" json:"unmapped"`
}

type OCSFMetadata struct {
	Version  string      `parquet:"version" json:"version"`
	Product  OCSFProduct `parquet:"product" json:"product"`
	LogName  string      `parquet:"log_name" json:"log_name"`
	Profiles []string    `parquet:"profiles,list" json:"profiles"`
}

type OCSFProduct struct {
	Name       string `parquet:"name" json:"name"`
	VendorName string `parquet:"vendor_name" json:"vendor_name"`
}

type OCSFActor struct {
	User OCSFUser `parquet:"user" json:"user"`
}

type OCSFUser struct {
	UID           string      `parquet:"uid,optional" json:"uid,omitempty"`
	Name          string      `parquet:"name,optional" json:"name,omitempty"`
	Type          string      `parquet:"type,optional" json:"type,omitempty"`
	CredentialUID string      `parquet:"credential_uid,optional" json:"credential_uid,omitempty"`
	Account       OCSFAccount `parquet:"account" json:"account"`
}

type OCSFAccount struct {
	UID string `parquet:"uid,optional" json:"uid,omitempty"`
}

type OCSFAPI struct {
	Operation string      `parquet:"operation" json:"operation"`
	Service   OCSFService `parquet:"service" json:"service"`
}

type OCSFService struct {
	Name string `parquet:"name" json:"name"`
}

type OCSFEndpoint struct {
	IP string `parquet:"ip,optional" json:"ip,omitempty"`
}

type OCSFHTTPRequest struct {
	UserAgent string `parquet:"user_agent,optional" json:"user_agent,omitempty"`
}

type OCSFResource struct {
	UID       string `parquet:"uid" json:"uid"`
	Name      string `parquet:"name,optional" json:"name,omitempty"`
	Type      string `parquet:"type" json:"type"`
	Namespace string `parquet:"namespace,optional" json:"namespace,omitempty"`
}

type OCSFCloud struct {
	Provider string      `parquet:"provider" json:"provider"`
	Region   string      `parquet:"region,optional" json:"region,omitempty"`
	Account  OCSFAccount `parquet:"account" json:"account"`
}

var ocsfActivityNames = map[int32]string{ocsfUnknown: "Unknown", ocsfCreate: "Create", ocsfRead: "Read", ocsfUpdate: "Update",
	ocsfDelete: "Delete", ocsfOther: "Other"}

// product is who wrote an event's log, as OCSF's metadata.product and cloud.provider name it.
func product(k event.Kind) (name, vendor, provider, service string) {
	switch k {
	case event.KindCloudTrail:
		return "CloudTrail", "AWS", "AWS", "secretsmanager.amazonaws.com"
	case event.KindKubernetes:
		return "Kubernetes API server audit", "Kubernetes", "Kubernetes", "kube-apiserver"
	}
	return "Vault audit device", "HashiCorp", "HashiCorp Vault", "vault"
}

// ToOCSF is ev as an OCSF API Activity record. The OCSF activity is the operation's class: a
// read or a listing is Read, a write Update (the audit log does not tell a create from an
// update), a delete Delete, a login, an administrative or an audit change Other.
func ToOCSF(ev *event.Event) OCSFRecord {
	name, vendor, provider, service := product(ev.Kind)
	var act int32
	switch ev.Op {
	case event.OpRead, event.OpList:
		act = ocsfRead
	case event.OpWrite:
		act = ocsfUpdate
	case event.OpDelete:
		act = ocsfDelete
	default:
		act = ocsfOther
	}
	r := OCSFRecord{
		ActivityID: act, ActivityName: ocsfActivityNames[act], CategoryUID: OCSFCategoryUID, CategoryName: ocsfCategoryName,
		ClassUID: OCSFClassUID, ClassName: ocsfClassName, TypeUID: int64(OCSFClassUID)*100 + int64(act),
		TypeName: ocsfClassName + ": " + ocsfActivityNames[act], SeverityID: 1, Severity: "Informational",
		Time: ev.Time.UnixMilli(), StatusID: 1, Status: "Success",
		Metadata: OCSFMetadata{Version: OCSFVersion, Product: OCSFProduct{Name: name, VendorName: vendor}, LogName: ev.Pos.File,
			Profiles: []string{"cloud"}},
		Actor:       OCSFActor{User: OCSFUser{UID: ev.Principal, Name: ev.DisplayName, Type: ev.Class.String(), CredentialUID: ev.Credential}},
		API:         OCSFAPI{Operation: ev.Action, Service: OCSFService{Name: service}},
		Cloud:       OCSFCloud{Provider: provider, Region: ev.Region},
		HTTPRequest: OCSFHTTPRequest{UserAgent: ev.UserAgent},
		Resources:   []OCSFResource{},
		Unmapped: map[string]string{
			"vaultsentry.op_class": ev.Op.String(), "vaultsentry.file": ev.Pos.File, "vaultsentry.line": strconv.Itoa(ev.Pos.Line),
		},
	}
	if r.API.Operation == "" { // the log named no verb: the operation's class, so the required attribute holds a word
		r.API.Operation = ev.Op.String()
	}
	if ev.Kind == event.KindCloudTrail {
		r.Actor.User.Account.UID, r.Cloud.Account.UID = ev.Namespace, ev.Namespace
	} else if ev.Namespace != "" {
		r.Unmapped["vaultsentry.namespace"] = ev.Namespace
	}
	if ev.Outcome != event.OutcomeOK {
		r.StatusID, r.Status, r.StatusDetail = 2, "Failure", ev.Outcome.String()
	}
	if ev.RemoteAddr.IsValid() {
		r.SrcEndpoint.IP = ev.RemoteAddr.String()
	}
	if ev.Resource != "" {
		r.Resources = append(r.Resources, OCSFResource{UID: ev.Resource, Name: ev.Name(), Type: "secret", Namespace: ev.Namespace})
	}
	if ev.Mount != "" {
		r.Unmapped["vaultsentry.mount"] = ev.Mount
	}
	if ev.Path != "" && ev.Path != ev.Resource {
		r.Unmapped["vaultsentry.path"] = ev.Path
	}
	if names := ev.Flags.Names(); len(names) > 0 {
		r.Unmapped["vaultsentry.flags"] = strings.Join(names, ",")
	}
	if ev.Has(event.FlagValueRead) && ev.Outcome == event.OutcomeOK {
		r.Unmapped["vaultsentry.value_read"] = "true"
	}
	return r
}
