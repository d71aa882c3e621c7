"""Comparing a table built night by night with the same table rebuilt whole."""

from __future__ import annotations

import duckdb


def rows_only_in_each(
    con: duckdb.DuckDBPyConnection, mine: str, theirs: str, columns: str = "*"
) -> tuple[int, int]:
    """(rows only in ``mine``, rows only in ``theirs``) over ``columns``, duplicates counted
    (EXCEPT ALL both ways): (0, 0) means the two tables hold the same rows."""
    return tuple(
        con.execute(
            f"select count(*) from (select {columns} from {a} except all select {columns} from {b})"
        ).fetchone()[0]
        for a, b in ((mine, theirs), (theirs, mine))
    )
