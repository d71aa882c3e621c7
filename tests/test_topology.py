"""The deployment topology, scheduled for real: PostgreSQL, Redis, API server, scheduler, DAG
processor, triggerer and a Celery worker as local processes (smarketing.topology).

The DAG is unpaused, not `dags test`-ed: the scheduler creates two scheduled runs (catch-up of
the two nightly intervals before today), the Celery worker runs their tasks, and the test reads
their states and logs through the REST API (Airflow 3 public API v2, JWT from /auth/token).

1. The first scheduled run publishes the demo's first days; the second adds yesterday
   incrementally; published numbers equal the demo company's ground truth.
2. Every task of both runs succeeded, each on the Celery worker; task logs are readable.
3. The DAG's grid after the two runs is screenshot in headless Chromium (artifact).
4. Every process the topology started is gone afterwards.

Run alone: `pytest -m topology`.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests

from smarketing.topology import DAG_ID, Topology, live_group_members, postgres_bindir
from smarketing.vendors import VENDOR_NAMES
from smarketing.warehouse.publish import kept_versions
from tests.conftest import PROJECT_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.topology,
    pytest.mark.extended,
    pytest.mark.timeout(1500),
]

TODAY = date.today()
FIRST_DAY = TODAY - timedelta(days=2)  # data day of the first scheduled run
LAST_DAY = TODAY - timedelta(days=1)  # ... and of the second: yesterday
ARTIFACTS = Path(os.environ.get("SMARKETING_ARTIFACTS_DIR", PROJECT_DIR / "artifacts"))
TASKS = {
    *(f"extract_{name}" for name in VENDOR_NAMES),  # one extract per registered vendor
    "load_raw",
    "dbt_build",
    "quality_gate",
    "publish",
    "summary",
}


def _missing_services() -> str | None:
    try:
        postgres_bindir()
    except RuntimeError as exc:
        return str(exc)
    if not shutil.which("redis-server"):
        return "redis-server not installed (apt-get install -y redis-server)"
    return None


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    missing = _missing_services()
    if missing and os.environ.get("CI"):
        pytest.fail(missing)  # .ci/run installs them: in CI a missing one is a failure
    if missing:
        pytest.skip(missing)
    topo = Topology(
        root=tmp_path_factory.mktemp("topology"),
        demo_start=FIRST_DAY - timedelta(days=2),  # the first run's lookback reaches it
        demo_end=LAST_DAY,
        start_date=FIRST_DAY,
        schedule="0 0 * * *",  # midnight: both intervals are complete whatever the hour
        catchup=True,
        lookback_days=2,
        demo_scale=0.3,
        extra_env={"SMARKETING_RETRIES": "0"},
    )
    with topo:
        yield topo
        pids = [p.pid for p in topo.processes.values()]
    assert len(pids) == 7  # postgres, redis and the five Airflow processes
    assert_gone(pids)  # every process group the topology started has ended


def api(topo: Topology, token: str, path: str, method: str = "GET", **kw) -> dict:
    r = requests.request(
        method,
        f"{topo.api_url}/api/v2{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
        **kw,
    )
    assert r.ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
    return r.json()


def wait_for_runs(topo: Topology, token: str, count: int, timeout: float) -> list[dict]:
    """Until `count` runs ended; a failed run fails the test with its failed tasks' logs."""
    deadline = time.monotonic() + timeout
    runs: list[dict] = []
    while time.monotonic() < deadline:
        try:
            runs = api(topo, token, f"/dags/{DAG_ID}/dagRuns?order_by=logical_date")["dag_runs"]
        except requests.Timeout:  # a busy API server (2 cores, tasks running): ask again
            continue
        if exited := topo.exited():
            pytest.fail(f"topology processes exited: {exited}")
        failed = [r for r in runs if r["state"] == "failed"]
        if failed:
            pytest.fail(
                f"run failed: {failed[0]['dag_run_id']}\n{failed_logs(topo, token, failed[0])}"
            )
        if len([r for r in runs if r["state"] == "success"]) >= count:
            return runs
        time.sleep(5)
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}"
        for p in sorted(topo.logs.glob("*.log"))
    )
    pytest.fail(f"{count} successful runs not reached in {timeout}s: {runs}\n{logs}")


