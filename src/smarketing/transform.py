"""Run dbt in-process (``dbtRunner``) to build staging → intermediate → audit marts.

One ``dbt build`` runs seeds, models, snapshots, unit tests and data tests in DAG order, so a
failing unit or data test stops the marts that depend on it. It writes dbt's target/ and logs
under the data folder, never into the repository.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from smarketing.config import Settings


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
        "SMARKETING_ATTRIBUTION_LOOKBACK_DAYS": str(settings.attribution_lookback_days),
        "SMARKETING_ATTRIBUTION_HALF_LIFE_DAYS": str(settings.attribution_half_life_days),
        "SMARKETING_INCREMENTAL_LOOKBACK_DAYS": str(settings.incremental_lookback_days),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for dbt's profile only while dbt runs: the settings read the same names,
    so a leaked value would redirect every later step of this process."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


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


def run_dbt(settings: Settings, command: str = "build", *extra: str) -> DbtSummary:
    """Invoke dbt; raise DbtBuildFailed naming every failed or errored node."""
    from dbt.cli.main import dbtRunner  # heavy import: only when a task runs

    Path(settings.data_dir / "dbt").mkdir(parents=True, exist_ok=True)
    with _environment(dbt_env(settings)):
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
            failures.append(f"{node_result.node.unique_id}: {status}: {node_result.message}")
    if not result.success:
        detail = "\n".join(failures) or repr(result.exception)
        raise DbtBuildFailed(f"dbt {command} failed:\n{detail}")
    return DbtSummary(True, counts, failures)
