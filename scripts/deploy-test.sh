#!/usr/bin/env bash
# scripts/deploy-test.sh: tests the deployment templates in deploy/ (called by scripts/test.sh).
#   1. lints: shellcheck (when installed), actionlint on the GitHub Actions workflow, systemd-analyze
#      verify on the units, kubeconform on the CronJob against the schemas vendored in deploy/testdata/schemas,
#      a YAML parse of the GitLab job. Each lint also runs on a broken copy that must fail, so a lint that
#      silently checks nothing is caught. The lints never skip.
#   2. two simulated days of deploy/vaultsentry-daily.sh on the practice scenario (../shared/scenarios/vault,
#      or $VAULTSENTRY_SCENARIOS/vault): day 1 = the logs as they stood at 2026-09-23T12:00Z, after a
#      `baseline learn`, run as the systemd unit runs it; day 2 = the whole files, run as the cron line runs
#      it; then a quiet day, a usage error (exit 2) and a failed run (exit 3). With a webhook receiver on
#      127.0.0.1 when vaultsentry has --notify; and the shell of the GitHub and GitLab templates, run on
#      day 2. Skipped, with a message, when the scenario is not there (a clean clone in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
gobin="$(go env GOPATH)/bin"
work="$(mktemp -d)"
webhook_pid=""
cleanup() {
	if [ -n "$webhook_pid" ]; then kill "$webhook_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '== deploy-test: %s\n' "$*"; }
fail() {
	printf 'deploy-test: FAIL: %s\n' "$*" >&2
	exit 1
}
# expect_rc WANT GOT WHAT
expect_rc() { [ "$1" = "$2" ] || fail "$3: exit $2, want $1"; }

# --- 1. lints -------------------------------------------------------------------------------------------

if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null 2>&1 || true
fi
if command -v shellcheck >/dev/null 2>&1; then
	step "shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
	shellcheck deploy/vaultsentry-daily.sh scripts/deploy-test.sh
else
	step "shellcheck not installed: shell lint skipped (optional; actionlint runs without it too)"
fi

ACTIONLINT="$gobin/actionlint"
if [ ! -x "$ACTIONLINT" ]; then
	step "installing actionlint v1.7.12 from the Go module proxy (first run only)"
	go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
fi
step "actionlint $("$ACTIONLINT" -version | head -n 1) on deploy/github-actions.yml"
"$ACTIONLINT" deploy/github-actions.yml
# Broken copy: a step output that does not exist and an unknown action input must be reported.
sed 's/steps\.scan\.outputs\.rc != '"''"'/steps.scann.outputs.rc != '"''"'/; s/^          category: /          categoryy: /' \
	deploy/github-actions.yml >"$work/broken-workflow.yml"
if "$ACTIONLINT" "$work/broken-workflow.yml" >/dev/null 2>&1; then
	fail "actionlint accepted a broken copy of the workflow"
fi

SYSTEMD_ANALYZE="$(command -v systemd-analyze || true)"
if [ -z "$SYSTEMD_ANALYZE" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	step "installing systemd (for systemd-analyze)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
	SYSTEMD_ANALYZE="$(command -v systemd-analyze || true)"
fi
[ -n "$SYSTEMD_ANALYZE" ] || fail "systemd-analyze is not installed (apt-get install systemd)"
# verify wants ExecStart= to exist and be executable: point it at the script in this checkout.
# systemd-analyze verify exits 0 on unknown keys and bad values (it warns and ignores them), so any
# output at all is a failure.
verify_units() { # DIR: prints what systemd-analyze said
	(cd "$1" && "$SYSTEMD_ANALYZE" verify vaultsentry.service vaultsentry.timer 2>&1) || echo "systemd-analyze verify failed"
}
mkdir -p "$work/units" "$work/units-broken"
sed "s|^ExecStart=/usr/local/lib/vaultsentry/vaultsentry-daily.sh\$|ExecStart=$repo/deploy/vaultsentry-daily.sh|" \
	deploy/vaultsentry.service >"$work/units/vaultsentry.service"
cp deploy/vaultsentry.timer "$work/units/"
grep -q "^ExecStart=$repo/deploy/vaultsentry-daily.sh\$" "$work/units/vaultsentry.service" ||
	fail "vaultsentry.service: ExecStart is not /usr/local/lib/vaultsentry/vaultsentry-daily.sh"
step "$("$SYSTEMD_ANALYZE" --version | head -n 1): systemd-analyze verify vaultsentry.service vaultsentry.timer"
out="$(verify_units "$work/units")"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
sed 's/^Type=oneshot/Type=oneshoot/; s/^NoNewPrivileges=/NoNewPrivilegez=/' "$work/units/vaultsentry.service" \
	>"$work/units-broken/vaultsentry.service"
sed 's/^OnCalendar=.*/OnCalendar=every day at dawn/' deploy/vaultsentry.timer >"$work/units-broken/vaultsentry.timer"
out="$(verify_units "$work/units-broken")"
for want in oneshoot NoNewPrivilegez "calendar specification"; do
	case "$out" in *"$want"*) ;; *) fail "systemd-analyze verify did not report the broken $want: $out" ;; esac
