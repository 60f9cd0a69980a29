"""A PostgreSQL primary and its streaming replica, both of a test's own: `initdb` in a temp
folder, started on free ports (loopback only, trust auth, replication allowed), the replica made
by `pg_basebackup -R` and started as a hot standby. Never the machine's shared server.

As root (this machine), the servers run as the `postgres` user (`runuser`), which PostgreSQL
requires; as any other user, as that user. Missing binaries: the test is skipped with a message
saying so, and fails under CI=true (tests/conftest.py, `service_missing`).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.conftest import service_missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path | None:
    """The server binaries: Debian keeps them per version under /usr/lib/postgresql (what is
    on PATH may be wrappers, or only some of them)."""
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("pg_basebackup")
    return Path(found).parent if found and shutil.which("initdb") else None


class Cluster:
    """One server: a data folder, a port, start/stop."""

    def __init__(self, owner: Pair, name: str):
        self.owner = owner
        self.dir = owner.folder / name
        self.port = _free_port()
        self.log = owner.folder / f"{name}.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.owner.run(
            "pg_ctl",
            "-D",
            str(self.dir),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.owner.folder} -c listen_addresses=127.0.0.1",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.dir / "postmaster.pid").exists():
            self.owner.run(
                "pg_ctl", "-D", str(self.dir), "-m", mode, "-w", "stop", check=False
            )

    def connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)


class Pair:
    def __init__(self):
        self.bin = _bin_dir()
        if self.bin is None:
            service_missing(
                "PostgreSQL server binaries (Debian package postgresql)",
                FileNotFoundError(
                    "no pg_basebackup under /usr/lib/postgresql or on PATH"
                ),
            )
        # Not under pytest's tmp_path: its parents are private to this user, and the servers
        # may run as another (postgres).
        self.folder = Path(tempfile.mkdtemp(prefix="noco-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self.primary = Cluster(self, "primary")
        self.replica = Cluster(self, "replica")

    def run(self, tool: str, *args: str, check: bool = True) -> str:
        cmd = [str(self.bin / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        p = self.primary
        self.run(
            "initdb",
            "-D",
            str(p.dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        with open(p.dir / "postgresql.conf", "a") as conf:
            conf.write(
                "\nwal_level = replica\nmax_wal_senders = 4\nfsync = off\n"
                "full_page_writes = off\nshared_buffers = 16MB\n"
            )
        with open(p.dir / "pg_hba.conf", "a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        p.start()
        r = self.replica
        self.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(p.port),
            "-U",
            "postgres",
            "-D",
            str(r.dir),
            "-R",
            "-X",
            "stream",
            "--no-sync",
        )
        with open(r.dir / "postgresql.conf", "a") as conf:
            conf.write("\nhot_standby = on\nhot_standby_feedback = on\n")
        r.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                with r.connect() as conn:
                    if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        return
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the replica did not come up: " + r.log.read_text()[-2000:]
                )
            time.sleep(0.1)

    def caught_up(self, timeout: float = 10) -> None:
        """Until the replica has replayed everything the primary wrote so far."""
        with self.primary.connect() as conn:
            # The insert position: everything committed so far, flushed or not yet.
            lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        deadline = time.monotonic() + timeout
        with self.replica.connect() as conn:
            while not conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(lsn)]
            ).fetchone()[0]:
                assert time.monotonic() < deadline, "the replica did not catch up"
                time.sleep(0.02)

    def pause_replay(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def stop(self) -> None:
        self.replica.stop("immediate")
        self.primary.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
