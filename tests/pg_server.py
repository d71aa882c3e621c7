"""A throwaway PostgreSQL server for tests: Debian's binaries, a temp data dir, 127.0.0.1 only.

PostgreSQL refuses to run as root, so under root (CI) the server runs as the ``postgres``
system user (created by Debian's package) via ``runuser``. The data dir lives in a fresh
``/tmp`` folder owned by that user; the server listens on a free port of 127.0.0.1 only
and has no Unix socket. The superuser authenticates with a password (scram-sha-256).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "smarketing_admin"


def pg_bin_dir() -> Path | None:
    """The newest installed Debian PostgreSQL's bin folder, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="smarketing-pg-")))
    port: int = 0
    password: str = "admin-test-password"
    _as_user: list[str] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def dsn(self, user: str = SUPERUSER, password: str | None = None, dbname: str = "") -> str:
        pw = self.password if password is None else password
        return (
            f"host=127.0.0.1 port={self.port} user={user} password={pw} "
            f"dbname={dbname or 'postgres'} connect_timeout=10"
        )

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self._as_user, *args], check=True, capture_output=True, text=True, timeout=120
        )

    def start(self) -> PostgresServer:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_user:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C",
        )
        pwfile.unlink()
        last_error = ""
        for _ in range(5):  # the free port may be taken between probing and binding
            self.port = _free_port()
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-c listen_addresses=127.0.0.1 -p {self.port} "
                    "-c unix_socket_directories='' -c fsync=off -c max_connections=50",
                    "start",
                )
                return self
            except subprocess.CalledProcessError as exc:
                last_error = exc.stderr + self.log_tail()
                time.sleep(0.5)
        raise RuntimeError(f"PostgreSQL did not start: {last_error}")

    def log_tail(self, chars: int = 2000) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def stop(self) -> None:
        if self.data_dir.exists():
            pg_ctl = str(self.bin_dir / "pg_ctl")
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(pg_ctl, "-D", str(self.data_dir), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
