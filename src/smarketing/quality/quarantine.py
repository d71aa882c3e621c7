"""Gate checks on what the load kept out of raw: quarantined money and the reconciliation.

A record quarantined under the share threshold is still a number missing from the marts.
Counting it is not enough: a won deal or a large spend row must stop publication, named,
and every entity must reconcile extracted (landing manifest) = loaded + quarantined (raw).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from smarketing.intervals import DataWindow
from smarketing.landing import interval_dir, read_manifest
from smarketing.quality.gate import CheckResult
from smarketing.quality.suites import sql
from smarketing.sources.catalog import ENTITIES, EntitySpec

SUITE = "raw_quarantine"
WON_STAGE = "closedwon"
MAX_NAMED = 10


def _check(name: str, success: bool, observed: str, expected: str) -> CheckResult:
    # severity: expectations/severity.yml (key raw_quarantine), applied by run_gate
    return CheckResult(SUITE, name, None, success, "critical", observed, expected)


def _named(rows: list[tuple]) -> str:
    shown = "; ".join(f"{r[0]} field={r[1]} ({r[2]}) value={r[3]}" for r in rows[:MAX_NAMED])
    more = f"; and {len(rows) - MAX_NAMED} more" if len(rows) > MAX_NAMED else ""
    return shown + more


def _money(value: Decimal | None) -> str:
    return "unknown" if value is None else f"{value:,.2f}"


def quarantine_checks(
    warehouse_path: Path,
    landing_dir: Path,
    window: DataWindow,
    max_spend: float,
    specs: tuple[EntitySpec, ...] = ENTITIES,
) -> list[CheckResult]:
    """The blocking checks on the interval's quarantine and load counts."""
    interval = window.key
    from smarketing.warehouse.load import LOADS_TABLE, QUARANTINE_TABLE, connect

    con = connect(warehouse_path, read_only=True)
    try:
        present = {
            f"raw.{r[0]}"
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        missing = sorted({LOADS_TABLE, QUARANTINE_TABLE} - present)
        if missing:
            return [
                _check(
                    "extracted = loaded + quarantined for every entity",
                    False,
                    f"{', '.join(missing)} missing from {warehouse_path}",
                    "load_raw ran for the interval before the gate",
                )
            ]
        checks = [
            *_value_checks(con, interval, max_spend, specs),
            *_reconcile(con, landing_dir, window, specs),
        ]
    finally:
        con.close()
    return checks


def _value_checks(con, interval: str, max_spend: float, specs) -> list:
    checks = []
    for spec in specs:
        if not spec.value_path:
            continue
        rows = con.execute(
            sql("quarantine_rows"), [WON_STAGE, spec.source, spec.entity, interval]
        ).fetchall()
        total = sum((r[3] for r in rows if r[3] is not None), Decimal(0))
        unknown = [r for r in rows if r[3] is None]
        summary = f"{len(rows)} quarantined, value {_money(total)}" + (
            f" (+{len(unknown)} of unknown value)" if unknown else ""
        )
        if spec.entity == "deals":
            won = [r for r in rows if r[4]]
            checks.append(
                _check(
                    f"{spec.source}.{spec.entity}: no won deal is quarantined",
                    not won,
                    summary + (f"; won: {_named(won)}" if won else ""),
                    "no quarantined deal in stage closedwon (fix it at the source, re-run)",
                )
            )
            continue
        over = total > Decimal(str(max_spend)) or bool(unknown)
        checks.append(
            _check(
                f"{spec.source}.{spec.entity}: quarantined spend at most {max_spend:g}",
                not over,
                summary + (f": {_named(rows)}" if over else ""),
                f"quarantined spend <= {max_spend:g} (SMARKETING_QUARANTINE_MAX_SPEND),"
                " none of unknown value",
            )
        )
    return checks


def _reconcile(con, landing_dir: Path, window: DataWindow, specs):
    problems, entities, interval = [], 0, window.key
    for spec in specs:
        row = con.execute(sql("load_counts"), [spec.raw_table, interval]).fetchone()
        name = f"{spec.source}/{spec.entity}"
        if row is None:
            problems.append(f"{name}: not loaded for interval {interval}")
            continue
        extracted, loaded, quarantined, in_raw = row
        folder = interval_dir(landing_dir, spec, window)
        manifest = read_manifest(folder) if folder.exists() else {}
        landed_extracted = int(manifest.get("extracted", -1))
        entities += 1
        if not (extracted == loaded + quarantined == landed_extracted and quarantined == in_raw):
            problems.append(
                f"{name}: extracted {landed_extracted} (landing) / {extracted} (load),"
                f" loaded {loaded}, quarantined {quarantined} ({in_raw} in raw)"
            )
    return [
        _check(
            "extracted = loaded + quarantined for every entity",
            not problems,
            "; ".join(problems) if problems else f"{entities} entities reconcile",
            "landing manifest extracted = loaded + quarantined rows in raw._quarantine",
        )
    ]
