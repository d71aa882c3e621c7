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
    assert sorted(p.name for p in (out / "ga4").iterdir()) == [
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


def test_rollback_list_is_a_table_marking_the_live_version_and_json_for_scripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pub = tmp_path / "pub" / "smarketing.duckdb"
    monkeypatch.setenv("SMARKETING_PUBLISHED_PATH", str(pub))
    wh = tmp_path / "wh.duckdb"
    for i, revenue in enumerate((10, 20, 30), start=1):
        con = duckdb.connect(str(wh))
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table audit.m as select {revenue} as revenue")
        con.close()
        publish(wh, pub, f"run-{i}", f"2026-01-0{i}")
    assert main(["rollback"]) == 0  # run-3 withdrawn, run-2 live
    capsys.readouterr()
    assert main(["rollback", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Kept versions of {pub} (* = live):"
    assert lines[1].split() == ["version", "run", "interval", "published", "at", "checksum", "note"]
    rows = [line.split() for line in lines[3:]]
    assert [r[:4] for r in rows] == [
        ["1", "run-1", "2026-01-01", rows[0][3]],
        ["*", "2", "run-2", "2026-01-02"],
        ["3", "run-3", "2026-01-03", rows[2][3]],
    ]
    assert rows[1][-2:] == ["ok", "live"] and rows[0][-1] == "ok"
    assert " ".join(rows[2][-5:]) == "ok withdrawn by a rollback"
    assert main(["rollback", "--list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["sequence"], r["run_id"], r["live"], r["checksum"]) for r in listed] == [
        (1, "run-1", False, "ok"),
        (2, "run-2", True, "ok"),
        (3, "run-3", False, "ok"),
    ]
    # a kept version changed on disk is shown and refused with a clear message
    con = duckdb.connect(str(list_versions(pub)[0]))
    con.execute("update m set revenue = 0")
    con.close()
    assert main(["rollback", "--to", "1"]) == 1
    assert "rollback refused: refusing to restore v000001__run-1" in capsys.readouterr().err
    assert main(["rollback", "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["checksum"] == "MODIFIED"


def test_rollback_is_refused_while_a_run_step_holds_the_warehouse_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from smarketing.pipeline import step_lock

    pub = tmp_path / "pub" / "smarketing.duckdb"
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMARKETING_PUBLISHED_PATH", str(pub))
    wh = tmp_path / "wh.duckdb"
    for revenue in (10, 20):
        con = duckdb.connect(str(wh))
        con.execute("create schema if not exists audit")
        con.execute(f"create or replace table audit.m as select {revenue} as revenue")
        con.close()
        publish(wh, pub, f"run-{revenue}", "d")
    before = hashlib.sha256(pub.read_bytes()).hexdigest()
    with step_lock("publish", "scheduled__2026-02-15"):
        assert main(["rollback"]) == 75
    err = capsys.readouterr().err
    assert "rollback not started: another run is in progress" in err
    assert "step publish of run scheduled__2026-02-15 (pid " in err
    assert hashlib.sha256(pub.read_bytes()).hexdigest() == before
    assert main(["rollback"]) == 0  # the lock is free again
