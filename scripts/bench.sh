#!/usr/bin/env bash
# Measures vaultsentry on realistic Vault audit logs against what a user would otherwise run
# (issue 7), in the same run on the same page-cached file:
#
#   cat          reading the file (the floor of any tool)
#   sonic        scripts/sonicdecode: a plain two-core sonic decode into a struct of the needed
#                fields, nothing else (the ceiling a parser is compared with)
#   vaultsentry  scan --format json -o /dev/null: read, parse, every detector, the JSON report
#   jq           a jq query counting reads per accessor
#   python       scripts/seed_reference.py: the seed's detectors in Python (quadratic windows)
#
# Each tool runs RUNS times (best wall time kept; peak RSS from /usr/bin/time -v). The table
# gives MB/s, the time as a multiple of cat's, and peak RSS / input size.
#
# usage: scripts/bench.sh [SIZE ...]          SIZE like 1G (default), 256M, 4G
#        scripts/bench.sh --gzip [SIZE]       the log cut in four .gz files: vaultsentry against
#                                             zcat to /dev/null
#        scripts/bench.sh --cloudtrail [SIZE] a CloudTrail S3 export tree (scripts/ctgen; SIZE of
#                                             decompressed log files, default 1G): vaultsentry
#                                             cloudtrail --from DIR against zcat of every .json.gz
#                                             to /dev/null, one zcat at a time and two in parallel
#        scripts/bench.sh --lookup [EVENTS]   LookupEvents through the loopback stub with its
#                                             throttling (scripts/lookupbench; default 20000
#                                             events over two regions): wall time against the
#                                             time the 2 requests/s rate limit implies
#        scripts/bench.sh --linear            1G and 4G: the 4G/1G time ratio (target <= 4.4) of
#                                             the realistic log, of one with half the requests
#                                             from one token ("hot"), of one with over a million
#                                             distinct paths ("wide", at 4G), and of one made of
#                                             short request entries of a single token ("one":
#                                             over 10 million events at 4G)
#        scripts/bench.sh --stream [SIZE BIG]  memory bounded by what the detectors remember, not
#                                             by the input (issue 18): a SIZE log on disk (default
#                                             16G) against cat and sonic; SIZE and BIG (default 64G)
#                                             streamed from the generator through standard input
#                                             (no disk), the BIG/SIZE time ratio (target <= 4.4);
#                                             and 4G logs of tiny entries: one token, 1.2 M paths,
#                                             a million tokens. Peak RSS of each (target <= 1 GiB)
# environment: BENCH_DIR (default /tmp/vaultsentry-bench; generated logs are deleted at the
#              end unless KEEP=1), RUNS (default 3), TOOLS (default "cat sonic vaultsentry jq
#              python"; for sizes above 1G jq and python are left out unless listed here)
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH_DIR=${BENCH_DIR:-/tmp/vaultsentry-bench}
RUNS=${RUNS:-3}
mkdir -p "$BENCH_DIR"
TIME=/usr/bin/time

need() { # need COMMAND DEBIAN-PACKAGE
	command -v "$1" >/dev/null 2>&1 && return
	echo "bench: installing $2 (apt-get)" >&2
	if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; else sudo apt-get update -qq && sudo apt-get install -y -qq "$2" >/dev/null; fi
}
need jq jq
[ -x "$TIME" ] || need time time
need python3 python3

echo "bench: building" >&2
go build -o "$BENCH_DIR/vaultsentry" .
go build -o "$BENCH_DIR/loggen" ./scripts/loggen
go build -o "$BENCH_DIR/sonicdecode" ./scripts/sonicdecode
go build -o "$BENCH_DIR/ctgen" ./scripts/ctgen
go build -o "$BENCH_DIR/lookupbench" ./scripts/lookupbench

bytes_of() { # 1G -> bytes
	local s=$1 n=${1%[KMG]}
	case $s in *K) echo $((n << 10)) ;; *M) echo $((n << 20)) ;; *G) echo $((n << 30)) ;; *) echo "$n" ;; esac
}

# generate FILE SIZE [loggen flags...]: makes the log once (it is kept between runs with KEEP=1)
GENERATED=()
generate() {
	local f=$1 size=$2
	shift 2
	GENERATED+=("$f")
	if [ ! -s "$f" ]; then
		echo "bench: generating $f" >&2
		"$BENCH_DIR/loggen" -size "$size" -o "$f" "$@"
	fi
}
cleanup() {
	if [ "${KEEP:-0}" != 1 ]; then
		for f in "${GENERATED[@]}"; do rm -rf "$f"; done
	fi
	rm -f "$BENCH_DIR"/out.* "$BENCH_DIR"/time.* "$BENCH_DIR"/ct-files
}
trap cleanup EXIT