done
# The hardening stays: an exposure level above 2.0 (of 10) fails.
exposure="$(cd "$work/units" && "$SYSTEMD_ANALYZE" security --offline=yes --threshold=20 vaultsentry.service 2>&1)" ||
	fail "systemd-analyze security: vaultsentry.service exposure above 2.0: $(printf '%s\n' "$exposure" | grep -e '✗' -e 'Overall')"
step "systemd-analyze security: $(printf '%s\n' "$exposure" | sed -n 's/^→ //p')"
grep -q '^Persistent=true$' deploy/vaultsentry.timer || fail "vaultsentry.timer: Persistent=true missing"
grep -q '^RandomizedDelaySec=' deploy/vaultsentry.timer || fail "vaultsentry.timer: RandomizedDelaySec missing"

KUBECONFORM="$gobin/kubeconform"
if [ ! -x "$KUBECONFORM" ]; then
	step "installing kubeconform v0.7.0 from the Go module proxy (first run only)"
	go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
fi
# The schemas are vendored (deploy/testdata/README.md): kubeconform never downloads one here.
schemas='deploy/testdata/schemas/{{.ResourceKind}}{{.KindSuffix}}.json'
step "kubeconform (version: $("$KUBECONFORM" -v)) -strict on deploy/cronjob.yaml"
"$KUBECONFORM" -strict -summary -schema-location "$schemas" deploy/cronjob.yaml
sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesytem: true/' deploy/cronjob.yaml >"$work/broken-cronjob.yaml"
if "$KUBECONFORM" -strict -schema-location "$schemas" "$work/broken-cronjob.yaml" >/dev/null 2>&1; then
	fail "kubeconform accepted a broken copy of the CronJob"
fi
# The vendored schemas are what gen-schema.py makes of Kubernetes' swagger.json, when that module is at hand.
swagger="$(go env GOMODCACHE)/k8s.io/kubernetes@v1.33.4/api/openapi-spec/swagger.json"
if [ -f "$swagger" ] && command -v python3 >/dev/null 2>&1; then
	for def in batch.v1.CronJob:cronjob-batch-v1 core.v1.PersistentVolumeClaim:persistentvolumeclaim-v1; do
		python3 deploy/testdata/gen-schema.py "$swagger" v1.33.4 "io.k8s.api.${def%%:*}" | cmp -s - "deploy/testdata/schemas/${def#*:}.json" ||
			fail "deploy/testdata/schemas/${def#*:}.json is not what gen-schema.py generates (deploy/testdata/README.md)"
	done
else
	step "k8s.io/kubernetes@v1.33.4 not in the module cache: the schemas' regeneration is not compared"
fi
for want in 'concurrencyPolicy: Forbid' 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'persistentVolumeClaim:' 'readOnly: true'; do
	grep -q "$want" deploy/cronjob.yaml || fail "cronjob.yaml: '$want' missing"
done

if command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' 2>/dev/null; then
	step "YAML parse of deploy/gitlab-ci.yml"
	python3 -c 'import sys, yaml; job = yaml.safe_load(open(sys.argv[1]))["vaultsentry-daily"]; assert "script" in job and job["cache"]["paths"] == ["state/"] and job["artifacts"]["when"] == "always"' deploy/gitlab-ci.yml ||
		fail "deploy/gitlab-ci.yml"
else
	step "python3 with PyYAML not available: deploy/gitlab-ci.yml not parsed"
fi

