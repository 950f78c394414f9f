"""PostgreSQL from the `pgserver` wheel."""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg2

from notify.stack.embedded import package_dir

if TYPE_CHECKING:
    from pgserver import PostgresServer

DATABASE = "notify"


def ensure_database(dsn: str, name: str = DATABASE, connect_timeout: int = 5) -> None:
    """CREATE DATABASE `name` unless it exists; `dsn` points at any database of the server."""
    conn = psycopg2.connect(dsn, connect_timeout=connect_timeout)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                # Two launchers starting together may race here; the loser is fine.
                with contextlib.suppress(psycopg2.errors.DuplicateDatabase):
                    cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()


class EmbeddedPostgres:
    """A PostgreSQL 16 server on a Unix socket in PGDATA.

    PostgreSQL refuses to run as root. pgserver handles that itself: as root it creates a
    system user `pgserver` (useradd), chowns PGDATA to it, opens the traversal permissions of
    PGDATA's parents and runs initdb/pg_ctl with subprocess(user=...). We rely on that and only
    take over the lifecycle: cleanup_mode=None disables its atexit/pid-list bookkeeping, which
    otherwise leaves a server running forever once a launcher is SIGKILLed.
    """

    name = "postgres"

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self.owned = False
        self.url = ""
        self._server: PostgresServer | None = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); harmless.
            warnings.simplefilter("ignore")
            import pgserver  # slow to import, and only needed in embedded mode

        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.owned = not self.alive()
        if self.owned:
            # A lock file left by a crash or reboot, whose pid may now be some other process:
            # pgserver (pid exists = running) and postgres itself would both trust it.
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        # The constructor, not get_server(): that caches one handle per path for the life of
        # the process, and hands back a dead one after stop(). The constructor initdb's if
        # needed and starts the server unless it is already running.
        self._server = pgserver.PostgresServer(self.pgdata, cleanup_mode=None)
        # Its atexit hook only does pid-list bookkeeping we do not use (and logs to streams
        # that may be closed by then).
        atexit.unregister(self._server._cleanup)
        # Unix socket only (pgserver passes -h ""): the URI carries `?host=<socket dir>`,
        # which libpq and django-environ (as OPTIONS["host"]) both understand.
        ensure_database(self._server.get_uri("postgres"))
        self.url = self._server.get_uri(DATABASE)
        return self.url

    def alive(self) -> bool:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            return psutil.Process(pid).name() == "postgres"
        except (OSError, ValueError, psutil.Error):
            return False

    def stop(self) -> None:
        if not self.alive():
            return
        pg_ctl = (package_dir("pgserver") or Path()) / "pginstall" / "bin" / "pg_ctl"
        argv = [str(pg_ctl), "-D", str(self.pgdata)]
        # pg_ctl refuses root too; run it as the owner of PGDATA, as pgserver did for start.
        user = self.pgdata.stat().st_uid if os.geteuid() == 0 else None
        subprocess.run(  # noqa: S603 - fixed argv
            [*argv, "-m", "fast", "-w", "-t", "10", "stop"],
            user=user,
            check=False,
            capture_output=True,
            timeout=30,
        )
