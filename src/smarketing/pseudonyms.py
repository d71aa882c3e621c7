"""Keyed pseudonyms for people: HMAC-SHA-256 of a normalised identity with a secret key.

An unsalted hash of an e-mail is no pseudonym: anyone with a list of e-mails re-identifies
every key in seconds. The published ``person_key`` is therefore HMAC-SHA-256(key, identity),
computed inside DuckDB by a function the dbt-duckdb plugin
(:mod:`smarketing.dbt_plugin`) registers on dbt's connection. The key never appears in SQL,
in dbt's compiled files or in a log.

The key is a secret, not a setting: Airflow Connection ``smarketing_pseudonym`` (its
password), else Airflow Variable ``smarketing_pseudonym_key`` (both also readable as
``AIRFLOW_CONN_SMARKETING_PSEUDONYM`` / ``AIRFLOW_VAR_SMARKETING_PSEUDONYM_KEY``). Without one
the run stops before dbt, so nothing unkeyed is built or published. The demo generates a key
once, keeps it in its folder (mode 0600) and says so.

Same key, same person: same ``person_key`` in every run. A new key changes every key (a full
re-key); the warehouse remembers which key built it (a fingerprint, never the key) and a run
with a different key stops unless it is a full refresh.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

CONN_ID = "smarketing_pseudonym"
VARIABLE = "smarketing_pseudonym_key"
# dbt scrubs the values of DBT_ENV_SECRET_* variables from its logs; set only while dbt runs
DBT_ENV = "DBT_ENV_SECRET_SMARKETING_PSEUDONYM_KEY"
UDF_NAME = "smarketing_pseudonym"
MIN_KEY_LENGTH = 32  # characters; the demo's key is 64 hex characters (256 bits)
DEMO_KEY_FILE = ".pseudonym_key"
KEY_ID_TABLE = "main.smarketing_pseudonym_key"


class MissingPseudonymKey(RuntimeError):
    """No pseudonym key is configured: nothing may be built or published."""


class PseudonymKeyChanged(RuntimeError):
    """The key differs from the one that built the warehouse: a full re-key must be asked for."""


@dataclass(frozen=True)
class PseudonymKey:
    secret: str = field(repr=False)
    source: str  # where it came from (for the log), never the value
    demo: bool = False

    @property
    def key_id(self) -> str:
        """A fingerprint telling keys apart without revealing them."""
        return pseudonym(self.secret, "smarketing pseudonym key id")[:16]


def pseudonym(secret: str, identity: str) -> str:
    """HMAC-SHA-256 of ``identity`` (already normalised) under ``secret``, as 64 hex digits."""
    return hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


def _mask(value: str) -> None:
    """Register the key as a secret: our own scrubbing, and Airflow's masker when running under
    Airflow (redact never imports Airflow: that import alone cost each dbt step outside a
    worker over a second)."""
    from smarketing import redact

    redact.register_secret(value)


def _from_connection() -> tuple[str, bool]:
    """(password, is the demo's key) of the Connection, or ("", False) when it is not set."""
    from smarketing.sources.credentials import MissingConnection, get_credentials

    try:
        creds = get_credentials(CONN_ID)
    except MissingConnection:
        return "", False
    return creds.password, bool(creds.extra.get("demo"))


def _from_variable() -> str:
    value = os.environ.get(f"AIRFLOW_VAR_{VARIABLE.upper()}", "")
    if value:
        return value
    try:
        from airflow.sdk import Variable

        return Variable.get(VARIABLE, default="") or ""
    except Exception:  # not in an Airflow task, or the Variable is not defined
        return ""


def load_key() -> PseudonymKey:
    """The pseudonym key from the Airflow Connection, else the Variable; else refuse."""
    (secret, demo), source = _from_connection(), f"connection {CONN_ID}"
    if not secret:
        secret, source = _from_variable(), f"variable {VARIABLE}"
    if not secret:
        raise MissingPseudonymKey(
            f"no pseudonym key: set the password of Airflow Connection {CONN_ID!r} (or Variable"
            f" {VARIABLE!r}) to a random secret of at least {MIN_KEY_LENGTH} characters, e.g."
            " `python -c 'import secrets; print(secrets.token_hex(32))'` (README, Security and"
            " privacy). Nothing is built or published without it."
        )
    if len(secret) < MIN_KEY_LENGTH:
        raise MissingPseudonymKey(
            f"the pseudonym key in {source} is {len(secret)} characters; at least"
            f" {MIN_KEY_LENGTH} are required (a short key can be guessed)"
        )
    _mask(secret)
    return PseudonymKey(secret, source, demo)


def demo_key(demo_dir: Path) -> str:
    """The demo's key: generated once, kept in the demo folder (0600), reused by every run."""
    path = demo_dir / DEMO_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    if demo_dir.is_dir():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        log.warning(
            "demo: generated a pseudonym key in %s (demo data only; production reads it from"
            " Airflow Connection %s)",
            path,
            CONN_ID,
        )
    return key


def check_key_unchanged(warehouse: Path, key: PseudonymKey, full_refresh: bool) -> None:
    """Stop when the warehouse was built with another key, unless this is a full refresh."""
    import duckdb

    if not warehouse.exists():
        return
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        previous = (
            con.execute(f"select key_id from {KEY_ID_TABLE}").fetchone()[0]
            if KEY_ID_TABLE in tables
            else None
        )
    finally:
        con.close()
    if previous == key.key_id:
        return
    # kept across runs under the old key: the incremental sessions (their keys are keyed)
    built = "intermediate.int_web__sessions" in tables
    if previous is None and not built:
        return  # a new warehouse
    if not full_refresh:
        known = f"fingerprint {key.key_id} vs {previous}" if previous else "no key recorded"
        raise PseudonymKeyChanged(
            f"the pseudonym key ({key.source}) is not the key that built this warehouse"
            f" ({known}): a new key changes every person_key. If that is intended (key"
            " rotation, or a warehouse built before keyed pseudonyms), run with"
            " full_refresh=true; otherwise restore the previous key (README, Security and"
            " privacy)."
        )
    log.warning("pseudonym key changed (full refresh): every person_key is re-keyed")


def record_key(con: object, key: PseudonymKey) -> None:
    """Remember which key built the warehouse (its fingerprint) on an open DuckDB connection."""
    con.execute(  # type: ignore[attr-defined]
        f"create or replace table {KEY_ID_TABLE} as"
        " select ? as key_id, now()::timestamp as recorded_at",
        [key.key_id],
    )
