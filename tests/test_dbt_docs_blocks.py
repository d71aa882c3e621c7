"""Shared column descriptions have one home: the docs blocks of dbt_project/models/docs/.

A column name used by more than one model (staging, intermediate, marts, seeds, snapshots)
takes its description from ``{% docs %}`` blocks only: one named after it (``<name>``, or
``<name>__<meaning>`` where models mean different things by the same name), or a metric's
block followed by a variant block. Each metric (``models/docs/metrics.md``) is defined once:
every published column that carries it starts with its block (the reviewed map
METRIC_COLUMNS), every metric is carried, and the README's Glossary names exactly the
metrics. Every reference resolves, every block is used, and dbt renders the blocks as this
package reads them (the PostgreSQL comments of serve_postgres).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from smarketing.config import load_settings
from smarketing.dbt_docs import DOC_REF, UnknownDocBlock, doc_blocks, file_blocks, render
from smarketing.quality.suites import PUBLISHED_MARTS
from smarketing.transform import run_dbt
from smarketing.warehouse.serve_postgres import model_docs
from tests.conftest import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt_project"
METRICS_MD = DBT_DIR / "models" / "docs" / "metrics.md"
# the yml that describes nodes with columns (sources describe raw tables, not models)
NODE_KEYS = ("models", "seeds", "snapshots")

_MODEL = "(first_touch|last_touch|linear|u_shaped|w_shaped|time_decay)"
# Reviewed map: metric block -> the published columns that carry the metric, by the name's
# pattern (fullmatch, whatever the mart), so a new column of that name must reuse the block.
# Deliberately not in it: opportunities_created (deals created, not the stage's people),
# open_pipeline (the open deals' amount now, a stock, not pipeline created), lost_deals,
# mqls_worked*, worked_within_sla, mqls_sla_elapsed (parts of a ratio, not metrics), and the
# per-deal or per-lead values of the facts (amount_reporting, pipeline_amount_reporting).
METRIC_COLUMNS: dict[str, str] = {
    "leads": r"leads",
    "mqls": r"mqls",
    "sals": r"sals|accepted",
    "sqls": r"sqls",
    "opportunities": r"opportunities",
    "conversion_rate": r"\w+_to_\w+_rate|conversion_to_next",
    "won_deals": rf"won_deals(_{_MODEL})?",
    "win_rate": r"win_rate",
    "pipeline": rf"pipeline(_created|_amount|_lead_source|_{_MODEL})?|attributed_pipeline_amount",
    "bookings": rf"bookings|won_revenue|revenue_{_MODEL}|attributed_amount",
    "average_deal_size": r"average_deal_size",
    "sales_cycle_days": r"(avg_|median_)?sales_cycle_days",
    "spend": r"spend",
    "cost_per_lead": r"cost_per_lead",
    "cost_per_mql": r"cost_per_mql",
    "cac": r"cac(_\w+)?",
    "roas": r"roas(_\w+)?",
    "payback_months": r"payback(_\w+)?",
    "sla_share": r"sla_share|share_worked_within_sla",
    "acceptance_rate": r"acceptance_rate",
    "share_rejected_later_converted": r"share_rejected_later_converted",
    "pacing": r"pacing",
    "forecast": r"forecast",
    "required": r"required",
}
# (model, column) -> why it carries a name of the map but not the metric
NOT_THE_METRIC: dict[tuple[str, str], str] = {}


def _yml_files() -> list[Path]:
    return sorted(
        path
        for folder in ("models", "seeds", "snapshots")
        for path in (DBT_DIR / folder).rglob("*.yml")
    )


def _column_descriptions() -> dict[str, dict[str, str]]:
    """``column name -> {node name: description as written}`` over every node's yml (a yml
    anchor shared by several models counts for each of them)."""
    uses: dict[str, dict[str, str]] = {}
    for path in _yml_files():
        spec = yaml.safe_load(path.read_text()) or {}
        for key in NODE_KEYS:
            for node in spec.get(key) or []:
                for column in node.get("columns") or []:
                    text = str(column.get("description") or "")
                    uses.setdefault(column["name"], {})[node["name"]] = text
    return uses


def _block_of(description: str) -> str | None:
    """The block a description is exactly one doc() reference to, else None."""
    match = DOC_REF.fullmatch(description.strip())
    return match.group(2) if match else None


def _published_columns(specs: Iterable[dict]) -> dict[tuple[str, str], str]:
    """``(model, column) -> description as written`` of the published models of yml specs."""
    columns: dict[tuple[str, str], str] = {}
    for spec in specs:
        for model in spec.get("models") or []:
            tags = (model.get("config") or {}).get("tags") or model.get("tags") or []
            if "published" not in ([tags] if isinstance(tags, str) else tags):
                continue
            for column in model.get("columns") or []:
                text = str(column.get("description") or "")
                columns[(model["name"], column["name"])] = text
    return columns


def _yml_specs() -> list[dict]:
    return [yaml.safe_load(path.read_text()) or {} for path in _yml_files()]


def metric_violations(
    specs: Iterable[dict], metric_columns: dict[str, str] = METRIC_COLUMNS
) -> list[tuple[str, str, str]]:
    """``(model, column, metric)`` for each published column whose name says it carries a
    metric of the map but whose description does not start with the metric's block."""
    violations = []
    for (model, column), text in sorted(_published_columns(specs).items()):
        for metric, pattern in metric_columns.items():
            if not re.fullmatch(pattern, column) or (model, column) in NOT_THE_METRIC:
                continue
            first = DOC_REF.match(text.strip())
            if first is None or first.group(2) != metric:
                violations.append((model, column, metric))
    return violations


