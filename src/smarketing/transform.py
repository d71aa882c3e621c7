"""Run dbt in-process (``dbtRunner``) to build staging → intermediate → audit marts.

Before dbt runs models, :func:`smarketing.fx.write_daily_rates` writes the exchange rates
into ``raw.fx__daily_rates`` from the ECB file shipped with a package (no network).
One ``dbt build`` runs seeds, models, snapshots, unit tests and data tests in DAG order, so a
failing unit or data test stops the marts that depend on it. It writes dbt's target/ and logs
under the data folder, never into the repository.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from smarketing import pseudonyms
from smarketing.config import Settings
from smarketing.envvars import temporary_environment

log = logging.getLogger(__name__)


class DbtBuildFailed(RuntimeError):
    """dbt build did not succeed; the message lists each failed node and why."""


@dataclass(frozen=True)
class DbtSummary:
    success: bool
    counts: dict[str, int]  # status -> nodes
    failures: list[str]


def dbt_args(settings: Settings, command: str, *extra: str) -> list[str]:
    dbt_dir = settings.data_dir / "dbt"
    return [
        *command.split(),  # e.g. "build" or "docs generate"
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_project_dir),
        "--target-path",
        str(dbt_dir / "target"),
        "--log-path",
        str(dbt_dir / "logs"),
        "--no-use-colors",
        *extra,
    ]


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment dbt's profile and vars read (see dbt_project/profiles.yml)."""
    return {
        "SMARKETING_WAREHOUSE_PATH": str(settings.warehouse_path),
        "SMARKETING_REPORTING_CURRENCY": settings.reporting_currency,
        "SMARKETING_HUBSPOT_COMPANY_CURRENCY": settings.hubspot_company_currency,
        "SMARKETING_SLA_HOURS": str(settings.sla_hours),
        "SMARKETING_DISQUALIFICATION_REASON_PROPERTY": settings.disqualification_reason_property,
        "SMARKETING_CONTRACT_MONTHS": str(settings.contract_months),
        "SMARKETING_ATTRIBUTION_LOOKBACK_DAYS": str(settings.attribution_lookback_days),
        "SMARKETING_ATTRIBUTION_HALF_LIFE_DAYS": str(settings.attribution_half_life_days),
        "SMARKETING_INCREMENTAL_LOOKBACK_DAYS": str(settings.incremental_lookback_days),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the process.

    Under ``airflow dags test`` every task runs in one process: a cached read-write handle
    would stop the gate from opening the file read-only ("different configuration").
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


# dbt commands that read the warehouse's raw tables
_RUNS_MODELS = {"build", "run", "test"}
# rows of a failed data test shown in the error (the test's own query, re-run read-only)
_SHOWN_ROWS = 10


def failing_rows(warehouse_path: Path, compiled_sql: str | None) -> str:
    """The first rows a failed data test returned, as ``column=value`` lines: a test such as
    the missing exchange rate check names the currency, days and rows affected this way."""
    if not compiled_sql:
        return ""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.Error:
        return ""
    try:
        cursor = con.execute(f"select * from ({compiled_sql}) limit {_SHOWN_ROWS + 1}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error:
        return ""
    finally:
        con.close()
    lines = [
        "    " + ", ".join(f"{n}={v}" for n, v in zip(names, row, strict=True))
        for row in rows[:_SHOWN_ROWS]
    ]
    if len(rows) > _SHOWN_ROWS:
        lines.append("    …")
    return "\n".join(lines)


def run_dbt(settings: Settings, command: str = "build", *extra: str) -> DbtSummary:
    """Invoke dbt; raise DbtBuildFailed naming every failed or errored node (and, for a failed
    data test, its first rows).

    The pseudonym key (smarketing.pseudonyms) must be configured: without it nothing is
    built. A key other than the one that built the warehouse needs ``--full-refresh``.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when a task runs

    from smarketing.quiet import quiet_resource_tracker

    key = pseudonyms.load_key()
    if key.demo:
        log.warning("demo: person keys use the demo's generated pseudonym key (not for real data)")
    builds = command.split()[0] in {"build", "run"}
    if builds:
        pseudonyms.check_key_unchanged(settings.warehouse_path, key, "--full-refresh" in extra)
    quiet_resource_tracker()
    Path(settings.data_dir / "dbt").mkdir(parents=True, exist_ok=True)
    if command.split()[0] in _RUNS_MODELS:
        from smarketing.fx import write_daily_rates

        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        write_daily_rates(
            settings.warehouse_path,
            settings.fx_rates_path,
            settings.fx_max_carry_days,
            settings.fx_max_stale_days,
        )
        if settings.fx_max_stale_days:
            log.warning(
                "exchange rates: up to %d days after the shipped ECB history ends use its last"
                " rate (SMARKETING_FX_MAX_STALE_DAYS); amounts of those days are approximate",
                settings.fx_max_stale_days,
            )
    with temporary_environment({**dbt_env(settings), pseudonyms.DBT_ENV: key.secret}):
        try:
            result = dbtRunner().invoke(dbt_args(settings, command, *extra))
        finally:
            _release_duckdb()
    counts: dict[str, int] = {}
    failures: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        counts[status] = counts.get(status, 0) + 1
        if status in {"error", "fail", "runtime error"}:
            line = f"{node_result.node.unique_id}: {status}: {node_result.message}"
            if status == "fail":
                rows = failing_rows(
                    settings.warehouse_path, getattr(node_result.node, "compiled_code", None)
                )
                line += f"\n{rows}" if rows else ""
            failures.append(line)
    if not result.success:
        detail = "\n".join(failures) or repr(result.exception)
        raise DbtBuildFailed(f"dbt {command} failed:\n{detail}")
    if builds:
        _record_key(settings, key)
    return DbtSummary(True, counts, failures)


def _record_key(settings: Settings, key: pseudonyms.PseudonymKey) -> None:
    """Remember the fingerprint of the key this build used (see check_key_unchanged)."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path))
    try:
        pseudonyms.record_key(con, key)
    finally:
        con.close()
