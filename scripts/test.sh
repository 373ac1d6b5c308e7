#!/usr/bin/env bash
# The project's test command (README "Set-up"): installs what the tests need, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
go version
go mod download
go vet ./...
go test -race -count=1 ./...
# Benchmarks as smoke runs only (one iteration each): they must compile and run.
go test -run '^$' -bench . -benchtime=1x ./... >/dev/null
# Fuzz every parser and the sanitiser briefly (scripts/fuzz.sh; FUZZTIME raises it).
FUZZTIME="${FUZZTIME:-10s}" bash scripts/fuzz.sh
# Known vulnerabilities in dependencies (says so loudly, without failing, when offline).
bash scripts/govulncheck.sh
