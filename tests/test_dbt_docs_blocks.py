"""Shared column descriptions have one home: the docs blocks of dbt_project/models/docs/.

A column name used by more than one model (staging, intermediate, marts, seeds, snapshots)
takes its description from a ``{% docs %}`` block named after it: ``<name>``, or
``<name>__<meaning>`` where models mean different things by the same name. Every reference
resolves, every block is used, and dbt renders the blocks as this package reads them (the
PostgreSQL comments of serve_postgres).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from smarketing.config import load_settings
from smarketing.dbt_docs import DOC_REF, UnknownDocBlock, doc_blocks, render
from smarketing.transform import run_dbt
from smarketing.warehouse.serve_postgres import model_docs
from tests.conftest import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt_project"
# the yml that describes nodes with columns (sources describe raw tables, not models)
NODE_KEYS = ("models", "seeds", "snapshots")


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


def test_every_shared_column_name_takes_its_description_from_a_block_named_after_it() -> None:
    uses = _column_descriptions()
    shared = {name: nodes for name, nodes in uses.items() if len(nodes) > 1}
    # the example: won_deals, described six ways before, in marts and in none else
    assert {"mart_channel_daily", "mart_funnel_conversion", "mart_revenue_summary"} <= set(
        shared["won_deals"]
    )
    assert {"stg_hubspot__calls", "stg_hubspot__emails", "stg_hubspot__meetings"} <= set(
        shared["owner_id"]
    )
    not_a_block = sorted(
        (node, name, text)
        for name, nodes in shared.items()
        for node, text in nodes.items()
        if _block_of(text) is None
    )
    assert not_a_block == []
    # a block is named after the column it describes (one meaning may have several blocks)
    misnamed = sorted(
        (node, name, block)
        for name, nodes in uses.items()
        for node, text in nodes.items()
        if (block := _block_of(text)) is not None
        and block != name
        and not block.startswith(name + "__")
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
    # one meaning, several names: the variants say what they are not
    assert "won_deals__first_deal" in blocks and "won_deals" in blocks
    assert "different measure" in blocks["won_deals"]


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