def failed_logs(topo: Topology, token: str, run: dict) -> str:
    tis = api(topo, token, f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")
    out = []
    for ti in tis["task_instances"]:
        if ti["state"] in ("failed", "upstream_failed"):
            out.append(f"{ti['task_id']}: {ti['state']}")
            if ti["state"] == "failed":
                out.append(
                    task_log(topo, token, run["dag_run_id"], ti["task_id"], ti["try_number"])
                )
    return "\n".join(out)


def task_log(topo: Topology, token: str, run_id: str, task_id: str, try_number: int) -> str:
    body = api(
        topo,
        token,
        f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
        params={"full_content": "true"},
    )
    content = body["content"]
    if isinstance(content, str):
        return content
    return "\n".join(
        line.get("event", "") if isinstance(line, dict) else str(line) for line in content
    )


@pytest.fixture(scope="module")
def scheduled_runs(topology: Topology) -> tuple[str, list[dict]]:
    started = time.monotonic()
    topology.wait_for_dag()
    token = topology.token()
    dag = api(topology, token, f"/dags/{DAG_ID}")
    assert dag["is_paused"] is True  # paused at creation, as in the deployment
    api(topology, token, f"/dags/{DAG_ID}", method="PATCH", json={"is_paused": False})
    runs = wait_for_runs(topology, token, 2, timeout=1200)
    print(f"\ntwo scheduled runs through the topology: {time.monotonic() - started:.0f}s")
    return token, runs


def test_two_scheduled_nights_publish_the_ground_truth(
    topology: Topology, scheduled_runs: tuple[str, list[dict]]
) -> None:
    _, runs = scheduled_runs
    assert [r["run_type"] for r in runs] == ["scheduled", "scheduled"]
    assert [r["state"] for r in runs] == ["success", "success"]
    assert [r["logical_date"][:10] for r in runs] == [FIRST_DAY.isoformat(), LAST_DAY.isoformat()]
    # each run published once, in order: the first night its day, the second night yesterday
    versions = kept_versions(topology.published_path)  # by publish sequence
    records = [v.record for v in versions]
    assert [(r["run_id"], r["data_interval"]) for r in records] == [
        (runs[0]["dag_run_id"], FIRST_DAY.isoformat()),
        (runs[1]["dag_run_id"], LAST_DAY.isoformat()),
    ]
    truth = json.loads((topology.data_dir / "demo" / "ground_truth.json").read_text())
    con = duckdb.connect(str(topology.published_path), read_only=True)
    got = con.execute(
        "select strftime(date_day, '%Y-%m-%d'), channel, spend, clicks, sessions, leads"
        " from mart_channel_daily order by 1, 2"
    ).fetchall()
    info = con.execute("select run_id, data_interval from _publish_info").fetchone()
    con.close()
    want = [
        (
            r["date_day"],
            r["channel"],
            Decimal(r["spend_cents"]) / 100,
            r["clicks"],
            r["sessions"],
            r["leads"],
        )
        for r in truth["channel_daily"]
    ]
    assert got == want
    assert {r[0] for r in got} >= {LAST_DAY.isoformat(), FIRST_DAY.isoformat()}
    assert sum(r[5] for r in got) == truth["totals"]["leads"] > 0
    assert info == (runs[1]["dag_run_id"], LAST_DAY.isoformat())
    # the first night's version held its days only: the second run added yesterday
    con = duckdb.connect(str(versions[0].path), read_only=True)
    (last_first,) = con.execute("select max(date_day) from mart_channel_daily").fetchone()
    con.close()
    assert last_first.isoformat() == FIRST_DAY.isoformat()


def test_task_states_and_logs_through_the_rest_api(
    topology: Topology, scheduled_runs: tuple[str, list[dict]]
) -> None:
    token, runs = scheduled_runs
    for run in runs:
        tis = api(topology, token, f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")
        states = {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}
        assert states == dict.fromkeys(TASKS, "success")
        for ti in tis["task_instances"]:
            assert ti["hostname"] and ti["try_number"] == 1, ti
        day = run["logical_date"][:10]
        log = task_log(topology, token, run["dag_run_id"], "load_raw", 1)
        assert f"loaded interval={day} into raw" in log, log[-2000:]
        log = task_log(topology, token, run["dag_run_id"], "summary", 1)
        assert "Published marts:" in log, log[-2000:]
    # the Celery worker received every one of the 18 tasks
    worker_log = (topology.logs / "celery-worker.log").read_text(errors="replace")
    received = re.findall(r"Task execute_workload\[([0-9a-f-]+)\] received", worker_log)
    assert len(set(received)) == 2 * len(TASKS)
    # the pool serialised the warehouse writers: no two of them overlapped in time
    spans = []
    for run in runs:
        tis = api(topology, token, f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")
        spans += [
            (ti["start_date"], ti["end_date"])
            for ti in tis["task_instances"]
            if ti["pool"] == "duckdb_warehouse"
        ]
    assert len(spans) == 8
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))


class _CookieProxy(http.server.ThreadingHTTPServer):
    """Forwards the browser's requests to the API server with the login cookie added: the UI
    is a single-page app authenticated by the `_token` cookie, which Chromium's command line
    cannot set."""

    def __init__(self, upstream: str, token: str) -> None:
        self.upstream, self.token = upstream, token
        super().__init__(("127.0.0.1", 0), _ProxyHandler)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _CookieProxy

    def do_GET(self) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "cookie")}
        headers["Cookie"] = f"_token={self.server.token}"
        r = requests.get(
            self.server.upstream + self.path, headers=headers, timeout=30, allow_redirects=False
        )
        self.send_response(r.status_code)
        for k, v in r.headers.items():
            if k.lower() not in (
                "transfer-encoding",
                "content-encoding",
                "content-length",
                "connection",
                "set-cookie",
            ):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    def log_message(self, *_: object) -> None:
        pass


