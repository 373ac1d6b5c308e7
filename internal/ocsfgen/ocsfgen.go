// Package ocsfgen turns CloudTrail records into the OCSF API Activity events (class 6003)
// Amazon Security Lake makes of them, as JSON and as Parquet rows, for tests and benchmarks.
// The mapping is OCSF 1.1.0's for CloudTrail API Activity (the OCSF examples repository's
// "Event Dossier: Amazon CloudTrail Generic API Activity"); request and response data and
// unmapped values are JSON text, as Security Lake stores them.
package ocsfgen

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Event is the OCSF event of one CloudTrail record.
func Event(rec map[string]any) (map[string]any, error) {
	s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	obj := func(m map[string]any, k string) map[string]any { v, _ := m[k].(map[string]any); return v }
	text := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	tm, err := time.Parse(time.RFC3339, s(rec, "eventTime"))
	if err != nil {
		return nil, fmt.Errorf("eventTime: %w", err)
	}
	id := obj(rec, "userIdentity")
	user := map[string]any{"type": s(id, "type"), "uid": s(id, "arn"), "uid_alt": s(id, "principalId"), "name": s(id, "userName"),
		"credential_uid": s(id, "accessKeyId"), "account": map[string]any{"uid": s(id, "accountId")}}
	actor := map[string]any{"user": user, "invoked_by": s(id, "invokedBy"), "idp": map[string]any{"name": s(id, "identityProvider")}}
	if obo := obj(id, "onBehalfOf"); obo != nil {
		user["uid_alt"] = s(obo, "userId")
		actor["idp"] = map[string]any{"uid": s(obo, "identityStoreArn")}
	}
	if iss := obj(obj(id, "sessionContext"), "sessionIssuer"); iss != nil {
		actor["session"] = map[string]any{"issuer": s(iss, "arn")}
	}
	src := map[string]any{}
	if ip := s(rec, "sourceIPAddress"); ip != "" {
		if _, err := netip.ParseAddr(ip); err == nil {
			src["ip"] = ip
		} else {
			src["domain"] = ip // an AWS service's name
		}
	}
	res := []any{}
	if rs, ok := rec["resources"].([]any); ok {
		for _, r := range rs {
			rm, _ := r.(map[string]any)
			res = append(res, map[string]any{"uid": s(rm, "ARN"), "type": s(rm, "type"),
				"owner": map[string]any{"account": map[string]any{"uid": s(rm, "accountId")}}})
		}
	}
	unmapped := map[string]any{"recipientAccountId": s(rec, "recipientAccountId")}
	for _, k := range []string{"readOnly", "managementEvent", "sessionCredentialFromConsole", "eventCategory"} {
		if v, ok := rec[k]; ok {
			unmapped[k] = fmt.Sprint(v)
		}
	}
	if v := rec["additionalEventData"]; v != nil {
		unmapped["additionalEventData"] = text(v)
	}
	return map[string]any{
		"class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "severity_id": 1,
		"time": tm.UnixMilli(), "time_dt": s(rec, "eventTime"),
		"metadata": map[string]any{"uid": s(rec, "eventID"), "event_code": s(rec, "eventType"), "version": "1.1.0",
			"product": map[string]any{"name": "CloudTrail", "vendor_name": "AWS", "version": s(rec, "eventVersion")}},
		"api": map[string]any{"operation": s(rec, "eventName"), "service": map[string]any{"name": s(rec, "eventSource")},
			"request":  map[string]any{"uid": s(rec, "requestID"), "data": text(rec["requestParameters"])},
			"response": map[string]any{"error": s(rec, "errorCode"), "message": s(rec, "errorMessage"), "data": text(rec["responseElements"])}},
		"actor": actor, "src_endpoint": src, "http_request": map[string]any{"user_agent": s(rec, "userAgent")},
		"resources": res, "cloud": map[string]any{"provider": "AWS", "region": s(rec, "awsRegion")}, "unmapped": unmapped,
	}, nil
}

type account struct {
	UID string `json:"uid" parquet:"uid,optional"`
}

