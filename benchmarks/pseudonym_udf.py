"""Throughput of the keyed pseudonym function dbt uses (smarketing.dbt_plugin) in DuckDB.

Prints rows per second of ``smarketing_pseudonym()`` (HMAC-SHA-256 in a Python UDF) next to
DuckDB's built-in ``md5()`` it replaced, on distinct e-mail-like strings.
Run: .venv/bin/python benchmarks/pseudonym_udf.py [rows]
"""

from __future__ import annotations

import os
import sys
import time

import duckdb

from smarketing.dbt_plugin import Plugin
from smarketing.pseudonyms import DBT_ENV


def main(rows: int = 200_000) -> None:
    os.environ[DBT_ENV] = "benchmark-key-" + "0" * 32
    con = duckdb.connect()
    Plugin(name="pseudonyms", plugin_config={}).configure_connection(con)
    con.execute(
        "create table people as select 'person' || i || '@example.com' as email"
        f" from range({rows}) t(i)"
    )
    for label, expr in (
        ("md5 (before)", "md5(email)"),
        ("HMAC UDF", "smarketing_pseudonym(email)"),
    ):
        began = time.perf_counter()
        distinct = con.execute(f"select count(distinct {expr}) from people").fetchone()[0]
        seconds = time.perf_counter() - began
        print(
            f"{label:14s} {rows:>9,} rows in {seconds:6.2f} s = {rows / seconds:>12,.0f} rows/s"
            f" ({distinct:,} distinct)"
        )
    con.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
