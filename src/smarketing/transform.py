"""Run dbt in-process (``dbtRunner``) to build staging → intermediate → audit marts.

Before dbt runs models, :func:`smarketing.fx.write_daily_rates` writes the exchange rates
into ``raw.fx__daily_rates`` from the ECB file shipped with a package (no network).
One ``dbt build`` runs seeds, models, snapshots, unit tests and data tests in DAG order, so a
failing unit or data test stops the marts that depend on it. It writes dbt's target/ and logs
under the data folder, never into the repository.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from smarketing import pseudonyms
from smarketing.config import Settings
from smarketing.envvars import temporary_environment

log = logging.getLogger(__name__)


class DbtBuildFailed(RuntimeError):
    """dbt build did not succeed; the message lists each failed node and why."""


class DbtOutOfMemory(DbtBuildFailed):
    """A model or test needed more memory than SMARKETING_DUCKDB_MEMORY_LIMIT allows.

    A DbtBuildFailed, so it fails fast like one (smarketing.failfast): DuckDB's limit is its
    own accounting, so the same data under the same setting runs out again on a retry.
    """

    def __init__(self, message: str, nodes: tuple[str, ...], memory_limit: str) -> None:
        super().__init__(message)
        self.nodes = nodes  # unique_ids of the nodes that ran out of memory
        self.memory_limit = memory_limit

    def __reduce__(self) -> tuple:
        # pickled across processes whole (the default would call __init__ with the message only)
        return type(self), (str(self), self.nodes, self.memory_limit)


@dataclass(frozen=True)
class DbtSummary:
    success: bool
    counts: dict[str, int]  # status -> nodes
    failures: list[str]


def dbt_args(settings: Settings, command: str, *extra: str) -> list[str]:
    """dbt's command line; ``--vars`` carries the enabled vendors of smarketing.vendors, so
    the int_* models union exactly the vendors the DAG extracts."""
    import json

    from smarketing.vendors import dbt_vars

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
        "--vars",
        json.dumps(dbt_vars(settings)),
        *extra,
    ]


def dbt_env(settings: Settings) -> dict[str, str]:
    """Environment dbt's profile and vars read (see dbt_project/profiles.yml)."""
    return {
        "SMARKETING_WAREHOUSE_PATH": str(settings.warehouse_path),
        "SMARKETING_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "SMARKETING_REPORTING_CURRENCY": settings.reporting_currency,
        "SMARKETING_HUBSPOT_COMPANY_CURRENCY": settings.hubspot_company_currency,
        "SMARKETING_SLA_HOURS": str(settings.sla_hours),
        "SMARKETING_DISQUALIFICATION_REASON_PROPERTY": settings.disqualification_reason_property,
        "SMARKETING_CONTRACT_MONTHS": str(settings.contract_months),
        "SMARKETING_PACING_ON_TRACK": str(settings.pacing_on_track),
        "SMARKETING_PACING_AT_RISK": str(settings.pacing_at_risk),
        "SMARKETING_PACING_TRAILING_DAYS": str(settings.pacing_trailing_days),
        "SMARKETING_ATTRIBUTION_LOOKBACK_DAYS": str(settings.attribution_lookback_days),
        "SMARKETING_ATTRIBUTION_HALF_LIFE_DAYS": str(settings.attribution_half_life_days),
        "SMARKETING_ATTRIBUTION_SKIP_DIRECT": str(settings.attribution_skip_direct).lower(),
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
# fingerprint of the dbt project (and its settings) of the last successful whole build
_PROJECT_FINGERPRINT = "project.fingerprint"
# folders under the dbt project that are output, not source
_NOT_SOURCE = {"target", "logs", "dbt_packages"}


def project_fingerprint(settings: Settings) -> str:
    """SHA-256 over the dbt project's files (names and contents), its settings (the vars dbt
    reads from the environment and the registry's vendors) and the warehouse path.

    When it matches the last successful whole build's, a nightly build skips what depends
    on nothing but the project: reloading the seeds (small CSVs, their tests) and the
    unit tests (fixed inputs given in YAML). Their results cannot differ from last night's,
    and together they are ~20 of the build's ~170 nodes.
    """
    import json

    from smarketing.vendors import dbt_vars

    digest = hashlib.sha256(str(settings.warehouse_path.resolve()).encode() + b"\0")
    for name, value in sorted(dbt_env(settings).items()):
        digest.update(f"{name}={value}\0".encode())
    # the vendors the unions read (a vendor switched on or off changes the models)
    digest.update(json.dumps(dbt_vars(settings), sort_keys=True).encode() + b"\0")
    root = settings.dbt_project_dir
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] not in _NOT_SOURCE:
            digest.update(rel.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _seed_tables_present(settings: Settings) -> bool:
    """Every seed (a CSV under seeds/) is a table in the warehouse's ``seeds`` schema."""
    import duckdb

    wanted = {p.stem for p in (settings.dbt_project_dir / "seeds").rglob("*.csv")}
    if not settings.warehouse_path.exists():
        return False
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.Error:
        return False
    try:
        have = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'seeds'"
            ).fetchall()
        }
    finally:
        con.close()
    return wanted <= have


