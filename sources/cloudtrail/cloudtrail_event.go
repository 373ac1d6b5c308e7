package cloudtrail

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/bytedance/sonic"
)

// Event sources whose calls get a meaning of their own; other services' calls are kept as
// OpOther events (activity of an identity, nothing more).
const (
	SourceSecretsManager = "secretsmanager.amazonaws.com"
	SourceCloudTrail     = "cloudtrail.amazonaws.com"
	srcSTS               = "sts.amazonaws.com"
	srcSignin            = "signin.amazonaws.com"
)

// AWS version stage that makes a secret version the one every consumer reads.
const stageCurrent = "AWSCURRENT"

// maxDetail bounds Event.Detail: it is a summary, and its parts come from the caller.
const maxDetail = 240

// normalizeRecord turns one CloudTrail record into events: one, or one per secret for a
// BatchGetSecretValue by id list.
func normalizeRecord(r *ctRecord, t time.Time, pos event.Pos, in *sources.LocalInterner) []event.Event {
	return appendRecordEvents(nil, r, t, pos, in, nil)
}

// appendRecordEvents appends the events of one record to dst. params, when not nil, are the
// record's decoded requestParameters; otherwise they are decoded here.
func appendRecordEvents(dst []event.Event, r *ctRecord, t time.Time, pos event.Pos, in *sources.LocalInterner, params *ctParams) []event.Event {
	ev := event.Event{Time: t, Pos: pos, Kind: event.KindCloudTrail}
	ev.Action = in.Str(r.EventName)
	ev.Region = in.Str(r.AWSRegion)
	ev.UserAgent = in.Str(r.UserAgent)
	ev.Outcome = ctOutcome(r.ErrorCode, r.ErrorMessage, r.ResponseElements.failure)
	if r.SessionCredentialFromConsole {
		ev.Flags |= event.FlagConsole | event.FlagInteractive
	}
	if sources.InteractiveClient(ev.UserAgent) {
		ev.Flags |= event.FlagInteractive
	}
	account := r.RecipientAccountID
	if account == "" && r.UserIdentity != nil {
		account = r.UserIdentity.AccountID
	}
	ev.Namespace = in.Str(account)

	principal, display, service := ctPrincipal(r.UserIdentity, account)
	ev.Principal, ev.DisplayName = in.Str(principal), in.Str(display)
	ev.Class = ctClass(r.UserIdentity, principal, service, ev.Has(event.FlagConsole))
	if service {
		ev.Flags |= event.FlagServiceActor
	}
	if id := r.UserIdentity; id != nil {
		ev.Credential = in.Str(id.AccessKeyID)
		if id.Type == "AssumedRole" && isInstanceSession(display) {
			ev.Flags |= event.FlagInstanceCredential
		}
		if id.Type == "Root" {
			ev.Flags |= event.FlagRootToken
		}
		if id.InvokedBy != "" && !service {
			ev.Flags |= event.FlagViaService
		}
		if id.AccountID != "" && account != "" && id.AccountID != account {
			ev.Flags |= event.FlagCrossAccount
		}
	}
	if r.ReadOnly {
		ev.Flags |= event.FlagReadOnly
	}
	if principal == "" && !service {
		ev.Flags |= event.FlagUnauthenticated
	}
	ev.RemoteAddr, ev.Flags = ctAddr(r.SourceIPAddress, ev.Flags)

	p := params
	paramsOK := true
	if p == nil {
		p = new(ctParams)
		if len(r.RequestParameters) > 0 && r.RequestParameters[0] == '{' {
			// Lenient: a parameter of an unexpected type loses the parameters, not the record.
			if err := sonic.Unmarshal(r.RequestParameters, p); err != nil {
				*p, paramsOK = ctParams{}, false
			}
		}
	}

	switch r.EventSource {
	case SourceSecretsManager:
		if r.EventType == "AwsServiceEvent" {
			// Secrets Manager's own events (RotationStarted, RotationSucceeded, RotationFailed,
			// StartSecretVersionDelete, ...): kept as service events naming their secret, so a
			// rotation can be correlated, but never an actor's read or write.
			ev.Op = event.OpOther
			ev.Flags |= event.FlagServiceActor
			if r.AdditionalEventData != nil && r.AdditionalEventData.SecretID != "" {
				ev.Path = in.Str(r.AdditionalEventData.SecretID)
				ev.Resource = in.Str(NormalizeSecretID(r.AdditionalEventData.SecretID))
			}
			return append(dst, ev)
		}
		n := len(dst)
		dst = secretsManagerEvents(dst, ev, r, p, in)
		if !paramsOK {
			for i := n; i < len(dst); i++ {
				dst[i].Detail = "request parameters unreadable"
			}
		}
		return dst
	case SourceSSM:
		n := len(dst)
		dst = ssmEvents(dst, ev, r, p, in)
		if !paramsOK {
			for i := n; i < len(dst); i++ {
				dst[i].Detail = "request parameters unreadable"
			}
		}
		return dst
	case SourceCloudTrail:
		trailEvent(&ev, r, p, in)
	case srcSTS:
		stsEvent(&ev, r, p, in, account)
	case srcSignin:
		if r.EventName == "ConsoleLogin" {
			ev.Op = event.OpLogin
			ev.Credential = ""
		}
	default:
		ev.Op = event.OpOther
	}
	if !paramsOK && ev.Detail == "" {
		ev.Detail = "request parameters unreadable"
	}
	return append(dst, ev)
}

