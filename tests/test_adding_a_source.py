"""The "Adding a source" path (README) is real: the vendor registry is the only list.

Every registered vendor has its own connector module, demo module and staging folder, the
registry's pointers land in them, and no other file of ``src/`` or ``dbt_project/`` names an
ad vendor: the DAG, catalog, credentials, demo, dbt unions and the gate read the registry.
LinkedIn Ads, added through the path, is the proof; Google Ads and Meta, the company's
founding platforms, are also drawn in the demo world (their draws share its per-day RNG).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

from smarketing.demo.server import DemoServer, demo_connections
from smarketing.quality.suites import check_keys
from smarketing.sources.catalog import EntitySpec
from smarketing.vendors import VENDORS, Vendor
from tests.conftest import PROJECT_DIR

SRC = PROJECT_DIR / "src" / "smarketing"
DBT = PROJECT_DIR / "dbt_project"
STAGING = DBT / "models" / "staging"
REGISTRY = SRC / "vendors.py"
AD_VENDORS = [v for v in VENDORS if v.ads is not None]
# the founding ad platforms' draws are interleaved in the company's per-day RNG (world.py)
FOUNDING_EXTRA = {"google_ads": {"src/smarketing/demo/world.py"}}
FOUNDING_EXTRA["meta_ads"] = {"src/smarketing/demo/world.py"}


def rooms(vendor: Vendor) -> list[Path]:
    """A vendor's own files: connector, demo module, staging folder."""
    return [
        SRC / "sources" / f"{vendor.name}.py",
        SRC / "demo" / "vendors" / f"{vendor.name}.py",
        STAGING / vendor.staging_folder,
    ]


def _module_of(pointer: str) -> str:
    return pointer.partition(":")[0]


@pytest.mark.parametrize("vendor", VENDORS, ids=lambda v: v.name)
def test_every_vendor_has_its_rooms_and_the_registry_points_into_them(vendor: Vendor) -> None:
    connector, demo, staging = rooms(vendor)
    assert connector.is_file() and demo.is_file() and staging.is_dir()
    # the connector and the catalog entries live in the connector module
    assert _module_of(vendor.connector) == _module_of(vendor.catalog)
    assert _module_of(vendor.connector) == f"smarketing.sources.{vendor.name}"
    assert callable(importlib.import_module(_module_of(vendor.connector)).build_reader)
    entries = vendor.catalog_entries()
    assert all(isinstance(e, EntitySpec) and e.source == vendor.name for e in entries)
    assert tuple(e.entity for e in entries) == vendor.entities
    # the demo module writes the vendor's folder and points its connection at the demo
    module = vendor.demo_module()
    assert vendor.demo == f"smarketing.demo.vendors.{vendor.name}"
    assert module.FOLDER == vendor.demo_folder == vendor.name
    assert callable(module.write) and callable(module.demo_connection)
    assert isinstance(module.SECRETS, dict)
    # staging: the source with freshness, one model per entity (raw.<vendor>__<entity>)
    assert vendor.staging_folder == vendor.name
    (source,) = yaml.safe_load((staging / f"_{vendor.name}__sources.yml").read_text())["sources"]
    assert (source["name"], source["schema"]) == (vendor.name, "raw")
    assert source["loaded_at_field"] == "_loaded_at"
    assert set(source["freshness"]) == {"warn_after", "error_after"}
    assert {t["identifier"] for t in source["tables"]} == set(vendor.raw_tables())
    models = {p.stem for p in staging.glob("stg_*.sql")}
    assert {f"stg_{vendor.name}__{e}" for e in vendor.entities} <= models
    # every model the registry names for dbt and the gate is the vendor's own
    named = [f.model for f in vendor.freshness]
    if vendor.ads is not None:
        named += [vendor.ads.spend_model, vendor.ads.clicks_model or vendor.ads.spend_model]
    assert set(named) <= models, set(named) - models
    for check in vendor.freshness:
        assert re.search(rf"\b{check.day_column}\b", (staging / f"{check.model}.sql").read_text())
    # every freshness check has its severity
    keys = set(check_keys())
    for check in vendor.freshness:
        verb = "delivered changes" if check.label == "the CRM" else "delivered data"
        assert f"_run_context: freshness: {check.label} {verb} for the interval" in keys
    severity = yaml.safe_load((PROJECT_DIR / "expectations" / "severity.yml").read_text())
    assert keys <= set(severity["checks"])


