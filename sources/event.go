// Package sources reads audit logs (HashiCorp Vault / OpenBao file audit devices, AWS CloudTrail)
// and turns each logged request into one source-neutral Event. Everything downstream (analyze,
// report) sees only Events; how a source parses its input stays here.
package sources

import (
	"net/netip"
	"time"
)

// Kind says which product wrote an event.
type Kind uint8

// Kinds of source.
const (
	KindVault Kind = iota + 1
	KindCloudTrail
)

func (k Kind) String() string {
	switch k {
	case KindVault:
		return "vault"
	case KindCloudTrail:
		return "cloudtrail"
	}
	return "unknown"
}

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
type Flags uint16

// Event flags.
const (
	// FlagRootToken: the request was authenticated by a root token (policy "root").
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
)

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
	// Detail is a short, value-free description of what changed (AWS request parameters of a
	// control-plane call, e.g. "principal=*"); never a secret value.
	Detail string
}

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
