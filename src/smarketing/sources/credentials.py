"""Vendor credentials from Airflow Connections: never from code, never logged.

Inside an Airflow task the connection comes from Airflow (its secrets backends, environment
variables ``AIRFLOW_CONN_<ID>`` or the metadata DB). Outside Airflow (CLI, tests) the same
``AIRFLOW_CONN_<ID>`` environment variable is read directly, in Airflow's JSON form.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from smarketing import redact
from smarketing.vendors import VENDORS


class MissingConnection(RuntimeError):
    """A connection id is not configured; says which and which fields it needs."""


@dataclass(frozen=True)
class Credentials:
    conn_id: str
    host: str = ""
    login: str = ""
    password: str = field(default="", repr=False)  # never in a repr, a log or an error
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Every credential held is registered for masking the moment it is loaded."""
        redact.register_secret(self.password)
        redact.register_mapping(self.extra)
        redact.register_url(self.host)

    def require(self, *names: str) -> None:
        missing = [n for n in names if not (getattr(self, n, "") or self.extra.get(n))]
        if missing:
            raise MissingConnection(
                f"connection {self.conn_id!r} lacks {', '.join(missing)} (see README, Connections)"
            )


# conn id -> what each field holds (the README's Connections table is generated from this):
# every vendor's connection from the registry (smarketing.vendors), then the project's own
CONNECTIONS: dict[str, dict[str, str]] = {
    **{vendor.conn_id: dict(vendor.connection_fields) for vendor in VENDORS},
    "smarketing_pseudonym": {
        "password": "pseudonym key: a random secret of 32+ characters (README, Security)",
    },
}


def _from_env(conn_id: str) -> Credentials | None:
    raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw or not raw.lstrip().startswith("{"):
        return None  # URI form: Airflow parses it
    data = json.loads(raw)
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra)
    host = data.get("host") or ""
    return Credentials(conn_id, host, data.get("login") or "", data.get("password") or "", extra)


def get_credentials(conn_id: str) -> Credentials:
    """The connection ``conn_id`` from Airflow, else from ``AIRFLOW_CONN_<ID>``."""
    env = _from_env(conn_id)
    if env is not None:
        return env
    try:
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException
    except ImportError as exc:  # not inside Airflow
        raise MissingConnection(f"connection {conn_id!r}: Airflow is not installed") from exc
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as exc:  # not defined (deterministic: fails fast)
        # other failures (an execution-API or secrets-backend timeout) stay retryable
        raise MissingConnection(
            f"connection {conn_id!r} is not defined; add it in Airflow or as "
            f"AIRFLOW_CONN_{conn_id.upper()} (fields: {', '.join(CONNECTIONS.get(conn_id, {}))})"
        ) from exc
    return Credentials(
        conn_id, conn.host or "", conn.login or "", conn.password or "", conn.extra_dejson or {}
    )


def register_all_connections() -> None:
    """Load every project connection so its secrets are masked in this process too.

    For steps that write text but hold no connector (the failure callback, the gate's
    report, the run summary): they must scrub credentials they never loaded themselves.
    """
    for conn_id in CONNECTIONS:
        try:
            get_credentials(conn_id)  # registers its secrets with the masker
        except Exception:  # undefined or unreachable: nothing of it can be in our text
            continue
