"""One Airflow home per end-to-end test, its metadata DB copied from one migrated once.

`airflow db migrate` (plus the DuckDB writers' pool) takes tens of seconds on the shared test
machine and gives the same SQLite file every time: it runs once per test session (once for
all xdist workers, under a file lock) and each test gets its own copy, so every test still
has an Airflow home, a metadata DB and runs of its own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
POOL = ["pools", "set", "duckdb_warehouse", "1", "DuckDB writers"]


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this session sees (the session's own when serial)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock across the session's worker processes (fcntl; released on exit)."""
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def home_vars(home: Path) -> dict[str, str]:
    """The variables that make `home` the Airflow home with its own SQLite metadata DB."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }


def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The metadata DB after `airflow db migrate` and the pool, built once per session."""
    root = shared_dir(tmp_path_factory) / "airflow_template"
    root.mkdir(exist_ok=True)
    db = root / "home" / "airflow.db"
    with file_lock(root / ".lock"):
        if not (root / "done").exists():
            shutil.rmtree(root / "home", ignore_errors=True)
            (root / "home").mkdir()
            env = {**os.environ, **home_vars(root / "home")}
            for cmd in (["db", "migrate"], POOL):
                subprocess.run([AIRFLOW, *cmd], env=env, check=True, capture_output=True)
            (root / "done").touch()
    return db


def airflow_home(home: Path, template: Path) -> dict[str, str]:
    """Create the Airflow home `home` with its own copy of the migrated metadata DB."""
    home.mkdir(parents=True)
    shutil.copy(template, home / "airflow.db")
    return home_vars(home)
