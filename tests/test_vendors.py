"""The vendor registry (smarketing.vendors) drives the DAG, catalog, credentials and dbt.

Switching a vendor off with SMARKETING_DISABLED_VENDORS removes its extract task, its
entities from load and the quarantine checks, and its branch of the dbt vendor unions; no
mart reads a vendor's staging model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smarketing.config import Settings, load_settings
from smarketing.sources.catalog import ENTITIES, SOURCES, enabled_entities, entities_of
from smarketing.sources.credentials import CONNECTIONS
from smarketing.vendors import DBT_VAR, VENDOR_NAMES, VENDORS, dbt_vars, get_vendor
from tests.conftest import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt_project"
# the naming contract: raw tables by vendor
RAW_TABLES = {
    "hubspot__contacts",
    "hubspot__deals",
    "hubspot__companies",
    "hubspot__calls",
    "hubspot__emails",
    "hubspot__meetings",
    "mailchimp__campaigns",
    "mailchimp__email_activity",
    "google_ads__campaign_stats",
    "google_ads__clicks",
    "meta_ads__insights",
    "linkedin_ads__ad_analytics",
    "ga4__events",
}


def test_registry_names_the_vendors_their_categories_and_connections() -> None:
    assert VENDOR_NAMES == (
        "hubspot",
        "mailchimp",
        "google_ads",
        "meta_ads",
        "linkedin_ads",
        "ga4",
    )
    assert {v.name: v.category for v in VENDORS} == {
        "hubspot": "crm",
        "mailchimp": "email",
        "google_ads": "ads",
        "meta_ads": "ads",
        "linkedin_ads": "ads",
        "ga4": "web",
    }
    assert all(v.conn_id == f"smarketing_{v.name}" for v in VENDORS)
    assert {t for v in VENDORS for t in v.raw_tables()} == RAW_TABLES
    with pytest.raises(KeyError, match="unknown vendor 'ppc'; known: hubspot, mailchimp"):
        get_vendor("ppc")


def test_catalog_is_the_registry_entity_for_entity() -> None:
    assert SOURCES == VENDOR_NAMES
    assert {e.raw_table for e in ENTITIES} == RAW_TABLES
    for vendor in VENDORS:
        assert tuple(e.entity for e in entities_of(vendor.name)) == vendor.entities
        assert all(e.raw_table.startswith(f"{vendor.name}__") for e in entities_of(vendor.name))


def test_credentials_list_every_vendor_connection_with_its_fields() -> None:
    assert set(CONNECTIONS) == {v.conn_id for v in VENDORS} | {"smarketing_pseudonym"}
    for vendor in VENDORS:
        fields = CONNECTIONS[vendor.conn_id]
        assert fields == dict(vendor.connection_fields) and "host" in fields, vendor.name


def test_every_vendor_connector_is_built_from_the_registry(settings: Settings) -> None:
    """reader_for has no per-vendor branch: the registry's factory builds each connector."""
    from smarketing import pipeline

    built = {v.name: type(pipeline.reader_for(v.name, settings)).__name__ for v in VENDORS}
    assert built == {
        "hubspot": "HubSpotReader",
        "mailchimp": "MailchimpReader",
        "google_ads": "GoogleAdsReader",
        "meta_ads": "MetaAdsReader",
        "linkedin_ads": "LinkedInAdsReader",
        "ga4": "Ga4ExportReader",
    }


def test_staging_sources_and_folders_follow_the_registry() -> None:
    for vendor in VENDORS:
        folder = DBT_DIR / "models" / "staging" / vendor.staging_folder
        spec = yaml.safe_load((folder / f"_{vendor.name}__sources.yml").read_text())
        (source,) = spec["sources"]
        assert source["name"] == vendor.name and source["schema"] == "raw"
        tables = {t["name"]: t["identifier"] for t in source["tables"]}
        assert tables == {e: f"{vendor.name}__{e}" for e in vendor.entities}
        assert sorted(p.stem for p in folder.glob("stg_*.sql")), vendor.name


def test_dbt_var_names_no_vendor_and_defaults_to_the_environment() -> None:
    """The registry is the only list: dbt_project.yml reads the var from SMARKETING_DBT_VARS
    (what `smarketing vendors --dbt-vars` prints) and names no ad vendor itself."""
    text = (DBT_DIR / "dbt_project.yml").read_text()
    default = yaml.safe_load(text)["vars"][DBT_VAR]
    assert "env_var('SMARKETING_DBT_VARS'" in default
    assert not [v.name for v in VENDORS if v.ads is not None and v.name in text]


def test_disabled_vendor_setting_removes_it_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARKETING_DISABLED_VENDORS", " meta_ads ,")
    settings = load_settings()
    assert settings.disabled_vendors == ("meta_ads",)
    by_category = dbt_vars(settings)[DBT_VAR]
    assert {c: [v["name"] for v in vs] for c, vs in by_category.items()} == {
        "crm": ["hubspot"],
        "email": ["mailchimp"],
        "ads": ["google_ads", "linkedin_ads"],
        "web": ["ga4"],
    }
    assert by_category["ads"][1] == {
        "name": "linkedin_ads",
        "channel": "paid_social",
        "spend_model": "stg_linkedin_ads__ad_analytics",
        "spend_column": "cost",
        "clicks_model": "",
    }
    assert "meta_ads__insights" not in {e.raw_table for e in enabled_entities(settings)}
    assert len(enabled_entities(settings)) == len(ENTITIES) - 1
    assert "disabled_vendors" in settings.snapshot()  # recorded with each run
    monkeypatch.setenv("SMARKETING_DISABLED_VENDORS", "meta_ads,linkedin")
    with pytest.raises(ValueError, match=r"unknown vendor\(s\) linkedin; known: hubspot"):
        load_settings()


