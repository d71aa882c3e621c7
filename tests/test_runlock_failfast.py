"""One run at a time (with a message naming the holder), and deterministic failures fail fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smarketing.failfast import fail_fast
from smarketing.runlock import RunLockBusy, lock_path, run_lock
from tests.conftest import PROJECT_DIR


def _cli(*args: str, env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "smarketing.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_a_second_run_is_refused_and_told_who_holds_the_lock_since_when(tmp_path: Path) -> None:
    env = {**os.environ, "SMARKETING_DATA_DIR": str(tmp_path / "data")}
    marker = tmp_path / "first-ran"
    first = _cli(
        "run-locked",
        "--what",
        "make run RUN_DATE=2026-04-01",
        "--",
        sys.executable,
        "-c",
        f"import pathlib, time; pathlib.Path({str(marker)!r}).touch(); time.sleep(60)",
        env=env,
    )
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert marker.exists()
        holder = json.loads(lock_path(tmp_path / "data").read_text())
        assert holder["what"] == "make run RUN_DATE=2026-04-01" and holder["pid"] == first.pid
        second = _cli("run-locked", "--", sys.executable, "-c", "print('ran')", env=env)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 75 and "ran" not in out
        assert (
            "another run is in progress on this data folder: make run RUN_DATE=2026-04-01 "
            f"(pid {first.pid} on " in err
        )
        assert f"since {holder['since']}" in err
        # the same lock, taken in-process (as a pipeline step would), is refused as well
        with (
            pytest.raises(RunLockBusy, match="make run RUN_DATE=2026-04-01"),
            run_lock(lock_path(tmp_path / "data"), "another"),
        ):
            pass
    finally:
        first.send_signal(signal.SIGKILL)  # a killed holder never leaves a stale lock
        first.wait(timeout=30)
    third = _cli("run-locked", "--", sys.executable, "-c", "print('ran')", env=env)
    out, err = third.communicate(timeout=60)
    assert third.returncode == 0 and out.strip() == "ran", err


def test_deterministic_failures_fail_fast_and_network_errors_stay_retryable() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from smarketing.pseudonyms import MissingPseudonymKey
    from smarketing.quality.gate import QualityGateFailed
    from smarketing.sources.base import ExtractError
    from smarketing.sources.http import SourceHttpError, SourceResponseError
    from smarketing.transform import DbtBuildFailed, out_of_memory_error
    from smarketing.warehouse.load import ConflictingVersions, LoadOutOfMemory

    for error in (
        QualityGateFailed("quality gate failed: 1 of 9 checks blocked publication"),
        DbtBuildFailed("dbt build failed: 1 test failed"),
        out_of_memory_error("build", ["model.smarketing.int_crm__deals"], [], "20MB"),
        ExtractError("hubspot", "deals", "#3", "amount", "required field missing"),
        SourceResponseError(
            "hubspot", "/crm/v3/objects/contacts/search", "paging does not advance"
        ),
        ConflictingVersions("hubspot/deals id=7: two contents for one updatedAt"),
        LoadOutOfMemory("raw load of interval=2026-01-14 (hubspot/contacts) needed more memory"),
        MissingPseudonymKey("no pseudonym key"),
    ):
        with pytest.raises(AirflowFailException) as caught, fail_fast():
            raise error
        assert str(caught.value).startswith(f"{type(error).__name__}: ")
        assert str(error) in str(caught.value) and caught.value.__cause__ is error
    for error in (
        SourceHttpError("hubspot", "/crm/v3/objects/deals", "HTTP 503 after 5 attempts"),
        RunLockBusy("held"),
        TimeoutError(),
    ):
        with pytest.raises(type(error)), fail_fast():
            raise error


def test_a_second_make_run_stops_at_once_naming_the_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "SMARKETING_DATA_DIR": str(data),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "RUN_DATE": "2026-04-01",
    }
    with run_lock(lock_path(data), "make run RUN_DATE=2026-03-31"):
        second = subprocess.run(
            [str(PROJECT_DIR / "scripts" / "run_nightly.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert second.returncode == 75
    assert "another run is in progress on this data folder: make run RUN_DATE=2026-03-31" in (
        second.stderr
    )
    assert "==> Airflow metadata DB" not in second.stdout  # stopped before touching anything
    assert not (tmp_path / "airflow" / "airflow.db").exists()