def project_unchanged(settings: Settings) -> bool:
    """The last successful whole build ran this very project (and settings) on this warehouse,
    and its seed tables are still there."""
    recorded = settings.data_dir / "dbt" / _PROJECT_FINGERPRINT
    return (
        recorded.exists()
        and recorded.read_text().strip() == project_fingerprint(settings)
        and _seed_tables_present(settings)
    )


# What a nightly build of an unchanged project leaves out: the seeds, the unit tests and the
# data tests that read nothing but seeds (their inputs did not change). "cautious" keeps every
# test with a parent that is built (a model's accepted channels read the channels seed too):
# dbt's default, "eager", would drop a test when any of its parents is excluded.
SKIP_FIXED_ARGS = (
    "--exclude",
    "resource_type:seed",
    "resource_type:unit_test",
    "--indirect-selection",
    "cautious",
)


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


# DuckDB's prefix of an out-of-memory error (its OutOfMemoryException), which dbt passes on
# only as text in the node's message
_OUT_OF_MEMORY = "Out of Memory Error"


def _without_duckdb_hints(message: str) -> str:
    """A node's error without DuckDB's "Possible solutions:" block: its advice (``SET
    memory_limit``, ``SET threads``) names statements the pipeline's user cannot run."""
    lines = message.splitlines()
    cut = next((i for i, line in enumerate(lines) if line.strip() == "Possible solutions:"), None)
    return "\n".join(lines[:cut]).rstrip()


def out_of_memory_error(
    command: str, nodes: list[str], failures: list[str], memory_limit: str
) -> DbtOutOfMemory:
    """What to do when DuckDB ran out of memory, in the pipeline's terms (as load_raw's
    LoadOutOfMemory): the setting and its value, the nodes, then every failed node's line."""
    named = ", ".join(nodes) or "dbt's own queries"
    return DbtOutOfMemory(
        f"dbt {command} ran out of memory: DuckDB needed more than"
        f" SMARKETING_DUCKDB_MEMORY_LIMIT={memory_limit} allows in {named}. Raise"
        " SMARKETING_DUCKDB_MEMORY_LIMIT and re-run (the machine must have that much memory"
        " free: stop other jobs or add memory if it has not); the published marts are"
        " unchanged.\n" + "\n".join(failures),
        tuple(nodes),
        memory_limit,
    )


def run_dbt(settings: Settings, command: str = "build", *extra: str) -> DbtSummary:
    """Invoke dbt; raise DbtBuildFailed naming every failed or errored node (and, for a failed
    data test, its first rows), DbtOutOfMemory when DuckDB ran out of memory in any of them.

    The pseudonym key (smarketing.pseudonyms) must be configured: without it nothing is
    built. A key other than the one that built the warehouse needs ``--full-refresh``.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when a task runs

    from smarketing.quiet import quiet_resource_tracker

    key = pseudonyms.load_key()
    if key.demo:
        log.warning("demo: person keys use the demo's generated pseudonym key (not for real data)")
    builds = command.split()[0] in {"build", "run"}
    full_refresh = "--full-refresh" in extra
    if builds:
        pseudonyms.check_key_unchanged(settings.warehouse_path, key, full_refresh)
    whole_build = command.split()[0] == "build" and not {"--select", "--exclude"} & set(extra)
    skip_fixed = whole_build and not full_refresh and project_unchanged(settings)
    if skip_fixed:
        log.info(
            "dbt project unchanged since the last build: seeds, their own tests and unit tests"
            " not re-run"
        )
        extra = (*extra, *SKIP_FIXED_ARGS)
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
    out_of_memory: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        counts[status] = counts.get(status, 0) + 1
        if status in {"error", "fail", "runtime error"}:
            message = str(node_result.message)
            if _OUT_OF_MEMORY in message:
                out_of_memory.append(node_result.node.unique_id)
                message = _without_duckdb_hints(message)
            line = f"{node_result.node.unique_id}: {status}: {message}"
            if status == "fail":
                rows = failing_rows(
                    settings.warehouse_path, getattr(node_result.node, "compiled_code", None)
                )
                line += f"\n{rows}" if rows else ""
            failures.append(line)
    if not result.success:
        detail = "\n".join(failures) or repr(result.exception)
        if out_of_memory or (not failures and _OUT_OF_MEMORY in str(result.exception)):
            lines = failures or [_without_duckdb_hints(str(result.exception))]
            raise out_of_memory_error(command, out_of_memory, lines, settings.duckdb_memory_limit)
        raise DbtBuildFailed(f"dbt {command} failed:\n{detail}")
    if builds:
        _record_key(settings, key)
    if whole_build and not skip_fixed:
        (settings.data_dir / "dbt" / _PROJECT_FINGERPRINT).write_text(project_fingerprint(settings))
    return DbtSummary(True, counts, failures)


def _record_key(settings: Settings, key: pseudonyms.PseudonymKey) -> None:
    """Remember the fingerprint of the key this build used (see check_key_unchanged)."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path))
    try:
        pseudonyms.record_key(con, key)
    finally:
        con.close()