// secretsManagerEvents classifies a Secrets Manager API call and appends its events to dst.
func secretsManagerEvents(dst []event.Event, ev event.Event, r *ctRecord, p *ctParams, in *sources.LocalInterner) []event.Event {
	setSecret := func(id string) {
		ev.Path = in.Str(id)
		ev.Resource = in.Str(r.secretName(id))
	}
	switch r.EventName {
	case "GetSecretValue":
		ev.Op = event.OpRead
		ev.Flags |= event.FlagValueRead
		setSecret(p.SecretID)
	case "BatchGetSecretValue":
		if len(p.SecretIDList) > 0 {
			// One read per secret. CloudTrail also writes a GetSecretValue record for each secret
			// the batch returns; Load drops the expanded read that such a record repeats.
			ev.Op = event.OpRead
			ev.Flags |= event.FlagValueRead
			ev.Detail = in.Str(fmt.Sprintf("batch of %d", len(p.SecretIDList)))
			for _, id := range p.SecretIDList {
				e := ev
				e.Path = in.Str(id)
				e.Resource = in.Str(NormalizeSecretID(id))
				dst = append(dst, e)
			}
			return dst
		}
		// A filter instead of ids: "everything that matches", a listing that returns the values
		// of every secret it matches (CloudTrail writes a GetSecretValue record for each, which
		// are the reads). A filter that matches everything (none, or only negated values such
		// as tag-key !nonexistent) is bulk retrieval of the whole store in one call.
		ev.Op = event.OpList
		ev.Flags |= event.FlagValueRead
		ev.Resource = in.Str(listScope(p.Filters))
		ev.Detail = in.Str(describeFilters(p.Filters))
		if len(p.Filters) == 0 || catchAll(p.Filters) {
			ev.Flags |= event.FlagListAll
		}
	case "ListSecrets":
		ev.Op = event.OpList
		ev.Resource = in.Str(listScope(p.Filters))
		if len(p.Filters) == 0 {
			ev.Flags |= event.FlagListAll
		}
		ev.Detail = in.Str(describeFilters(p.Filters))
		if len(p.Filters) == 0 {
			ev.Flags |= event.FlagListAll
		}
	case "DescribeSecret", "ListSecretVersionIds", "GetResourcePolicy":
		ev.Op = event.OpList
		setSecret(p.SecretID)
	case "PutSecretValue":
		setSecret(p.SecretID)
		// A value staged as AWSPENDING (a rotation function's createSecret step) is not what
		// consumers read until a stage moves; without versionStages the new value is current.
		if len(p.VersionStages) == 0 || slices.Contains(p.VersionStages, stageCurrent) {
			ev.Op = event.OpWrite
		} else {
			ev.Op = event.OpOther
			ev.Detail = in.Str("staged " + sources.Truncate(strings.Join(p.VersionStages, ","), 60))
		}
	case "UpdateSecret", "RotateSecret":
		ev.Op = event.OpWrite
		setSecret(p.SecretID)
	case "UpdateSecretVersionStage":
		setSecret(p.SecretID)
		if p.VersionStage == stageCurrent {
			ev.Op = event.OpWrite
			ev.Detail = "version made AWSCURRENT"
		} else {
			ev.Op = event.OpOther
			ev.Detail = in.Str("stage " + sources.Truncate(p.VersionStage, 60) + " moved")
		}
	case "CreateSecret":
		ev.Op = event.OpWrite
		setSecret(cmp.Or(p.Name, p.SecretID))
	case "PutResourcePolicy":
		ev.Op = event.OpAdmin
		setSecret(p.SecretID)
		ev.Detail = in.Str(SummarizeResourcePolicy(p.ResourcePolicy, p.BlockPublicPolicy))
		ev.Grant, _ = ResourcePolicyGrant(p.ResourcePolicy, p.BlockPublicPolicy)
	case "ReplicateSecretToRegions":
		ev.Op = event.OpAdmin
		setSecret(p.SecretID)
		var regions []string
		for _, rr := range p.AddReplicaRegions {
			regions = append(regions, rr.Region)
		}
		if len(regions) > 0 {
			ev.Detail = in.Str(sources.Truncate("regions="+strings.Join(regions, ","), maxDetail))
		}
	case "DeleteSecret", "RestoreSecret", "DeleteResourcePolicy", "RemoveRegionsFromReplication",
		"StopReplicationToReplica", "CancelRotateSecret", "TagResource", "UntagResource":
		ev.Op = event.OpAdmin
		setSecret(p.SecretID)
	default: // GetRandomPassword, ValidateResourcePolicy, ...
		ev.Op = event.OpOther
		if p.SecretID != "" {
			setSecret(p.SecretID)
		}
	}
	return append(dst, ev)
}

