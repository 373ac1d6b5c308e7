package invstub

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SecretsManager is a loopback stand-in for AWS Secrets Manager's ListSecrets, written from
// the API reference (docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
// and API_SecretListEntry.html) and the AWS JSON 1.1 protocol: POST / with X-Amz-Target
// secretsmanager.ListSecrets, a JSON body {"MaxResults": 1..100, "NextToken"}, an answer
// {"SecretList": [...], "NextToken"} whose timestamps are epoch seconds, errors as
// {"__type", "message"} with HTTP 400. The region is the SigV4 credential scope's. Any other
// operation (GetSecretValue, BatchGetSecretValue, ...) is refused and counted in Forbidden.
type SecretsManager struct {
	// Secrets per region.
	Secrets map[string][]Secret
	// PageSize is the most a page holds (AWS may return fewer than MaxResults); 0: MaxResults.
	PageSize int

	mu        sync.Mutex
	Pages     int
	Forbidden int
	Regions   []string // the region of each call
}

// Secret is one SecretListEntry.
type Secret struct {
	Name                                                          string
	Created, LastChanged, LastAccessed, LastRotated, NextRotation time.Time
	RotationEnabled                                               bool
	Tags                                                          map[string]string
	Account                                                       string
}

func (s *SecretsManager) fail(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

// ServeHTTP answers one ListSecrets call.
func (s *SecretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.ListSecrets" {
		s.mu.Lock()
		s.Forbidden++
		s.mu.Unlock()
		s.fail(w, "UnknownOperationException", "the stand-in answers ListSecrets only, not "+r.Header.Get("X-Amz-Target"))
		return
	}
	region := credentialRegion(r.Header.Get("Authorization"))
	if region == "" {
		s.fail(w, "MissingAuthenticationTokenException", "missing SigV4 credential scope")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var q struct {
		MaxResults *int
		NextToken  *string
	}
	if err := json.Unmarshal(body, &q); err != nil {
		s.fail(w, "SerializationException", err.Error())
		return
	}
	size := 100
	if q.MaxResults != nil {
		if *q.MaxResults < 1 || *q.MaxResults > 100 {
			s.fail(w, "InvalidParameterException", "MaxResults must be 1..100")
			return
		}
		size = *q.MaxResults
	}
	if s.PageSize > 0 {
		size = min(size, s.PageSize)
	}
	offset := 0
	if q.NextToken != nil {
		raw, err := base64.StdEncoding.DecodeString(*q.NextToken)
		reg, off, ok := strings.Cut(string(raw), "#")
		if err != nil || !ok || reg != region {
			s.fail(w, "InvalidNextTokenException", "You can't use NextToken from a different query")
			return
		}
		offset, _ = strconv.Atoi(off)
	}
	all := s.Secrets[region]
	end := min(offset+size, len(all))
	type tag struct{ Key, Value string }
	type entry struct {
		ARN              string
		Name             string
		CreatedDate      *float64 `json:",omitempty"`
		LastChangedDate  *float64 `json:",omitempty"`
		LastAccessedDate *float64 `json:",omitempty"`
		LastRotatedDate  *float64 `json:",omitempty"`
		NextRotationDate *float64 `json:",omitempty"`
		RotationEnabled  bool
		Tags             []tag
		// SecretVersionsToStages: present on the real answer; ids only, no value.
		SecretVersionsToStages map[string][]string
	}
	epoch := func(t time.Time) *float64 {
		if t.IsZero() {
			return nil
		}
		f := float64(t.UnixMilli()) / 1000
		return &f
	}
	out := struct {
		SecretList []entry
		NextToken  string `json:",omitempty"`
	}{SecretList: []entry{}}
	for _, sec := range all[min(offset, len(all)):end] {
		acct := sec.Account
		if acct == "" {
			acct = "111122223333"
		}
		e := entry{ARN: "arn:aws:secretsmanager:" + region + ":" + acct + ":secret:" + sec.Name + "-AbC123", Name: sec.Name,
			CreatedDate: epoch(sec.Created), LastChangedDate: epoch(sec.LastChanged), LastAccessedDate: epoch(sec.LastAccessed),
			LastRotatedDate: epoch(sec.LastRotated), NextRotationDate: epoch(sec.NextRotation), RotationEnabled: sec.RotationEnabled,
			Tags: []tag{}, SecretVersionsToStages: map[string][]string{"c03f29a9-ad85-4796-8fc3-0ad5f6fdf289": {"AWSCURRENT"}}}
		for k, v := range sec.Tags {
			e.Tags = append(e.Tags, tag{k, v})
		}
		out.SecretList = append(out.SecretList, e)
	}
	if end < len(all) {
		out.NextToken = base64.StdEncoding.EncodeToString([]byte(region + "#" + strconv.Itoa(end)))
	}
	s.mu.Lock()
	s.Pages++
	s.Regions = append(s.Regions, region)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// credentialRegion reads the region from "AWS4-HMAC-SHA256 Credential=AKID/20260911/eu-west-1/secretsmanager/aws4_request, ...".
func credentialRegion(auth string) string {
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}
