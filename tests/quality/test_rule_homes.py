"""One home per quality rule: dbt owns the models' properties, the gate the run's context.

The gate's checks and dbt's tests never cover the same (model, column, kind); the gate keeps
only kinds dbt cannot check (they need the run's interval, the published baseline or every
published mart at once); and the mart reconciliations the gate used to run are dbt tests,
which block the same bad marts (run here with dbt on hand-built marts).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from smarketing.config import load_settings
from smarketing.quality.suites import SUITES
from smarketing.vendors import VENDORS, dbt_vars
from tests.conftest import PROJECT_DIR
from tests.quality.test_gate import build_audit

DBT = PROJECT_DIR / "dbt_project"
_DBT_OUTPUT = shutil.ignore_patterns("target", "logs", "dbt_packages")
# what a GX expectation checks, in dbt's words
GX_KIND = {
    "ExpectColumnValuesToNotBeNull": "not_null",
    "ExpectColumnValuesToBeUnique": "unique",
    "ExpectCompoundColumnsToBeUnique": "unique_combination",
    "ExpectTableColumnsToMatchSet": "contract",
    "ExpectColumnValuesToBeBetween": "accepted_range",
    "ExpectColumnValuesToBeInSet": "accepted_values",
}
# kinds only the gate can check: they need the run's context or all published marts
GATE_ONLY_KINDS = {
    "row_count",
    "interval_freshness",
    "interval_reconciliation",
    "volume_anomaly",
    "personal_data",
}


def dbt_coverage() -> set[tuple[str, str | None, str]]:
    """(model, column, kind) of every dbt test, constraint and contract of the project."""
    covered: set[tuple[str, str | None, str]] = set()
    for path in (DBT / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            name = model["name"]
            if (model.get("config") or {}).get("contract", {}).get("enforced"):
                covered.add((name, None, "contract"))
            for test in model.get("data_tests") or []:
                covered.add((name, None, test if isinstance(test, str) else next(iter(test))))
            for column in model.get("columns") or []:
                for test in column.get("data_tests") or []:
                    kind = test if isinstance(test, str) else next(iter(test))
                    covered.add((name, column["name"], kind))
                for constraint in column.get("constraints") or []:
                    covered.add((name, column["name"], constraint["type"]))
    for path in (DBT / "tests").rglob("*.sql"):
        for model in re.findall(r"ref\('(\w+)'\)", path.read_text()):
            covered.add((model, None, "reconciliation"))
    return covered


def gate_coverage() -> set[tuple[str, str | None, str]]:
    covered = set()
    for suite in SUITES:
        for check in suite.checks:
            kind = GX_KIND.get(check.expectation, check.kind)
            covered.add((suite.table, check.kwargs.get("column"), kind))
    return covered


def test_no_check_exists_twice() -> None:
    gate, dbt = gate_coverage(), dbt_coverage()
    assert len(dbt) > 200  # the project's tests were read (keys, not-nulls, ranges, recons)
    assert gate & dbt == set()
    assert {kind for _, _, kind in gate} <= GATE_ONLY_KINDS
    # every published mart keeps its consumer-facing expectation in the gate, and its
    # contract, key and reconciliations in dbt
    marts = {s.table for s in SUITES if not s.table.startswith("_")}
    assert len(marts) == 15
    for mart in marts:
        assert (mart, None, "row_count") in gate
        assert (mart, None, "contract") in dbt
        if mart != "dim_campaign":
            assert (mart, None, "reconciliation") in dbt, mart
    # the dimension holds every campaign the marts report: a relationships test
    assert ("mart_channel_performance", "campaign_key", "relationships") in dbt


def test_every_raw_vendor_source_declares_freshness() -> None:
    sources = []
    for path in (DBT / "models" / "staging").rglob("*sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            sources.append(source)
    vendors = [s for s in sources if s["name"] != "fx"]
    assert sorted(s["name"] for s in vendors) == sorted({v.staging_folder for v in VENDORS})
    for source in vendors:
        assert source["loaded_at_field"] == "_loaded_at", source["name"]
        assert set(source["freshness"]) == {"warn_after", "error_after"}, source["name"]


def test_no_dbt_test_sets_its_own_severity() -> None:
    """Severity has one home (expectations/severity.yml); dbt tests all block."""
    for path in [*(DBT / "models").rglob("*.yml"), *(DBT / "tests").rglob("*.sql")]:
        assert "severity" not in path.read_text(), path


# (fault, SQL on the hand-built marts, the dbt test that must fail)
DBT_FAULTS = [
    (
        "negative spend",
        "update audit.mart_channel_daily set spend = -5 where clicks = 2",
        "accepted_range_mart_channel_daily_spend__0",
    ),
    (
        "future day",
        "update audit.mart_channel_daily set date_day = date '2999-01-01'"
        " where channel = 'offline'",
        "assert_channel_daily_no_future_day",
    ),
    (
        "won and lost",
        "update audit.fct_lead_funnel set lost_at = won_at where lead_id = '1'",
        "assert_lead_funnel_stage_order",
    ),
    (
        "funnel count increases",
        "update audit.fct_lead_funnel set sql_at = null where lead_id = '3'",
        "assert_lead_funnel_counts_never_increase",
    ),
    (
        "won deal missing from marts",
        "update staging.stg_hubspot__deals set deal_stage = 'closedwon' where deal_id = 'd3'",
        "assert_won_revenue_reconciles",
    ),
    (
        "spend differs from the platforms",
        "update staging.stg_meta_ads__insights set spend = 0.01, currency_code = 'USD'",
        "assert_spend_reconciles_with_ad_platforms",
    ),
    (
        "orphan opportunity",
        "delete from staging.stg_hubspot__deal_contacts where deal_id = 'd3'",
        "assert_every_deal_has_a_contact",
    ),
    (
        "attributed revenue off by a cent",
        "update audit.fct_attribution set attributed_amount"
        " = 1499.99 where attribution_model = 'w_shaped'",
        "assert_attribution_credits_reconcile",
    ),
    (
        "attributed pipeline off by a cent",
        "update audit.fct_attribution set attributed_pipeline_amount"
        " = 1499.99 where attribution_model = 'linear'",
        "assert_attribution_credits_reconcile",
    ),
    (
        "an owner's MQLs missing from the SLA mart",
        "delete from audit.mart_sales_marketing_sla where dimension_value = '502'",
        "assert_sla_adds_up_to_mqls",
    ),
    (
        "the SLA mart's pending disagreeing with the disposition mart",
        "update audit.mart_sales_marketing_sla set mqls_pending = mqls_pending + 1,"
        " mqls_worked = mqls_worked - 1 where dimension = 'total'",
        "assert_sla_agrees_with_lead_disposition",
    ),
    (
        "anonymous lead event",
        "update audit.fct_funnel_events set is_anonymous = true where stage = 'won'",
        "assert_funnel_events_anonymous_only_visitors",
    ),
    (
        "a closed deal without amount",
        "update audit.fct_deals set amount_reporting = null where deal_status = 'lost'",
        "assert_deals_match_the_crm",
    ),
    (
        "pipeline off",
        "update audit.mart_revenue_summary set pipeline_created = 2400.01",
        "assert_pipeline_reconciles_with_deals",
    ),
    (
        "dispositions that do not add up to the MQLs",
        "update audit.mart_lead_disposition set accepted = accepted + 1 where rejected = 1",
        "assert_lead_disposition_adds_up_to_mqls",
    ),
    (
        "unit economics disagreeing with the daily mart",
        "update audit.mart_unit_economics set spend = spend + 1"
        " where grain = 'channel' and spend > 0",
        "assert_unit_economics_agree_across_grains",
    ),
    (
        "pacing's bookings disagreeing with the revenue mart",
        "update audit.mart_targets_pacing set actual = actual + 1"
        " where metric = 'bookings' and channel = '(all)'",
        "assert_targets_pacing_reconciles",
    ),
    (
        "leads do not reconcile",
        "update audit.mart_funnel_conversion set leads = leads + 1 where channel = 'offline'",
        "assert_lead_counts_reconcile",
    ),
    (
        "a campaign day off",
        "update audit.mart_channel_performance set sessions = sessions + 1 where channel = 'email'",
        "assert_performance_day_totals_equal_channel_daily",
    ),
    (
        "conversion stages increase",
        "update audit.mart_funnel_conversion set sqls = 5",
        "assert_funnel_conversion_stages_never_increase",
    ),
    (
        "a funnel SAL the disposition does not know",
        "update audit.fct_lead_disposition set mql_started_at = mql_at where lead_id = '3'",
        "assert_funnel_sals_reconcile",
    ),
    (
        "an SQL without a SAL",
        "update audit.fct_lead_funnel set sal_at = null where lead_id = '1'",
        "assert_lead_funnel_stage_order",
    ),
]


def dbt_test(db: Path, tmp: Path) -> dict[str, str]:
    """Run the mart tests the gate used to run, with dbt, on the hand-built database."""
    from dbt.cli.main import dbtRunner

    from smarketing.transform import _release_duckdb

    result = dbtRunner().invoke(
        [
            "test",
            "--project-dir", str(DBT),
            "--profiles-dir", str(DBT),
            "--target-path", str(tmp / "target"),
            "--log-path", str(tmp / "logs"),
            "--select", "path:tests/marts", "test_name:accepted_range",
            "--vars", json.dumps(dbt_vars(load_settings())),  # the registry's vendors
            # the plan seed's own ranges: the hand-built warehouse has no seeds
            "--exclude", "path:seeds",
            "--quiet",
        ]
    )  # fmt: skip
    _release_duckdb()
    return {r.node.name: str(getattr(r.status, "value", r.status)) for r in result.result.results}


@pytest.fixture
def dbt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("SMARKETING_WAREHOUSE_PATH", str(db))
    monkeypatch.setenv("DBT_ENV_SECRET_SMARKETING_PSEUDONYM_KEY", "k" * 64)
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return db


def test_dbt_blocks_the_bad_marts_the_gate_used_to_block(dbt_env: Path, tmp_path: Path) -> None:
    build_audit(dbt_env)
    good = dbt_test(dbt_env, tmp_path / "good")
    assert len(good) > 40 and {n for n, s in good.items() if s != "pass"} == set()
    assert {name for _, _, name in DBT_FAULTS} <= set(good)
    con = duckdb.connect(str(dbt_env))
    for _, sql, _ in DBT_FAULTS:
        con.execute(sql)
    con.close()
    bad = dbt_test(dbt_env, tmp_path / "bad")
    failed = {n for n, s in bad.items() if s == "fail"}
    assert {name for _, _, name in DBT_FAULTS} <= failed, sorted(failed)


def _literal_row(columns: list[dict], null_column: str) -> str:
    """One row with every contracted column, typed as the contract says; ``null_column``
    null."""
    sample = {"date": "'2026-01-01'", "varchar": "'paid_search'"}
    values = [
        f"cast({'null' if c['name'] == null_column else sample.get(c['data_type'], '0')}"
        f" as {c['data_type']}) as {c['name']}"
        for c in columns
    ]
    return "select\n    " + ",\n    ".join(values) + "\n"


def test_a_contracted_marts_not_null_rule_is_its_constraint_only() -> None:
    """On a contracted model a plain not-null rule is a constraint, which DuckDB enforces when
    the table is created (a data test on the same column could never fail, and each costs
    the build a query); only a conditional one (``where``) stays a data test."""
    checked = 0
    for path in (DBT / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            if not (model.get("config") or {}).get("contract", {}).get("enforced"):
                continue
            for column in model.get("columns") or []:
                constrained = {"type": "not_null"} in (column.get("constraints") or [])
                checked += constrained
                for test in column.get("data_tests") or []:
                    where = isinstance(test, dict) and "not_null" in test
                    assert test != "not_null", (model["name"], column["name"])
                    if where:
                        assert test["not_null"]["config"]["where"], (model["name"], column["name"])
                        assert not constrained, (model["name"], column["name"])
    assert checked > 150


def test_a_null_in_a_not_null_column_of_a_mart_stops_its_build_naming_model_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A published column's not-null rule lives in the contract (DuckDB enforces it when the
    table is created), not in a data test that runs after: the build stops at the model."""
    from smarketing.transform import DbtBuildFailed, run_dbt

    mart, column = "mart_channel_daily", "sessions"

    shutil.copytree(DBT, tmp_path / "project" / "dbt_project", ignore=_DBT_OUTPUT)
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(tmp_path / "project"))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIRFLOW_CONN_SMARKETING_PSEUDONYM", json.dumps({"password": "k" * 64}))
    settings = load_settings()
    contract = next(
        model
        for path in (DBT / "models" / "marts").glob("*.yml")
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []
        if model["name"] == mart
    )
    columns = contract["columns"]
    spec = next(c for c in columns if c["name"] == column)
    assert {"type": "not_null"} in spec["constraints"]
    assert "not_null" not in (spec.get("data_tests") or [])  # one home: the constraint
    sql = settings.dbt_project_dir / "models" / "marts" / f"{mart}.sql"
    only_the_model = ("--select", mart, "--resource-type", "model")
    # the same row with a value builds: the failure below is the null, nothing else
    sql.write_text(_literal_row(columns, null_column=""))
    assert run_dbt(settings, "build", *only_the_model).counts == {"success": 1}
    sql.write_text(_literal_row(columns, null_column=column))
    with pytest.raises(DbtBuildFailed) as failed:
        run_dbt(settings, "build", *only_the_model)
    message = str(failed.value)
    assert f"model.smarketing.{mart}: error" in message
    assert "NOT NULL constraint failed" in message
    assert f"{mart}__dbt_tmp.{column}" in message or f"{mart}.{column}" in message
    # the table built before is still there, unchanged
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        assert con.execute(f"select {column} from audit.{mart}").fetchall() == [(0,)]
    finally:
        con.close()