def test_screenshot_of_the_dag_grid_after_two_scheduled_runs(
    topology: Topology, scheduled_runs: tuple[str, list[dict]]
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    token, runs = scheduled_runs
    proxy = _CookieProxy(topology.api_url, token)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "dag_grid_two_scheduled_runs.png"
    png.unlink(missing_ok=True)
    url = f"http://127.0.0.1:{proxy.server_address[1]}/dags/{DAG_ID}"  # grid on the left
    try:
        dom = chromium_run(chromium, url, "--dump-dom").stdout
        run = chromium_run(chromium, url, f"--screenshot={png}")
    finally:
        proxy.shutdown()
    (ARTIFACTS / "dag_page.html").write_text(dom)
    # the rendered page is the DAG's (logged in through the cookie), not a login or 404 page
    assert "Page Not Found" not in dom
    assert DAG_ID in dom
    assert len(runs) == 2
    assert png.exists(), run.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one


def chromium_run(chromium: str, url: str, action: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a fresh profile, no network beyond 127.0.0.1's page."""
    profile = tempfile.mkdtemp(prefix="smarketing-chromium-")
    try:
        return subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--window-size=1400,900",
                "--virtual-time-budget=20000",
                action,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_a_failed_start_stops_every_process_it_started(tmp_path: Path) -> None:
    """A start that fails half-way (here: the demo cannot be served) leaves no process."""
    if _missing_services():
        pytest.skip(_missing_services())
    topo = Topology(root=tmp_path, demo_start=FIRST_DAY, demo_end=LAST_DAY, start_date=FIRST_DAY)
    pids: list[int] = []
    original = topo._spawn

    def spawn(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        original(name, cmd, env)
        pids.append(topo.processes[name].pid)

    def no_demo() -> None:
        raise RuntimeError("demo unavailable")

    topo._spawn = spawn  # type: ignore[method-assign]
    topo._serve_demo = no_demo  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="demo unavailable"):
        topo.start()
    assert len(pids) == 2  # postgres and redis were running
    assert_gone(pids)
    assert topo.pg_dir is None and topo.processes == {}


def assert_gone(pids: list[int]) -> None:
    """No running process is left in any process group the topology started."""
    assert {pid: live_group_members(pid) for pid in pids} == {pid: [] for pid in pids}
