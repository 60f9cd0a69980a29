"""Real processes for the delivery tests: a uvicorn server (embedded runner) or Celery workers
and beat on Redis, all sharing one throwaway var/ folder (SQLite meta DB)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, var: Path, **env):
        self.var = var
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": str(var),
            "NOCO_ADMIN_EMAIL": "admin@example.com",
            "NOCO_ADMIN_PASSWORD": "stack-pass-123",
            "NOCO_WEBHOOKS_ALLOW_PRIVATE": "true",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.procs: list[subprocess.Popen] = []
        self.url = ""
        self.token = ""

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def setup(self) -> None:
        self.manage("migrate", "--noinput", "-v0")
        self.manage("ensure_admin")
        self.manage("create_demo_base")
        self.token = self.manage("create_api_token", "admin@example.com")

    def spawn(self, *cmd: str, log: str) -> subprocess.Popen:
        out = open(self.var / log, "ab")  # noqa: SIM115 - kept open for the process' life
        proc = subprocess.Popen(
            list(cmd), cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def start_server(self) -> subprocess.Popen:
        port = free_port()
        proc = self.spawn(
            str(BIN / "uvicorn"),
            "nocoplatform.asgi:application",
            "--port",
            str(port),
            log="server.log",
        )
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server did not start: " + self.read_log("server.log"))

    def worker(self, name: str, *pool: str) -> subprocess.Popen:
        # Default: --pool solo, the delivery runs in this very process (killing it kills
        # the call in flight).
        return self.spawn(
            str(BIN / "celery"),
            "-A",
            "nocoplatform",
            "worker",
            *(pool or ("--pool", "solo")),
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            log=f"{name}.log",
        )

    def beat(self) -> subprocess.Popen:
        return self.spawn(
            str(BIN / "celery"),
            "-A",
            "nocoplatform",
            "beat",
            "-s",
            str(self.var / "beat-schedule"),
            "--loglevel",
            "INFO",
            log="beat.log",
        )

    def wait_ready(self, log: str, timeout: float = 60) -> None:
        """Until the worker writing `log` consumes (Celery prints "ready.")."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if "ready." in self.read_log(log):
                return
            time.sleep(0.05)
        raise AssertionError(f"{log}: worker not ready\n" + self.read_log(log))

    def read_log(self, name: str) -> str:
        path = self.var / name
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def api(self, method: str, path: str, body=None, timeout: float = 10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"xc-token": self.token, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as res:  # noqa: S310 - loopback
            return json.loads(res.read() or b"null")

    def demo_table(self, title: str = "clients") -> str:
        bases = self.api("GET", "/api/v2/meta/bases/")["list"]
        tables = self.api("GET", f"/api/v2/meta/bases/{bases[0]['id']}/tables")["list"]
        return next(t["id"] for t in tables if t["title"] == title)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.kill(proc)


class RedisServer:
    """A redis-server of the test's own on a free port, to stop, freeze and restart at will (the
    machine's shared Redis is never touched). No persistence: a restart comes back empty."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        log = open(self.folder / f"redis-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: connections still open (the kernel accepts them), nothing answers."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()
            self.proc.kill()
            self.proc.wait(10)
