"""A Redis server of a test's own (`redis-server` on a free port, nothing saved to disk), which
the test may hang (SIGSTOP), resume, kill and restart empty — never the machine's shared one.

Missing `redis-server`: the test is skipped with a message saying so, and fails under CI=true
(tests/conftest.py, `service_missing`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import service_missing


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    def __init__(self, folder: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing(
                "redis-server (Debian package redis-server)",
                FileNotFoundError("redis-server is not on PATH"),
            )
        self.binary = binary
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or start again, empty) on the same port and wait until it answers."""
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except OSError:
                pass
            except Exception:  # redis.exceptions.ConnectionError and friends
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {self.port} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a hung one must be able to die
            self.proc.kill()
            self.proc.wait(10)

    def hang(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def restart_empty(self) -> None:
        self.kill()
        self.start()

    def client(self):
        import redis

        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_connect_timeout=1,
            socket_timeout=2,
        )

    def stats(self) -> dict:
        with self.client() as c:
            return c.info("stats")

    def calls(self, command: str) -> int:
        """How many times `command` ran since the server started."""
        with self.client() as c:
            return c.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0)
