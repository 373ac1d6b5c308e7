package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/bytedance/sonic"
)

// Amazon Security Lake stores CloudTrail records as OCSF events (the Open Cybersecurity Schema
// Framework, 1.x): management and data events are API Activity, class_uid 6003, with
// metadata.product.name "CloudTrail". They are read here by turning each back into the
// CloudTrail record it was mapped from (the OCSF 1.1.0 mapping of CloudTrail's API Activity:
// api.operation is eventName, api.service.name eventSource, actor.user.uid the identity's ARN,
// uid_alt its principalId, credential_uid its access key, account.uid its account,
// actor.session.issuer the role, src_endpoint.ip the address, http_request.user_agent,
// api.response.error/message, api.request.data the request parameters, resources[].uid the
// ARNs, cloud.region, time in epoch milliseconds, metadata.uid the eventID; what OCSF has no
// field for is in unmapped, under CloudTrail's own names), which the CloudTrail decoder then
// reads like any other record: one record-to-event mapping for every framing.
//
// Framings: one OCSF event per line, a JSON array of them, and Security Lake's Parquet files
// (ocsf_parquet.go). An event of another class, or of another product, is counted as skipped
// with its class ("ocsf-class-3002", "ocsf-not-cloudtrail"), never parsed. A line without
// class_uid in such a file is read as a plain CloudTrail record.

// OCSFClassAPIActivity is the OCSF class of CloudTrail's API calls.
const OCSFClassAPIActivity = 6003

// ShapeOCSF is the FileStats.Shapes key of records read from OCSF events.
const ShapeOCSF = "ocsf-6003"