// Row is an OCSF API Activity event as Security Lake's Parquet schema nests it (the columns
// vaultsentry reads, and class_name, category_uid and severity_id besides).
type Row struct {
	ClassUID    int32  `json:"class_uid" parquet:"class_uid,optional"`
	ClassName   string `json:"class_name" parquet:"class_name,optional"`
	CategoryUID int32  `json:"category_uid" parquet:"category_uid,optional"`
	SeverityID  int32  `json:"severity_id" parquet:"severity_id,optional"`
	Time        int64  `json:"time" parquet:"time,optional,timestamp(millisecond)"`
	Metadata    struct {
		UID       string `json:"uid" parquet:"uid,optional"`
		EventCode string `json:"event_code" parquet:"event_code,optional"`
		Version   string `json:"version" parquet:"version,optional"`
		Product   struct {
			Name       string `json:"name" parquet:"name,optional"`
			VendorName string `json:"vendor_name" parquet:"vendor_name,optional"`
			Version    string `json:"version" parquet:"version,optional"`
		} `json:"product" parquet:"product,optional"`
	} `json:"metadata" parquet:"metadata,optional"`
	API struct {
		Operation string `json:"operation" parquet:"operation,optional"`
		Service   struct {
			Name string `json:"name" parquet:"name,optional"`
		} `json:"service" parquet:"service,optional"`
		Request struct {
			Data string `json:"data" parquet:"data,optional"`
			UID  string `json:"uid" parquet:"uid,optional"`
		} `json:"request" parquet:"request,optional"`
		Response struct {
			Error   string `json:"error" parquet:"error,optional"`
			Message string `json:"message" parquet:"message,optional"`
			Data    string `json:"data" parquet:"data,optional"`
		} `json:"response" parquet:"response,optional"`
	} `json:"api" parquet:"api,optional"`
	Actor struct {
		User struct {
			Type          string  `json:"type" parquet:"type,optional"`
			UID           string  `json:"uid" parquet:"uid,optional"`
			UIDAlt        string  `json:"uid_alt" parquet:"uid_alt,optional"`
			Name          string  `json:"name" parquet:"name,optional"`
			CredentialUID string  `json:"credential_uid" parquet:"credential_uid,optional"`
			Account       account `json:"account" parquet:"account,optional"`
		} `json:"user" parquet:"user,optional"`
		Session struct {
			Issuer string `json:"issuer" parquet:"issuer,optional"`
		} `json:"session" parquet:"session,optional"`
		InvokedBy string `json:"invoked_by" parquet:"invoked_by,optional"`
		IDP       struct {
			Name string `json:"name" parquet:"name,optional"`
			UID  string `json:"uid" parquet:"uid,optional"`
		} `json:"idp" parquet:"idp,optional"`
	} `json:"actor" parquet:"actor,optional"`
	SrcEndpoint struct {
		IP     string `json:"ip" parquet:"ip,optional"`
		Domain string `json:"domain" parquet:"domain,optional"`
	} `json:"src_endpoint" parquet:"src_endpoint,optional"`
	HTTPRequest struct {
		UserAgent string `json:"user_agent" parquet:"user_agent,optional"`
	} `json:"http_request" parquet:"http_request,optional"`
	Resources []struct {
		UID   string `json:"uid" parquet:"uid,optional"`
		Type  string `json:"type" parquet:"type,optional"`
		Owner struct {
			Account account `json:"account" parquet:"account,optional"`
		} `json:"owner" parquet:"owner,optional"`
	} `json:"resources" parquet:"resources,optional,list"`
	Cloud struct {
		Provider string  `json:"provider" parquet:"provider,optional"`
		Region   string  `json:"region" parquet:"region,optional"`
		Account  account `json:"account" parquet:"account,optional"`
	} `json:"cloud" parquet:"cloud,optional"`
	Unmapped map[string]string `json:"unmapped" parquet:"unmapped,optional"`
}

// RowOf is the Parquet row of an OCSF event (as Event returns it, or decoded from JSON with
// text values).
func RowOf(ev map[string]any) (Row, error) {
	var r Row
	b, err := json.Marshal(ev)
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	return r, err
}

// WriteParquet writes rows as one Parquet file (Snappy, as Security Lake), rowGroup rows to
// a row group.
func WriteParquet(w io.Writer, rows []Row, rowGroup int) error {
	pw := parquet.NewGenericWriter[Row](w, parquet.Compression(&parquet.Snappy))
	for len(rows) > 0 {
		n := min(len(rows), max(rowGroup, 1))
		if _, err := pw.Write(rows[:n]); err != nil {
			return err
		}
		if err := pw.Flush(); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return pw.Close()
}