def _only_doc_refs(description: str) -> list[str] | None:
    """The blocks of a description made of doc() references only, else None."""
    if DOC_REF.sub("", description).strip():
        return None
    return [match.group(2) for match in DOC_REF.finditer(description)]


def test_every_shared_column_name_takes_its_description_from_blocks_only() -> None:
    uses = _column_descriptions()
    shared = {name: nodes for name, nodes in uses.items() if len(nodes) > 1}
    # the example: won_deals, described six ways before, in marts and in none else
    assert {"mart_channel_daily", "mart_funnel_conversion", "mart_revenue_summary"} <= set(
        shared["won_deals"]
    )
    assert {"stg_hubspot__calls", "stg_hubspot__emails", "stg_hubspot__meetings"} <= set(
        shared["owner_id"]
    )
    assert uses["won_revenue"]["mart_channel_daily"] == (
        '{{ doc("bookings") }} {{ doc("won_revenue") }}'
    )
    not_blocks_only = sorted(
        (node, name, text)
        for name, nodes in shared.items()
        for node, text in nodes.items()
        if not _only_doc_refs(text)
    )
    assert not_blocks_only == []
    # a lone block is named after the column it describes (one meaning may have several
    # blocks) or is the metric the column carries
    metrics = set(file_blocks(METRICS_MD))
    misnamed = sorted(
        (node, name, block)
        for name, nodes in uses.items()
        for node, text in nodes.items()
        if (block := _block_of(text)) is not None
        and block != name
        and not block.startswith(name + "__")
        and block not in metrics
    )
    assert misnamed == []


def test_every_doc_reference_resolves_and_every_block_is_used() -> None:
    blocks = doc_blocks(DBT_DIR)
    referenced = {
        match.group(2) for path in _yml_files() for match in DOC_REF.finditer(path.read_text())
    }
    assert referenced - set(blocks) == set()
    assert set(blocks) - referenced == set()
    assert all(text and "{%" not in text for text in blocks.values())
    # one metric, several counts: the variant says what it is not
    assert "won_deals__first_deal" in blocks and "won_deals" in blocks
    assert "different count" in blocks["won_deals__first_deal"]


def test_every_column_that_carries_a_metric_starts_with_its_block() -> None:
    specs = _yml_specs()
    metrics = file_blocks(METRICS_MD)
    assert set(METRIC_COLUMNS) == set(metrics)
    assert metric_violations(specs) == []
    columns = _published_columns(specs)
    # the tag finds every mart the warehouse publishes (none escapes the check)
    assert {model for model, _ in columns} == set(PUBLISHED_MARTS)
    # the map is not stale: each pattern matches a published column, each exception exists
    # and still does not carry the metric (when it does, it leaves NOT_THE_METRIC)
    for metric, pattern in METRIC_COLUMNS.items():
        assert any(re.fullmatch(pattern, column) for _, column in columns), metric
    for key in NOT_THE_METRIC:
        assert key in columns and not columns[key].startswith('{{ doc("sla_share")'), key
    # the map holds what the issue names: CAC and ROAS under every model and by lead source
    roas = sorted(
        column
        for model, column in columns
        if model == "mart_unit_economics" and re.fullmatch(METRIC_COLUMNS["roas"], column)
    )
    assert roas == sorted(["roas_lead_source"] + [f"roas_{m}" for m in _MODEL[1:-1].split("|")])
    assert columns[("mart_revenue_summary", "pipeline_created")].startswith('{{ doc("pipeline") }}')
    # every metric is carried by a published column (as its first block, or within one)
    used = {match.group(2) for text in columns.values() for match in DOC_REF.finditer(text)}
    assert set(metrics) - used == set()


