"""Connecting external databases: the good case on every dialect, and each failure with its code.

Every failure is checked against the real servers. Passwords must never show up in error
messages, in the JSON of a base or data source, or in clear text in the stored settings.
"""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from bases.connections.checks import ConnectionProblem, check_connection
from bases.connections.config import ConnectionConfig
from bases.models import Base, DataSource
from bases.serializers import base_json, source_json
from bases.services import base_connect, source_update
from bases.sources import config_of

SECRET = "Sup3r-S3cret-pw-4711"


def _pk(kind: str) -> str:
    return {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[kind]


def _with_netloc(
    url: str, *, user=None, password=None, host=None, port=None, path=None, query=None
) -> str:
    parts = urlsplit(url)
    user = parts.username if user is None else user
    password = parts.password if password is None else password
    host = parts.hostname if host is None else host
    port = parts.port if port is None else port
    netloc = user or ""
    if password:
        netloc += ":" + password
    netloc += "@" + host
    if port:
        netloc += f":{port}"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path if path is None else path,
            parts.query if query is None else query,
            "",
        )
    )


def _closed_port() -> int:
    """A local TCP port nobody listens on (bound then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _problem(config: ConnectionConfig) -> ConnectionProblem:
    with pytest.raises(ConnectionProblem) as info:
        check_connection(config)
    return info.value


def _refusal(config: ConnectionConfig):
    """A path or address refused by the rules (bases/netpolicy.py), before any connection."""
    from nocoplatform.errors import Forbidden

    with pytest.raises(Forbidden) as info:
        check_connection(config)
    return info.value


def _assert_no_secret(problem: ConnectionProblem, secret: str = SECRET) -> None:
    assert secret not in problem.message
    assert secret not in str(problem)
    assert secret not in json.dumps(problem.as_dict())


# --- the good case --------------------------------------------------------------------------


@pytest.mark.django_db
def test_connect_good_case_creates_base_source_and_tables(external_db, actor, user):
    q = external_db.q
    external_db.execute(
        f"CREATE TABLE {q('customers')} (id {_pk(external_db.kind)}, name VARCHAR(80) NOT NULL)",
        f"INSERT INTO {q('customers')} (name) VALUES ('Ann')",
    )
    config = ConnectionConfig.from_url(external_db.url)
    base, changes = base_connect(
        actor=actor, title="  Shop  ", config=config, description="d"
    )
    assert base.title == "Shop" and base.description == "d"
    assert base.created_by == user
    source = base.sources.get()
    assert (
        source.kind
        == {"pg": "pg", "mysql": "mysql2", "sqlite": "sqlite3"}[external_db.kind]
    )
    assert source.is_builtin is False
    assert source.allow_data_edit is True and source.allow_schema_edit is False
    assert source.last_synced_at is not None
    assert [t.table_name for t in base.tables.all()] == ["customers"]
    assert any(c.kind == "table_added" and c.table == "customers" for c in changes)
    assert config_of(DataSource.objects.get(pk=source.pk)) == config
    # The owner is a member and can read the base.
    from permissions.checks import require

    require(actor, "base.read", base)


@pytest.mark.django_db
def test_connect_flags_are_stored(sqlite_db, actor):
    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    base, _ = base_connect(
        actor=actor,
        title="RO",
        config=ConnectionConfig.from_url(sqlite_db.url),
        allow_data_edit=False,
        allow_schema_edit=True,
    )
    source = base.sources.get()
    assert source.allow_data_edit is False and source.allow_schema_edit is True
    data = source_json(source)
    assert data["is_data_readonly"] is True and data["is_schema_readonly"] is False
    assert data["config"]["type"] == "sqlite3" and data["config"]["path"].endswith(
        ".sqlite3"
    )


@pytest.mark.django_db
def test_connect_empty_database_gives_empty_base(external_db, actor):
    base, changes = base_connect(
        actor=actor, title="Empty", config=ConnectionConfig.from_url(external_db.url)
    )
    assert base.tables.count() == 0
    assert changes == []


@pytest.mark.django_db
def test_pg_password_is_kept_secret_everywhere(pg_db, actor, api):
    """Trust auth accepts any password here, so a real connection can carry one."""
    url = _with_netloc(pg_db.url, password=SECRET)
    config = ConnectionConfig.from_url(url)
    assert config.password == SECRET
    assert SECRET not in repr(config)
    pg_db.execute("CREATE TABLE t (id SERIAL PRIMARY KEY)")
    base, _ = base_connect(actor=actor, title="Secret", config=config)
    source = DataSource.objects.get(base=base)
    # Stored encrypted, yet recoverable by the server.
    assert SECRET not in source.config_encrypted
    assert "password" not in source.config_encrypted
    assert config_of(source).password == SECRET
    # Never in JSON shapes or API answers.
    assert SECRET not in json.dumps(source_json(source), default=str)
    assert SECRET not in json.dumps(base_json(base), default=str)
    assert "password" not in source_json(source)["config"]
    for path in (
        f"/api/v2/meta/bases/{base.pk}",
        f"/api/v2/meta/bases/{base.pk}/sources",
        f"/api/v2/meta/bases/{base.pk}/sources/{source.pk}",
        "/api/v2/meta/bases/",
    ):
        resp = api.get(path)
        assert resp.status_code == 200, (path, resp.content)
        assert SECRET.encode() not in resp.content


@pytest.mark.django_db
def test_source_update_blank_password_keeps_stored_one(pg_db, actor):
    config = ConnectionConfig.from_url(_with_netloc(pg_db.url, password=SECRET))
    base, _ = base_connect(actor=actor, title="Secret", config=config)
    source = base.sources.get()
    version = source.meta_version
    source_update(
        actor=actor, source=source, config=replace(config, password=""), alias="renamed"
    )
    source = DataSource.objects.get(pk=source.pk)
    assert config_of(source).password == SECRET
    assert source.alias == "renamed"
    assert source.meta_version == version + 1


@pytest.mark.django_db
def test_source_update_with_bad_settings_changes_nothing(pg_db, actor):
    config = ConnectionConfig.from_url(pg_db.url)
    base, _ = base_connect(actor=actor, title="Keep", config=config)
    source = base.sources.get()
    stored = source.config_encrypted
    with pytest.raises(ConnectionProblem) as info:
        source_update(
            actor=actor,
            source=source,
            config=replace(config, port=_closed_port(), password=SECRET),
        )
    assert info.value.code == "CONNECTION_REFUSED"
    _assert_no_secret(info.value)
    assert DataSource.objects.get(pk=source.pk).config_encrypted == stored


# --- failures -------------------------------------------------------------------------------


def _server_url(kind: str) -> str:
    return settings.TEST_POSTGRES_URL if kind == "pg" else settings.TEST_MYSQL_URL


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_unknown_host(kind, actor):
    config = ConnectionConfig.from_url(
        _with_netloc(_server_url(kind), host="no-such-host.invalid", password=SECRET)
    )
    problem = _problem(config)
    assert problem.code == "UNKNOWN_HOST"
    assert problem.status == 400
    assert "no-such-host.invalid" in problem.message
    _assert_no_secret(problem)
    # base_connect refuses the same way and creates nothing.
    with pytest.raises(ConnectionProblem):
        base_connect(actor=actor, title="x", config=config)
    assert Base.objects.count() == 0 and DataSource.objects.count() == 0


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_connection_refused(kind):
    port = _closed_port()
    for p in (1, port):
        problem = _problem(
            ConnectionConfig.from_url(
                _with_netloc(
                    _server_url(kind), host="127.0.0.1", port=p, password=SECRET
                )
            )
        )
        assert problem.code == "CONNECTION_REFUSED", problem.message
        assert f"127.0.0.1:{p}" in problem.message
        _assert_no_secret(problem)


def test_pg_unknown_role_is_bad_credentials():
    problem = _problem(
        ConnectionConfig.from_url(
            _with_netloc(
                settings.TEST_POSTGRES_URL, user="no_such_role_x1", password=SECRET
            )
        )
    )
    assert problem.code == "BAD_CREDENTIALS"
    assert "no_such_role_x1" in problem.message
    _assert_no_secret(problem)


@pytest.mark.parametrize("user", ["root", "no_such_user_x1"])
def test_mysql_bad_credentials(user):
    problem = _problem(
        ConnectionConfig.from_url(
            _with_netloc(settings.TEST_MYSQL_URL, user=user, password=SECRET)
        )
    )
    assert problem.code == "BAD_CREDENTIALS"
    assert user in problem.message
    _assert_no_secret(problem)


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_unknown_database(kind):
    problem = _problem(
        ConnectionConfig.from_url(
            _with_netloc(_server_url(kind), path="/no_such_db_x1")
        )
    )
    assert problem.code == "UNKNOWN_DATABASE"
    assert "no_such_db_x1" in problem.message


def test_pg_unknown_schema():
    problem = _problem(
        ConnectionConfig.from_url(
            _with_netloc(settings.TEST_POSTGRES_URL, query="schema=no_such_schema_x1")
        )
    )
    assert problem.code == "UNKNOWN_SCHEMA"
    assert "no_such_schema_x1" in problem.message


def test_pg_existing_schema_is_accepted(pg_db):
    check_connection(ConnectionConfig.from_url(pg_db.url))
    # No schema means "public", which exists.
    check_connection(ConnectionConfig.from_url(settings.TEST_POSTGRES_URL))


def test_sqlite_missing_file(tmp_path):
    problem = _problem(ConnectionConfig.from_url(f"sqlite:///{tmp_path}/nope.sqlite3"))
    assert problem.code == "UNKNOWN_DATABASE"
    assert not (tmp_path / "nope.sqlite3").exists(), "checking must not create the file"


def test_sqlite_not_a_database(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is plain text, not SQLite, " * 100)
    problem = _problem(ConnectionConfig.from_url(f"sqlite:///{path}"))
    assert problem.code == "NOT_A_DATABASE"


def test_sqlite_empty_file_is_a_valid_database(tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    check_connection(ConnectionConfig.from_url(f"sqlite:///{path}"))


def test_sqlite_platform_files_are_forbidden():
    # The meta database lives in VAR_DIR (under pytest its NAME points at an in-memory copy).
    meta = settings.VAR_DIR / "meta.sqlite3"
    import sqlite3

    sqlite3.connect(meta).close()
    assert (
        _refusal(ConnectionConfig.from_url(f"sqlite:///{meta}")).code
        == "FORBIDDEN_PATH"
    )
    store = settings.NOCO_STORE_DIR
    store.mkdir(parents=True, exist_ok=True)
    (store / "x.sqlite3").touch()
    assert (
        _refusal(ConnectionConfig.from_url(f"sqlite:///{store}/x.sqlite3")).code
        == "FORBIDDEN_PATH"
    )
    # Through `..` tricks too.
    sneaky = f"sqlite:///{store}/../store/x.sqlite3"
    assert _refusal(ConnectionConfig.from_url(sneaky)).code == "FORBIDDEN_PATH"


def test_sqlite_allowed_dirs(tmp_path, settings):
    allowed = tmp_path / "ok"
    allowed.mkdir()
    import sqlite3

    sqlite3.connect(allowed / "a.sqlite3").close()
    sqlite3.connect(tmp_path / "b.sqlite3").close()
    settings.NOCO_SQLITE_ALLOWED_DIRS = [str(allowed)]
    check_connection(ConnectionConfig.from_url(f"sqlite:///{allowed}/a.sqlite3"))
    assert (
        _refusal(ConnectionConfig.from_url(f"sqlite:///{tmp_path}/b.sqlite3")).code
        == "FORBIDDEN_PATH"
    )


@pytest.mark.parametrize(
    "url, code",
    [
        ("oracle://x@y/z", "INVALID_DATABASE_URL"),
        ("sqlite:///", "INVALID_DATABASE_URL"),
        ("postgresql://u@h:notaport/db", "INVALID_DATABASE_URL"),
    ],
)
def test_invalid_urls(url, code):
    from nocoplatform.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        ConnectionConfig.from_url(url)
    assert info.value.code == code


def test_missing_host_or_database_is_invalid_connection():
    from nocoplatform.errors import InvalidInput

    with pytest.raises(InvalidInput) as info:
        check_connection(ConnectionConfig(kind="pg", database="x"))
    assert info.value.code == "INVALID_CONNECTION"
    with pytest.raises(InvalidInput) as info:
        check_connection(ConnectionConfig(kind="mysql2", host="127.0.0.1"))
    assert info.value.code == "INVALID_CONNECTION"


@pytest.mark.django_db
def test_connection_test_api_reports_code_without_password(api):
    body = {
        "type": "pg",
        "connection": {
            "host": "127.0.0.1",
            "port": _closed_port(),
            "user": "postgres",
            "password": SECRET,
            "database": "test",
        },
    }
    resp = api.post("/api/v2/meta/connection/test", body, format="json")
    assert resp.status_code == 400, resp.content
    assert resp.json()["error"] == "CONNECTION_REFUSED"
    assert SECRET.encode() not in resp.content
