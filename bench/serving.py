"""The served profiles of the benchmarks (bench/run.py's docstring describes them): the
environment, meta DB and bench base of a profile (`setup`), and its server (`serve` → `Server`).

Named serving.py, not profile.py: bench/ is sys.path[0] when a bench script runs, and a
profile.py there would shadow the standard library's `profile`, which cProfile imports.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.dataset import build  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SCHEMA = "noco_bench"
VAR = ROOT / "bench" / "var"
PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"


def var_dir(profile: str) -> Path:
    return VAR / "make-run" if profile == "make-run" else VAR


def env(profile: str = "production", redis: bool = True) -> dict:
    """The environment of `profile`'s processes. make-run: `make run`'s (local settings, SQLite
    meta DB, no Redis); anything else: the production profile's, with REDIS_URL unless not."""
    if profile == "make-run":
        out = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
            "NOCO_VAR_DIR": str(var_dir(profile)),
            "NOCO_ADMIN_EMAIL": "bench@example.com",
            "NOCO_ADMIN_PASSWORD": "bench-password-1",
        }
        out.pop("DATABASE_URL", None)
        out.pop("REDIS_URL", None)
        return out
    out = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.production",
        "NOCO_VAR_DIR": str(VAR),
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "NOCO_ADMIN_EMAIL": "bench@example.com",
        "NOCO_ADMIN_PASSWORD": "bench-password-1",
        "LOG_LEVEL": "WARNING",
        # The production profile's meta DB: PostgreSQL (pooled), not the embedded SQLite file.
        "DATABASE_URL": os.environ.get(
            "BENCH_META_URL", "postgresql://postgres@127.0.0.1:5432/noco_bench_meta"
        ),
        # The webhook scenario's receiver listens on 127.0.0.1.
        "NOCO_WEBHOOKS_ALLOW_PRIVATE": "true",
    }
    if redis:
        out["REDIS_URL"] = REDIS_URL
        out["NOCO_CHANNELS_PREFIX"] = "noco-bench"
    else:
        out.pop("REDIS_URL", None)
    return out


def manage(*args: str, profile: str = "production") -> str:
    done = subprocess.run(
        [PY, "manage.py", *args],
        cwd=ROOT,
        env=env(profile),
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def ensure_meta_db() -> bool:
    """Create the benchmarks' PostgreSQL meta DB if missing; True when it was."""
    VAR.mkdir(parents=True, exist_ok=True)
    admin_url, meta_db = env()["DATABASE_URL"].rsplit("/", 1)
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
        if conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [meta_db]
        ).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{meta_db}"')
        return True


SESSION = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.get(email="bench@example.com")
s = SessionStore()
s["_auth_user_id"] = str(user.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = user.get_session_auth_hash()
s.create()
print(s.session_key)
"""


def setup(profile: str = "production") -> dict:
    var = var_dir(profile)
    var.mkdir(parents=True, exist_ok=True)
    if profile != "make-run" and ensure_meta_db():
        (var / "state.json").unlink(missing_ok=True)
    build(PG_URL, SCHEMA)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{SCHEMA}".inserts')
        conn.execute(
            f'CREATE TABLE "{SCHEMA}".inserts (LIKE "{SCHEMA}".projects INCLUDING DEFAULTS)'
        )
        conn.execute(f'ALTER TABLE "{SCHEMA}".inserts ADD PRIMARY KEY (id)')
    manage("migrate", "--noinput", "-v0", profile=profile)
    manage("ensure_admin", profile=profile)
    state_file = var / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    if not state.get("base"):
        state["base"] = manage(
            "connect_base",
            "Bench",
            f"{PG_URL}?schema={SCHEMA}",
            "--owner",
            "bench@example.com",
            profile=profile,
        )
        state["token"] = manage(
            "create_api_token", "bench@example.com", "--name", "bench", profile=profile
        )
    else:
        manage("sync_base", state["base"], profile=profile)
    ids = manage(
        "shell",
        "-c",
        "import json; from bases.models import Table; "
        f"print(json.dumps({{t.table_name: t.pk for t in Table.objects.filter(base_id='{state['base']}')}}))",
        profile=profile,
    ).splitlines()[-1]
    state["tables"] = json.loads(ids)
    state_file.write_text(json.dumps(state))
    state["session"] = manage("shell", "-c", SESSION, profile=profile).splitlines()[-1]
    return state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running profile: `url` serves HTTP, `ws` the websocket server's address."""

    def __init__(self, proc: subprocess.Popen, url: str, ws: str, log: Path):
        self.proc, self.url, self.ws, self.log = proc, url, ws, log

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it (honcho passes it on to every process)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def serve(workers: int, server: str, threads: int = 1, redis: bool = True) -> Server:
    """Start `server`:

    - production: the Procfile under honcho, as `make serve` runs it (granian WSGI workers with
      one blocking thread each, the websocket server, a Celery worker, one beat); without Redis
      only its web and ws processes (webhooks then go out from the web process's own thread);
    - make-run: `make run`'s uvicorn command (one process, local settings, SQLite meta DB);
    - granian / gunicorn / uvicorn: HTTP only, production settings without Redis, to compare
      servers. granian's `threads` is its blocking threads per worker: its default (many) lets
      a worker take requests on Python threads that then fight over the GIL (p99 doubled)."""
    port, ws_port = free_port(), free_port()
    profile = "make-run" if server == "make-run" else "production"
    penv = env(profile, redis=redis and server == "production")
    log = var_dir(profile) / f"server-{server}.log"
    if server == "production":
        penv.update(
            NOCO_WEB_PORT=str(port),
            NOCO_WS_PORT=str(ws_port),
            NOCO_WEB_WORKERS=str(workers),
        )
        cmd = [str(BIN / "honcho"), "-f", "Procfile", "start"]
        if not redis:
            cmd += ["web", "ws"]
    elif server == "make-run":
        ws_port = port
        # Exactly the Makefile's `run` line (access log included: what a newcomer runs).
        cmd = [
            str(BIN / "uvicorn"),
            "nocoplatform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-proxy-headers",
        ]
    elif server == "granian":
        ws_port = port
        cmd = [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            "nocoplatform.wsgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    elif server == "gunicorn":
        ws_port = port
        cmd = [
            str(BIN / "gunicorn"),
            "nocoplatform.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ]
    else:
        ws_port = port
        cmd = [
            str(BIN / "uvicorn"),
            "nocoplatform.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    out = open(log, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=penv,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url, proc, log)
    if ws_port != port:
        _wait_http(f"http://127.0.0.1:{ws_port}", proc, log)
    return Server(proc, url, f"ws://127.0.0.1:{ws_port}", log)
