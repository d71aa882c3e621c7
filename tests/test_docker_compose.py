"""docker-compose.yml is how users deploy; no Docker engine runs here, so check its structure."""

from __future__ import annotations

import re
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
}
LONG_RUNNING = AIRFLOW_SERVICES - {"airflow-init"} | {"postgres"}
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
    assert set(COMPOSE["services"]) == AIRFLOW_SERVICES | {"postgres"}
    commands = {n: COMPOSE["services"][n].get("command") for n in AIRFLOW_SERVICES}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"


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
    targets = {m.split(":")[1]: m.split(":")[0] for m in mounts}
    assert targets["/opt/airflow/dags"] == "./dags"
    assert targets["/opt/smarketing/dbt_project"] == "./dbt_project"
    assert targets["/opt/smarketing/expectations"] == "./expectations"
    for host in ("./dags", "./dbt_project", "./expectations"):
        assert (PROJECT_DIR / host).is_dir()
    env = COMPOSE["services"]["airflow-scheduler"]["environment"]
    assert env["SMARKETING_PROJECT_DIR"] == "/opt/smarketing"
    assert env["SMARKETING_DATA_DIR"] == "/opt/smarketing/data"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")


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
    assert {"POSTGRES_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET"} <= used


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
