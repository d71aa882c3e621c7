"""docker-compose.yml is how users deploy; no Docker engine runs here, so check its structure."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_DIR

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"} | {"postgres", "redis"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")  # not $${escaped}


def secret_literals(compose: dict) -> list[str]:
    """Environment entries holding a secret written out instead of a ${...} interpolation."""
    bad = []
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            looks_secret = SECRET_KEY.search(key) or re.search(r"://[^/\s:]+:[^@\s]+@", text)
            if looks_secret and "${" not in text:
                bad.append(f"{name}.{key}")
    return bad


def test_services_of_the_official_airflow_3_layout() -> None:
    assert set(COMPOSE["services"]) == AIRFLOW_SERVICES | {"postgres", "redis"}
    commands = {n: COMPOSE["services"][n].get("command") for n in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"] == "celery worker"


def test_every_airflow_service_runs_the_image_built_from_this_repo() -> None:
    for name in AIRFLOW_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"] == "."
        assert service["image"].startswith("smarketing-warehouse:")
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python3\.11$", dockerfile, re.M)
    pinned = re.search(
        r"^apache-airflow==(\S+)$", (PROJECT_DIR / "requirements.lock").read_text(), re.M
    )
    assert base and pinned and base.group(1) == pinned.group(1)
    assert "pip install --no-cache-dir -r /opt/smarketing/requirements.lock" in dockerfile
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in (PROJECT_DIR / "docker-compose.yml").read_text()


def test_bind_mounts_point_at_folders_in_the_repo() -> None:
    mounts = COMPOSE["services"]["airflow-scheduler"]["volumes"]
    parsed = [re.fullmatch(r"(.+?):(/[^:]+)(?::(\w+))?", m).groups() for m in mounts]
    targets = {target: source for source, target, _ in parsed}
    modes = {target: mode for _, target, mode in parsed}
    assert targets["/opt/airflow/dags"] == "./dags"
    assert targets["/opt/smarketing/dbt_project"] == "./dbt_project"
    assert targets["/opt/smarketing/expectations"] == "./expectations"
    for host in ("./dags", "./dbt_project", "./expectations"):
        assert (PROJECT_DIR / host).is_dir()
    env = COMPOSE["services"]["airflow-scheduler"]["environment"]
    assert env["SMARKETING_PROJECT_DIR"] == "/opt/smarketing"
    assert env["SMARKETING_DATA_DIR"] == "/opt/smarketing/data"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    # the checkout is mounted read-only: GX, dbt and Airflow write under the data/log folders
    for target in (
        "/opt/airflow/dags",
        "/opt/smarketing/dbt_project",
        "/opt/smarketing/expectations",
    ):
        assert modes[target] == "ro", target
    assert modes["/opt/smarketing/data"] is None
    assert targets["/opt/smarketing/data"] == "${SMARKETING_DATA_PATH:-./data}"


def test_celery_executor_with_redis_broker_and_postgres_result_backend() -> None:
    services = COMPOSE["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"]
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
        assert "@postgres/" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
        deps = services[name]["depends_on"]
        assert deps["redis"]["condition"] == "service_healthy", name
    assert re.fullmatch(r"redis:\d+(\.\d+)*-\w+", services["redis"]["image"])
    assert "--requirepass" in services["redis"]["command"]
    assert "ports" not in services["redis"] and "ports" not in services["postgres"]
    # the executor class and the worker's Celery app exist in the pinned providers
    from airflow.providers.celery.executors import celery_executor

    assert celery_executor.CeleryExecutor.__name__ == "CeleryExecutor"


def test_worker_service_scales() -> None:
    worker = COMPOSE["services"]["airflow-worker"]
    # `--scale airflow-worker=N` needs no fixed name and no host port
    assert "container_name" not in worker and "ports" not in worker
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown
    assert "AIRFLOW__CELERY__WORKER_CONCURRENCY" in worker["environment"]
    check = " ".join(worker["healthcheck"]["test"])
    assert "inspect ping" in check and "celery@$${HOSTNAME}" in check
    # every worker sees the one warehouse: same data volume as the scheduler
    assert set(worker["volumes"]) == set(COMPOSE["services"]["airflow-scheduler"]["volumes"])


def test_production_auth_manager_with_the_admin_from_env() -> None:
    services = COMPOSE["services"]
    manager = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == manager, name
    assert "SimpleAuthManager" not in (PROJECT_DIR / "docker-compose.yml").read_text()
    module, _, cls = manager.rpartition(".")
    import importlib

    assert hasattr(importlib.import_module(module), cls)
    init = services["airflow-init"]
    script = init["command"][1]
    assert init["environment"]["_AIRFLOW_WWW_USER_PASSWORD"].startswith(
        "${AIRFLOW_ADMIN_PASSWORD:?"
    )
    assert init["environment"]["_AIRFLOW_WWW_USER_USERNAME"].startswith("${AIRFLOW_ADMIN_USER")
    create = re.search(r"airflow users create(?:[^\n]*\\\n)*[^\n]*", script).group(0)
    assert "--role Admin" in create
    assert '--password "$${_AIRFLOW_WWW_USER_PASSWORD}"' in create
    assert '--username "$${_AIRFLOW_WWW_USER_USERNAME}"' in create


def test_api_server_bound_to_loopback_unless_the_operator_sets_a_host() -> None:
    (port,) = COMPOSE["services"]["airflow-apiserver"]["ports"]
    assert port == "${AIRFLOW_API_HOST:-127.0.0.1}:${AIRFLOW_API_PORT:-8080}:8080"
    for name, service in COMPOSE["services"].items():
        if name != "airflow-apiserver":
            assert "ports" not in service, name


def placeholder_check() -> str:
    """The init script's first part, with compose's $$ escapes undone."""
    script = COMPOSE["services"]["airflow-init"]["command"][1]
    head, marker, _ = script.partition("# -- end of placeholder check --")
    assert marker
    return head.replace("$$", "$")


@pytest.mark.parametrize(
    "env,refused",
    [
        ({"AIRFLOW__CORE__FERNET_KEY": "change-me-fernet-key"}, ["AIRFLOW__CORE__FERNET_KEY"]),
        (
            {"_AIRFLOW_WWW_USER_PASSWORD": "change-me", "X_URL": "redis://:Change-Me@r/0"},
            ["X_URL", "_AIRFLOW_WWW_USER_PASSWORD"],
        ),
        ({"AIRFLOW__CORE__FERNET_KEY": "3xVb1oq0h_Zl7jJ4lq2V0k3Q5aJqg4cO2nYg0lJ1m9A="}, []),
    ],
)
def test_init_refuses_to_start_with_a_change_me_placeholder(
    env: dict[str, str], refused: list[str]
) -> None:
    run = subprocess.run(
        ["bash", "-c", placeholder_check()],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )
    assert run.returncode == (1 if refused else 0), run.stderr
    for name in refused:
        assert name in run.stderr
    if refused:
        assert "change-me" in run.stderr
    # no Airflow service starts unless init completed successfully
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        deps = COMPOSE["services"][name]["depends_on"]
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    # .env.example ships the placeholders the check refuses
    example = (PROJECT_DIR / ".env.example").read_text()
    for key in (
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_JWT_SECRET",
    ):
        assert re.search(rf"^{key}=change-me", example, re.M), key


def test_init_creates_and_chowns_the_mounted_folders_for_the_airflow_uid() -> None:
    init = COMPOSE["services"]["airflow-init"]
    assert init["user"] == "0:0"  # root, so it may chown the bind-mounted host folders
    script = init["command"][1]
    mkdir = script.index("mkdir -p /opt/smarketing/data")
    chown = script.index(
        'chown -R "${AIRFLOW_UID:-50000}:0" /opt/smarketing/data /opt/airflow/logs'
    )
    assert mkdir < chown < script.index("airflow db migrate")
    for folder in ("landing", "warehouse", "published", "reports"):
        assert f"/opt/smarketing/data/{folder}" in script
    assert "/opt/airflow/logs" in script[mkdir:chown]
    # the services then run as that uid, writing into those folders
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert COMPOSE["services"][name]["user"] == "${AIRFLOW_UID:-50000}:0"


def test_long_running_services_have_healthchecks_and_ordered_startup() -> None:
    for name in LONG_RUNNING:
        check = COMPOSE["services"][name]["healthcheck"]["test"]
        assert check[0] in ("CMD", "CMD-SHELL") and len(check) >= 2
        assert COMPOSE["services"][name]["restart"] == "always"
    services = COMPOSE["services"]
    assert "localhost:8080/api/v2/version" in " ".join(
        services["airflow-apiserver"]["healthcheck"]["test"]
    )
    assert "localhost:8974/health" in " ".join(services["airflow-scheduler"]["healthcheck"]["test"])
    assert "DagProcessorJob" in services["airflow-dag-processor"]["healthcheck"]["test"][1]
    assert "TriggererJob" in services["airflow-triggerer"]["healthcheck"]["test"][1]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "ping" in services["redis"]["healthcheck"]["test"][1]
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        deps = services[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["airflow-init"]["condition"] == "service_completed_successfully"
    assert not re.search(r":latest$", services["postgres"]["image"])
    assert re.fullmatch(r"postgres:\d+(\.\d+)*", services["postgres"]["image"])


def test_init_migrates_and_creates_the_duckdb_pool() -> None:
    script = "\n".join(COMPOSE["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    assert "airflow pools set duckdb_warehouse 1" in script


def test_no_secret_is_written_inline_and_every_variable_is_documented() -> None:
    assert secret_literals(COMPOSE) == []
    text = (PROJECT_DIR / "docker-compose.yml").read_text()
    used = set(INTERPOLATION.findall(text))
    example = (PROJECT_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    assert used - documented == set()
    assert {
        "POSTGRES_PASSWORD",
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_JWT_SECRET",
        "REDIS_PASSWORD",
    } <= used
    assert "AIRFLOW_ADMIN_PASSWORD" in used


@pytest.mark.parametrize(
    "key,value",
    [
        ("POSTGRES_PASSWORD", "hunter2"),
        ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql://u:pw@db/x"),
    ],
)
def test_the_secret_check_itself_catches_literals(key: str, value: str) -> None:
    broken = {"services": {"s": {"environment": {key: value}}}}
    assert secret_literals(broken) == [f"s.{key}"]


def test_docker_context_excludes_local_state() -> None:
    ignored = set((PROJECT_DIR / ".dockerignore").read_text().split())
    assert {".venv", "data", "airflow_home", ".env", ".git"} <= ignored
    assert Path(PROJECT_DIR / "Dockerfile").exists()
