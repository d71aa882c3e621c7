"""Writing the demo's JSONL files, and reading them back once per version for the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """One record per line, keys sorted: the same world gives byte-identical files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, separators=(",", ":"), sort_keys=True) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    """A demo file's records; a line that is no JSON object names the file and line."""
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"demo file {path.name} line {number}: {exc}") from None
            if not isinstance(row, dict):
                raise ValueError(f"demo file {path.name} line {number}: not a JSON object")
            rows.append(row)
    return rows


def signature(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns)


class IndexCache:
    """Each file's index, built once per version of the file (size, mtime).

    A page is then a slice of an index in memory: no request re-reads or re-filters a file.
    A test that rewrites a file while the server runs gets a fresh index on the next request.
    """

    def __init__(self) -> None:
        self._built: dict[tuple[Path, str], tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self.builds = 0  # how many indexes were built (a test and the benchmark read it)

    def get(self, path: Path, name: str, build: Callable[[list[dict]], T]) -> T:
        sig = signature(path)
        key = (path, name)
        with self._lock:
            cached = self._built.get(key)
            if cached is not None and cached[0] == sig:
                return cached[1]
            index = build(read_jsonl(path))
            self._built[key] = (sig, index)
            self.builds += 1
            return index