# The arguments vaultsentry-daily.sh passes, with a stub vaultsentry that records them (never skips).
step "vaultsentry-daily.sh arguments (stub binary)"
mkdir -p "$work/stub"
cat >"$work/stub/vaultsentry" <<'STUB'
#!/usr/bin/env bash
set -euo pipefail
printf '%s\n' "$@" >"$STUB_ARGS"
prev=""
for a in "$@"; do
	if [ "$prev" = -o ] && [ -z "${STUB_NO_OUTPUT:-}" ]; then printf '{}\n' >"$a"; fi
	prev="$a"
done
exit "${STUB_RC:-0}"
STUB
chmod +x "$work/stub/vaultsentry"
stub_run() { # RC [VAR=VALUE...]: runs the script against the stub, prints its exit code
	local want_rc="$1" rc=0
	shift
	env STUB_ARGS="$work/stub/args" STUB_RC="$want_rc" VAULTSENTRY_BIN="$work/stub/vaultsentry" \
		VAULTSENTRY_STATE_DIR="$work/stub/state" VAULTSENTRY_DATE=stub "$@" \
		bash deploy/vaultsentry-daily.sh >/dev/null 2>&1 || rc=$?
	echo "$rc"
}
rc="$(stub_run 0 VAULTSENTRY_LOGS="$work/stub/logs/*.log $work/stub/other.gz" VAULTSENTRY_CONFIG=/etc/vs.yaml)"
expect_rc 0 "$rc" "stub run"
want="scan --quiet --fail-on high --baseline $work/stub/state/baseline.vsb --update-baseline --since 24h
--previous-report $work/stub/state/latest.json --config /etc/vs.yaml
-o $work/stub/state/reports/stub/report.html -o $work/stub/state/reports/stub/findings.json
-o $work/stub/state/reports/stub/findings.sarif -o $work/stub/state/reports/stub/summary.md
-- $work/stub/logs/*.log $work/stub/other.gz"
got="$(tr '\n' ' ' <"$work/stub/args")"
[ "$got" = "$(printf '%s' "$want" | tr '\n' ' ') " ] || fail "vaultsentry-daily.sh arguments:
got:  $got
want: $want"
rc="$(stub_run 1 VAULTSENTRY_LOGS=/logs VAULTSENTRY_FAIL_ON=critical VAULTSENTRY_NOTIFY="http://127.0.0.1:1/a  https://hooks.example/b")"
expect_rc 1 "$rc" "stub run with findings"
got="$(tr '\n' ' ' <"$work/stub/args")"
case "$got" in *" --fail-on critical "*" --notify http://127.0.0.1:1/a --notify https://hooks.example/b --notify-min-severity critical --notify-on-error -o "*) ;;
*) fail "VAULTSENTRY_NOTIFY/VAULTSENTRY_FAIL_ON not passed as --notify URL / --fail-on: $got" ;;
esac
cmp -s "$work/stub/state/reports/stub/findings.json" "$work/stub/state/latest.json" || fail "stub run: latest.json not rotated"
rm "$work/stub/state/latest.json"
rc="$(stub_run 3 VAULTSENTRY_LOGS=/logs)"
expect_rc 3 "$rc" "stub run that failed"
[ ! -e "$work/stub/state/latest.json" ] || fail "stub run that failed: latest.json written"
rc="$(stub_run 0 VAULTSENTRY_LOGS=/logs VAULTSENTRY_DATE=stub-no-output STUB_NO_OUTPUT=1)"
expect_rc 3 "$rc" "stub run that exited 0 without writing findings.json"
[ ! -e "$work/stub/state/latest.json" ] || fail "stub run without findings.json: latest.json written"
rc="$(stub_run 0 VAULTSENTRY_LOGS=" ")"
expect_rc 2 "$rc" "empty VAULTSENTRY_LOGS"

# --- 2. two simulated days on the practice scenario -------------------------------------------------------

scen="${VAULTSENTRY_SCENARIOS:-$repo/../shared/scenarios}/vault"
if [ ! -f "$scen/truth.json" ]; then
	step "SKIP the two-day run of vaultsentry-daily.sh: no practice scenario at $scen (set VAULTSENTRY_SCENARIOS to the scenarios directory)"
	step "ok (lints only)"
	exit 0
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is needed for the two-day run (truncating the logs, scoring)"
score="$scen/../score.py"

step "building vaultsentry"
go build -o "$work/bin/vaultsentry" .
bin="$work/bin/vaultsentry"
mkdir -p "$work/etc" "$work/day1" "$work/day2" "$work/state" "$work/empty"
cp "$scen/vaultsentry.yaml" "$scen/k8s-events.json" "$work/etc/" # k8s_events is relative to the config
config="$work/etc/vaultsentry.yaml"
mapfile -t files < <(python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1]))["files"]))' "$scen/truth.json")
[ "${#files[@]}" -gt 0 ] || fail "truth.json lists no files"
cutoff=2026-09-23T12:00:00Z
for f in "${files[@]}"; do
	mkdir -p "$work/day1/$(dirname "$f")" "$work/day2/$(dirname "$f")"
	python3 deploy/testdata/truncate-logs.py "$scen/$f" "$work/day1/$f" "$cutoff" >/dev/null
	cp "$scen/$f" "$work/day2/$f"
done

# webhook_check WANT KIND [REPORT]: each receiver (the generic webhook at /vaultsentry, the Alertmanager
# API at /api/v2/alerts) got WANT requests so far, the last one of KIND: "findings" (the generic JSON POST
# {"tool","version","summary","findings"}; Alertmanager's postable alerts), whose findings are exactly the
# high and critical findings of REPORT (the day's new ones: the previous report's are left out), or "error"
# (the --notify-on-error notice; Alertmanager's vaultsentry-run-failed alert).
webhook_check() {
	python3 - "$work/webhook.jsonl" "$1" "$2" "${3:-}" <<'PY'
import json, os, sys
path, want, kind, report = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
reqs = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
generic = [r for r in reqs if r["path"] == "/vaultsentry"]
am = [r for r in reqs if r["path"] == "/api/v2/alerts"]
if len(generic) != want or len(am) != want:
    sys.exit(f"{len(generic)} webhook and {len(am)} Alertmanager requests, want {want} each")
if want == 0:
    sys.exit(0)
body = json.loads(generic[-1]["body"])
alerts = json.loads(am[-1]["body"])
if body.get("tool") != "vaultsentry" or not isinstance(alerts, list):
    sys.exit(f"webhook body without tool=vaultsentry, or alerts not a list: {generic[-1]['body'][:300]}")
if kind == "findings":
    got = sorted(f["fingerprint"] for f in body.get("findings", []))
    got_am = sorted(a["labels"].get("fingerprint", "") for a in alerts)
    want_fp = sorted(f["fingerprint"] for f in json.load(open(report))["findings"] if f["severity"] in ("high", "critical"))
    if not want_fp or got != want_fp or got_am != want_fp:
        sys.exit(f"delivered {len(got)} (webhook) and {len(got_am)} (Alertmanager) findings, want exactly the report's {len(want_fp)} high and critical")
    for a in alerts:
        if not {"alertname", "rule", "severity", "identity", "store"} <= set(a["labels"]) or "runbook_url" not in a.get("annotations", {}):
            sys.exit(f"an alert without its labels or runbook_url: {a}")
elif not body.get("error") or not any(a["labels"].get("alertname") == "vaultsentry-run-failed" for a in alerts):
    sys.exit(f"error notice without error, or no vaultsentry-run-failed alert: {generic[-1]['body'][:300]}")
PY
}
notify=""
if "$bin" scan --help | grep -q -- --notify; then
	python3 deploy/testdata/webhook.py "$work/webhook.jsonl" "$work/webhook.port" &
	webhook_pid=$!
	for _ in $(seq 50); do [ -s "$work/webhook.port" ] && break; sleep 0.1; done
	[ -s "$work/webhook.port" ] || fail "the webhook receiver did not start"
	port="$(cat "$work/webhook.port")"
	notify="http://127.0.0.1:$port/vaultsentry http://127.0.0.1:$port/api/v2/alerts"
	step "webhook and Alertmanager receiver on $notify"
else
	step "SKIP the webhook part: this vaultsentry has no --notify flag"
fi

step "day 0: baseline learn on the logs before $cutoff"
"$bin" baseline learn --baseline "$work/state/baseline.vsb" --config "$config" "${files[@]/#/$work/day1/}" 2>"$work/learn.err" ||
	fail "baseline learn: $(cat "$work/learn.err")"

# Day 1, as vaultsentry.service runs it: systemd passes the StateDirectory= path as $STATE_DIRECTORY,
# and the reports go to its reports/ directory.
step "day 1 (systemd style): logs up to $cutoff"
rc=0
env STATE_DIRECTORY="$work/state" VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/day1" VAULTSENTRY_CONFIG="$config" \
	VAULTSENTRY_FAIL_ON=high VAULTSENTRY_DATE=2026-09-23 \
	bash deploy/vaultsentry-daily.sh >"$work/day1.out" 2>"$work/day1.err" || rc=$?
# Day 1's window (the 24 hours before noon) holds one high finding: maria.fernandes rewrote the policy
# settlement-batch at 2026-09-22T13:52:30Z (policy-change).
expect_rc 1 "$rc" "day 1 with VAULTSENTRY_FAIL_ON=high"
d1="$work/state/reports/2026-09-23"
for f in report.html findings.json findings.sarif summary.md; do [ -s "$d1/$f" ] || fail "day 1: no $f"; done
grep -q 'ALERT 2026-09-23: findings at or above high; logs from 2026-09-22T.* to 2026-09-23T' "$work/day1.err" ||
	fail "day 1: no alert on stderr: $(cat "$work/day1.err")"
cmp -s "$d1/findings.json" "$work/state/latest.json" || fail "day 1: latest.json is not day 1's findings.json"

# Day 2, as the cron line runs it: cron's bare environment, stdout to a log file, stderr mailed.
step "day 2 (cron style): the whole files"
rc=0
env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/day2" \
	VAULTSENTRY_STATE_DIR="$work/state" VAULTSENTRY_REPORT_DIR="$work/reports" VAULTSENTRY_CONFIG="$config" \
	VAULTSENTRY_FAIL_ON=high VAULTSENTRY_NOTIFY="$notify" VAULTSENTRY_DATE=2026-09-24 \
	bash deploy/vaultsentry-daily.sh >>"$work/daily.log" 2>"$work/day2.mail" || rc=$?
expect_rc 1 "$rc" "day 2 with VAULTSENTRY_FAIL_ON=high"
d2="$work/reports/2026-09-24"
for f in report.html findings.json findings.sarif summary.md; do [ -s "$d2/$f" ] || fail "day 2: no $f"; done
grep -q 'ALERT 2026-09-24: findings at or above high' "$work/day2.mail" || fail "day 2: no alert mailed"
grep -q '^## vaultsentry: [1-9][0-9]* findings' "$work/day2.mail" || fail "day 2: the mail has no Markdown summary"
cmp -s "$d2/findings.json" "$work/state/latest.json" || fail "day 2: latest.json is not day 2's findings.json"
result="$(python3 "$score" "$scen/truth.json" "$d2/findings.json")" || fail "score.py: $result"
printf '%s\n' "$result" | tail -n 1
printf '%s\n' "$result" | grep -q '^recall 18/18, false positives 0$' || fail "day 2 findings.json: $result"
if [ -n "$notify" ]; then
	webhook_check 1 findings "$d2/findings.json" || fail "day 2: webhook"
	step "webhook and Alertmanager: exactly day 2's new findings at or above high delivered"
fi

# A quiet day: day 2 again, after day 2 (the same findings are in latest.json now): exit 0, and the
# report is still written, with the span of the logs; cron mails nothing (stderr stays empty).
step "quiet day: day 2 again"
rc=0
env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8 VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/day2" \
	VAULTSENTRY_STATE_DIR="$work/state" VAULTSENTRY_REPORT_DIR="$work/reports" VAULTSENTRY_CONFIG="$config" \
	VAULTSENTRY_FAIL_ON=high VAULTSENTRY_NOTIFY="$notify" VAULTSENTRY_DATE=2026-09-24-rerun \
	bash deploy/vaultsentry-daily.sh >"$work/quiet.out" 2>"$work/quiet.mail" || rc=$?
expect_rc 0 "$rc" "the quiet day"
d3="$work/reports/2026-09-24-rerun"
for f in report.html findings.json findings.sarif summary.md; do [ -s "$d3/$f" ] || fail "quiet day: no $f"; done
[ ! -s "$work/quiet.mail" ] || fail "quiet day: stderr (cron mail) is not empty: $(cat "$work/quiet.mail")"
grep -q '^vaultsentry 2026-09-24-rerun: nothing found at or above high; logs from 2026-09-23T03:00:00Z to 2026-09-24T02:58:45Z; report ' "$work/quiet.out" ||
	fail "quiet day: no status line: $(cat "$work/quiet.out")"
grep -q '^## vaultsentry: 0 findings' "$d3/summary.md" || fail "quiet day: summary.md does not say 0 findings"
grep -q '^Logs from 2026-09-23T03:00:00Z to 2026-09-24T02:58:45Z' "$d3/summary.md" || fail "quiet day: summary.md has no log span"
grep -q 'No findings' "$d3/report.html" || fail "quiet day: report.html does not say No findings"
cmp -s "$d3/findings.json" "$work/state/latest.json" || fail "quiet day: latest.json not rotated"
if [ -n "$notify" ]; then webhook_check 1 findings "$d2/findings.json" || fail "quiet day: webhook"; fi

# Exit 2 (a configuration file that does not exist) and exit 3 (no audit event in the logs): loud on
# stderr, and latest.json and the baseline are left as they were.
before="$(sha256sum "$work/state/latest.json" "$work/state/baseline.vsb")"
step "exit 2: a missing configuration file"
rc=0
env VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/day2" VAULTSENTRY_STATE_DIR="$work/state" \
	VAULTSENTRY_REPORT_DIR="$work/reports" VAULTSENTRY_CONFIG="$work/etc/missing.yaml" VAULTSENTRY_DATE=usage \
	bash deploy/vaultsentry-daily.sh >/dev/null 2>"$work/usage.err" || rc=$?
expect_rc 2 "$rc" "a missing configuration file"
grep -q 'ALERT usage: vaultsentry exited 2' "$work/usage.err" || fail "exit 2: no alert: $(cat "$work/usage.err")"
step "exit 3: logs with no audit event"
rc=0
env VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/empty" VAULTSENTRY_STATE_DIR="$work/state" \
	VAULTSENTRY_REPORT_DIR="$work/reports" VAULTSENTRY_CONFIG="$config" VAULTSENTRY_NOTIFY="$notify" VAULTSENTRY_DATE=failed \
	bash deploy/vaultsentry-daily.sh >/dev/null 2>"$work/failed.err" || rc=$?
expect_rc 3 "$rc" "logs with no audit event"
grep -q 'ALERT failed: vaultsentry exited 3: the run FAILED' "$work/failed.err" || fail "exit 3: no alert: $(cat "$work/failed.err")"
[ "$before" = "$(sha256sum "$work/state/latest.json" "$work/state/baseline.vsb")" ] ||
	fail "a failed run changed latest.json or the baseline"
if [ -n "$notify" ]; then
	webhook_check 2 error || fail "exit 3: webhook"
	step "webhook: the failed run's notice delivered (--notify-on-error)"
	# A webhook that does not answer: vaultsentry writes the report, then exits 3; latest.json is kept.
	kill "$webhook_pid"
	wait "$webhook_pid" 2>/dev/null || true
	webhook_pid=""
	step "exit 3: the webhook is down"
	latest_before="$(sha256sum <"$work/state/latest.json")"
	rc=0
	env VAULTSENTRY_BIN="$bin" VAULTSENTRY_LOGS="$work/day2" VAULTSENTRY_STATE_DIR="$work/state" \
		VAULTSENTRY_REPORT_DIR="$work/reports" VAULTSENTRY_CONFIG="$config" VAULTSENTRY_NOTIFY="$notify" \
		VAULTSENTRY_FAIL_ON=low VAULTSENTRY_DATE=webhook-down \
		bash deploy/vaultsentry-daily.sh >/dev/null 2>"$work/down.err" || rc=$?
	expect_rc 3 "$rc" "a webhook that is down"
	grep -q 'ALERT webhook-down: vaultsentry exited 3' "$work/down.err" || fail "webhook down: no alert: $(cat "$work/down.err")"
	[ -s "$work/reports/webhook-down/report.html" ] || fail "webhook down: no report"
	[ "$latest_before" = "$(sha256sum <"$work/state/latest.json")" ] || fail "webhook down: latest.json replaced"
fi

# The CI templates' own shell, run for real: the GitHub workflow's Scan, Job summary and Gate steps and
# the GitLab job's scan block, on day 2's logs with no baseline yet (a first run), as the runners run them
# (bash -e; GitHub with -o pipefail). Needs PyYAML to take the scripts out of the YAML (Debian: python3-yaml).
if python3 -c 'import yaml' 2>/dev/null; then
	ci_script() { # FILE STEP-NAME|gitlab: prints the shell of that step
		python3 - "$@" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
if sys.argv[2] == "gitlab":
    print(doc["vaultsentry-daily"]["script"][-1])
else:
    print(next(s["run"] for s in doc["jobs"]["scan"]["steps"] if s.get("name") == sys.argv[2]))
PY
	}
	step "GitHub workflow steps Scan, Job summary and Gate on day 2 (first run)"
	gh="$work/gh"
	mkdir -p "$gh/logs"
	cp "$config" "$work/etc/k8s-events.json" "$gh/"
	cp -r "$work/day2/." "$gh/logs/"
	: >"$gh/output"
	: >"$gh/summary"
	for name in Scan "Job summary (Markdown)"; do
		ci_script deploy/github-actions.yml "$name" >"$gh/step.sh"
		(cd "$gh" && env PATH="$work/bin:$PATH" FAIL_ON=high NO_COLOR=1 GITHUB_OUTPUT="$gh/output" \
			GITHUB_STEP_SUMMARY="$gh/summary" bash --noprofile --norc -eo pipefail step.sh >"$gh/step.out" 2>&1) ||
			fail "workflow step $name: $(cat "$gh/step.out")"
	done
	grep -qx 'rc=1' "$gh/output" || fail "workflow Scan: GITHUB_OUTPUT $(cat "$gh/output"), want rc=1"
	for f in report.html findings.json findings.sarif summary.md; do [ -s "$gh/out/$f" ] || fail "workflow Scan: no out/$f"; done
	cmp -s "$gh/out/findings.json" "$gh/state/latest.json" || fail "workflow Scan: state/latest.json not written"
	[ -s "$gh/state/baseline.vsb" ] || fail "workflow Scan: no state/baseline.vsb"
	cmp -s "$gh/out/summary.md" "$gh/summary" || fail "workflow Job summary: GITHUB_STEP_SUMMARY is not summary.md"
	# A summary over the limit is cut below 1 MiB, on a line boundary, with a note.
	for _ in $(seq 40); do cat "$gh/out/summary.md"; done >"$gh/big.md"
	[ "$(wc -c <"$gh/big.md")" -gt 1048576 ] || fail "test summary not over 1 MiB"
	cp "$gh/big.md" "$gh/out/summary.md"
	: >"$gh/summary"
	(cd "$gh" && env GITHUB_STEP_SUMMARY="$gh/summary" bash --noprofile --norc -eo pipefail step.sh) || fail "workflow Job summary (big)"
	size="$(wc -c <"$gh/summary")"
	[ "$size" -lt 1048576 ] || fail "workflow Job summary: $size bytes, over GitHub's 1 MiB"
	grep -q 'Summary cut at 1 MB' "$gh/summary" || fail "workflow Job summary: no note on the cut"
	ci_script deploy/github-actions.yml Gate >"$gh/step.sh"
	rc=0
	(cd "$gh" && env RC=1 FAIL_ON=high bash --noprofile --norc -eo pipefail step.sh >/dev/null 2>&1) || rc=$?
	expect_rc 1 "$rc" "workflow Gate with rc=1"
	(cd "$gh" && env RC=0 FAIL_ON=high bash --noprofile --norc -eo pipefail step.sh >/dev/null 2>&1) || fail "workflow Gate with rc=0 failed"

	step "GitLab job's scan block on day 2 (first run)"
	gl="$work/gl"
	mkdir -p "$gl/logs" "$gl/state" "$gl/out" "$gl/gopath/bin"
	cp "$config" "$work/etc/k8s-events.json" "$gl/"
	cp -r "$work/day2/." "$gl/logs/"
	cp "$bin" "$gl/gopath/bin/vaultsentry"
	ci_script deploy/gitlab-ci.yml gitlab >"$gl/job.sh"
	rc=0
	(cd "$gl" && env GOPATH="$gl/gopath" VAULTSENTRY_FAIL_ON=high NO_COLOR=1 bash --noprofile --norc -e job.sh >"$gl/job.out" 2>&1) || rc=$?
	expect_rc 1 "$rc" "GitLab job on day 2 with VAULTSENTRY_FAIL_ON=high: $(cat "$gl/job.out")"
	cmp -s "$gl/out/findings.json" "$gl/state/latest.json" || fail "GitLab job: state/latest.json not written"
	grep -q 'findings at or above high' "$gl/job.out" || fail "GitLab job: no message: $(cat "$gl/job.out")"
else
	step "PyYAML not available: the CI templates' shell is not run"
fi

step "ok"
