// Package duckdb executes the stand-in Athena's statements in embedded DuckDB
// (github.com/duckdb/duckdb-go/v2, cgo), so that the CloudTrail query vaultsentry sends is run
// by a real SQL engine over the CloudTrail table's schema, not only checked. Its test is behind
// the build tag duckdb (cgo), as the export's DuckDB test is; scripts/test.sh runs both:
//
//	go test -tags duckdb ./internal/athenastub/duckdb/
package duckdb
