"""The quality gate: Great Expectations 1.x suites run on the audit marts before publication.

The GX file context lives in the repository's ``expectations/`` folder (suites, validation
definitions, checkpoint: committed; ``uncommitted/`` ignored). The datasource's connection
string is ``${SMARKETING_AUDIT_DB_URL}``, filled in per run, so running the gate never
rewrites a tracked file. Checks run as SQL in DuckDB, on a read-only connection. The gate
runs on a scratch copy of the context, so GX's own ``uncommitted/`` output never lands in the
source tree (which a deployment mounts read-only).

Two measured DuckDB quirks are handled here, in one place each:
* GX fetches SQL results after returning a pooled connection unless the dialect is in its
  persisted-connection list; on DuckDB every expectation then errors. We add duckdb to it.
* GX's column-type reflection ignores the table's schema; the connection's search path is
  set to the audit schema so unqualified names resolve there.

An expectation that *errors* counts as failed: a check that could not run has not passed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smarketing import redact
from smarketing.quality.report import check_counts, counts_line, write_html_report
from smarketing.quality.suites import CHECKPOINT, DATASOURCE, SUITES, check_keys
from smarketing.sources.credentials import register_all_connections

AUDIT_SCHEMA = "audit"
URL_VARIABLE = "SMARKETING_AUDIT_DB_URL"
SEVERITY_FILE = "severity.yml"
SEVERITY_NAMES = {"block": "critical", "warn": "warning"}
QUARANTINE_SUITE = "raw_quarantine"


def load_severity(expectations_dir: Path) -> dict[str, str]:
    """``"<suite>: <check>" -> critical|warning`` from expectations/severity.yml, the one
    home of every gate check's severity: each check must be listed, and nothing else (a typo
    cannot silently disable a check, a new check cannot slip in without a severity). The key
    ``raw_quarantine`` sets the quarantine checks' severity (their names follow the sources).
    """
    import yaml

    path = expectations_dir / SEVERITY_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: it sets the severity of every gate check")
    raw = (yaml.safe_load(path.read_text()) or {}).get("checks") or {}
    known = set(check_keys()) | {QUARANTINE_SUITE}
    severity = {}
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"{path}: no check named {key!r}")
        if value not in SEVERITY_NAMES:
            raise ValueError(f"{path}: severity of {key!r} must be block or warn, not {value!r}")
        severity[key] = SEVERITY_NAMES[value]
    missing = sorted(known - set(severity))
    if missing:
        raise ValueError(f"{path}: no severity for {', '.join(repr(m) for m in missing)}")
    return severity


@dataclass(frozen=True)
class CheckResult:
    suite: str
    check: str
    column: str | None
    success: bool
    severity: str
    observed: str
    expected: str


@dataclass(frozen=True)
class CheckFailure:
    suite: str
    check: str
    column: str | None
    observed: str
    expected: str

    def line(self) -> str:
        where = f"{self.suite}.{self.column}" if self.column else self.suite
        return f"{where}: {self.check}: observed {self.observed}; expected {self.expected}"


@dataclass(frozen=True)
class GateResult:
    success: bool
    checks_run: int
    failures: list[CheckFailure]
    warnings: list[CheckFailure]
    report_path: Path

    @property
    def counts(self) -> dict[str, int]:
        """Checks blocked, warned and passed: the same three numbers everywhere."""
        return check_counts(self.checks_run, len(self.failures), len(self.warnings))

    def counts_line(self) -> str:
        return counts_line(self.counts)


class QualityGateFailed(RuntimeError):
    """The audit marts failed blocking checks; nothing was published."""


def _gx():
    """Import GX with analytics and the DuckDB persisted-connection fix applied (~7 s)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    from smarketing.quiet import quiet_great_expectations

    quiet_great_expectations()
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_mod

    class _Dialect(str):
        """A plain dialect name that also answers ``.value``, as GX's enum members do."""

        @property
        def value(self) -> str:
            return str(self)

    current = tuple(engine_mod._PERSISTED_CONNECTION_DIALECTS)
    if "duckdb" not in [str(getattr(d, "value", d)) for d in current]:
        engine_mod._PERSISTED_CONNECTION_DIALECTS = (*current, _Dialect("duckdb"))
    return gx