// secretName is the canonical name of the secret a single-secret call touched: taken from
// resources[] when CloudTrail logged the secret's full ARN there (its suffix is then certain),
// else from the id the caller passed.
func (r *ctRecord) secretName(id string) string {
	var arn string
	for _, res := range r.Resources {
		if res.Type == "AWS::SecretsManager::Secret" || strings.Contains(res.ARN, ":secret:") {
			if arn != "" && arn != res.ARN {
				arn = "" // several secrets: the id decides
				break
			}
			arn = res.ARN
		}
	}
	if arn != "" {
		return NormalizeSecretID(arn)
	}
	return NormalizeSecretID(id)
}

// NormalizeSecretID maps the ways a Secrets Manager secret is named to one form, its name:
// "prod/db" stays "prod/db", and "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
// (the full ARN, with the six characters Secrets Manager appends) becomes "prod/db". Names may
// contain "-" and "/", so only an ARN loses a suffix, and exactly one. A partial ARN (without
// the suffix) whose name happens to end in "-" and six letters or digits is shortened too: the
// log does not say which it was. Detectors use it to compare configured names (decoys) with
// Event.Resource.
func NormalizeSecretID(id string) string {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "arn:") {
		return id
	}
	i := strings.Index(id, ":secret:")
	if i < 0 {
		return id
	}
	name := id[i+len(":secret:"):]
	if n := len(name); n > 7 && name[n-7] == '-' && isAlnum(name[n-6:]) {
		name = name[:n-7]
	}
	return name
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// listScope is the Resource of a listing: the name prefix a name filter asks for, or "*" for
// every secret (no filter, or filters on tags, descriptions and "all").
func listScope(fs []ctFilter) string {
	var names []string
	for _, f := range fs {
		if f.Key == "name" {
			names = append(names, f.Values...)
		}
	}
	if len(names) == 0 {
		return "*"
	}
	slices.Sort(names)
	return sources.Truncate(strings.Join(slices.Compact(names), ","), 120)
}

