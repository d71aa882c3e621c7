"""dbt-duckdb plugin (profiles.yml ``plugins:``): registers ``smarketing_pseudonym(varchar)``.

The function is HMAC-SHA-256 under the pseudonym key (see :mod:`smarketing.pseudonyms`),
read from ``DBT_ENV_SECRET_SMARKETING_PSEUDONYM_KEY``, which :func:`smarketing.transform.run_dbt`
sets only while dbt runs. The key stays in this process: it never reaches SQL text, dbt's
compiled files or its logs. Without a key the function raises, so nothing unkeyed is built.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

from smarketing.pseudonyms import DBT_ENV, UDF_NAME, pseudonym


def _keyed(secret: str):
    def keyed(identity: str) -> str:
        return pseudonym(secret, identity)

    return keyed


def _refuse(identity: str) -> str:
    raise ValueError(
        f"no pseudonym key for {UDF_NAME}(): run dbt through the pipeline (it reads the key"
        " from Airflow Connection smarketing_pseudonym)"
    )


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        secret = os.environ.get(DBT_ENV, "")
        self._function = _keyed(secret) if secret else _refuse

    def _register(self, conn: DuckDBPyConnection) -> None:
        with contextlib.suppress(Exception):  # not registered on this connection yet
            conn.remove_function(UDF_NAME)
        # deterministic and null in, null out: DuckDB may cache and skips nulls
        conn.create_function(UDF_NAME, self._function, [VARCHAR], VARCHAR, side_effects=False)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        self._register(conn)  # cursors dbt takes from this connection see the function too