def _files(root: Path) -> list[Path]:
    skip = {"target", "logs", "dbt_packages", "__pycache__"}
    return [p for p in root.rglob("*") if p.is_file() and not skip & set(p.parts)]


def _naming(name: str) -> set[str]:
    """Files of src/ and dbt_project/ whose text names the vendor, relative to the project."""
    return {
        p.relative_to(PROJECT_DIR).as_posix()
        for p in [*_files(SRC), *_files(DBT)]
        if name in p.read_text(errors="replace")
    }


@pytest.mark.parametrize("vendor", AD_VENDORS, ids=lambda v: v.name)
def test_no_file_outside_its_rooms_and_the_registry_names_an_ad_vendor(vendor: Vendor) -> None:
    own = rooms(vendor)
    outside = {
        f
        for f in _naming(vendor.name)
        if not any((PROJECT_DIR / f).is_relative_to(room) for room in own)
    }
    assert outside == {"src/smarketing/vendors.py"} | FOUNDING_EXTRA.get(vendor.name, set())


def test_linkedin_is_an_ad_vendor_added_through_the_path_alone() -> None:
    """The vendor added after the founding ones: named by its rooms and the registry only."""
    assert "linkedin_ads" in {v.name for v in AD_VENDORS}
    assert "linkedin_ads" not in FOUNDING_EXTRA
    assert "linkedin" not in (SRC / "demo" / "world.py").read_text().lower()
    assert "linkedin" not in (SRC / "demo" / "truth.py").read_text().lower()


def _readme_section(title: str) -> str:
    text = (PROJECT_DIR / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_the_readme_lists_the_files_linkedin_touches() -> None:
    """The section's paths, for LinkedIn, exist, and every file of src/ and dbt_project/
    naming LinkedIn is one of them."""
    section = _readme_section("Adding a source")
    paths = [p.replace("<vendor>", "linkedin_ads") for p in re.findall(r"`([\w/<>.-]+)`", section)]
    listed = {
        p for p in paths if "/" in p.rstrip("/") and p.split("/")[0] in {"src", "dbt_project"}
    }
    assert len(listed) >= 4
    for path in listed:
        assert (PROJECT_DIR / path).exists(), path
    for path in _naming("linkedin_ads"):
        assert any(path == p or path.startswith(p.rstrip("/") + "/") for p in listed), path
    for test in (p for p in paths if p.startswith("tests/")):
        assert (PROJECT_DIR / test).is_file(), test


def test_the_readme_tables_name_every_vendor_and_connection() -> None:
    section = _readme_section("Sources and connections")
    for vendor in VENDORS:
        assert f"| `{vendor.name}` ({vendor.category}) |" in section, vendor.name
        assert f"| `{vendor.conn_id}` |" in section, vendor.conn_id


def test_the_demo_serves_and_connects_every_registered_vendor(tmp_path: Path) -> None:
    conns = demo_connections("http://127.0.0.1:1", tmp_path)
    assert set(conns) == {f"AIRFLOW_CONN_{v.conn_id.upper()}" for v in VENDORS} | {
        "AIRFLOW_CONN_SMARKETING_PSEUDONYM"
    }
    server = DemoServer(tmp_path)
    try:
        with_api = [v.name for v in VENDORS if hasattr(v.demo_module(), "Api")]
        assert list(server.vendor_apis) == with_api and "linkedin_ads" in with_api
        assert server.linkedin_ads is server.vendor_apis["linkedin_ads"]
    finally:
        server.server_close()