// catchAll reports whether filters match every secret: each filter's values are all negated
// ("!x": everything without x), so no filter narrows the result.
func catchAll(fs []ctFilter) bool {
	for _, f := range fs {
		for _, v := range f.Values {
			if !strings.HasPrefix(v, "!") {
				return false
			}
		}
	}
	return len(fs) > 0
}

// describeFilters summarises list filters: "filters key=all values=prod".
func describeFilters(fs []ctFilter) string {
	if len(fs) == 0 {
		return ""
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, "key="+f.Key+" values="+strings.Join(f.Values, ","))
	}
	return sources.Truncate("filters "+strings.Join(parts, "; "), maxDetail)
}

// ResourcePolicyGrant reads who a resource policy lets in, without keeping its text.
// Principals of Allow statements are listed as "*", ARNs, "arn:aws:iam::<account>:root" for a
// bare account id, "service:<name>" and "federated:<provider>"; an Allow with NotPrincipal
// counts as "*". It returns nil when the request carried neither a policy nor the guard, and
// unreadable when the policy was not JSON.
func ResourcePolicyGrant(doc string, blockPublic *bool) (g *event.Grant, unreadable bool) {
	g = &event.Grant{}
	public, scoped := 0, 0
	if strings.TrimSpace(doc) != "" {
		var v any
		if err := sonic.UnmarshalString(doc, &v); err != nil {
			unreadable = true
		} else {
			m, _ := v.(map[string]any)
			for _, s := range asList(m["Statement"]) {
				sm, ok := s.(map[string]any)
				if !ok {
					continue
				}
				if eff, _ := sm["Effect"].(string); !strings.EqualFold(eff, "Allow") {
					continue
				}
				prs := policyPrincipals(sm["Principal"])
				if _, ok := sm["NotPrincipal"]; ok {
					prs = append(prs, "*")
				}
				g.Principals = append(g.Principals, prs...)
				if sm["Condition"] != nil {
					g.Condition = true
				}
				if slices.Contains(prs, "*") {
					public++
					conds, org := policyConditions(sm["Condition"])
					if org {
						scoped++
					}
					g.Conditions = append(g.Conditions, conds...)
				}
			}
			slices.Sort(g.Principals)
			g.Principals = slices.Compact(g.Principals)
			slices.Sort(g.Conditions)
			g.Conditions = slices.Compact(g.Conditions)
			if len(g.Conditions) > 8 {
				g.Conditions = g.Conditions[:8]
			}
			g.OrgScoped = public > 0 && scoped == public
		}
	}
	if blockPublic != nil {
		g.BlockPublic = strconv.FormatBool(*blockPublic)
	}
	if len(g.Principals) == 0 && !g.Condition && g.BlockPublic == "" {
		return nil, unreadable
	}
	return g, unreadable
}

// orgKeys are the condition keys that narrow a statement to an organisation or an account.
var orgKeys = []string{"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount"}

// policyConditions quotes a statement's Condition block as "key=value" (any operator), and
// reports whether one of its keys narrows it to an organisation or account.
func policyConditions(c any) (conds []string, org bool) {
	ops, _ := c.(map[string]any)
	for _, block := range ops {
		keys, _ := block.(map[string]any)
		for k, v := range keys {
			if slices.Contains(orgKeys, strings.ToLower(k)) {
				org = true
			}
			var vals []string
			for _, x := range asList(v) {
				if s, ok := x.(string); ok {
					vals = append(vals, s)
				}
			}
			conds = append(conds, sources.Truncate(k+"="+strings.Join(vals, ","), 80))
		}
	}
	return conds, org
}

