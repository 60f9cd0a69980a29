"""A base whose database goes away answers 503 DATABASE_UNAVAILABLE; other bases keep working."""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import replace

import pytest

from bases.connections.aliases import forget_source
from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from bases.sources import config_of, store_config


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    """A refused PostgreSQL connection waits for the pool's timeout: keep it short here."""
    settings.NOCO_CONNECT_TIMEOUT = 1


@pytest.fixture
def connect(make_table, actor):
    def _connect(db, title):
        table = make_table(
            db,
            "notes",
            "body VARCHAR(50)",
            rows=[{"body": "hello"}],
            title=title,
            actor=actor,
        )
        return table.base, table

    return _connect


def _assert_503(resp, secret: str = "") -> None:
    assert resp.status_code == 503, resp.content
    body = resp.json()
    assert body["error"] == "DATABASE_UNAVAILABLE"
    assert body["message"]
    if secret:
        assert secret.encode() not in resp.content


def _assert_healthy(api, base, table) -> None:
    resp = api.get(f"/api/v2/tables/{table.pk}/records")
    assert resp.status_code == 200, resp.content
    assert [r["body"] for r in resp.json()["list"]] == ["hello"]
    resp = api.get(f"/api/v2/meta/bases/{base.pk}/meta-diff")
    assert resp.status_code == 200, resp.content
    assert resp.json()["in_sync"] is True


def _break(source, config: ConnectionConfig) -> None:
    # Point the source at a dead address, as the service does on a real change (version bump).
    store_config(source, config)
    source.meta_version += 1
    source.save()
    forget_source(source.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_server_gone_gives_503_for_that_base_only(
    kind, request, actor, api, sqlite_db, connect
):
    db = request.getfixturevalue(f"{kind}_db")
    broken_base, broken_table = connect(db, "Server")
    healthy_base, healthy_table = connect(sqlite_db, "Local")
    _assert_healthy(api, broken_base, broken_table)

    source = broken_base.sources.get()
    secret = "Gone-S3cret-pw"
    _break(
        source,
        replace(
            config_of(source), host="127.0.0.1", port=_closed_port(), password=secret
        ),
    )

    _assert_503(api.get(f"/api/v2/tables/{broken_table.pk}/records"), secret)
    _assert_503(api.get(f"/api/v2/meta/bases/{broken_base.pk}/meta-diff"), secret)
    _assert_503(api.post(f"/api/v2/meta/bases/{broken_base.pk}/meta-diff"), secret)
    # The metadata is untouched by the failed sync.
    assert broken_base.tables.count() == 1
    # Metadata-only reads still work for the broken base.
    assert api.get(f"/api/v2/meta/bases/{broken_base.pk}").status_code == 200
    # And the other base does not notice, not even by waiting on the broken one's connection.
    started = time.monotonic()
    _assert_healthy(api, healthy_base, healthy_table)
    assert time.monotonic() - started < 0.9


@pytest.mark.django_db
def test_server_back_again_answers_200(pg_db, actor, api, connect):
    base, table = connect(pg_db, "Flaky")
    source = base.sources.get()
    good = config_of(source)
    _break(source, replace(good, port=_closed_port()))
    _assert_503(api.get(f"/api/v2/tables/{table.pk}/records"))
    _break(source, good)
    _assert_healthy(api, base, table)


@pytest.mark.django_db
def test_unknown_host_gives_503(pg_db, mysql_db, actor, api, connect):
    base, table = connect(pg_db, "Host")
    other_base, other_table = connect(mysql_db, "Other")
    source = base.sources.get()
    _break(source, replace(config_of(source), host="no-such-host.invalid"))
    _assert_503(api.get(f"/api/v2/tables/{table.pk}/records"))
    _assert_healthy(api, other_base, other_table)


@pytest.mark.django_db
def test_sqlite_folder_gone_gives_503(tmp_path, actor, api, pg_db, connect):
    import sqlite3

    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "notes.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))")
    conn.execute("INSERT INTO notes (body) VALUES ('hello')")
    conn.commit()
    conn.close()
    base, _ = base_connect(
        actor=actor, title="File", config=ConnectionConfig.from_url(f"sqlite:///{path}")
    )
    table = base.tables.get()
    other_base, other_table = connect(pg_db, "Other")
    _assert_healthy(api, base, table)

    forget_source(base.sources.get().pk)
    shutil.rmtree(folder)
    _assert_503(api.get(f"/api/v2/tables/{table.pk}/records"))
    _assert_503(api.get(f"/api/v2/meta/bases/{base.pk}/meta-diff"))
    _assert_healthy(api, other_base, other_table)


@pytest.mark.django_db
def test_sqlite_file_deleted_gives_503_and_is_not_recreated(tmp_path, actor, api):
    """A vanished file must not be replaced by a new empty database (which would look like every
    table was dropped, and a sync would then wipe the base's metadata)."""
    import sqlite3

    path = tmp_path / "notes.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(50))")
    conn.commit()
    conn.close()
    base, _ = base_connect(
        actor=actor, title="File", config=ConnectionConfig.from_url(f"sqlite:///{path}")
    )
    table = base.tables.get()
    forget_source(base.sources.get().pk)
    path.unlink()

    _assert_503(api.get(f"/api/v2/tables/{table.pk}/records"))
    _assert_503(api.get(f"/api/v2/meta/bases/{base.pk}/meta-diff"))
    _assert_503(api.post(f"/api/v2/meta/bases/{base.pk}/meta-diff"))
    assert not path.exists()
    assert base.tables.count() == 1


@pytest.mark.django_db
def test_a_dead_database_fails_fast_until_its_retry_time(
    pg_db, actor, api, settings, connect
):
    """One dead database must not tie up workers: after a failure, 503 at once for a while."""
    settings.NOCO_UNAVAILABLE_RETRY_AFTER = 30
    base, table = connect(pg_db, "Dead")
    source = base.sources.get()
    good = config_of(source)
    _break(source, replace(good, port=_closed_port()))
    _assert_503(api.get(f"/api/v2/tables/{table.pk}/records"))
    started = time.monotonic()
    again = api.get(f"/api/v2/tables/{table.pk}/records")
    assert time.monotonic() - started < 0.3
    _assert_503(again)
    assert "next try in" in again.json()["message"]
    # Fixing the connection settings (a new alias) is tried at once, not after the wait.
    _break(source, good)
    _assert_healthy(api, base, table)
