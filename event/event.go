// Package event is the source-neutral model every input format produces and every detector
// reads: one Event per logged request, with the facts detectors need already typed, so that no
// code downstream of a source re-parses that source's vocabulary. It imports only the standard
// library.
package event

import (
	"net/netip"
	"time"
)

// Kind says which product wrote an event.
type Kind uint8

// Kinds of source. A format outside this list may use any other value; detectors that do not
// declare a kind never see its events.
const (
	KindVault Kind = iota + 1
	KindCloudTrail
	KindKubernetes
)

var kindNames = [...]string{KindVault: "vault", KindCloudTrail: "cloudtrail", KindKubernetes: "kubernetes"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds is a set of kinds, as a Rule declares the events it understands.
type Kinds uint64

// KindsOf returns the set of ks.
func KindsOf(ks ...Kind) Kinds {
	var s Kinds
	for _, k := range ks {
		s |= 1 << (k & 63)
	}
	return s
}

// Has reports whether k is in the set.
func (s Kinds) Has(k Kind) bool { return s&(1<<(k&63)) != 0 }

// Op is the coarse class of an operation, shared by every source.
type Op uint8

// Operation classes.
const (
	OpOther Op = iota
	OpRead
	OpList
	OpWrite
	OpDelete
	OpLogin
	OpAdmin // control plane: sys/ on Vault; resource policies, replication on AWS
	OpAudit // changes to the audit trail itself (CloudTrail StopLogging, DeleteTrail, ...)
)

var opNames = [...]string{"other", "read", "list", "write", "delete", "login", "admin", "audit"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "other"
}

// Outcome says whether the request succeeded.
type Outcome uint8

// Outcomes.
const (
	OutcomeOK Outcome = iota
	OutcomeDenied
	OutcomeError
)

func (o Outcome) String() string {
	switch o {
	case OutcomeDenied:
		return "denied"
	case OutcomeError:
		return "error"
	}
	return "ok"
}

// Flags carry yes/no facts about an event that some detectors need.
type Flags uint32

// Event flags.
const (
	// FlagRootToken: the request was authenticated by a root credential: a Vault root token
	// (policy "root"), the AWS account's root user.
	FlagRootToken Flags = 1 << iota
	// FlagOrphan: the request creates a token without a parent (Vault no_parent / create-orphan).
	FlagOrphan
	// FlagUnauthenticated: no token or an invalid one; the principal is unknown.
	FlagUnauthenticated
	// FlagRequestOnly: a request entry whose response never appeared in the same file.
	FlagRequestOnly
	// FlagResponseOnly: a response entry without its request (e.g. the PUT that created the device).
	FlagResponseOnly
	// FlagServiceActor: an AWS service acting on a caller's behalf (invokedBy); never an actor of its own.
	FlagServiceActor
	// FlagAWSInternal: the source address is AWS-internal or a service host, not an IP.
	FlagAWSInternal
	// FlagConsole: the call came from a browser console session (AWS sessionCredentialFromConsole).
	FlagConsole
	// FlagBatchToken: a Vault batch token (no accessor).
	FlagBatchToken
	// FlagValueRead: the request asks for a secret's value (a KV read of data, GetSecretValue, a
	// dynamic credential), as opposed to metadata, a listing or a write; with OutcomeOK the value
	// was returned.
	FlagValueRead
	// FlagListAll: a listing of every secret in the store or mount, not one narrowed by a
	// filter or a prefix.
	FlagListAll
	// FlagInteractive: the client is a person's tool (browser console, CLI session), not a
	// workload.
	FlagInteractive
	// FlagMaintenance: routine client upkeep (token renewal or self-lookup, lease renewal),
	// never an access to a secret.
	FlagMaintenance
	// FlagControl: a request on the store's control plane (Vault sys/, auth/, identity/,
	// cubbyhole/), never a secret even when it has a Resource.
	FlagControl
	// FlagValueLogged: the log line itself holds a secret's value (a Kubernetes audit policy
	// at the Request or RequestResponse level for secrets, Vault's log_raw). The source keeps
	// only this fact, never the value.
	FlagValueLogged
	// FlagNodeAgent: the request is made by a node's agent for the workloads it runs (a
	// Kubernetes kubelet, which the Node authorizer limits to the Secrets of its own pods): a
	// consumer's read, never a harvest or a first access of its own.
	FlagNodeAgent
	// FlagCrossAccount: the caller belongs to another account than the one whose secret it
	// touches (AWS: userIdentity.accountId differs from recipientAccountId).
	FlagCrossAccount
	// FlagViaService: an AWS service made the call on the principal's behalf (invokedBy:
	// CloudFormation, the console's sign-in service, Secrets Manager's KMS decrypt). It is the
	// principal's call; the service only carried it.
	FlagViaService
	// FlagInstanceCredential: the credential is an EC2 instance profile's (an assumed-role
	// session named after the instance id): it belongs on that instance.
	FlagInstanceCredential
	// FlagReadOnly: the store says the call changes nothing (CloudTrail readOnly).
	FlagReadOnly
	// FlagLearned: the baseline learned this event in an earlier run (the run reads a file again,
	// or the part of a grown or rotated file it had read). Never set by a source: the run sets it
	// from the baseline's inputs, and the event is analysed but not learned a second time.
	FlagLearned
)

// Class is the kind of identity behind a request, for access reviews: a person reads a
// production secret by hand, a workload as its job.
type Class uint8

// Identity classes.
const (
	ClassUnknown  Class = iota
	ClassPerson         // a human login: OIDC, userpass, LDAP, an SSO session, a Kubernetes user
	ClassWorkload       // a machine identity: Kubernetes service account, AppRole, IAM role, a node
)

func (c Class) String() string {
	switch c {
	case ClassPerson:
		return "person"
	case ClassWorkload:
		return "workload"
	}
	return "unknown"
}

// Grant summarises what a resource policy written by this request allows: the principals it
// names ("*", account ids, ARNs), whether a Condition narrows them, and the store's
// public-policy guard when the request set it. The policy text itself is never kept.
type Grant struct {
	Principals  []string // sorted
	Condition   bool
	BlockPublic string // "true", "false", or "" when the request did not say
	// OrgScoped: every statement that grants "*" is narrowed to an organisation or account
	// (a condition on aws:PrincipalOrgID, aws:PrincipalOrgPaths or aws:PrincipalAccount): it
	// grants the organisation, not everyone.
	OrgScoped bool
	// Conditions quote the conditions of the statements that grant "*" ("aws:PrincipalOrgID=o-1"),
	// sorted, at most a few.
	Conditions []string
}

// Pos locates an event's evidence in its input.
type Pos struct {
	File string // as given on the command line (or expanded from a directory or glob)
	Line int    // 1-based line, or record number for formats without lines
}

// Event is one request, as every detector sees it. Strings are interned by the source that
// produced them, so the millions of events of a large log share a few thousand distinct strings.
// An Event never holds a secret value, a token or a raw request body.
type Event struct {
	Time    time.Time
	Pos     Pos
	Kind    Kind
	Op      Op
	Outcome Outcome
	Flags   Flags
	// Class is who the principal is: a person or a workload, as far as the log tells (the
	// source decides from its own vocabulary; ClassUnknown when it cannot).
	Class Class
	// nameAt is where the secret's store-relative name starts in Resource, plus one; 0: none.
	// The name always ends the resource, so an offset (in the padding after Flags) holds it
	// instead of a second string per event.
	nameAt uint16
	// Record numbers the record of its input the event came from, from 1, for a source whose
	// one record can make several events (CloudTrail: a BatchGetSecretValue by id list makes one
	// per secret, each with the record's number); 0 when the source does not number them. With
	// Pos.File and ID it tells the events of one record from a second copy of it.
	Record uint32
	// ID is the source's own id of the record the event came from (CloudTrail eventID); empty
	// when the log has none or the source does not keep it.
	ID string

	// Action is the source's own verb: a Vault operation ("read", "update", "list") or a
	// CloudTrail eventName ("GetSecretValue").
	Action string
	// Credential is what authenticated the request: a Vault token accessor (HMAC'd unless the
	// device has hmac_accessor=false) or an AWS access key id. Empty for batch tokens and logins.
	Credential string
	// Principal is the stable identity: Vault entity id (else display name with namespace),
	// AWS role or user ARN.
	Principal string
	// DisplayName is the human name: Vault display_name, AWS session or user name.
	DisplayName string
	// Namespace is the Vault namespace path ("" for root, "ns1/") or the AWS account id.
	Namespace string
	// Region is the AWS region; empty for Vault.
	Region string
	// Path is the request path as logged, with the namespace prefix (Vault), or the secret id
	// as given (AWS).
	Path string
	// Resource is the secret in normalised form: KV v2 data/, metadata/, delete/, ... paths
	// folded to mount + logical path; an AWS secret as name or suffix-less ARN. Empty when the
	// request touched no secret or path.
	Resource string
	// Mount is the Vault mount point ("kv/", "ns1/auth/userpass/"); empty for AWS.
	Mount string
	// MountType is the Vault mount's type ("kv", "database", "transit", "system").
	MountType string
	// RemoteAddr is the client address; invalid when the log holds none or a host name.
	RemoteAddr netip.Addr
	// UserAgent as logged (Vault only when user-agent is an audited header).
	UserAgent string
	// Policies are the token's effective policies (Vault), sorted and interned.
	Policies []string
	// NewPolicies are the policies of a token this request created (auth/token/create*).
	NewPolicies []string
	// Detail is a short, value-free description for people (AWS request parameters of a
	// control-plane call, "filters name=prod"); never a secret value, and never parsed by a
	// detector: what a detector needs is a flag or a typed field.
	Detail string
	// Grant is set on a request that wrote a resource policy.
	Grant *Grant
	// Workload links the principal to the identity of the workload behind it in another
	// store, as that store names it: a Kubernetes service account
	// ("system:serviceaccount:NS:NAME") or an AWS IAM role or user ARN. Set from what the log
	// itself says (Vault's kubernetes auth metadata service_account_namespace/name, its aws
	// auth canonical_arn); for Kubernetes service accounts and AWS principals the principal is
	// its own workload (LinkKey).
	Workload string
}

// LinkKey is the workload identity an event belongs to across stores: Workload when the log
// links the principal to one, else a Kubernetes service account or an AWS principal itself;
// "" for identities no other store can name (a Vault entity without such metadata, a person).
func (e *Event) LinkKey() string {
	if e.Workload != "" {
		return e.Workload
	}
	switch e.Kind {
	case KindKubernetes:
		if len(e.Principal) > len(serviceAccountPrefix) && e.Principal[:len(serviceAccountPrefix)] == serviceAccountPrefix {
			return e.Principal
		}
	case KindCloudTrail:
		return e.Principal
	}
	return ""
}

// serviceAccountPrefix starts the user name of a Kubernetes service account.
const serviceAccountPrefix = "system:serviceaccount:"

// Has reports whether all of f are set.
func (e *Event) Has(f Flags) bool { return e.Flags&f == f }

// Actor returns the principal, falling back to the credential and then the display name.
func (e *Event) Actor() string {
	switch {
	case e.Principal != "":
		return e.Principal
	case e.Credential != "":
		return e.Credential
	}
	return e.DisplayName
}

// Name is the secret's name relative to its store: a KV logical path without its mount and KV
// v2 verb ("prod/db"), an AWS secret or parameter name, a Kubernetes Secret's NAMESPACE/NAME.
// Empty when the request touched no secret.
func (e *Event) Name() string {
	if e.nameAt == 0 || int(e.nameAt)-1 > len(e.Resource) {
		return ""
	}
	return e.Resource[e.nameAt-1:]
}

// SetName records that the secret's name is the end of Resource from offset i. An offset
// beyond what the event can hold (a resource over 64 KiB) leaves the name unset.
func (e *Event) SetName(i int) {
	if i < 0 || i > len(e.Resource) || i >= 1<<16-1 {
		e.nameAt = 0
		return
	}
	e.nameAt = uint16(i + 1)
}
