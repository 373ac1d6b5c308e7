// Package awsinv lists AWS Secrets Manager secrets (ListSecrets, paginated, in each named
// region) into inventory records: the names, dates, rotation settings and tags ListSecrets
// returns, never a value (no GetSecretValue, no BatchGetSecretValue). With sources/lookupevents
// it is the only package that imports the AWS SDK; credentials and endpoints come from the SDK's
// usual chain (config.LoadDefaultConfig: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_SECRETS_MANAGER, ...).
package awsinv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/vaultsentry/vaultsentry/inventory"
)

// Stats count what a listing did.
type Stats struct {
	Regions int
	Pages   int
	Secrets int
}

// List asks ListSecrets in each region (none: the configured region) and hands each secret to
// emit. A region that fails ends the listing with its error: a partial inventory would make
// the review call secrets never-read that it only did not list.
func List(ctx context.Context, regions []string, emit func(*inventory.Record) error) (Stats, error) {
	var st Stats
	if len(regions) == 0 {
		regions = []string{""}
	}
	for _, region := range regions {
		var opts []func(*config.LoadOptions) error
		if region != "" {
			opts = append(opts, config.WithRegion(region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return st, fmt.Errorf("AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return st, errors.New("no AWS region: pass --region or set AWS_REGION")
		}
		st.Regions++
		client := secretsmanager.NewFromConfig(cfg)
		p := secretsmanager.NewListSecretsPaginator(client, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return st, fmt.Errorf("ListSecrets in %s: %w", cfg.Region, err)
			}
			st.Pages++
			for i := range page.SecretList {
				r := record(&page.SecretList[i], cfg.Region)
				st.Secrets++
				if err := emit(r); err != nil {
					return st, err
				}
			}
		}
	}
	return st, nil
}

// record is one SecretListEntry as an inventory record.
func record(s *types.SecretListEntry, region string) *inventory.Record {
	r := &inventory.Record{Store: inventory.StoreAWS, Path: aws.ToString(s.Name), ARN: aws.ToString(s.ARN), Region: region,
		CreatedTime: utc(s.CreatedDate), UpdatedTime: utc(s.LastChangedDate), LastAccessedTime: utc(s.LastAccessedDate),
		LastRotatedTime: utc(s.LastRotatedDate), NextRotationTime: utc(s.NextRotationDate), RotationEnabled: s.RotationEnabled}
	if arnRegion := inventory.RegionOfARN(r.ARN); arnRegion != "" {
		r.Region = arnRegion
	}
	for _, t := range s.Tags {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return r
}

func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