def test_a_metric_column_with_its_own_text_fails_the_check() -> None:
    """The check itself, on constructed yml: a hand-written ``roas`` of a published mart is
    caught; the metric's block with grain text, or a column of an unpublished model, is not."""

    def spec(model: str, tags: list[str], columns: dict[str, str]) -> dict:
        return {
            "models": [
                {
                    "name": model,
                    "config": {"tags": tags},
                    "columns": [{"name": n, "description": d} for n, d in columns.items()],
                }
            ]
        }

    published = spec(
        "mart_new",
        ["published"],
        {
            "roas": "Bookings / spend of the row.",
            "roas_paid": '{{ doc("roas") }} Here of paid channels only.',
            "cac_paid": '{{ doc("roas") }}',
            "spend": 'Ad spend. {{ doc("spend") }}',
            "leads": '{{ doc("leads") }}',
            "sessions": "Web sessions.",
        },
    )
    unpublished = spec("int_new", [], {"roas": "Bookings / spend."})
    assert metric_violations([published, unpublished]) == [
        ("mart_new", "cac_paid", "cac"),
        ("mart_new", "roas", "roas"),
        ("mart_new", "spend", "spend"),
    ]
    # a model published through `tags:` outside config counts too
    other = {
        "models": [
            {
                "name": "mart_x",
                "tags": "published",
                "columns": [{"name": "win_rate", "description": "won / closed"}],
            }
        ]
    }
    assert metric_violations([other]) == [("mart_x", "win_rate", "win_rate")]


def _glossary_blocks(readme: str) -> list[str]:
    """The block each entry of the README's Glossary names: ``- **Term** (`block`): …``."""
    section = readme.split("\n## Glossary\n", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    entries = [line for line in section.splitlines() if line.startswith("- **")]
    names = [re.match(r"- \*\*[^*]+\*\* \(`(\w+)`\)", line) for line in entries]
    assert all(names), [line for line, name in zip(entries, names, strict=True) if not name]
    return [name.group(1) for name in names if name]


def test_the_readme_glossary_has_one_entry_per_metric() -> None:
    glossary = _glossary_blocks((PROJECT_DIR / "README.md").read_text())
    assert len(glossary) == len(set(glossary))
    assert set(glossary) == set(file_blocks(METRICS_MD))
    assert _glossary_blocks("x\n## Glossary\n\n- **CAC** (`cac`): spend / won.\n## Next\n") == [
        "cac"
    ]


def test_blocks_are_read_and_rendered_like_dbt(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.md").write_text(
        "{% docs alpha %}\n  First line.\nSecond line.\n{% enddocs %}\n"
        "{#- a comment -#}\n{%- docs beta -%}Beta.{%- enddocs -%}\n"
    )
    (tmp_path / "target").mkdir()  # dbt's output is not the project's
    (tmp_path / "target" / "old.md").write_text("{% docs alpha %}stale{% enddocs %}")
    blocks = doc_blocks(tmp_path)
    assert blocks == {"alpha": "First line.\nSecond line.", "beta": "Beta."}
    assert render("""{{ doc("alpha") }}""", blocks) == "First line.\nSecond line."
    assert render("""See {{doc('beta')}} and {{ doc("alpha") }}""", blocks) == (
        "See Beta. and First line.\nSecond line."
    )
    assert render("no reference", blocks) == "no reference"
    with pytest.raises(UnknownDocBlock, match="gamma"):
        render('{{ doc("gamma") }}', blocks)
    (tmp_path / "models" / "b.md").write_text("{% docs beta %}again{% enddocs %}")
    with pytest.raises(ValueError, match="'beta' is defined twice"):
        doc_blocks(tmp_path)


def test_dbt_parse_renders_the_blocks_as_the_package_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "AIRFLOW_VAR_SMARKETING_PSEUDONYM_KEY", "docs-blocks-test-key-0123456789abcdef"
    )
    settings = load_settings()
    settings.ensure_dirs()
    run_dbt(settings, "parse")
    manifest = json.loads((settings.data_dir / "dbt" / "target" / "manifest.json").read_text())
    dbt_blocks = {
        doc["name"]: doc["block_contents"]
        for doc in manifest["docs"].values()
        if doc["package_name"] == "smarketing"
    }
    assert dbt_blocks == doc_blocks(DBT_DIR)
    nodes = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "seed", "snapshot"}
    }
    unrendered = sorted(
        (name, column)
        for name, node in nodes.items()
        for column, spec in node["columns"].items()
        if "{{" in spec["description"] or "{%" in spec["description"]
    )
    assert unrendered == []
    # the PostgreSQL comments (serve_postgres) carry the text dbt docs shows
    docs = model_docs(DBT_DIR)
    assert docs["fct_deals"].columns["won_at"] == " ".join(dbt_blocks["won_at"].split())
    # dbt renders enabled nodes only (a disabled vendor's staging model keeps its references)
    disabled = {versions[0]["name"] for versions in manifest["disabled"].values()}
    assert set(docs) - set(nodes) <= disabled
    for name, doc in docs.items():
        if name in disabled:
            continue
        dbt_columns = nodes[name]["columns"]
        assert doc.columns == {
            column: " ".join(dbt_columns[column]["description"].split()) for column in doc.columns
        }, name
