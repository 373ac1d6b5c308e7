package cloudtrail

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vaultsentry/vaultsentry/event"
	"github.com/vaultsentry/vaultsentry/sources"

	"github.com/parquet-go/parquet-go"
)

// Security Lake writes its OCSF events as Apache Parquet files (columns nested as OCSF's
// objects, resources as a LIST, unmapped as a MAP of strings, time as a millisecond
// timestamp). A Parquet file is known by its magic ("PAR1" at both ends) and read by column
// name with parquet-go: the columns below are read, every other column is left unread, and a
// column a file lacks reads as empty. Parquet has no lines: a row's "line" in the statistics
// and in a finding's position is its row number in the file, from 1, in row-group order.
//
// Parquet's footer is at the end, so the file is read whole into memory first (Security Lake
// writes files of at most a few hundred MB; the reading limits of every input apply).

// parquetMagic starts and ends a Parquet file.
const parquetMagic = "PAR1"

// ocsfRow is an OCSF API Activity row as Security Lake's Parquet schema nests it.
type ocsfRow struct {
	ClassUID *int32 `parquet:"class_uid,optional"`
	Time     *int64 `parquet:"time,optional,timestamp(millisecond)"`
	Metadata *struct {
		UID       string `parquet:"uid,optional"`
		EventCode string `parquet:"event_code,optional"`
		Product   *struct {
			Name    string `parquet:"name,optional"`
			Version string `parquet:"version,optional"`
		} `parquet:"product,optional"`
	} `parquet:"metadata,optional"`
	API *struct {
		Operation string `parquet:"operation,optional"`
		Service   *struct {
			Name string `parquet:"name,optional"`
		} `parquet:"service,optional"`
		Request *struct {
			Data string `parquet:"data,optional"`
			UID  string `parquet:"uid,optional"`
		} `parquet:"request,optional"`
		Response *struct {
			Error   string `parquet:"error,optional"`
			Message string `parquet:"message,optional"`
			Data    string `parquet:"data,optional"`
		} `parquet:"response,optional"`
	} `parquet:"api,optional"`
	Actor *struct {
		User *struct {
			Type          string `parquet:"type,optional"`
			UID           string `parquet:"uid,optional"`
			UIDAlt        string `parquet:"uid_alt,optional"`
			Name          string `parquet:"name,optional"`
			CredentialUID string `parquet:"credential_uid,optional"`
			Account       *struct {
				UID string `parquet:"uid,optional"`
			} `parquet:"account,optional"`
		} `parquet:"user,optional"`
		Session *struct {
			Issuer string `parquet:"issuer,optional"`
		} `parquet:"session,optional"`
		InvokedBy string `parquet:"invoked_by,optional"`
		IDP       *struct {
			Name string `parquet:"name,optional"`
			UID  string `parquet:"uid,optional"`
		} `parquet:"idp,optional"`
	} `parquet:"actor,optional"`
	SrcEndpoint *struct {
		IP     string `parquet:"ip,optional"`
		Domain string `parquet:"domain,optional"`
	} `parquet:"src_endpoint,optional"`
	HTTPRequest *struct {
		UserAgent string `parquet:"user_agent,optional"`
	} `parquet:"http_request,optional"`
	Resources []ocsfRowResource `parquet:"resources,optional,list"`
	Cloud     *struct {
		Region  string `parquet:"region,optional"`
		Account *struct {
			UID string `parquet:"uid,optional"`
		} `parquet:"account,optional"`
	} `parquet:"cloud,optional"`
	Unmapped map[string]string `parquet:"unmapped,optional"`
}

type ocsfRowResource struct {
	UID   string `parquet:"uid,optional"`
	Type  string `parquet:"type,optional"`
	Owner *struct {
		Account *struct {
			UID string `parquet:"uid,optional"`
		} `parquet:"account,optional"`
	} `parquet:"owner,optional"`
}

