"""The per-process API token cache (permissions/authcache.py) on a real PostgreSQL meta DB.

Two levels: the cache and its listening thread against the machine's PostgreSQL, and the whole
thing — migration triggers, NOTIFY, a production HTTP server (granian, one worker so every
request meets the same cache) — with changes made straight in SQL, as an admin's psql session
or another process would make them.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from permissions import authcache
from tests.conftest import LIVE_ROOT, _free_port, service_missing


def _pg(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", exc)


def _until(check, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def _conninfo(url: str) -> dict:
    parts = urlsplit(url)
    return {
        "dbname": parts.path.lstrip("/"),
        "user": parts.username or "postgres",
        "host": parts.hostname,
        "port": parts.port or 5432,
    }


@pytest.fixture
def cache():
    _pg(settings.TEST_POSTGRES_URL).close()
    c = authcache.AuthCache(_conninfo(settings.TEST_POSTGRES_URL))
    assert _until(lambda: c.listening), "the listener did not connect"
    yield c
    c.stop()


def test_answers_are_kept_until_a_notification_empties_the_cache(cache):
    key = ("hash", "table")
    cache.put(key, "answer", cache.generation())
    assert cache.get(key) == "answer"
    with _pg(settings.TEST_POSTGRES_URL) as conn:
        conn.execute("SELECT pg_notify('noco_auth', 'permissions_apitoken')")
    assert _until(lambda: cache.get(key) is None, 2.0)


def test_an_answer_read_before_a_change_is_not_stored(cache):
    generation = cache.generation()  # a request starts reading the database...
    with _pg(settings.TEST_POSTGRES_URL) as conn:  # ...something changes meanwhile...
        conn.execute("SELECT pg_notify('noco_auth', 'auth_user')")
    assert _until(lambda: cache.generation() != generation, 2.0)
    cache.put(("k", None), "old answer", generation)  # ...its answer may be the old one
    assert cache.get(("k", None)) is None


@pytest.mark.django_db
def test_this_process_forgets_at_its_own_commit_without_waiting_for_the_notification(
    cache, monkeypatch, django_user_model, django_capture_on_commit_callbacks
):
    """The NOTIFY reaches the listener thread a moment after the commit: the process that
    revoked a token (or changed a role) must not answer from the cache in that moment. Its
    services empty its own cache as they commit (found in review: a revoked token was
    accepted by the next call in 17 of 20 tries)."""
    from permissions.services import api_token_create, api_token_revoke

    monkeypatch.setattr(authcache, "_cache", cache)
    monkeypatch.setattr(authcache, "_cache_pid", os.getpid())
    user = django_user_model.objects.create_user("rev", "rev@x.io", "pw-123456789")
    token, _ = api_token_create(user=user, name="t")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        cache.put(("hash", None), "answer", cache.generation())
        api_token_revoke(user=user, token_id=token.pk)
        assert cache.get(("hash", None)) == "answer"  # not before the commit
    assert callbacks
    assert cache.get(("hash", None)) is None  # at once, no NOTIFY was sent here


def test_answers_expire(cache, monkeypatch):
    cache.put(("k", None), "answer", cache.generation())
    later = time.monotonic() + authcache.TTL + 1
    monkeypatch.setattr(authcache.time, "monotonic", lambda: later)
    assert cache.get(("k", None)) is None


def test_nothing_is_cached_while_the_listening_connection_is_down(cache):
    cache.put(("k", None), "answer", cache.generation())
    with _pg(settings.TEST_POSTGRES_URL) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'nocoplatform auth cache' AND pid <> pg_backend_pid()"
        ).fetchall()
    assert killed
    # Down: nothing served, nothing stored — every request reads the database.
    assert _until(lambda: not cache.listening, 20.0)
    assert cache.get(("k", None)) is None
    cache.put(("k", None), "answer", cache.generation())
    assert cache.get(("k", None)) is None
    # Back (it reconnects by itself), empty, and caching again.
    assert _until(lambda: cache.listening, 10.0)
    assert cache.get(("k", None)) is None
    cache.put(("k", None), "answer", cache.generation())
    assert cache.get(("k", None)) == "answer"


def test_off_on_a_sqlite_meta_db():
    assert authcache.current() is None  # the test settings' meta DB is SQLite


# -- end to end: triggers, NOTIFY and a production server ------------------------------------


class Server:
    def __init__(self, url: str, db_url: str, tokens: dict, table: str):
        self.url, self.db_url, self.tokens, self.table = url, db_url, tokens, table

    def call(self, who: str, method: str = "GET", path: str = "", body=None) -> int:
        req = urllib.request.Request(
            f"{self.url}/api/v2/tables/{self.table}/records{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"xc-token": self.tokens[who], "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def record(self, who: str, pk: int) -> dict:
        req = urllib.request.Request(
            f"{self.url}/api/v2/tables/{self.table}/records/{pk}",
            headers={"xc-token": self.tokens[who]},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def sql(self, *statements: str) -> None:
        with _pg(self.db_url) as conn:
            for statement in statements:
                conn.execute(statement)


SETUP = """
import json
from django.contrib.auth import get_user_model
from bases.models import Base
from permissions.models import Membership
from permissions.services import api_token_create
User = get_user_model()
admin = User.objects.get(email="admin@example.com")
base = Base.objects.get(title="Demo CRM")
table = base.tables.get(title="projects")
editor = User.objects.create_user("editor", "editor@example.com", "editor-pass-123")
Membership.objects.create(base=base, user=editor, role="editor")
_, admin_token = api_token_create(user=admin, name="admin")
_, editor_token = api_token_create(user=editor, name="editor")
print(json.dumps({"table": table.pk, "admin": admin_token, "editor": editor_token}))
"""


@pytest.fixture(scope="module")
def pg_meta_server(tmp_path_factory):
    admin_url = settings.TEST_POSTGRES_URL
    name = "noco_ac_" + secrets.token_hex(4)
    with _pg(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = admin_url.rsplit("/", 1)[0] + "/" + name
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nocoplatform.settings.local",
        "DATABASE_URL": db_url,
        "NOCO_VAR_DIR": str(tmp_path_factory.mktemp("authcache-var")),
        "NOCO_ADMIN_EMAIL": "admin@example.com",
        "NOCO_ADMIN_PASSWORD": "admin-pass-123",
    }
    proc = None
    try:
        for cmd in (
            ["migrate", "--noinput", "-v0"],
            ["ensure_admin"],
            ["create_demo_base"],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *cmd],
                cwd=LIVE_ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        made = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP],
            cwd=LIVE_ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        ids = json.loads(made.stdout.strip().splitlines()[-1])
        port = _free_port()
        proc = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "granian"),
                "--interface",
                "wsgi",
                "nocoplatform.wsgi:application",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
            ],
            cwd=LIVE_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Server(
            f"http://127.0.0.1:{port}",
            db_url,
            {"admin": ids["admin"], "editor": ids["editor"]},
            ids["table"],
        )
        assert _until(lambda: _answers(server), 30.0), "the server did not start"
        yield server
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        with _pg(admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _answers(server: Server) -> bool:
    try:
        return server.call("admin") == 200
    except OSError:
        return False


def _listening(server: Server) -> bool:
    with _pg(server.db_url) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'nocoplatform auth cache'"
            ).fetchone()
        )


def test_the_cache_serves_tokens_and_every_change_reaches_it(pg_meta_server):
    server = pg_meta_server
    assert _until(lambda: _listening(server), 10.0)
    assert server.call("editor") == 200
    assert server.call("editor", "PATCH", body={"id": 1, "name": "by editor"}) == 200

    # Served from the cache: with the token table's trigger off, a revocation goes unseen...
    server.sql(
        "ALTER TABLE permissions_apitoken DISABLE TRIGGER noco_auth_changed",
        "UPDATE permissions_apitoken SET revoked_at = now() "
        "WHERE user_id = (SELECT id FROM auth_user WHERE username = 'editor')",
    )
    time.sleep(0.3)
    assert server.call("editor") == 200, "the token was not served from the cache"
    # ...and with it on, any statement on that table empties the cache.
    server.sql(
        "ALTER TABLE permissions_apitoken ENABLE TRIGGER noco_auth_changed",
        "UPDATE permissions_apitoken SET read_only = read_only WHERE false",
    )
    assert _until(lambda: server.call("editor") == 401, 2.0)
    server.sql("UPDATE permissions_apitoken SET revoked_at = NULL")
    assert _until(lambda: server.call("editor") == 200, 2.0)

    # A role changed in the base: the editor, now a viewer, may no longer write.
    server.sql(
        "UPDATE permissions_membership SET role = 'viewer' "
        "WHERE user_id = (SELECT id FROM auth_user WHERE username = 'editor')"
    )
    assert _until(
        lambda: server.call("editor", "PATCH", body={"id": 1, "name": "x"}) == 403, 2.0
    )
    assert server.call("editor") == 200

    # The user deactivated.
    server.sql("UPDATE auth_user SET is_active = false WHERE username = 'editor'")
    assert _until(lambda: server.call("editor") == 401, 2.0)

    # The table's metadata changed (a schema edit bumps the data source's meta_version): the
    # cached version is dropped, so the request sees the new metadata.
    assert "name" in server.record("admin", 1)
    server.sql(
        f"UPDATE bases_field SET title = 'Project name' "
        f"WHERE table_id = '{server.table}' AND title = 'name'",
        "UPDATE bases_datasource SET meta_version = meta_version + 1",
    )
    assert _until(lambda: "Project name" in server.record("admin", 1), 2.0)

    # The once-a-minute last_used_at write must not empty the cache (UPDATE OF excludes it).
    with _pg(server.db_url) as conn:
        conn.execute("LISTEN noco_auth")
        conn.execute("UPDATE permissions_apitoken SET last_used_at = now()")
        assert not list(conn.notifies(timeout=0.5))
        conn.execute("UPDATE permissions_membership SET role = role")
        assert list(conn.notifies(timeout=2.0, stop_after=1))
