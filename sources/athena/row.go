package athena

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vaultsentry/vaultsentry/sources/cloudtrail"
)

// recordFromRow writes one result row back as the CloudTrail record it came from (the
// fields Columns selected, under the record's own names), for sources/cloudtrail's decoder.
// col maps a column name to its index in row; a nil value is SQL NULL (the field is left out).
func recordFromRow(dst []byte, col map[string]int, row []*string) []byte {
	get := func(name string) *string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return nil
	}
	w := &recWriter{b: dst}
	w.b = append(w.b, '{')
	for _, f := range [...]struct{ key, col string }{
		{"eventVersion", "eventversion"}, {"eventTime", "eventtime"}, {"eventSource", "eventsource"},
		{"eventName", "eventname"}, {"eventType", "eventtype"}, {"awsRegion", "awsregion"},
		{"sourceIPAddress", "sourceipaddress"}, {"userAgent", "useragent"}, {"errorCode", "errorcode"},
		{"errorMessage", "errormessage"}, {"eventID", "eventid"}, {"recipientAccountId", "recipientaccountid"},
		{"readOnly", "readonly"}, {"sessionCredentialFromConsole", "sessioncredentialfromconsole"},
	} {
		w.str(f.key, get(f.col))
	}
	for _, f := range [...]struct{ key, col string }{
		{"requestParameters", "requestparameters"}, {"responseElements", "responseelements"},
		{"additionalEventData", "additionaleventdata"}, {"resources", "resources_json"},
	} {
		w.raw(f.key, get(f.col))
	}
	// userIdentity, with sessionContext.sessionIssuer and onBehalfOf when they have a value.
	id := &recWriter{}
	for _, f := range [...]struct{ key, col string }{
		{"type", "ui_type"}, {"principalId", "ui_principalid"}, {"arn", "ui_arn"}, {"accountId", "ui_accountid"},
		{"accessKeyId", "ui_accesskeyid"}, {"userName", "ui_username"}, {"invokedBy", "ui_invokedby"},
	} {
		id.str(f.key, get(f.col))
	}
	if t, p := get("ui_type"), get("ui_principalid"); t != nil && *t == "WebIdentityUser" && p != nil {
		// The table of the AWS docs has no identityProvider column; a web identity's
		// principalId starts with the provider's host path ("oidc.eks.<region>.amazonaws.com/id/<id>:
		// <audience>:<subject>"), the name its provider's ARN ends with.
		if host, _, ok := strings.Cut(*p, ":"); ok && strings.Contains(host, "/") {
			acct := get("recipientaccountid")
			if a := get("ui_accountid"); a != nil && *a != "" {
				acct = a
			}
			if acct != nil {
				arn := "arn:aws:iam::" + *acct + ":oidc-provider/" + host
				id.str("identityProvider", &arn)
			}
		}
	}
	issuer := &recWriter{}
	for _, f := range [...]struct{ key, col string }{
		{"type", "si_type"}, {"arn", "si_arn"}, {"userName", "si_username"}, {"accountId", "si_accountid"},
	} {
		issuer.str(f.key, get(f.col))
	}
	if issuer.n > 0 {
		id.obj("sessionContext", []byte(`{"sessionIssuer":`+string(issuer.close())+`}`))
	}
	obo := &recWriter{}
	obo.str("userId", get("obo_userid"))
	obo.str("identityStoreArn", get("obo_identitystorearn"))
	if obo.n > 0 {
		id.obj("onBehalfOf", obo.close())
	}
	if id.n > 0 {
		w.obj("userIdentity", id.close())
	}
	return append(w.b, '}')
}

type recWriter struct {
	b []byte
	n int
}

func (w *recWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	} else if len(w.b) == 0 {
		w.b = append(w.b, '{')
	}
	w.n++
	w.b = strconv.AppendQuote(w.b, k)
	w.b = append(w.b, ':')
}

// str writes a string field; NULL and "" are left out, as CloudTrail leaves absent fields out.
func (w *recWriter) str(k string, v *string) {
	if v == nil || *v == "" {
		return
	}
	w.key(k)
	w.b = cloudtrail.AppendJSONString(w.b, *v) // valid JSON for any bytes (invalid UTF-8 becomes U+FFFD)
}

// raw writes a column that holds JSON text (requestparameters, ...) as that JSON, or as a
// string when it is not JSON.
func (w *recWriter) raw(k string, v *string) {
	if v == nil || *v == "" || *v == "null" {
		return
	}
	t := bytes.TrimSpace([]byte(*v))
	if json.Valid(t) {
		w.key(k)
		w.b = append(w.b, t...)
		return
	}
	w.str(k, v)
}

func (w *recWriter) obj(k string, v []byte) {
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *recWriter) close() []byte {
	if w.n == 0 {
		return []byte("{}")
	}
	return append(w.b, '}')
}