// event is the row as the OCSF event the JSON reader decodes.
func (r *ocsfRow) event() *ocsfEvent {
	e := &ocsfEvent{}
	if r.ClassUID != nil {
		e.ClassUID = int(*r.ClassUID)
	}
	if r.Time != nil {
		e.Time = *r.Time
	}
	text := func(s string) json.RawMessage {
		if s == "" {
			return nil
		}
		b, _ := json.Marshal(s)
		return b
	}
	if m := r.Metadata; m != nil {
		e.Metadata.UID, e.Metadata.EventCode = m.UID, m.EventCode
		if p := m.Product; p != nil {
			e.Metadata.Product.Name, e.Metadata.Product.Version = p.Name, p.Version
		}
	}
	if a := r.API; a != nil {
		e.API.Operation = a.Operation
		if a.Service != nil {
			e.API.Service.Name = a.Service.Name
		}
		if q := a.Request; q != nil {
			e.API.Request.Data, e.API.Request.UID = text(q.Data), q.UID
		}
		if p := a.Response; p != nil {
			e.API.Response.Error, e.API.Response.Message, e.API.Response.Data = p.Error, p.Message, text(p.Data)
		}
	}
	if a := r.Actor; a != nil {
		if u := a.User; u != nil {
			eu := &e.Actor.User
			eu.Type, eu.UID, eu.UIDAlt, eu.Name, eu.CredentialUID = u.Type, u.UID, u.UIDAlt, u.Name, u.CredentialUID
			if u.Account != nil {
				eu.Account.UID = u.Account.UID
			}
		}
		if a.Session != nil {
			e.Actor.Session.Issuer = a.Session.Issuer
		}
		e.Actor.InvokedBy = a.InvokedBy
		if a.IDP != nil {
			e.Actor.IDP.Name, e.Actor.IDP.UID = a.IDP.Name, a.IDP.UID
		}
	}
	if s := r.SrcEndpoint; s != nil {
		e.SrcEndpoint.IP, e.SrcEndpoint.Domain = s.IP, s.Domain
	}
	if h := r.HTTPRequest; h != nil {
		e.HTTPRequest.UserAgent = h.UserAgent
	}
	for _, res := range r.Resources {
		er := struct {
			UID   string `json:"uid"`
			Type  string `json:"type"`
			Owner struct {
				Account struct {
					UID string `json:"uid"`
				} `json:"account"`
			} `json:"owner"`
		}{UID: res.UID, Type: res.Type}
		if res.Owner != nil && res.Owner.Account != nil {
			er.Owner.Account.UID = res.Owner.Account.UID
		}
		e.Resources = append(e.Resources, er)
	}
	if c := r.Cloud; c != nil {
		e.Cloud.Region = c.Region
		if c.Account != nil {
			e.Cloud.Account.UID = c.Account.UID
		}
	}
	if len(r.Unmapped) > 0 {
		e.Unmapped = make(map[string]json.RawMessage, len(r.Unmapped))
		for k, v := range r.Unmapped {
			e.Unmapped[k] = text(v)
		}
	}
	return e
}

// isParquet reports whether b starts a Parquet file.
func isParquet(b []byte) bool { return bytes.HasPrefix(b, []byte(parquetMagic)) }

// securityLakeParquet reports whether a Parquet file's footer shows OCSF events: a class_uid
// column, and not written by vaultsentry's own export (its footer's vaultsentry.version key:
// sources/lakefile reads those). Only the footer is read, through h.At; without it (standard
// input, a compressed or remote input) the file is not claimed, and the export's reader,
// which claims any Parquet file, says what it holds.
func securityLakeParquet(h *sources.Head) (ok bool) {
	if h.At == nil || h.Size < 12 {
		return false
	}
	defer func() {
		if recover() != nil { // a damaged footer is not ours to claim
			ok = false
		}
	}()
	pf, err := parquet.OpenFile(h.At, h.Size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return false
	}
	if _, mine := pf.Lookup("vaultsentry.version"); mine {
		return false
	}
	_, ok = pf.Schema().Lookup("class_uid")
	return ok
}

// parquetBatch is how many rows are decoded at a time.
const parquetBatch = 512

// readOCSFParquet reads a Security Lake Parquet file of OCSF events. A file that is not
// Parquet after all, or has no class_uid column, is a read error saying so; rows of another
// class are skipped by class, and a file with none of class 6003 says which classes it holds.
func readOCSFParquet(name string, r *bufio.Reader, st *sources.FileStats, li *sources.LocalInterner) (evs []event.Event) {
	cr := newCTReader(name, st, li)
	data, err := io.ReadAll(r)
	st.Bytes += int64(len(data))
	if err != nil {
		st.ReadError = fmt.Sprintf("read %s: %v", name, err)
		return nil
	}
	defer func() {
		// parquet-go panics on some damaged files: this file's rows so far are kept.
		if v := recover(); v != nil {
			st.ReadError = fmt.Sprintf("read %s: damaged Parquet file after row %d: %v", name, st.Lines, v)
			evs = cr.out
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		st.ReadError = fmt.Sprintf("read %s: not a readable Parquet file: %v", name, err)
		return nil
	}
	if _, ok := f.Schema().Lookup("class_uid"); !ok {
		st.ReadError = fmt.Sprintf("read %s: a Parquet file without OCSF's class_uid column: not a Security Lake OCSF file (%d rows not read)", name, f.NumRows())
		return nil
	}
	rd := parquet.NewGenericReader[ocsfRow](f)
	defer rd.Close()
	rows := make([]ocsfRow, parquetBatch)
	classes := map[int]int{}
	for {
		clear(rows)
		n, err := rd.Read(rows)
		for i := range n {
			st.Lines++
			e := rows[i].event()
			classes[e.ClassUID]++
			cr.ocsfEvent(e, st.Lines)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			st.ReadError = fmt.Sprintf("read %s: after row %d: %v", name, st.Lines, err)
			break
		}
		if n == 0 {
			break
		}
	}
	if st.Lines > 0 && classes[OCSFClassAPIActivity] == 0 {
		var cs []string
		for _, c := range slices.Sorted(maps.Keys(classes)) {
			cs = append(cs, strconv.Itoa(c))
		}
		st.Note = strings.TrimPrefix(st.Note+"; ", "; ") + "Parquet file of OCSF class " + strings.Join(cs, ", ") +
			", not API Activity (6003): no CloudTrail record read"
	}
	return cr.out
}
