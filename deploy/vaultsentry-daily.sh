#!/usr/bin/env bash
# vaultsentry-daily.sh: the daily report. The one script that vaultsentry.service, the cron line
# (deploy/README.md) and cronjob.yaml run.
#
# One vaultsentry invocation reads the last 24 hours of logs once and writes every output, against the
# baseline carried from earlier days, which it then updates. Settings (environment, with defaults):
#
#   VAULTSENTRY_LOGS        audit logs: files, directories or globs, space-separated; vaultsentry expands
#                           the globs itself (default /var/log/vault)
#   VAULTSENTRY_STATE_DIR   baseline.vsb and latest.json, kept from one day to the next
#                           (default $STATE_DIRECTORY from systemd's StateDirectory=, else /var/lib/vaultsentry)
#   VAULTSENTRY_REPORT_DIR  one directory per day, DATE/{report.html,findings.json,findings.sarif,summary.md}
#                           (default $VAULTSENTRY_STATE_DIR/reports)
#   VAULTSENTRY_CONFIG      configuration file (default /etc/vaultsentry/vaultsentry.yaml when it exists;
#                           when set explicitly, it must exist)
#   VAULTSENTRY_FAIL_ON     severity that makes the run exit 1 and alert (default high)
#   VAULTSENTRY_NOTIFY      webhook URLs, space-separated, each passed as --notify URL, with
#                           --notify-min-severity VAULTSENTRY_FAIL_ON and --notify-on-error (default none)
#   VAULTSENTRY_BIN         the vaultsentry binary (default: vaultsentry on PATH)
#   VAULTSENTRY_SINCE       how far back from the newest event to analyse (default 24h)
#   VAULTSENTRY_KEEP_DAYS   day directories older than this many days are deleted (default 90; 0 keeps all)
#   VAULTSENTRY_DATE        name of today's report directory (default: today's UTC date, YYYY-MM-DD)
#
# Exit codes are vaultsentry's:
#   0  nothing at or above VAULTSENTRY_FAIL_ON: the report is still written and a status line printed
#   1  findings at or above the gate: alert (stderr, so cron mails it; the unit fails, so OnFailure= runs)
#   2  usage or configuration error, or an expired ignore entry: alert loudly
#   3  the run failed (no logs, unreadable or corrupt baseline, disk full, a --notify delivery that
#      failed after the report was written): alert loudly
# Alerts go to standard error; the daily status line goes to standard output (the journal, or a log file
# in the cron line), so cron mails only the days that need a person.
#
# latest.json (the previous day's findings, for --previous-report) is replaced only after a run that
# succeeded (exit 0 or 1): a failed day leaves yesterday's in place, so the next day reports more, never less.
set -euo pipefail

logs_setting="${VAULTSENTRY_LOGS:-/var/log/vault}"
state_dir="${VAULTSENTRY_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vaultsentry}}"
state_dir="${state_dir%%:*}" # systemd lists several StateDirectory= paths separated by colons
report_dir="${VAULTSENTRY_REPORT_DIR:-$state_dir/reports}"
fail_on="${VAULTSENTRY_FAIL_ON:-high}"
bin="${VAULTSENTRY_BIN:-vaultsentry}"
since="${VAULTSENTRY_SINCE:-24h}"
keep_days="${VAULTSENTRY_KEEP_DAYS:-90}"
today="${VAULTSENTRY_DATE:-$(date -u +%F)}"

alert() { printf 'vaultsentry-daily: %s\n' "$*" >&2; }

case "$keep_days" in '' | *[!0-9]*)
	alert "ALERT: VAULTSENTRY_KEEP_DAYS must be a number of days, not '$keep_days'"
	exit 2
	;;
esac
case "$today" in '' | */* | .*)
	alert "ALERT: VAULTSENTRY_DATE must be a plain name such as 2026-09-24, not '$today'"
	exit 2
	;;
esac

read -r -a logs <<<"$logs_setting"
if [ "${#logs[@]}" -eq 0 ]; then
	alert "ALERT: VAULTSENTRY_LOGS names no logs"
	exit 2
fi

args=(scan --quiet --fail-on "$fail_on"
	--baseline "$state_dir/baseline.vsb" --update-baseline
	--since "$since" --previous-report "$state_dir/latest.json")
if [ -n "${VAULTSENTRY_CONFIG:-}" ]; then
	args+=(--config "$VAULTSENTRY_CONFIG") # set explicitly: a missing file is an error (exit 2)
elif [ -f /etc/vaultsentry/vaultsentry.yaml ]; then
	args+=(--config /etc/vaultsentry/vaultsentry.yaml)
fi
# --notify is passed only when URLs are set, so the script also runs with a vaultsentry without the flag.
# The webhooks get the new findings at or above the gate, and a notice when the run fails (exit 3).
read -r -a notify <<<"${VAULTSENTRY_NOTIFY:-}"
for url in "${notify[@]}"; do
	args+=(--notify "$url")
done
if [ "${#notify[@]}" -gt 0 ]; then
	args+=(--notify-min-severity "$fail_on" --notify-on-error)
fi

day="$report_dir/$today"
mkdir -p "$state_dir" "$day"
args+=(-o "$day/report.html" -o "$day/findings.json" -o "$day/findings.sarif" -o "$day/summary.md")
args+=(--)
args+=("${logs[@]}")

rc=0
"$bin" "${args[@]}" 2>"$day/vaultsentry.stderr" || rc=$?

# The span of the logs, from the Markdown summary ("Logs from A to B · ..."), for the status line.
span=""
if [ -s "$day/summary.md" ]; then
	span="$(sed -n 's/^Logs from \([^ ]*\) to \([^ ]*\) .*/logs from \1 to \2/p' "$day/summary.md" | head -n 1)"
fi

case "$rc" in
0 | 1)
	if [ ! -s "$day/findings.json" ]; then
		alert "ALERT $today: vaultsentry exited $rc but wrote no $day/findings.json; latest.json was kept"
		cat "$day/vaultsentry.stderr" >&2
		exit 3
	fi
	# Rotate: today's findings become tomorrow's --previous-report, atomically (copy, then rename).
	cp "$day/findings.json" "$state_dir/latest.json.tmp"
	mv -f "$state_dir/latest.json.tmp" "$state_dir/latest.json"
	cat "$day/vaultsentry.stderr" # warnings of a run that worked: into the log, not an alert
	;;
esac

case "$rc" in
0)
	echo "vaultsentry $today: nothing found at or above $fail_on; ${span:-logs span unknown}; report $day/report.html"
	;;
1)
	alert "ALERT $today: findings at or above $fail_on; ${span:-logs span unknown}; report $day/report.html"
	# The Markdown summary is the body of the mail cron sends (and of the journal entry).
	if [ -s "$day/summary.md" ]; then head -c 200000 "$day/summary.md" >&2; fi
	;;
2)
	alert "ALERT $today: vaultsentry exited 2 (usage or configuration error, or an expired ignore entry): fix the configuration; latest.json was kept"
	cat "$day/vaultsentry.stderr" >&2
	;;
*)
	alert "ALERT $today: vaultsentry exited $rc: the run FAILED and there may be no report; latest.json was kept"
	cat "$day/vaultsentry.stderr" >&2
	;;
esac

if [ "$keep_days" -gt 0 ]; then
	find "$report_dir" -mindepth 1 -maxdepth 1 -type d -name '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' \
		-mtime +"$keep_days" -exec rm -rf -- {} + || alert "warning: could not delete old reports in $report_dir"
fi
exit "$rc"
