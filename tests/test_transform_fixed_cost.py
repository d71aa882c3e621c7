"""What a nightly dbt build may skip: seeds and unit tests, only when nothing they depend on
changed since the last successful whole build (the project's files, its settings, the
warehouse, the seed tables)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import duckdb
import pytest

from smarketing.config import Settings, load_settings
from smarketing.transform import _PROJECT_FINGERPRINT, project_fingerprint, project_unchanged
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