# measure TOOL FILE: prints "seconds rss_kib" (best of RUNS; RSS of that run)
measure() {
	local tool=$1 f=$2 best="" rss="" i
	for ((i = 0; i < RUNS; i++)); do
		local t="$BENCH_DIR/time.$tool" start end
		start=$(date +%s%N)
		case $tool in
		cat) $TIME -v -o "$t" cat "$f" >/dev/null ;;
		sonic) $TIME -v -o "$t" "$BENCH_DIR/sonicdecode" "$f" >/dev/null ;;
		vaultsentry) $TIME -v -o "$t" "$BENCH_DIR/vaultsentry" scan -q --format json -o "$BENCH_DIR/out.json" "$f" || true ;;
		jq) $TIME -v -o "$t" jq -n 'reduce (inputs | select(.type == "request" and (.request.operation == "read" or .request.operation == "list")) | (.auth.accessor // "none")) as $a ({}; .[$a] += 1) | length' "$f" >/dev/null ;;
		python) $TIME -v -o "$t" python3 scripts/seed_reference.py "$f" >/dev/null 2>"$BENCH_DIR/out.python" ;;
		esac
		end=$(date +%s%N)
		local wall kib
		wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
		kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
		if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$wall rss=$kib; fi
	done
	echo "$best $rss"
}

# table FILE TOOLS...: measures each tool on FILE and prints the table; sets SECONDS_OF[tool]
declare -A SECONDS_OF RSS_OF
table() {
	local f=$1
	shift
	local size
	size=$(stat -c %s "$f")
	cat "$f" >/dev/null # page cache
	printf '\n%s (%s MiB, %s lines), %s, %s cores, best of %s runs, load average %s\n' "$(basename "$f")" $((size >> 20)) \
		"$(wc -l <"$f")" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" "$(nproc)" "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-12s %9s %9s %9s %10s %10s\n' tool seconds MB/s "time/cat" "RSS MiB" "RSS/input"
	local tool
	for tool in "$@"; do
		read -r s kib < <(measure "$tool" "$f")
		SECONDS_OF[$tool]=$s
		RSS_OF[$tool]=$kib
		awk -v t="$tool" -v s="$s" -v kib="$kib" -v size="$size" -v c="${SECONDS_OF[cat]:-}" 'BEGIN {
			ratio = (c != "" && c > 0) ? sprintf("%.1f", s / c) : "-"
			printf "%-12s %9.2f %9.0f %9s %10.0f %10.3f\n", t, s, size / 1e6 / s, ratio, kib / 1024, kib * 1024 / size }'
	done
	if [ -n "${SECONDS_OF[vaultsentry]:-}" ]; then
		awk -v v="${SECONDS_OF[vaultsentry]}" -v s="${SECONDS_OF[sonic]:-}" -v j="${SECONDS_OF[jq]:-}" -v p="${SECONDS_OF[python]:-}" \
			-v rss="${RSS_OF[vaultsentry]}" -v size="$size" 'BEGIN {
			if (s != "") printf "vaultsentry / sonic ceiling: %.0f%% of its throughput (target >= 90%%, issue 18)\n", 100 * s / v
			if (j != "") printf "vaultsentry vs jq: %.1fx (target >= 8x)\n", j / v
			if (p != "") printf "vaultsentry vs python seed: %.1fx (target >= 8x)\n", p / v
			printf "vaultsentry peak RSS / input: %.3f (target <= 0.3)\n", rss * 1024 / size }'
	fi
}

tools_for() { # the tools for a size: jq and python only up to 1G unless TOOLS says otherwise
	if [ -n "${TOOLS:-}" ]; then echo "$TOOLS"; return; fi
	if [ "$(bytes_of "$1")" -le $((1 << 30)) ]; then echo "cat sonic vaultsentry jq python"; else echo "cat sonic vaultsentry"; fi
}