def audit_url(audit_db: Path) -> str:
    return f"duckdb:///{audit_db.resolve().as_posix()}?access_mode=read_only"


def _context(expectations_dir: Path, audit_db: Path):
    gx = _gx()
    os.environ[URL_VARIABLE] = audit_url(audit_db)
    return gx, gx.get_context(mode="file", context_root_dir=str(expectations_dir))


def _use_audit_schema(datasource) -> None:
    from sqlalchemy import event

    engine = datasource.get_execution_engine().engine

    @event.listens_for(engine, "connect")
    def _set_search_path(dbapi_connection, _record) -> None:
        dbapi_connection.execute(f"set search_path = '{AUDIT_SCHEMA}'")

    engine.dispose()  # connections opened before the listener must not be reused


def init_context(expectations_dir: Path) -> list[Path]:
    """(Re)write the committed GX context from ``suites.py``.

    GX checks each table asset's connection when it is added, so the context is built against
    a scratch database holding an empty table per suite; the committed datasource keeps the
    ``${SMARKETING_AUDIT_DB_URL}`` placeholder, so nothing environment-specific is written.
    """
    import tempfile

    import duckdb

    scratch = Path(tempfile.mkdtemp(prefix="smarketing-gx-init-")) / "scratch.duckdb"
    con = duckdb.connect(str(scratch))
    con.execute(f"create schema {AUDIT_SCHEMA}")
    for suite_def in SUITES:
        con.execute(f'create table {AUDIT_SCHEMA}."{suite_def.table}" (placeholder integer)')
    con.close()
    severity = load_severity(expectations_dir)
    gx, ctx = _context(expectations_dir, scratch)
    import great_expectations.expectations as gxe

    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    ctx.variables.analytics_enabled = False
    ctx.variables.save()
    if DATASOURCE in [d.name for d in ctx.data_sources.all().values()]:
        ctx.data_sources.delete(DATASOURCE)
    ds = ctx.data_sources.add_sql(name=DATASOURCE, connection_string="${" + URL_VARIABLE + "}")
    definitions = []
    for suite_def in SUITES:
        asset = ds.add_table_asset(
            name=suite_def.table, table_name=suite_def.table, schema_name=AUDIT_SCHEMA
        )
        batch = asset.add_batch_definition_whole_table("whole_table")
        for name in [s.name for s in ctx.suites.all()]:
            if name == suite_def.table:
                ctx.suites.delete(name)
        suite = ctx.suites.add(gx.ExpectationSuite(name=suite_def.table))
        for check in suite_def.checks:
            cls = getattr(gxe, check.expectation)
            suite.add_expectation(
                cls(
                    **check.kwargs,
                    description=check.name,
                    severity=severity[f"{suite_def.table}: {check.name}"],
                    meta={"check": check.name},
                )
            )
        suite.save()
        with contextlib.suppress(Exception):
            ctx.validation_definitions.delete(suite_def.table)
        definitions.append(
            ctx.validation_definitions.add(
                gx.ValidationDefinition(name=suite_def.table, data=batch, suite=suite)
            )
        )
    with contextlib.suppress(Exception):
        ctx.checkpoints.delete(CHECKPOINT)
    # COMPLETE: SQL checks then report the offending rows (observed vs expected values)
    ctx.checkpoints.add(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=definitions,
            actions=[],
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
        )
    )
    return sorted(p for p in expectations_dir.rglob("*") if p.is_file())


def _text(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, default=str, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_message(exception_info: Any) -> str | None:
    """GX nests exception info per metric; return the first raised exception's message."""
    if not isinstance(exception_info, dict):
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for value in exception_info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))
    return None


