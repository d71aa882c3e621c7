# Embedded-default environment for Airflow: project-local AIRFLOW_HOME with a SQLite metadata
# DB, this repo's dags/, no examples. Sourced by run_nightly.sh; the tests set the same.
ROOT="${ROOT:-$(pwd)}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/airflow_home}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export SMARKETING_RETRY_DELAY_SECONDS="${SMARKETING_RETRY_DELAY_SECONDS:-5}"  # fail fast locally
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-2}"
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"
export SMARKETING_DATA_DIR="${SMARKETING_DATA_DIR:-$ROOT/data}"
export GX_ANALYTICS_ENABLED=False
export DBT_SEND_ANONYMOUS_USAGE_STATS=False
mkdir -p "$AIRFLOW_HOME"