// SummarizeResourcePolicy describes a grant for people: "principal=* condition=true
// blockPublicPolicy=false".
func SummarizeResourcePolicy(doc string, blockPublic *bool) string {
	g, unreadable := ResourcePolicyGrant(doc, blockPublic)
	var tokens []string
	if unreadable {
		tokens = append(tokens, "policy=unreadable")
	}
	if g != nil {
		const maxListed = 8
		for i, pr := range g.Principals {
			if i == maxListed {
				tokens = append(tokens, fmt.Sprintf("principals+%d", len(g.Principals)-maxListed))
				break
			}
			tokens = append(tokens, "principal="+strings.ReplaceAll(pr, " ", ""))
		}
		if g.Condition {
			tokens = append(tokens, "condition=true")
		}
		if g.BlockPublic != "" {
			tokens = append(tokens, "blockPublicPolicy="+g.BlockPublic)
		}
	}
	return sources.Truncate(strings.Join(tokens, " "), maxDetail*2)
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

func policyPrincipals(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if x == "*" {
			out = append(out, "*")
		}
	case map[string]any:
		for k, pv := range x {
			for _, e := range asList(pv) {
				s, ok := e.(string)
				if !ok {
					continue
				}
				switch k {
				case "AWS":
					switch {
					case s == "*":
						out = append(out, "*")
					case len(s) == 12 && isDigits(s):
						out = append(out, "arn:aws:iam::"+s+":root")
					default:
						out = append(out, s)
					}
				case "Service":
					out = append(out, "service:"+s)
				case "Federated":
					out = append(out, "federated:"+s)
				default:
					out = append(out, strings.ToLower(k)+":"+s)
				}
			}
		}
	}
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// trailEvent classifies CloudTrail's own API: what switches the audit trail off or narrows it
// is OpAudit, with the trail as Resource and a value-free Detail.
func trailEvent(ev *event.Event, r *ctRecord, p *ctParams, in *sources.LocalInterner) {
	trail := trailName(cmp.Or(p.Name, p.TrailName))
	switch r.EventName {
	case "StopLogging":
		ev.Op, ev.Detail = event.OpAudit, "logging stopped"
	case "DeleteTrail":
		ev.Op, ev.Detail = event.OpAudit, "trail deleted"
	case "UpdateTrail":
		ev.Op, ev.Detail = event.OpAudit, in.Str(describeTrailUpdate(p))
	case "PutEventSelectors":
		excluded, detail := describeSelectors(p)
		ev.Detail = in.Str(detail)
		if excluded {
			ev.Op = event.OpAudit
		} else {
			ev.Op = event.OpOther
		}
	case "DeleteEventDataStore":
		ev.Op, ev.Detail = event.OpAudit, "event data store deleted"
		trail = trailName(p.Name)
	case "StopEventDataStoreIngestion":
		ev.Op, ev.Detail = event.OpAudit, "event data store ingestion stopped"
	case "StartLogging":
		ev.Op, ev.Detail = event.OpOther, "logging started"
	default:
		ev.Op = event.OpOther
	}
	ev.Path = in.Str(cmp.Or(p.Name, p.TrailName))
	if ev.Op == event.OpAudit && r.ErrorCode != "" {
		if r.EventName == "UpdateTrail" && ev.Detail == "trail updated" {
			// A failed update that names no setting changed nothing and tried to change nothing.
			ev.Op = event.OpOther
		} else {
			ev.Detail = in.Str(sources.Truncate(cmp.Or(ev.Detail, r.EventName)+"; failed: "+r.ErrorCode, maxDetail))
		}
	}
	if ev.Op == event.OpAudit {
		ev.Resource = in.Str(trail)
	}
}

// trailName is a trail's name from a name or a trail ARN (arn:aws:cloudtrail:r:a:trail/NAME).
func trailName(s string) string {
	if i := strings.LastIndex(s, ":trail/"); i >= 0 {
		return s[i+len(":trail/"):]
	}
	if i := strings.LastIndex(s, ":eventdatastore/"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func describeTrailUpdate(p *ctParams) string {
	var parts []string
	changed := func(name string, v *string) {
		if v != nil {
			if *v == "" {
				parts = append(parts, name+" removed")
			} else {
				parts = append(parts, name+" changed")
			}
		}
	}
	flag := func(name string, v *bool) {
		if v != nil {
			parts = append(parts, name+"="+strconv.FormatBool(*v))
		}
	}
	changed("s3BucketName", p.S3BucketName)
	changed("s3KeyPrefix", p.S3KeyPrefix)
	changed("kmsKeyId", p.KMSKeyID)
	changed("cloudWatchLogsLogGroupArn", p.CloudWatchLogsLogGroupARN)
	changed("snsTopicName", p.SNSTopicName)
	flag("isMultiRegionTrail", p.IsMultiRegionTrail)
	flag("includeGlobalServiceEvents", p.IncludeGlobalServiceEvents)
	flag("enableLogFileValidation", p.EnableLogFileValidation)
	flag("isOrganizationTrail", p.IsOrganizationTrail)
	if len(parts) == 0 {
		return "trail updated"
	}
	return sources.Truncate("trail updated: "+strings.Join(parts, ", "), maxDetail)
}

// describeSelectors reports whether event selectors leave management events (or some of them,
// such as reads) or every data event out, and says what.
func describeSelectors(p *ctParams) (bool, string) {
	var notes []string
	excluded := false
	if len(p.EventSelectors) > 0 {
		mgmt, reads, writes, data := false, false, false, false
		for _, s := range p.EventSelectors {
			rw := s.ReadWriteType
			if s.IncludeManagementEvents == nil || *s.IncludeManagementEvents {
				mgmt = true
				if rw == "" || rw == "All" || rw == "ReadOnly" {
					reads = true
				}
				if rw == "" || rw == "All" || rw == "WriteOnly" {
					writes = true
				}
			}
			for _, dr := range s.DataResources {
				if len(dr.Values) > 0 {
					data = true
				}
			}
			if len(s.ExcludeManagementEventSources) > 0 {
				excluded = true
				notes = append(notes, "management events from "+strings.Join(s.ExcludeManagementEventSources, ",")+" excluded")
			}
		}
		switch {
		case !mgmt:
			excluded = true
			notes = append(notes, "management events excluded")
		case !reads:
			excluded = true
			notes = append(notes, "read management events excluded")
		case !writes:
			excluded = true
			notes = append(notes, "write management events excluded")
		}
		if !data {
			hadTypes := false
			for _, s := range p.EventSelectors {
				if len(s.DataResources) > 0 {
					hadTypes = true
				}
			}
			if hadTypes {
				excluded = true
				notes = append(notes, "data resources with no values (no data events)")
			}
		}
	}
	if len(p.AdvancedEventSelectors) > 0 {
		mgmt := false
		for _, s := range p.AdvancedEventSelectors {
			isMgmt, readsOut := false, false
			for _, f := range s.FieldSelectors {
				if f.Field == "eventCategory" && slices.Contains(f.Equals, "Management") {
					isMgmt = true
				}
				if f.Field == "readOnly" && slices.Contains(f.Equals, "false") {
					readsOut = true
				}
				if f.Field == "eventSource" && len(f.NotEquals) > 0 {
					notes = append(notes, "events from "+strings.Join(f.NotEquals, ",")+" excluded")
					excluded = true
				}
			}
			if isMgmt {
				mgmt = true
				if readsOut {
					excluded = true
					notes = append(notes, "read management events excluded")
				}
			}
		}
		if !mgmt {
			excluded = true
			notes = append(notes, "management events excluded")
		}
	}
	if len(notes) == 0 {
		return false, "event selectors changed"
	}
	slices.Sort(notes)
	return excluded, sources.Truncate("event selectors: "+strings.Join(slices.Compact(notes), "; "), maxDetail)
}

// stsEvent makes credential issuance a login of the identity the credentials belong to: the
// role an AssumeRole* call enters, or the federated user GetFederationToken creates.
func stsEvent(ev *event.Event, r *ctRecord, p *ctParams, in *sources.LocalInterner, account string) {
	switch r.EventName {
	case "AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML":
		ev.Op = event.OpLogin
		if p.RoleARN != "" {
			ev.Detail = in.Str(sources.Truncate("requested by "+ev.Principal, maxDetail))
			ev.Principal = in.Str(p.RoleARN)
		}
		ev.Credential = ""
	case "GetFederationToken":
		ev.Op = event.OpLogin
		if p.Name != "" {
			ev.Detail = in.Str(sources.Truncate("requested by "+ev.Principal, maxDetail))
			ev.Principal = in.Str(partitionOf(r.UserIdentity) + "sts::" + account + ":federated-user/" + p.Name)
			ev.DisplayName = in.Str(p.Name)
		}
		ev.Credential = ""
	case "GetSessionToken":
		ev.Op = event.OpLogin
	default:
		ev.Op = event.OpOther
	}
	ev.Flags &^= event.FlagUnauthenticated
}

// partitionOf is "arn:<partition>:" of an identity's ARN ("arn:aws:" when unknown).
func partitionOf(id *ctIdentity) string {
	if id != nil && strings.HasPrefix(id.ARN, "arn:") {
		if i := strings.IndexByte(id.ARN[4:], ':'); i >= 0 {
			return id.ARN[:4+i+1]
		}
	}
	return "arn:aws:"
}

// ctPrincipal maps userIdentity to the stable principal, the human name, and whether the AWS
// service itself is acting (type AWSService, or a service-linked role): such calls are never an
// actor of their own. A call a service made on a principal's behalf (invokedBy with a principal:
// CloudFormation deleting a trail, the console's sign-in service, the KMS decrypt behind a
// GetSecretValue) is that principal's call (FlagViaService).
// ctClass says whether a person or a workload made the call: IAM Identity Center sessions
// (AWSReservedSSO_ roles), the root user and console sessions are people; AWS services and
// assumed roles otherwise are workloads; an IAM user outside the console is either (access
// keys serve pipelines as often as people), so unknown.
func ctClass(id *ctIdentity, principal string, service, console bool) event.Class {
	switch {
	case id == nil:
		return event.ClassUnknown
	case service || id.Type == "AWSService":
		return event.ClassWorkload
	case id.Type == "Root" || id.Type == "IdentityCenterUser" || console || strings.Contains(principal, "/AWSReservedSSO_"):
		return event.ClassPerson
	case id.Type == "AssumedRole":
		return event.ClassWorkload
	}
	return event.ClassUnknown
}

func ctPrincipal(id *ctIdentity, account string) (principal, display string, service bool) {
	if id == nil {
		return "", "", false
	}
	if id.AccountID != "" {
		account = id.AccountID
	}
	part := partitionOf(id)
	service = strings.Contains(id.ARN, ":assumed-role/AWSServiceRoleFor") ||
		(id.SessionContext != nil && id.SessionContext.SessionIssuer != nil && strings.Contains(id.SessionContext.SessionIssuer.ARN, ":role/aws-service-role/"))
	switch id.Type {
	case "", "AWSService":
		if id.InvokedBy != "" {
			return id.InvokedBy, id.InvokedBy, true
		}
		return cmp.Or(id.ARN, id.PrincipalID), cmp.Or(id.UserName, id.PrincipalID), id.Type == "AWSService"
	case "Root":
		return cmp.Or(id.ARN, part+"iam::"+account+":root"), "root", service
	case "IAMUser":
		name := cmp.Or(id.UserName, lastSegment(id.ARN))
		if id.ARN == "" && account != "" && name != "" {
			return part + "iam::" + account + ":user/" + name, name, service
		}
		return cmp.Or(id.ARN, id.PrincipalID), name, service
	case "AssumedRole":
		session := ""
		if i := strings.LastIndexByte(id.PrincipalID, ':'); i >= 0 {
			session = id.PrincipalID[i+1:]
		}
		role := ""
		if id.SessionContext != nil && id.SessionContext.SessionIssuer != nil {
			role = id.SessionContext.SessionIssuer.ARN
		}
		// arn:aws:sts::<acct>:assumed-role/<role>/<session>
		if rest, ok := strings.CutPrefix(stsResource(id.ARN), "assumed-role/"); ok {
			if i := strings.LastIndexByte(rest, '/'); i >= 0 {
				session = cmp.Or(rest[i+1:], session)
				if role == "" {
					role = part + "iam::" + account + ":role/" + rest[:i]
				}
			}
		}
		return cmp.Or(role, id.ARN, id.PrincipalID), session, service
	case "FederatedUser":
		name := ""
		if rest, ok := strings.CutPrefix(stsResource(id.ARN), "federated-user/"); ok {
			name = rest
		} else if i := strings.IndexByte(id.PrincipalID, ':'); i >= 0 {
			name = id.PrincipalID[i+1:]
		}
		if id.ARN != "" {
			return id.ARN, name, service
		}
		return part + "sts::" + account + ":federated-user/" + name, name, service
	case "AWSAccount":
		// A principal of another account (CloudTrail names only its account and principal id,
		// "AROA...:session"): never that account's root.
		return "aws-account:" + account + ":" + cmp.Or(id.PrincipalID, "unknown"), cmp.Or(id.PrincipalID, account), service
	case "IdentityCenterUser":
		if id.OnBehalfOf != nil && id.OnBehalfOf.UserID != "" {
			return cmp.Or(id.OnBehalfOf.IdentityStoreARN, "identitystore") + "/user/" + id.OnBehalfOf.UserID, id.OnBehalfOf.UserID, service
		}
		return cmp.Or(id.ARN, id.PrincipalID), id.UserName, service
	case "WebIdentityUser", "SAMLUser":
		return strings.ToLower(strings.TrimSuffix(id.Type, "User")) + ":" + cmp.Or(id.IdentityProvider, "unknown") + ":" + cmp.Or(id.UserName, id.PrincipalID),
			cmp.Or(id.UserName, id.PrincipalID), service
	}
	return cmp.Or(id.ARN, id.PrincipalID, id.UserName), cmp.Or(id.UserName, lastSegment(id.ARN)), service
}

// stsResource is the resource part of an ARN ("assumed-role/r/s" of arn:aws:sts::1:assumed-role/r/s).
func stsResource(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	rest := arn
	for range 5 { // past arn:partition:service:region:account:
		i := strings.IndexByte(rest, ':')
		if i < 0 {
			return ""
		}
		rest = rest[i+1:]
	}
	return rest
}

func lastSegment(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return ""
}

// ctAddr parses sourceIPAddress. CloudTrail puts "AWS Internal" or a service's host name there
// when a service made the call; those are not client addresses.
func ctAddr(s string, flags event.Flags) (netip.Addr, event.Flags) {
	if s == "" {
		return netip.Addr{}, flags
	}
	if a := sources.ParseAddr(s); a.IsValid() {
		return a, flags
	}
	if s == "AWS Internal" || strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		flags |= event.FlagAWSInternal
	}
	return netip.Addr{}, flags
}

// ctOutcome maps the fields that carry a failure to an outcome: errorCode; for sign-in events,
// which have none, responseElements' "Failure" and errorMessage ("Failed authentication").
func ctOutcome(code, message string, signInFailed bool) event.Outcome {
	switch code {
	case "":
		switch {
		case signInFailed, message == "Failed authentication":
			return event.OutcomeDenied
		case message != "":
			return event.OutcomeError
		}
		return event.OutcomeOK
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation":
		return event.OutcomeDenied
	}
	return event.OutcomeError
}

// isInstanceSession reports whether an assumed-role session name is an EC2 instance id, as the
// instance profile names its sessions (i- and 8 or 17 hex digits). AWS writes them in lower
// case; they are compared without regard to case.
func isInstanceSession(s string) bool {
	if len(s) < 2 || !strings.EqualFold(s[:2], "i-") {
		return false
	}
	hex := s[2:]
	if len(hex) != 8 && len(hex) != 17 {
		return false
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
