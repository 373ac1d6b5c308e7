#!/usr/bin/env bash
# The project's test command (README "Set-up"): installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
# go.mod's toolchain line names a Go release with the standard library's security fixes
# (govulncheck below fails on the older one); Debian/official images set GOTOOLCHAIN=local in
# go.env, so ask for it explicitly. The toolchain comes from the Go module proxy.
export GOTOOLCHAIN=auto
go version
go mod download

# The HTML report is tested in a real headless Chromium (report/html_browser_test.go). Debian's
# chromium is installed when missing and we are root; elsewhere that test skips with a message.
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing chromium for the HTML report test"
		if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
			:
		else
			echo "warning: could not install chromium; the browser test will skip" >&2
		fi
	else
		echo "note: chromium is not installed and we are not root: the HTML browser test will skip" >&2
	fi
fi
if command -v chromium >/dev/null 2>&1; then
	export VAULTSENTRY_REQUIRE_CHROMIUM=1 # installed: the browser test must run, not skip
fi
# A signed review is checked with OpenSSH's own ssh-keygen -Y verify (signing/signing_test.go,
# testdata/script/review_signoff.txtar): openssh-client from Debian, as for chromium.
if ! command -v ssh-keygen >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing openssh-client for the signed review test"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-client >/dev/null ||
			echo "warning: could not install openssh-client; the ssh-keygen tests will fail under CI" >&2
	else
		echo "note: ssh-keygen is not installed and we are not root: the ssh-keygen tests will skip" >&2
	fi
fi
if command -v ssh-keygen >/dev/null 2>&1; then
	export VAULTSENTRY_REQUIRE_SSH_KEYGEN=1 # installed: the ssh-keygen tests must run, not skip
fi

# goreleaser check (the release configuration), with goreleaser from the Go module proxy. v2.15.1
# is pinned: newer releases need a newer Go. When it cannot be had, release_test.go still checks
# the structure of .goreleaser.yaml.
GORELEASER="$(go env GOPATH)/bin/goreleaser"
if [ ! -x "$GORELEASER" ]; then
	echo "installing goreleaser v2.15.1 from the Go module proxy (first run only)"
	go install github.com/goreleaser/goreleaser/v2@v2.15.1 || echo "warning: goreleaser not available; skipping goreleaser check" >&2
fi
if [ -x "$GORELEASER" ]; then
	"$GORELEASER" check
fi

go vet ./...
# staticcheck from the Go module proxy (pinned), as the house style asks before every push.
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
# golangci-lint (pinned, v2): the import rules of docs/ARCHITECTURE.md (depguard) and a few
# linters, as configured in .golangci.yml. Installed from the Go module proxy when missing.
GOLANGCI_LINT="$(go env GOPATH)/bin/golangci-lint"
if [ ! -x "$GOLANGCI_LINT" ]; then
	echo "installing golangci-lint v2.15.0 from the Go module proxy (first run only)"
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
fi
"$GOLANGCI_LINT" run ./...
go test -race -count=1 ./...
# The Parquet export read by DuckDB, embedded through duckdb-go (cgo, a prebuilt static library
# from the Go module proxy): behind the duckdb build tag so the rest needs no C toolchain.
if [ "$(go env CGO_ENABLED)" = 1 ] && command -v "$(go env CC)" >/dev/null 2>&1; then
	go test -tags duckdb -count=1 -run TestExportDuckDB .
	go test -tags duckdb -count=1 ./internal/athenastub/duckdb/ # the Athena query executed for real
else
	echo "warning: no C compiler for cgo: the DuckDB test of the export does not run" >&2
fi
# Benchmarks as smoke runs only (one iteration each): they must compile and run.
go test -run '^$' -bench . -benchtime=1x ./... >/dev/null
# Fuzz every parser and the sanitiser for a minute each (9 targets: about 10 minutes). A nightly
# run gives each three minutes or more: FUZZTIME=3m bash scripts/fuzz.sh (or FUZZTIME=30m for a
# weekend); a failing input is saved under the package's testdata/fuzz/ and replayed by go test.
FUZZTIME="${FUZZTIME:-60s}" bash scripts/fuzz.sh
# The deployment templates in deploy/: lints, and two simulated days on the practice scenario when present.
bash scripts/deploy-test.sh
# Known vulnerabilities in dependencies (says so loudly, without failing, when offline).
bash scripts/govulncheck.sh
