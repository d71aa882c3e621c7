"""`dbt docs generate` works offline and every published mart has a documented exposure."""

from __future__ import annotations

import json

from smarketing.config import Settings
from smarketing.quality.suites import SUITES
from smarketing.transform import run_dbt


def test_docs_generate_offline_with_exposures_for_every_published_mart(
    settings: Settings,
) -> None:
    run_dbt(settings, "docs generate", "--empty-catalog")
    target = settings.data_dir / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    assert (target / "index.html").exists() and (target / "catalog.json").exists()
    published = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and "published" in n["config"].get("tags", [])
    }
    assert published == {
        "fct_lead_funnel",
        "fct_funnel_events",
        "fct_deals",
        "fct_attribution",
        "dim_campaign",
        "mart_channel_daily",
        "mart_channel_performance",
        "mart_funnel_conversion",
        "mart_sales_marketing_sla",
        "mart_revenue_summary",
        "mart_account_journey",
        "fct_lead_disposition",
        "mart_lead_disposition",
        "mart_unit_economics",
        "mart_targets_pacing",
    }
    # every published mart has an enforced contract and a quality-gate suite
    for node in manifest["nodes"].values():
        if node["name"] in published:
            assert node["config"]["contract"]["enforced"], node["name"]
    assert {s.table for s in SUITES} - {"_run_context"} == published
    exposed = {
        dep.split(".")[-1]
        for e in manifest["exposures"].values()
        for dep in e["depends_on"]["nodes"]
    }
    assert exposed == published
    # every published mart and each of its columns is described
    for node in manifest["nodes"].values():
        if node["name"] in published:
            assert node["description"]
            assert all(c["description"] for c in node["columns"].values()), node["name"]
