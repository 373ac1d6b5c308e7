#!/usr/bin/env bash
# Known vulnerabilities in the dependencies and the standard library, for the code paths we
# call; fails on a finding.
#
# The database: GOVULNDB (a URL such as file:///path) when set; else vuln.go.dev when it answers;
# else a local copy built from the golang.org/x/vulndb module, pinned below and fetched through the
# Go module proxy (its data/osv folder holds the same OSV entries vuln.go.dev serves, as of the
# pinned commit's date). The script says which database it used, and how old the copy is.
set -uo pipefail
cd "$(dirname "$0")/.."

GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0
VULNDB_MODULE=golang.org/x/vulndb
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018 # refresh with: go list -m golang.org/x/vulndb@latest

db="${GOVULNDB:-}"
if [[ -z "$db" ]]; then
	if curl -fsS --max-time 10 -o /dev/null https://vuln.go.dev/index/db.json 2>/dev/null; then
		db="https://vuln.go.dev"
	else
		cache="${XDG_CACHE_HOME:-$HOME/.cache}/vaultsentry/vulndb-$VULNDB_VERSION"
		if [[ ! -f "$cache/index/db.json" ]]; then
			echo "vuln.go.dev is unreachable: building the database from $VULNDB_MODULE@$VULNDB_VERSION (Go module proxy)"
			dir=$(GOFLAGS=-mod=mod go mod download -json "$VULNDB_MODULE@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
			if [[ -z "$dir" ]] || ! go run "$VULNDB_MODULE/cmd/indexdb@$VULNDB_VERSION" -vulns "$dir/data/osv" -out "$cache.tmp" >/dev/null; then
				echo "WARNING: govulncheck did NOT run: neither vuln.go.dev nor the Go module proxy could provide the database." >&2
				exit 0
			fi
			rm -rf "$cache" && mv "$cache.tmp" "$cache"
		fi
		db="file://$cache"
		stamp=${VULNDB_VERSION#v0.0.0-}
		echo "using the vulnerability database $VULNDB_MODULE@$VULNDB_VERSION (a snapshot of ${stamp:0:4}-${stamp:4:2}-${stamp:6:2})"
	fi
fi
echo "govulncheck against $db"
go run "$GOVULNCHECK" -db "$db" ./...