def _observed(result: dict) -> str:
    if "observed_value" in result and "details" not in result:
        return _text(result["observed_value"])
    if "details" in result and result["details"].get("unexpected_rows"):
        return f"{result.get('observed_value')} rows: " + _text(
            result["details"]["unexpected_rows"]
        )
    if "unexpected_count" in result:
        sample = result.get("partial_unexpected_list") or result.get("unexpected_list") or []
        return f"{result['unexpected_count']} unexpected, e.g. {_text(sample[:5])}"
    return _text(result.get("observed_value", result))


def _expected(config: Any) -> str:
    kwargs = {k: v for k, v in dict(config.kwargs).items() if k not in ("batch_id", "column")}
    if "unexpected_rows_query" in kwargs:
        return "no rows from: " + _text(kwargs["unexpected_rows_query"], 200)
    return f"{config.type}({_text(kwargs, 200)})"


def run_gate(
    audit_db: Path,
    expectations_dir: Path,
    report_dir: Path,
    run_id: str,
    extra_checks: list[CheckResult] | None = None,
) -> GateResult:
    """Run the committed checkpoint on the audit marts and write the per-run report.

    ``extra_checks`` (checks on raw, e.g. quarantined money) join the report and the verdict.
    """
    if not audit_db.exists():
        raise FileNotFoundError(f"audit database {audit_db} does not exist; run dbt build first")
    severity = load_severity(expectations_dir)
    with tempfile.TemporaryDirectory(prefix="smarketing-gx-") as scratch:
        context_dir = Path(scratch) / "expectations"
        shutil.copytree(expectations_dir, context_dir, ignore=shutil.ignore_patterns("uncommitted"))
        _, ctx = _context(context_dir, audit_db)
        datasource = ctx.data_sources.get(DATASOURCE)
        _use_audit_schema(datasource)
        try:
            outcome = ctx.checkpoints.get(CHECKPOINT).run()
        finally:
            # release the read-only handle: the next step (publish) may run in this process
            engine = datasource.get_execution_engine()
            engine.close()
            engine.engine.dispose()
    checks: list[CheckResult] = []
    for validation in outcome.run_results.values():
        suite = validation.suite_name
        for res in validation.results:
            config = res.expectation_config
            error = _error_message(res.exception_info)
            name = config.description or config.type
            checks.append(
                CheckResult(
                    suite=suite,
                    check=name,
                    column=config.kwargs.get("column"),
                    success=bool(res.success) and error is None,
                    severity=severity[f"{suite}: {name}"],
                    observed=f"error: {_text(error)}" if error else _observed(res.result or {}),
                    expected=_expected(config),
                )
            )
    checks.extend(replace(c, severity=severity[c.suite]) for c in extra_checks or ())
    failures = [
        CheckFailure(c.suite, c.check, c.column, c.observed, c.expected)
        for c in checks
        if not c.success and c.severity == "critical"
    ]
    warnings = [
        CheckFailure(c.suite, c.check, c.column, c.observed, c.expected)
        for c in checks
        if not c.success and c.severity != "critical"
    ]
    folder = report_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "run_id": run_id,
        "validated_at": datetime.now(UTC).isoformat(),
        "audit_db": str(audit_db),
        "success": not failures,
        "counts": check_counts(len(checks), len(failures), len(warnings)),
        "checks": [asdict(c) for c in checks],
    }
    register_all_connections()  # a report never shows a credential, whatever the data holds
    payload = json.loads(redact.scrub_known(json.dumps(payload)))
    (folder / "validation.json").write_text(json.dumps(payload, indent=1))
    report = write_html_report(folder / "validation.html", payload)
    return GateResult(not failures, len(checks), failures, warnings, report)


def assert_gate_passes(result: GateResult) -> None:
    """Raise QualityGateFailed listing every blocking failure, observed vs expected."""
    if result.success:
        return
    lines = "\n".join(f"  - {f.line()}" for f in result.failures)
    raise QualityGateFailed(
        f"quality gate failed: {len(result.failures)} of {result.checks_run} checks blocked "
        f"publication ({result.counts_line()}; report: {result.report_path}):\n{lines}"
    )