// ocsfEvent is what is read of one OCSF event. Values whose type differs between producers
// (request data as an object or as its JSON text; unmapped values as strings or JSON) stay raw.
type ocsfEvent struct {
	ClassUID int    `json:"class_uid"`
	Time     int64  `json:"time"`
	TimeDT   string `json:"time_dt"`
	Metadata struct {
		UID       string `json:"uid"`
		EventCode string `json:"event_code"`
		Product   struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"product"`
	} `json:"metadata"`
	API struct {
		Operation string `json:"operation"`
		Service   struct {
			Name string `json:"name"`
		} `json:"service"`
		Request struct {
			Data json.RawMessage `json:"data"`
			UID  string          `json:"uid"`
		} `json:"request"`
		Response struct {
			Error   string          `json:"error"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data"`
		} `json:"response"`
	} `json:"api"`
	Actor struct {
		User struct {
			Type          string `json:"type"`
			UID           string `json:"uid"`
			UIDAlt        string `json:"uid_alt"`
			UUID          string `json:"uuid"`
			Name          string `json:"name"`
			CredentialUID string `json:"credential_uid"`
			Account       struct {
				UID string `json:"uid"`
			} `json:"account"`
		} `json:"user"`
		Session struct {
			Issuer string `json:"issuer"`
		} `json:"session"`
		InvokedBy string `json:"invoked_by"`
		IDP       struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"idp"`
	} `json:"actor"`
	SrcEndpoint struct {
		IP     string `json:"ip"`
		Domain string `json:"domain"`
	} `json:"src_endpoint"`
	HTTPRequest struct {
		UserAgent string `json:"user_agent"`
	} `json:"http_request"`
	Resources []struct {
		UID   string `json:"uid"`
		Type  string `json:"type"`
		Owner struct {
			Account struct {
				UID string `json:"uid"`
			} `json:"account"`
		} `json:"owner"`
	} `json:"resources"`
	Cloud struct {
		Region  string `json:"region"`
		Account struct {
			UID string `json:"uid"`
		} `json:"account"`
	} `json:"cloud"`
	Unmapped map[string]json.RawMessage `json:"unmapped"`
}

// skipReason is why e is not read as a CloudTrail record; "" when it is.
func (e *ocsfEvent) skipReason() string {
	switch {
	case e.ClassUID != OCSFClassAPIActivity:
		return "ocsf-class-" + strconv.Itoa(e.ClassUID)
	case !strings.EqualFold(e.Metadata.Product.Name, "CloudTrail"):
		return "ocsf-not-cloudtrail"
	}
	return ""
}

// plainJSON is raw as a JSON value: a JSON string whose text is an object or array becomes
// that object or array (Security Lake keeps request data and unmapped values as text); nil
// for null or nothing.
func plainJSON(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if t := strings.TrimSpace(s); t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(t)) {
				return json.RawMessage(t)
			}
		}
	}
	return raw
}

// unmappedString is an unmapped value as a string ("true" for true).
func (e *ocsfEvent) unmapped(key string) string {
	raw := bytes.TrimSpace(e.Unmapped[key])
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// record is the CloudTrail record e was mapped from.
func (e *ocsfEvent) record() []byte {
	w := &recWriter{}
	w.str("eventVersion", e.Metadata.Product.Version)
	t := e.TimeDT
	if e.Time != 0 {
		t = time.UnixMilli(e.Time).UTC().Format(time.RFC3339)
	}
	w.str("eventTime", t)
	w.str("eventSource", e.API.Service.Name)
	w.str("eventName", e.API.Operation)
	w.str("eventType", firstOf(e.Metadata.EventCode, e.unmapped("eventType")))
	w.str("awsRegion", e.Cloud.Region)
	// An AWS service calling is a name ("secretsmanager.amazonaws.com"), mapped to domain.
	w.str("sourceIPAddress", firstOf(e.SrcEndpoint.IP, e.SrcEndpoint.Domain))
	w.str("userAgent", e.HTTPRequest.UserAgent)
	w.str("errorCode", e.API.Response.Error)
	w.str("errorMessage", e.API.Response.Message)
	w.str("eventID", e.Metadata.UID)
	w.str("requestID", e.API.Request.UID)
	w.str("recipientAccountId", firstOf(e.unmapped("recipientAccountId"), e.Cloud.Account.UID))
	w.str("readOnly", e.unmapped("readOnly"))
	w.str("sessionCredentialFromConsole", e.unmapped("sessionCredentialFromConsole"))
	w.raw("requestParameters", plainJSON(e.API.Request.Data))
	w.raw("responseElements", plainJSON(e.API.Response.Data))
	if add := plainJSON(e.Unmapped["additionalEventData"]); add != nil {
		w.raw("additionalEventData", add)
	} else {
		// Security Lake flattens objects into dotted unmapped keys ("additionalEventData.SecretId").
		add := map[string]string{}
		for k := range e.Unmapped {
			if sub, ok := strings.CutPrefix(k, "additionalEventData."); ok && !strings.Contains(sub, ".") {
				add[sub] = e.unmapped(k)
			}
		}
		if len(add) > 0 {
			b, _ := json.Marshal(add)
			w.raw("additionalEventData", b)
		}
	}
	if len(e.Resources) > 0 {
		rs := make([]map[string]string, 0, len(e.Resources))
		for _, r := range e.Resources {
			m := map[string]string{"ARN": r.UID, "type": r.Type}
			if r.Owner.Account.UID != "" {
				m["accountId"] = r.Owner.Account.UID
			}
			rs = append(rs, m)
		}
		b, _ := json.Marshal(rs)
		w.raw("resources", b)
	}
	u := &e.Actor.User
	id := &recWriter{}
	// OCSF 1.1: uid is the ARN, uid_alt the principalId; 1.0.0-rc.2 (Security Lake's first
	// source version): uid is the principalId, uuid the ARN.
	arn, principal := u.UID, u.UIDAlt
	if u.UUID != "" || (arn != "" && !strings.HasPrefix(arn, "arn:")) {
		arn, principal = u.UUID, firstOf(u.UIDAlt, u.UID)
	}
	id.str("type", u.Type)
	id.str("arn", arn)
	id.str("accountId", u.Account.UID)
	id.str("accessKeyId", u.CredentialUID)
	id.str("userName", u.Name)
	id.str("invokedBy", e.Actor.InvokedBy)
	if u.Type == "IdentityCenterUser" && e.Actor.IDP.UID != "" {
		// The conditional mapping: uid_alt is onBehalfOf.userId, idp.uid its identity store.
		obo := &recWriter{}
		obo.str("userId", principal)
		obo.str("identityStoreArn", e.Actor.IDP.UID)
		id.raw("onBehalfOf", obo.close())
	} else {
		id.str("principalId", principal)
	}
	if u.Type == "WebIdentityUser" || u.Type == "SAMLUser" {
		id.str("identityProvider", e.Actor.IDP.Name)
	}
	if e.Actor.Session.Issuer != "" {
		iss := &recWriter{}
		iss.str("arn", e.Actor.Session.Issuer)
		id.raw("sessionContext", []byte(`{"sessionIssuer":`+string(iss.close())+`}`))
	}
	if id.n > 0 {
		w.raw("userIdentity", id.close())
	}
	return w.close()
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// recWriter writes one JSON object field by field; empty strings and nil values are left out
// (CloudTrail leaves absent fields out).
type recWriter struct {
	b []byte
	n int
}

func (w *recWriter) key(k string) {
	if w.n == 0 {
		w.b = append(w.b, '{')
	} else {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = strconv.AppendQuote(w.b, k)
	w.b = append(w.b, ':')
}

func (w *recWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = AppendJSONString(w.b, v)
}

func (w *recWriter) raw(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.b = append(w.b, v...)
}

func (w *recWriter) close() []byte {
	if w.n == 0 {
		return []byte("{}")
	}
	return append(w.b, '}')
}

// ocsfHead reports whether a head is OCSF events (class_uid and metadata at the top level).
func ocsfHead(h *sources.Head) bool {
	for _, v := range h.Values {
		if v.Has("class_uid", "metadata") {
			return true
		}
	}
	return false
}

// ocsfValue counts and decodes one OCSF event (or, without class_uid, one CloudTrail
// record) at pos.
func (cr *ctReader) ocsfValue(raw []byte, pos int) {
	var probe struct {
		ClassUID *int `json:"class_uid"`
	}
	if err := sonic.Unmarshal(raw, &probe); err != nil {
		cr.st.Bad(pos, "invalid JSON: "+sources.ShortJSONError(err))
		return
	}
	if probe.ClassUID == nil {
		cr.record(raw, pos)
		return
	}
	var e ocsfEvent
	if err := sonic.Unmarshal(raw, &e); err != nil {
		cr.st.Bad(pos, "invalid OCSF API Activity event: "+sources.ShortJSONError(err))
		return
	}
	cr.ocsfEvent(&e, pos)
}

func (cr *ctReader) ocsfEvent(e *ocsfEvent, pos int) {
	if reason := e.skipReason(); reason != "" {
		cr.st.Skip(reason)
		return
	}
	if cr.st.Shapes == nil {
		cr.st.Shapes = map[string]int{}
	}
	cr.st.Shapes[ShapeOCSF]++
	cr.record(e.record(), pos)
}

// readOCSFJSON reads OCSF events one per line, or as one JSON array (its elements numbered
// from 1 as their "lines").
func readOCSFJSON(name string, r *bufio.Reader, maxLine int, st *sources.FileStats, li *sources.LocalInterner) []event.Event {
	cr := newCTReader(name, st, li)
	first, err := firstByte(r)
	if err != nil && err != io.EOF {
		st.ReadError = fmt.Sprintf("read %s: %v", name, err)
		return nil
	}
	if first == '[' {
		data, err := io.ReadAll(r)
		st.Bytes += int64(len(data))
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: %v", name, err)
		}
		var arr []json.RawMessage
		if err := sonic.Unmarshal(data, &arr); err != nil {
			st.Lines++
			st.Bad(1, "invalid JSON array of OCSF events: "+sources.ShortJSONError(err))
			return cr.out
		}
		for i, raw := range arr {
			st.Lines++
			cr.ocsfValue(raw, i+1)
		}
		return cr.out
	}
	n, err := sources.ForEachLine(r, maxLine, func(line []byte, no int, tooLong bool) {
		st.Lines++
		switch {
		case tooLong:
			st.Skip("too-long")
			if len(st.Problems) < sources.MaxProblemsListed {
				st.Problems = append(st.Problems, sources.Problem{Line: no, Reason: fmt.Sprintf("line longer than %d bytes, skipped", maxLine)})
			}
		case len(bytes.TrimSpace(line)) == 0:
			st.Skip("blank")
		default:
			cr.ocsfValue(line, no)
		}
	})
	st.Bytes += n
	if err != nil {
		st.ReadError = fmt.Sprintf("read %s: %v", name, err)
	}
	return cr.out
}
