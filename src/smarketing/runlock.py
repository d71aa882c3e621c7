"""One run at a time: an OS file lock that says who holds it and since when.

Two runs on one data folder (two ``make run``, two ``airflow dags test``) would otherwise
collide in DuckDB's file lock, in shared temp folders or in Airflow's SQLite database. The
lock is ``fcntl.flock`` on a file in the data folder: the kernel releases it when its holder
exits, however it exits (a killed run never leaves a stale lock). The holder writes who it is
into the file so a second run can say whom it is waiting for.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path


class RunLockBusy(RuntimeError):
    """Another run holds the lock; the message names it and since when it holds it."""


def describe_holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "an unknown process"
    return (
        f"{info.get('what', 'a run')} (pid {info.get('pid')} on {info.get('host')}) "
        f"since {info.get('since')}"
    )


@contextlib.contextmanager
def run_lock(path: Path, what: str) -> Iterator[dict]:
    """Hold the lock at ``path`` for the block, or raise RunLockBusy at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockBusy(
                f"another run is in progress on this data folder: {describe_holder(path)}; "
                f"lock {path}. Wait for it to finish, then start again."
            ) from None
        info = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        try:
            yield info
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def lock_path(data_dir: Path) -> Path:
    return data_dir / ".run.lock"
