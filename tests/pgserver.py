"""A private PostgreSQL server for fault tests: its own data directory and port, so a test
may stop and restart it without touching the machine's shared server.

    with PrivatePostgres() as pg:
        url = pg.create_database("tickets")
        pg.stop(); pg.start()

It runs the installed server binaries (Debian's ``/usr/lib/postgresql/<version>/bin``) as the
``postgres`` user when the test runs as root (PostgreSQL refuses to run as root), with trust
authentication on 127.0.0.1 only, in a directory of its own under the system's temporary
directory (pytest's are closed to other users), removed afterwards. If it cannot start, the
test fails with the server's log.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from lianxin.testing import free_port


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return Path(pg_ctl).parent
    raise RuntimeError("PostgreSQL server binaries (pg_ctl, initdb) are not installed")


class PrivatePostgres:
    def __init__(self, port: int | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="lianxin-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = port or free_port()
        self.bin = _bin_dir()
        self._user = "postgres" if os.geteuid() == 0 else None

    # -- running the server's tools as its owner ---------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        kwargs: dict = {"capture_output": True, "text": True, "cwd": "/"}
        if self._user:
            entry = pwd.getpwnam(self._user)
            kwargs["user"], kwargs["group"] = entry.pw_uid, entry.pw_gid
        done = subprocess.run(command, **kwargs)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr}\n{log}")
        return done

    def init(self) -> None:
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    # -- databases ---------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URL of ``database`` (psycopg2.connect)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def admin_dsn(self) -> str:
        return self.dsn()

    def create_database(self, name: str) -> str:
        """A new database; its SQLAlchemy URL."""
        conn = psycopg2.connect(self.admin_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg2.connect(self.admin_dsn, connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def __enter__(self) -> PrivatePostgres:
        self.init()
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