if [ "${1:-}" = --gzip ]; then
	# Rotated logs are gzip: the same log cut in four .gz files, read by zcat and by vaultsentry
	# (which decompresses the files in parallel, each feeding the decode workers).
	size=${2:-1G}
	f="$BENCH_DIR/realistic-$size.log"
	generate "$f" "$size"
	rm -f "$f".part-*
	split -n l/4 -d "$f" "$f.part-"
	for p in "$f".part-??; do gzip -f -6 "$p" & done
	wait
	parts=("$f".part-??.gz)
	GENERATED+=("${parts[@]}")
	raw=$(stat -c %s "$f")
	printf '\n%s in %d gzip files (%s MiB compressed), best of %s runs, load average %s\n' "$(basename "$f")" "${#parts[@]}" \
		$(($(cat "${parts[@]}" | wc -c) >> 20)) "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-18s %9s %9s %10s\n' tool seconds "MB/s" "RSS MiB"
	for tool in zcat vaultsentry; do
		best="" rss=""
		for ((i = 0; i < RUNS; i++)); do
			start=$(date +%s%N)
			if [ $tool = zcat ]; then
				$TIME -v -o "$BENCH_DIR/time.gz" zcat "${parts[@]}" >/dev/null
			else
				$TIME -v -o "$BENCH_DIR/time.gz" "$BENCH_DIR/vaultsentry" scan -q --format json -o "$BENCH_DIR/out.json" "${parts[@]}" || true
			fi
			end=$(date +%s%N)
			wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
			kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time.gz")
			if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$wall rss=$kib; fi
		done
		SECONDS_OF[$tool]=$best
		awk -v t="$tool" -v s="$best" -v kib="$rss" -v size="$raw" 'BEGIN {printf "%-18s %9.2f %9.0f %10.0f\n", t, s, size / 1e6 / s, kib / 1024}'
	done
	awk -v z="${SECONDS_OF[zcat]}" -v v="${SECONDS_OF[vaultsentry]}" 'BEGIN {printf "vaultsentry reads the gzip files at %.0f%% of the rate of zcat to /dev/null\n", 100 * z / v}'
	exit 0
fi

if [ "${1:-}" = --cloudtrail ]; then
	# A CloudTrail S3 export tree (two accounts, three regions, a log file per region every five
	# minutes, digests): vaultsentry against zcat of the same files to /dev/null.
	size=${2:-1G}
	d="$BENCH_DIR/cloudtrail-$size"
	GENERATED+=("$d")
	if [ ! -d "$d/AWSLogs" ]; then
		echo "bench: generating $d" >&2
		rm -rf "$d"
		"$BENCH_DIR/ctgen" -size "$size" -o "$d"
	fi
	list="$BENCH_DIR/ct-files"
	find "$d" -name '*.json.gz' -print0 | sort -z >"$list"
	nfiles=$(tr -cd '\0' <"$list" | wc -c)
	stored=$(xargs -0 cat <"$list" | wc -c) # also puts the files in the page cache
	raw=$(xargs -0 zcat <"$list" | wc -c)
	printf '\n%s: %d .json.gz files (%d MiB stored, %d MiB decompressed), %s, %s cores, best of %s runs, load average %s\n' \
		"$(basename "$d")" "$nfiles" $((stored >> 20)) $((raw >> 20)) "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')" \
		"$(nproc)" "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-12s %9s %9s %10s\n' tool seconds "MB/s" "RSS MiB"
	for tool in zcat zcat-P2 vaultsentry; do
		best="" rss=""
		for ((i = 0; i < RUNS; i++)); do
			start=$(date +%s%N)
			case $tool in
			zcat) $TIME -v -o "$BENCH_DIR/time.ct" sh -c 'find "$1" -name "*.json.gz" -print0 | xargs -0 zcat >/dev/null' sh "$d" ;;
			zcat-P2) $TIME -v -o "$BENCH_DIR/time.ct" sh -c 'find "$1" -name "*.json.gz" -print0 | xargs -0 -P2 -n 64 zcat >/dev/null' sh "$d" ;;
			vaultsentry) $TIME -v -o "$BENCH_DIR/time.ct" "$BENCH_DIR/vaultsentry" cloudtrail -q --from "$d" --format json -o "$BENCH_DIR/out.json" || true ;;
			esac
			end=$(date +%s%N)
			wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
			kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time.ct")
			if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$wall rss=$kib; fi
		done
		SECONDS_OF[$tool]=$best
		awk -v t="$tool" -v s="$best" -v kib="$rss" -v size="$raw" 'BEGIN {printf "%-12s %9.2f %9.0f %10.0f\n", t, s, size / 1e6 / s, kib / 1024}'
	done
	awk -v z="${SECONDS_OF[zcat]}" -v z2="${SECONDS_OF[zcat-P2]}" -v v="${SECONDS_OF[vaultsentry]}" 'BEGIN {
		printf "vaultsentry reads the tree at %.0f%% of the rate of zcat to /dev/null (target >= 80%%)\n", 100 * z / v
		printf "vaultsentry reads the tree at %.0f%% of the rate of two zcat in parallel\n", 100 * z2 / v }'
	exit 0
