// Package duckdb executes the stand-in Athena's statements in embedded DuckDB
// (github.com/duckdb/duckdb-go/v2, cgo), so that the CloudTrail query vaultsentry sends is run
// by a real SQL engine over the CloudTrail table's schema, not only checked. It is a module of
// its own, so that the main module's build and `go test ./...` never need cgo or DuckDB's
// library; its test is behind the build tag duckdb:
//
//	cd internal/athenastub/duckdb && go test -tags duckdb .
package duckdb
