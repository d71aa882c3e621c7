"""The quality gate: passes on good audit marts, blocks each injected fault by name."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from smarketing.quality.gate import QualityGateFailed, assert_gate_passes, run_gate
from smarketing.quality.suites import SUITES
from tests.conftest import PROJECT_DIR

EXPECTATIONS = PROJECT_DIR / "expectations"
N_CHECKS = sum(len(s.checks) for s in SUITES)

FUNNEL_DDL = """create table audit.fct_lead_funnel (
    lead_id varchar, person_key varchar, first_touch_channel varchar,
    first_touch_campaign varchar, visitor_at timestamp, lead_at timestamp, mql_at timestamp,
    sql_at timestamp, opportunity_at timestamp, won_at timestamp, lost_at timestamp,
    deal_id varchar, deal_amount decimal(18, 2), deal_currency varchar)"""
DAILY_DDL = """create table audit.mart_channel_daily (
    date_day date, channel varchar, spend decimal(18, 2), impressions bigint, clicks bigint,
    sessions bigint, leads bigint, won_deals bigint, won_revenue decimal(18, 2))"""


def build_audit(path: Path) -> Path:
    """Three leads, one won for 1500.00 on Jan 9 via paid_search; consistent daily rows."""
    con = duckdb.connect(str(path))
    con.execute("create schema audit")
    con.execute(FUNNEL_DDL)
    con.execute(DAILY_DDL)
    con.execute("""insert into audit.fct_lead_funnel values
        ('1', 'h1', 'paid_search', 'brand', '2026-01-01 09:00', '2026-01-01 10:00',
         '2026-01-02 10:00', '2026-01-03 10:00', '2026-01-04 10:00', '2026-01-09 10:00', null,
         'd1', 1500.00, 'USD'),
        ('2', 'h2', 'offline', null, null, '2026-01-02 11:00', null, null, null, null, null,
         null, null, null),
        ('3', 'h3', 'email', 'nl', '2026-01-02 08:00', '2026-01-02 12:00', '2026-01-03 09:00',
         null, '2026-01-05 09:00', null, '2026-01-08 09:00', 'd3', 900.00, 'USD')""")
    con.execute("""insert into audit.mart_channel_daily values
        ('2026-01-01', 'paid_search', 12.50, 300, 4, 4, 1, 0, 0),
        ('2026-01-02', 'offline', 0, 0, 0, 0, 1, 0, 0),
        ('2026-01-02', 'email', 0, 0, 0, 2, 1, 0, 0),
        ('2026-01-09', 'paid_search', 7.25, 100, 2, 2, 0, 1, 1500.00)""")
    con.close()
    return path


def tracked_digest() -> str:
    digest = hashlib.sha256()
    for p in sorted(EXPECTATIONS.rglob("*")):
        if p.is_file() and "uncommitted" not in p.parts:
            digest.update(p.read_bytes())
    return digest.hexdigest()


def test_good_marts_pass_every_check_and_touch_no_tracked_file(tmp_path: Path) -> None:
    before = tracked_digest()
    result = run_gate(build_audit(tmp_path / "a.duckdb"), EXPECTATIONS, tmp_path, "good")
    assert (result.success, result.checks_run, result.failures) == (True, N_CHECKS, [])
    assert N_CHECKS == 31
    assert_gate_passes(result)
    assert tracked_digest() == before
    saved = json.loads((tmp_path / "good" / "validation.json").read_text())
    assert len(saved["checks"]) == N_CHECKS and all(c["success"] for c in saved["checks"])


FAULTS = [
    (
        "duplicate lead id",
        "update audit.fct_lead_funnel set lead_id = '1' where lead_id = '2'",
        "fct_lead_funnel",
        "lead_id is unique",
        "lead_id",
        "2 unexpected",
    ),
    (
        "negative spend",
        "update audit.mart_channel_daily set spend = -5 where clicks = 2",
        "mart_channel_daily",
        "spend is never negative",
        "spend",
        "-5",
    ),
    (
        "unknown channel",
        "update audit.mart_channel_daily set channel = 'tiktok' where leads = 0",
        "mart_channel_daily",
        "channel is a known channel",
        "channel",
        "tiktok",
    ),
    (
        "won revenue off by a cent",
        "update audit.mart_channel_daily set won_revenue = 1500.01 where won_deals = 1",
        "mart_channel_daily",
        "won revenue reconciles with the lead funnel",
        None,
        "1500.01",
    ),
    (
        "null lead_at",
        "update audit.fct_lead_funnel set lead_at = null where lead_id = '3'",
        "fct_lead_funnel",
        "lead_at is never null",
        "lead_at",
        "1 unexpected",
    ),
    (
        "renamed column",
        "alter table audit.mart_channel_daily rename column sessions to visits",
        "mart_channel_daily",
        "has exactly the published columns",
        None,
        "visits",
    ),
    (
        "future day",
        "update audit.mart_channel_daily set date_day = date '2999-01-01' "
        "where channel = 'offline'",
        "mart_channel_daily",
        "no day lies in the future",
        None,
        "2999-01-01",
    ),
    (
        "won and lost",
        "update audit.fct_lead_funnel set lost_at = won_at where lead_id = '1'",
        "fct_lead_funnel",
        "a lead is never both won and lost",
        None,
        "1 rows",
    ),
    (
        "mql before lead",
        "update audit.fct_lead_funnel set mql_at = '2025-12-31' where lead_id='1'",
        "fct_lead_funnel",
        "mql_at is not before lead_at",
        None,
        "1 unexpected",
    ),
    (
        "leads do not reconcile",
        "delete from audit.fct_lead_funnel where lead_id = '2'",
        "mart_channel_daily",
        "leads reconcile with the lead funnel",
        None,
        '1 rows: [{"expected": 2, "observed": 3}]',
    ),
]


@pytest.mark.parametrize("name,sql,suite,check,column,observed", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_blocks_with_a_message_naming_it(
    tmp_path: Path,
    name: str,
    sql: str,
    suite: str,
    check: str,
    column: str | None,
    observed: str,
) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute(sql)
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "bad")
    assert not result.success
    hits = [f for f in result.failures if f.suite == suite and f.check == check]
    assert len(hits) == 1, result.failures
    assert hits[0].column == column
    assert observed in hits[0].observed
    with pytest.raises(QualityGateFailed) as err:
        assert_gate_passes(result)
    assert f"{suite}{'.' + column if column else ''}: {check}: observed" in str(err.value)
    report = (tmp_path / "bad" / "validation.html").read_text()
    assert "FAILED" in report and check in report
    assert "http://" not in report and "https://" not in report  # opens offline, styled


def test_a_check_that_errors_counts_as_failed(tmp_path: Path) -> None:
    db = build_audit(tmp_path / "a.duckdb")
    con = duckdb.connect(str(db))
    con.execute("drop table audit.fct_lead_funnel")  # every funnel check now errors
    con.close()
    result = run_gate(db, EXPECTATIONS, tmp_path, "err")
    funnel = [f for f in result.failures if f.suite == "fct_lead_funnel"]
    assert len(funnel) == len(SUITES[0].checks)
    assert all(f.observed.startswith("error: ") for f in funnel)


def test_committed_suites_match_the_code() -> None:
    for suite in SUITES:
        saved = json.loads((EXPECTATIONS / "expectations" / f"{suite.table}.json").read_text())
        got = [(e["type"], e["description"], e["severity"]) for e in saved["expectations"]]
        want = [
            (
                "".join("_" + ch.lower() if ch.isupper() else ch for ch in c.expectation)[1:],
                c.name,
                c.severity,
            )
            for c in suite.checks
        ]
        assert got == want
    assert (EXPECTATIONS / "checkpoints" / "smarketing_gate.json").exists()
    ignored = (EXPECTATIONS / ".gitignore").read_text().split()
    assert "uncommitted/" in ignored
