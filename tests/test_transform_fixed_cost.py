"""What a nightly dbt build may skip: seeds and unit tests, only when nothing they depend on
changed since the last successful whole build (the project's files, its settings, the
warehouse, the seed tables)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings, load_settings
from smarketing.envvars import temporary_environment
from smarketing.transform import (
    _PROJECT_FINGERPRINT,
    SKIP_FIXED_ARGS,
    dbt_args,
    dbt_env,
    project_fingerprint,
    project_unchanged,
)
from tests.conftest import PROJECT_DIR


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the project (dbt_project/ only) and a warehouse with the seed tables."""
    shutil.copytree(
        PROJECT_DIR / "dbt_project",
        tmp_path / "project" / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs"),
    )
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(tmp_path / "project"))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    s = load_settings()
    s.ensure_dirs()
    (s.data_dir / "dbt").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.warehouse_path))
    con.execute("create schema seeds")
    for csv in (s.dbt_project_dir / "seeds").glob("*.csv"):
        con.execute(f"create table seeds.{csv.stem} (x int)")
    con.close()
    return s


def _record(s: Settings) -> None:
    (s.data_dir / "dbt" / _PROJECT_FINGERPRINT).write_text(project_fingerprint(s))


def test_nothing_is_skipped_before_a_recorded_build(project: Settings) -> None:
    assert not project_unchanged(project)
    _record(project)
    assert project_unchanged(project)


def test_a_changed_model_seed_or_setting_runs_seeds_and_unit_tests_again(
    project: Settings,
) -> None:
    _record(project)
    # dbt's own output under the project does not count
    target = project.dbt_project_dir / "target"
    target.mkdir()
    (target / "manifest.json").write_text("{}")
    assert project_unchanged(project)
    # a setting dbt reads as a var
    assert not project_unchanged(dataclasses.replace(project, sla_hours=12.5))
    # a model's SQL
    model = project.dbt_project_dir / "models" / "marts" / "fct_deals.sql"
    original = model.read_text()
    model.write_text(original + "\n-- changed\n")
    assert not project_unchanged(project)
    model.write_text(original)
    assert project_unchanged(project)
    # a seed's rows
    seed = project.dbt_project_dir / "seeds" / "channels.csv"
    seed.write_text(seed.read_text() + "\n")
    assert not project_unchanged(project)


def test_missing_seed_tables_or_another_warehouse_reload_the_seeds(project: Settings) -> None:
    _record(project)
    elsewhere = dataclasses.replace(
        project, warehouse_path=project.warehouse_path.with_name("other.duckdb")
    )
    assert not project_unchanged(elsewhere)
    con = duckdb.connect(str(project.warehouse_path))
    con.execute("drop table seeds.channels")
    con.close()
    assert not project_unchanged(project)


def _listed(s: Settings, *extra: str) -> set[str]:
    """unique_id of every node ``dbt build`` would run with ``extra`` (dbt's own selection)."""
    from dbt.cli.main import dbtRunner

    args = dbt_args(s, "ls", "--resource-type", "all", "--output", "json", "--quiet", *extra)
    with temporary_environment(dbt_env(s)):
        result = dbtRunner().invoke([*args, "--output-keys", "unique_id"])
    assert result.success, result.exception
    return {json.loads(line)["unique_id"] for line in result.result}


def test_an_unchanged_nightly_leaves_out_seeds_their_own_tests_and_unit_tests_only(
    project: Settings,
) -> None:
    """A test that reads a model and a seed (a mart's channels against the channels seed)
    still runs: its model was rebuilt. dbt's default selection would drop it with the seed."""
    nightly = _listed(project, *SKIP_FIXED_ARGS)
    manifest = json.loads((project.data_dir / "dbt" / "target" / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest["unit_tests"]}
    built = {"model", "seed", "snapshot", "test", "unit_test"}
    everything = {uid for uid, node in nodes.items() if node["resource_type"] in built}
    seeds = {uid for uid in nodes if uid.startswith("seed.")}
    seed_only = {
        uid
        for uid, node in nodes.items()
        if uid.startswith("test.") and set(node["depends_on"]["nodes"]) <= seeds
    }
    mixed = {
        uid
        for uid, node in nodes.items()
        if uid.startswith("test.") and seeds & set(node["depends_on"]["nodes"])
    } - seed_only
    unit_tests = {uid for uid in nodes if uid.startswith("unit_test.")}
    assert len(seeds) == 4 and len(seed_only) >= 20 and len(unit_tests) >= 10
    assert "test.smarketing.not_null_plan_targets_month.33d1c39ddd" in seed_only
    assert any(uid.startswith("test.smarketing.known_channel_fct_deals_") for uid in mixed)
    assert len(everything) > 250
    assert everything - nightly == seeds | seed_only | unit_tests
    assert mixed <= nightly
