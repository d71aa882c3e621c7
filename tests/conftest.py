"""Shared fixtures: every test gets its own data folder; the tiny demo company is built once."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from smarketing.config import Settings, load_settings
from smarketing.demo.company import generate, write_world
from smarketing.demo.server import DemoServer, demo_connections
from tests.pg_server import PostgresServer, pg_bin_dir

PROJECT_DIR = Path(__file__).resolve().parents[1]

# Airflow reads its home at import: give the test session its own, never ~/airflow or the
# developer's ./airflow_home, and keep examples out of every DagBag.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="smarketing-airflow-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_DIR / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = (
    f"sqlite:///{os.environ['AIRFLOW_HOME']}/airflow.db"
)
os.environ["GX_ANALYTICS_ENABLED"] = "False"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
TINY = {"seed": 7, "scale": 0.4, "start": date(2026, 1, 1), "end": date(2026, 2, 14)}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A six-week demo company at 4/10 scale, written once per test session."""
    out = tmp_path_factory.mktemp("tiny_demo")
    write_world(generate(TINY["seed"], TINY["scale"], TINY["start"], TINY["end"]), out)
    return out


@pytest.fixture
def truth(tiny_demo: Path) -> dict:
    return json.loads((tiny_demo / "ground_truth.json").read_text())


@pytest.fixture(scope="session")
def demo_server(tiny_demo: Path) -> Iterator[DemoServer]:
    """The tiny demo company's vendor APIs on 127.0.0.1, small pages to exercise paging."""
    with DemoServer(tiny_demo, page_size=20) as server:
        yield server


@pytest.fixture
def settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_demo: Path, demo_server: DemoServer
) -> Settings:
    """Settings writing into tmp_path; connections point at the tiny demo's server."""
    demo_server.faults.clear()
    for key, value in demo_connections(demo_server.url, tiny_demo).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SMARKETING_HTTP_BACKOFF_SECONDS", "0")
    # the demo server does not limit the search rate unless a test asks it to
    monkeypatch.setenv("SMARKETING_HUBSPOT_SEARCH_PER_SECOND", "1000")
    monkeypatch.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("SMARKETING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SMARKETING_DEMO_DIR", str(tiny_demo))
    monkeypatch.setenv("SMARKETING_LOOKBACK_DAYS", "2")
    s = load_settings()
    s.ensure_dirs()
    return s


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 (Debian's binaries), one per test session.

    Connect with ``postgres_server.dsn()`` (superuser) or ``.dsn(user, password)``. Without
    the binaries the tests that need it are skipped, except in CI (``CI=true``), where
    `.ci/run` installs them and a missing server is a failure.
    """
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries missing (apt-get install postgresql; see .ci/run)")
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql)")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def published_demo(
    tmp_path_factory: pytest.TempPathFactory, tiny_demo: Path, demo_server: DemoServer
) -> Settings:
    """The tiny demo company extracted, loaded, dbt-built and published once per session."""
    from smarketing import pipeline
    from smarketing.sources.catalog import SOURCES

    base = tmp_path_factory.mktemp("published_demo")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in demo_connections(demo_server.url, tiny_demo).items():
            mp.setenv(key, value)
        mp.delenv("AIRFLOW_CONN_SMARKETING_BI_POSTGRES", raising=False)
        mp.setenv("SMARKETING_HTTP_BACKOFF_SECONDS", "0")
        mp.setenv("SMARKETING_PROJECT_DIR", str(PROJECT_DIR))
        mp.setenv("SMARKETING_DATA_DIR", str(base / "data"))
        mp.setenv("SMARKETING_DEMO_DIR", str(tiny_demo))
        s = load_settings()
        s.ensure_dirs()
        for source in SOURCES:
            pipeline.extract(source, "2026-02-14", "2026-02-15", "2026-01-01", s)
        interval = pipeline.load_raw("2026-02-14", "2026-02-15", "2026-01-01", s)["interval"]
        pipeline.transform(s)
        pipeline.publish("demo-run", interval, {}, s)
    return s


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated Airflow metadata DB (with the DuckDB pool) to copy; see tests/airflow_env.py."""
    from tests.airflow_env import migrated_db

    return migrated_db(tmp_path_factory)


# `make test` runs two xdist workers with --dist loadfile: a test file's tests share one worker
# (module fixtures built once), and files are handed out in collection order, so the longest
# ones go first and both workers finish together (rough seconds on the shared 2-core machine:
# README's durations; the fault catalogue's ~25 nights estimated). --dist loadgroup could split
# a file, but pytest-xdist 3.8 cannot set the group on pytest 9.2's node ids: every test became
# its own group and the topology was started twice.
LONGEST_FILES = {
    "tests/test_fault_catalogue.py": 600,
    "tests/test_e2e_operations.py": 200,
    "tests/test_topology.py": 190,
    "tests/benchmarks/test_bench.py": 120,
    "tests/test_e2e_dag.py": 100,
    "tests/test_e2e_secrets.py": 60,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: -LONGEST_FILES.get(item.nodeid.split("::")[0], 0))
