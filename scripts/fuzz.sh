#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZTIME each, default 20s). A failing input is
# saved by Go under <package>/testdata/fuzz/<Target>/ and replayed by every plain `go test`:
# commit it with the fix. Usage: scripts/fuzz.sh [TARGET_REGEXP]   (FUZZTIME=1m scripts/fuzz.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-20s}"
filter="${1:-.}"
status=0
# Every package with fuzz targets, and its targets, found from the sources.
for pkg in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$pkg"/*_test.go | sed 's/^func //' | sort -u); do
		[[ "$target" =~ $filter ]] || continue
		echo "== fuzz $pkg $target ($FUZZTIME)"
		# -parallel bounds the workers on small CI machines; the seeds run first.
		if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -parallel "${FUZZ_PARALLEL:-2}"; then
			echo "FAIL: $target found a failing input; it is saved under $pkg/testdata/fuzz/$target/" >&2
			status=1
		fi
	done
done
exit $status
