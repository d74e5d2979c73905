"""A throwaway PostgreSQL from the Debian package, for the suite and ``make bench-scale``.

``initdb`` into a temporary directory, then ``postgres`` itself (no ``pg_ctl``, so the pid
we hold is the server's) on 127.0.0.1 and a free port, with a unix socket in the same
directory. Run as root, both run as the unprivileged ``postgres`` OS user the package
creates (PostgreSQL refuses to run as root). Durability is off (``fsync=off``): these
clusters live for one run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "hub-test-password"
TEMPLATE = "hub_template"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _os_user() -> dict[str, Any]:
    """Popen arguments that drop root to the ``postgres`` user (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        entry = pwd.getpwnam("postgres")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


@dataclass
class PgServer:
    """A running throwaway cluster; :meth:`stop` ends it by its pid."""

    base: Path
    port: int
    proc: subprocess.Popen[bytes]
    user: str = "postgres"
    databases: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, dbname: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql://{self.user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self, *, template: str | None = TEMPLATE) -> str:
        """A fresh database (a copy of the migrated template); its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        query = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(query)  # type: ignore[arg-type]
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL if it does not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()

    def restart(self) -> None:
        """Stop and start the same cluster on the same port (reliability row 36)."""
        self.stop()
        self.proc = _spawn(self.base, self.port)
        _wait_ready(self)


def _spawn(base: Path, port: int) -> subprocess.Popen[bytes]:
    log = open(base / "postgres.log", "ab")  # noqa: SIM115 - the server owns it while it runs
    return subprocess.Popen(
        [
            str(PG_BIN / "postgres"), "-D", str(base / "data"), "-p", str(port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={base}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=400", "-c", "shared_buffers=64MB",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, **_os_user(),
    )


def _wait_ready(server: PgServer, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {(server.base / 'postgres.log').read_text()[-2000:]}")
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_postgres() -> PgServer:
    """initdb into a fresh temporary directory and start the server; build the template.

    The directory is made with ``mkdtemp`` under the system temp dir (not pytest's, whose
    parents are private to root and closed to the ``postgres`` user); :meth:`PgServer.stop`
    leaves it, :func:`remove` deletes it.
    """
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError("PostgreSQL 15 is not installed: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    drop = _os_user()
    if drop:
        shutil.chown(base, drop["user"], drop["group"])
        shutil.chown(pwfile, drop["user"], drop["group"])
    done = subprocess.run(
        [
            str(PG_BIN / "initdb"), "-D", str(base / "data"), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--locale=C", "--encoding=UTF8",
            "--no-sync",
        ],
        check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **drop,
    )
    if done.returncode:
        raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')}")
    port = _free_port()
    server = PgServer(base, port, _spawn(base, port))
    try:
        _wait_ready(server)
        _build_template(server)
    except BaseException:
        server.stop()
        raise
    return server


def _build_template(server: PgServer) -> None:
    from hub.storage.postgres import PostgresDatabase

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')  # type: ignore[arg-type]
    PostgresDatabase(server.url(TEMPLATE), pool_size=2).close()


def remove(server: PgServer) -> None:
    """Delete a stopped server's directory."""
    shutil.rmtree(server.base, ignore_errors=True)
