package awsinv

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vaultsentry/vaultsentry/internal/invstub"
	"github.com/vaultsentry/vaultsentry/inventory"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ListSecrets in two regions through AWS_ENDPOINT_URL_SECRETS_MANAGER, pages of two: every
// secret once, with the region, its dates and tags; nothing but ListSecrets asked.
func TestListPaginatedRegions(t *testing.T) {
	sm := &invstub.SecretsManager{PageSize: 2, Secrets: map[string][]invstub.Secret{
		"eu-west-1": {
			{Name: "prod/db", Created: day("2025-01-01T00:00:00Z"), LastChanged: day("2026-03-01T10:00:00Z"), LastRotated: day("2026-03-01T10:00:00Z"),
				LastAccessed: day("2026-09-01T00:00:00Z"), RotationEnabled: true, NextRotation: day("2026-06-01T00:00:00Z"), Tags: map[string]string{"env": "prod"}},
			{Name: "prod/api", Created: day("2025-02-01T00:00:00Z"), LastChanged: day("2025-02-01T00:00:00Z")},
			{Name: "staging/db", Created: day("2025-03-01T00:00:00Z")},
		},
		"us-east-1": {{Name: "billing/key", Created: day("2024-01-01T00:00:00Z")}},
	}}
	srv := httptest.NewServer(sm)
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var recs []inventory.Record
	st, err := List(context.Background(), []string{"eu-west-1", "us-east-1"}, func(r *inventory.Record) error { recs = append(recs, *r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Secrets != 4 || st.Pages != 3 || st.Regions != 2 || sm.Forbidden != 0 {
		t.Fatalf("stats %+v, stand-in pages %d forbidden %d", st, sm.Pages, sm.Forbidden)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Region+":"+r.Key())
	}
	if got := strings.Join(names, " "); got != "eu-west-1:prod/db eu-west-1:prod/api eu-west-1:staging/db us-east-1:billing/key" {
		t.Errorf("records %s", got)
	}
	db := recs[0]
	if db.Store != "aws" || !strings.HasPrefix(db.ARN, "arn:aws:secretsmanager:eu-west-1:") || db.Tags["env"] != "prod" ||
		db.RotationEnabled == nil || !*db.RotationEnabled || db.LastAccessedTime == nil || db.NextRotationTime == nil {
		t.Errorf("prod/db %+v", db)
	}
	if w := db.LastWrite(); !w.Equal(day("2026-03-01T10:00:00Z")) {
		t.Errorf("LastWrite %v", w)
	}
	if recs[2].UpdatedTime != nil || recs[2].CreatedTime == nil {
		t.Errorf("staging/db: %+v (no LastChangedDate: null)", recs[2])
	}
	// No region anywhere: a clear error.
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := List(context.Background(), nil, func(*inventory.Record) error { return nil }); err == nil || !strings.Contains(err.Error(), "--region") {
		t.Errorf("no region: %v", err)
	}
}