def test_cli_prints_the_dbt_vars_for_plain_dbt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smarketing.cli import main

    monkeypatch.setenv("SMARKETING_DISABLED_VENDORS", "linkedin_ads")
    assert main(["vendors", "--dbt-vars"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == dbt_vars(load_settings())
    assert [v["name"] for v in printed[DBT_VAR]["ads"]] == ["google_ads", "meta_ads"]


def _dag_tasks(env: dict[str, str]) -> dict[str, list[str]]:
    """Parse the DAG file in a fresh process (it reads the settings at parse time)."""
    code = (
        "import json; from airflow.dag_processing.dagbag import DagBag; "
        f"bag = DagBag(dag_folder={str(PROJECT_DIR / 'dags')!r}); "
        "assert not bag.import_errors, bag.import_errors; "
        "d = bag.dags['smarketing_nightly']; "
        "print(json.dumps({t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_extract_tasks_are_the_enabled_vendors(tmp_path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "SMARKETING_DISABLED_VENDORS": ""}
    every = _dag_tasks(env)
    extracts = sorted(t for t in every if t.startswith("extract_"))
    assert extracts == sorted(f"extract_{v}" for v in VENDOR_NAMES)
    assert every["load_raw"] == extracts
    off = _dag_tasks({**env, "SMARKETING_DISABLED_VENDORS": "meta_ads,mailchimp"})
    kept = ["extract_ga4", "extract_google_ads", "extract_hubspot", "extract_linkedin_ads"]
    assert sorted(t for t in off if t.startswith("extract_")) == kept
    assert off["load_raw"] == kept


def _refs(sql: str) -> set[str]:
    return set(re.findall(r"ref\(\s*['\"](\w+)['\"]\s*\)", sql))


def test_no_mart_reads_staging_and_only_intermediate_models_do() -> None:
    models = DBT_DIR / "models"
    marts = {p.stem: _refs(p.read_text()) for p in (models / "marts").glob("*.sql")}
    assert marts and not {m: r for m, r in marts.items() if any(x.startswith("stg_") for x in r)}
    readers = {
        p.relative_to(models).parts[0]
        for p in models.rglob("*.sql")
        if any(x.startswith("stg_") for x in _refs(p.read_text()))
    }
    assert readers == {"intermediate"}
    # …and the marts' unit tests feed them intermediate models, not staging
    for path in (models / "marts").glob("*.yml"):
        assert "ref('stg_" not in path.read_text(), path.name


def test_dbt_unions_ad_vendors_from_the_var(settings: Settings) -> None:
    """int_ads__daily_spend reads every enabled ad vendor's staging model, and no other."""
    from smarketing.transform import run_dbt

    def parents(s: Settings) -> set[str]:
        run_dbt(s, "parse")
        manifest = json.loads((s.data_dir / "dbt" / "target" / "manifest.json").read_text())
        node = manifest["nodes"]["model.smarketing.int_ads__daily_spend"]
        return {n.split(".")[-1] for n in node["depends_on"]["nodes"]}

    every = {
        "stg_google_ads__campaign_stats",
        "stg_meta_ads__insights",
        "stg_linkedin_ads__ad_analytics",
    }
    assert {p for p in parents(settings) if p.startswith("stg_") and "fx" not in p} == every
    off = dataclasses.replace(settings, disabled_vendors=("meta_ads",))
    assert {p for p in parents(off) if p.startswith("stg_") and "fx" not in p} == every - {
        "stg_meta_ads__insights"
    }


def test_plain_dbt_without_the_vendor_var_fails_instead_of_dropping_every_vendor(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run by hand without the registry's var, dbt would union no vendor and publish zero
    spend: it must stop at compile time, saying how to pass the var."""
    monkeypatch.delenv("SMARKETING_DBT_VARS", raising=False)
    env = {
        **os.environ,
        "SMARKETING_WAREHOUSE_PATH": str(settings.data_dir / "plain.duckdb"),
        "DBT_TARGET_PATH": str(settings.data_dir / "plain-target"),
        "DBT_LOG_PATH": str(settings.data_dir / "plain-logs"),
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    project = settings.dbt_project_dir
    args = [dbt, "compile", "--project-dir", str(project), "--profiles-dir", str(project)]
    plain = subprocess.run(
        [*args, "-s", "int_ads__daily_spend"], env=env, capture_output=True, text=True
    )
    assert plain.returncode != 0
    assert "var smarketing_vendors is missing" in plain.stdout
    from smarketing.vendors import dbt_vars

    env["SMARKETING_DBT_VARS"] = json.dumps(dbt_vars(settings))
    given = subprocess.run(
        [*args, "-s", "int_ads__daily_spend"], env=env, capture_output=True, text=True
    )
    assert given.returncode == 0, given.stdout[-2000:]


def test_cli_lists_the_registry_with_what_is_switched_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smarketing.cli import main

    monkeypatch.setenv("SMARKETING_DISABLED_VENDORS", "meta_ads")
    assert main(["vendors"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(VENDORS)
    assert lines[3] == (
        "meta_ads (ads) disabled (SMARKETING_DISABLED_VENDORS): connection smarketing_meta_ads;"
        " raw tables raw.meta_ads__insights"
    )
    assert lines[2] == (
        "google_ads (ads) enabled: connection smarketing_google_ads; raw tables"
        " raw.google_ads__campaign_stats, raw.google_ads__clicks"
    )
