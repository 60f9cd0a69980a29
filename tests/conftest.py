"""Shared fixtures: users, API clients, and throwaway external databases on the real servers.

PostgreSQL, MariaDB and Redis are the machine's real services. When one does not answer, its
tests are skipped with a message saying so — except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from bases.connections.aliases import forget_all
from permissions.checks import Actor
from permissions.services import api_token_create

# `make_table`: a user table on each database, connected as a base (docs/testing.md).
pytest_plugins = ["tests.fixtures.builder"]
# Shared checks outside test modules still report their failing values.
pytest.register_assert_rewrite("tests.job_lists")

LIVE_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"


def stop_processes(procs, timeout: float = 10) -> None:
    """Stop a test's server processes: SIGTERM to all, then SIGKILL to any still running after
    `timeout` seconds (open websockets can hold a graceful shutdown up)."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)


def service_missing(name: str, exc: Exception):
    message = (
        f"{name} is not reachable ({exc}); start it or see README 'Running the tests'."
    )
    if IN_CI:
        pytest.fail(message + " CI=true requires every service.")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _forget_user_db_aliases():
    yield
    forget_all()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(
        username="ada@example.com", email="ada@example.com", password="pw-ada-12345"
    )


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(
        username="bob@example.com", email="bob@example.com", password="pw-bob-12345"
    )


@pytest.fixture
def actor(user):
    return Actor(user=user)


@pytest.fixture
def web(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def api(user):
    _, raw = api_token_create(user=user, name="tests")
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


@dataclass
class ExternalDB:
    """A fresh, empty database (PG schema, MariaDB database or SQLite file) for one test."""

    kind: str
    url: str
    _conn: object

    def execute(self, *statements: str) -> None:
        cur = self._conn.cursor()
        for sql in statements:
            cur.execute(sql)
        if self.kind == "sqlite":
            self._conn.commit()
        cur.close()

    def query(self, sql: str, params=()) -> list[tuple]:
        cur = self._conn.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        return [tuple(r) for r in rows]

    def q(self, name: str) -> str:
        return f"`{name}`" if self.kind == "mysql" else f'"{name}"'


@pytest.fixture
def pg_db():
    import psycopg

    url = settings.TEST_POSTGRES_URL
    schema = "noco_t_" + secrets.token_hex(4)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    conn.execute(f'SET search_path TO "{schema}"')
    yield ExternalDB("pg", f"{url}?schema={schema}", conn)
    forget_all()
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


@pytest.fixture
def mysql_db():
    import MySQLdb

    parts = urlsplit(settings.TEST_MYSQL_URL)
    name = "noco_t_" + secrets.token_hex(4)
    kwargs = {
        "host": parts.hostname,
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }
    try:
        conn = MySQLdb.connect(**kwargs, connect_timeout=3)
    except MySQLdb.OperationalError as exc:
        service_missing("MariaDB/MySQL", exc)
    conn.autocommit(True)
    conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.select_db(name)
    auth = parts.username or "root"
    if parts.password:
        auth += f":{parts.password}"
    yield ExternalDB(
        "mysql", f"mysql://{auth}@{parts.hostname}:{parts.port or 3306}/{name}", conn
    )
    forget_all()
    conn.cursor().execute(f"DROP DATABASE `{name}`")
    conn.close()


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / f"ext_{secrets.token_hex(4)}.sqlite3"
    conn = sqlite3.connect(path)
    yield ExternalDB("sqlite", f"sqlite:///{path}", conn)
    forget_all()
    conn.close()


@pytest.fixture(params=["pg", "mysql", "sqlite"])
def external_db(request):
    """The same test on PostgreSQL, MariaDB and SQLite."""
    return request.getfixturevalue(
        {"pg": "pg_db", "mysql": "mysql_db", "sqlite": "sqlite_db"}[request.param]
    )


class LiveServer(str):
    """The server's base URL (a str), plus `manage(...)` to run management commands against it."""

    def __new__(cls, url: str, env: dict):
        obj = super().__new__(cls, url)
        obj.env = env
        return obj

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=LIVE_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory):
    """A real server (uvicorn, the `make run` profile) with the demo base, for browser and client tests."""
    var = tmp_path_factory.mktemp("live-var")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "NOCO_VAR_DIR": str(var),
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "browser-pass-123",
        # A view of more rows than this exports from its menu as a job with a progress page
        # (tests/browser/test_data_io.py: the 400 tasks do, the filtered projects do not).
        "NOCO_EXPORT_JOB_ROWS": "150",
    }
    prepare_site(env)
    py = sys.executable
    port = _free_port()
    proc = subprocess.Popen(
        # As `make run` starts it: no forwarded headers believed (docs/security.md).
        [
            py,
            "-m",
            "uvicorn",
            "nocoplatform.asgi:application",
            "--port",
            str(port),
            "--no-proxy-headers",
        ],
        cwd=LIVE_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    url_holder = LiveServer(url, env)
    yield url_holder
    proc.terminate()
    proc.wait(10)


def prepare_site(env: dict, setup: str | None = None) -> dict | None:
    """A fresh instance's meta DB for a live-server test: migrate, ensure_admin and
    create_demo_base with `env`; with `setup`, run that script in `manage.py shell` and return
    the JSON object its last printed line holds."""
    py = sys.executable
    for cmd in (
        ["migrate", "--noinput", "-v0"],
        ["ensure_admin"],
        ["create_demo_base"],
    ):
        subprocess.run(
            [py, "manage.py", *cmd],
            cwd=LIVE_ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    if setup is None:
        return None
    out = subprocess.run(
        [py, "manage.py", "shell", "-c", setup],
        cwd=LIVE_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])
