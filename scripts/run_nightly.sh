#!/usr/bin/env bash
# Runs the nightly DAG once, end to end, on the embedded default: a DuckDB warehouse, Airflow
# with a SQLite metadata DB under ./airflow_home, and the demo company's data.
#   RUN_DATE=2026-04-01 scripts/run_nightly.sh   # the run at 02:00 UTC that day (data day: the day before)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# shellcheck source=scripts/airflow_env.sh
source scripts/airflow_env.sh

DEMO_START="${SMARKETING_DEMO_START:-2026-01-01}"
DEMO_END="${SMARKETING_DEMO_END:-2026-03-31}"
RUN_DATE="${RUN_DATE:-$(python -c "import datetime as d; print(d.date.fromisoformat('$DEMO_END') + d.timedelta(days=1))")}"

mkdir -p "$SMARKETING_DATA_DIR"
# One run at a time per data folder: a second `make run` is told who runs and since when.
if [ -z "${SMARKETING_RUN_LOCK_HELD:-}" ]; then
  exec smarketing run-locked --what "make run RUN_DATE=$RUN_DATE" -- "$ROOT/scripts/run_nightly.sh" "$@"
fi
echo "==> Airflow metadata DB: $AIRFLOW_HOME (SQLite)"
airflow db migrate >"$AIRFLOW_HOME/migrate.log" 2>&1 || { cat "$AIRFLOW_HOME/migrate.log"; exit 1; }
airflow pools set "${SMARKETING_DUCKDB_POOL:-duckdb_warehouse}" 1 "Serialises DuckDB writers" >/dev/null

echo "==> Demo company: $DEMO_START .. $DEMO_END, its vendor APIs on 127.0.0.1"
smarketing demo generate --start "$DEMO_START" --end "$DEMO_END" >/dev/null
# The demo serves HubSpot, Mailchimp, Google Ads and Meta wire formats; the connectors reach it
# through Airflow Connections given as AIRFLOW_CONN_* variables (demo credentials only).
CONN_ENV="$SMARKETING_DATA_DIR/demo_connections.env"
rm -f "$CONN_ENV"
smarketing demo serve --env-file "$CONN_ENV" >"$SMARKETING_DATA_DIR/demo_server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$CONN_ENV" ] && break; sleep 0.1; done
[ -s "$CONN_ENV" ] || { cat "$SMARKETING_DATA_DIR/demo_server.log"; echo "demo server did not start"; exit 1; }
# shellcheck disable=SC1090
source "$CONN_ENV"

echo "==> airflow dags test smarketing_nightly ${RUN_DATE}T02:00:00+00:00 (initial load from $DEMO_START)"
LOG="$SMARKETING_DATA_DIR/last_run.log"
# third-party noise (GX chatter, resource_tracker warnings, nanobind's exit report) is dropped
# from the log, so a failure's tail ends with the real error (pattern: smarketing/quiet.py)
NOISE="$(python -c 'from smarketing.quiet import NOISE_PATTERN; print(NOISE_PATTERN)')"
if ! airflow dags test smarketing_nightly "${RUN_DATE}T02:00:00+00:00" \
      -c "{\"extract_start\": \"$DEMO_START\"}" 2>&1 | sed -E "\\#$NOISE#d" >"$LOG"; then
  tail -n 60 "$LOG"
  # the exception that failed the run, last (e.g. DbtBuildFailed, QualityGateFailed)
  grep -E "^[A-Za-z_.]*(Error|Failed|Exception)(:|$)" "$LOG" | tail -n 3 || true
  echo "Run failed; full log: $LOG"; exit 1
fi
if ! grep -qE "DagRun Finished: .*state=success" "$LOG"; then
  grep -E "ERROR|Traceback|failed" "$LOG" | tail -n 40; echo "Run did not succeed; full log: $LOG"; exit 1
fi
echo "==> Run succeeded (log: $LOG)"
echo
smarketing summary
