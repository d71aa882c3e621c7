"""The command line: demo generation and rollback of the published database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from smarketing.cli import main
from smarketing.warehouse.publish import list_versions, publish


def test_demo_generate_writes_sources_and_truth(tmp_path: Path, capsys) -> None:
    out = tmp_path / "demo"
    assert (
        main(
            [
                "demo",
                "generate",
                "--seed",
                "3",
                "--scale",
                "0.05",
                "--start",
                "2026-01-01",
                "--end",
                "2026-01-03",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    truth = json.loads((out / "ground_truth.json").read_text())
    assert truth["start"] == "2026-01-01" and truth["end"] == "2026-01-03"
    assert sorted(p.name for p in (out / "web").iterdir()) == [
        "events_20260101.jsonl",
        "events_20260102.jsonl",
        "events_20260103.jsonl",
    ]
    assert '"leads"' in capsys.readouterr().out


def test_rollback_command_restores_the_previous_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pub = tmp_path / "pub" / "smarketing.duckdb"
    monkeypatch.setenv("SMARKETING_PUBLISHED_PATH", str(pub))
    wh = tmp_path / "wh.duckdb"
    digests = []
    for revenue in (10, 20):
        con = duckdb.connect(str(wh))
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table audit.m as select {revenue} as revenue")
        con.close()
        publish(wh, pub, f"run-{revenue}", "d")
        digests.append(hashlib.sha256(pub.read_bytes()).hexdigest())
    assert main(["rollback"]) == 0
    assert hashlib.sha256(pub.read_bytes()).hexdigest() == digests[0]
    assert "restored" in capsys.readouterr().out
    assert main(["rollback", "--to", list_versions(pub)[1].name]) == 0
    assert hashlib.sha256(pub.read_bytes()).hexdigest() == digests[1]
    assert main(["rollback", "--to", "no-such-version"]) == 2