fi

if [ "${1:-}" = --lookup ]; then
	# LookupEvents against the loopback stub (internal/lookupstub) with its throttling: the real
	# binary, two regions in parallel, 2 requests a second per region.
	"$BENCH_DIR/lookupbench" -events "${2:-20000}" -runs "$RUNS" -vaultsentry "$BENCH_DIR/vaultsentry"
	exit 0
fi

if [ "${1:-}" = --stream ]; then
	size=${2:-16G} big=${3:-64G}
	f="$BENCH_DIR/realistic-$size.log"
	generate "$f" "$size"
	table "$f" cat sonic vaultsentry
	[ "${KEEP:-0}" = 1 ] || rm -f "$f"
	# Through standard input from the generator: nothing on disk. The generator alone first (it
	# writes on one core, so it can be the bound); peak RSS is the larger of the two processes'.
	printf '\nstreamed from scripts/loggen through standard input, load average %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-26s %9s %9s %10s\n' run seconds "MB/s" "RSS MiB"
	declare -A PIPE=()
	for s in "$size" "$big"; do
		for tool in loggen vaultsentry; do
			start=$(date +%s%N)
			if [ $tool = loggen ]; then
				$TIME -v -o "$BENCH_DIR/time.pipe" "$BENCH_DIR/loggen" -size "$s" -o /dev/null 2>/dev/null
			else
				$TIME -v -o "$BENCH_DIR/time.pipe" sh -c '"$1/loggen" -size "$2" -o - 2>/dev/null | "$1/vaultsentry" scan -q --format json -o "$1/out.json" -' sh "$BENCH_DIR" "$s" || true
			fi
			end=$(date +%s%N)
			wall=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
			kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$BENCH_DIR/time.pipe")
			[ $tool = vaultsentry ] && PIPE[$s]=$wall
			awk -v t="$tool $s" -v s="$wall" -v kib="$kib" -v size="$(bytes_of "$s")" 'BEGIN {printf "%-26s %9.2f %9.0f %10.0f\n", t, s, size / 1e6 / s, kib / 1024}'
		done
	done
	awk -v a="${PIPE[$size]}" -v b="${PIPE[$big]}" -v s="$size" -v g="$big" 'BEGIN {printf "%s / %s time through standard input = %.2f (target <= 4.4)\n", g, s, b / a}'
	# Logs of tiny entries: what the detectors remember grows with identities and paths.
	for variant in "one:-compact -hot-share 1" "wide:-unique-share 0.9" "tokens:-compact -identities 1000000"; do
		name=${variant%%:*} flags=${variant#*:}
		f="$BENCH_DIR/$name-4G.log"
		# shellcheck disable=SC2086
		generate "$f" 4G $flags
		table "$f" vaultsentry
		jq -r '"  \(.stats.events) events"' "$BENCH_DIR/out.json" 2>/dev/null || true
		[ "${KEEP:-0}" = 1 ] || rm -f "$f"
	done
	exit 0
fi

if [ "${1:-}" = --linear ]; then
	for variant in "realistic:" "hot:-hot-share 0.5" "wide:-unique-share 0.9" "one:-compact -hot-share 1"; do
		name=${variant%%:*} flags=${variant#*:}
		declare -A T=()
		for size in 1G 4G; do
			f="$BENCH_DIR/$name-$size.log"
			# shellcheck disable=SC2086
			generate "$f" "$size" $flags
			table "$f" cat sonic vaultsentry
			T[$size]=${SECONDS_OF[vaultsentry]}
			[ "${KEEP:-0}" = 1 ] || rm -f "$f"
		done
		awk -v a="${T[1G]}" -v b="${T[4G]}" -v n="$name" 'BEGIN {printf "linearity (%s): 4G / 1G time = %.2f (target <= 4.4)\n", n, b / a}'
	done
	exit 0
fi

for size in "${@:-1G}"; do
	f="$BENCH_DIR/realistic-$size.log"
	generate "$f" "$size"
	# shellcheck disable=SC2046
	table "$f" $(tools_for "$size")
done
