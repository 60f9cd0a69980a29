"""Every user-database statement runs under a timeout (issue 15).

A genuinely slow query — PostgreSQL `pg_sleep`, MariaDB `SLEEP()`, a SQLite recursive CTE of
tens of millions of rows, each behind a database view the base shows as a table — is stopped
at NOCO_STATEMENT_TIMEOUT and answered 504 STATEMENT_TIMEOUT naming the limit, on the records
API and the grid, for external databases and for the built-in store. Schema edits get the
longer NOCO_SCHEMA_STATEMENT_TIMEOUT.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest

from bases.connections.aliases import forget_all
from bases.models import Base, DataSource, Table
from bases.sources import config_of

pytestmark = pytest.mark.django_db

API = "/api/v2/meta"
LIMIT = 1.0  # seconds: the timeout the tests set
MARGIN = (
    4.0  # seconds beyond it an answer may take (connect, sync, a slow shared machine)
)

# Each takes far longer than LIMIT on any machine (≥ 5 s) to give a page of 25 rows, while
# one row (what introspection reads of a view) comes quickly: 0.2 s a row.
SLOW_VIEW = {
    "pg": "CREATE VIEW slow AS SELECT g AS id, pg_sleep(0.2)::text AS note "
    "FROM generate_series(1, 1000) AS g",
    "mysql": "CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
    "SELECT x + 1 FROM c WHERE x < 1000) SELECT x AS id, SLEEP(0.2) AS note FROM c",
    "sqlite": (
        "CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
        "SELECT x + 1 FROM c WHERE x < 100000000) SELECT max(x) AS id, 'a' AS note FROM c"
    ),
}


@pytest.fixture
def limited(settings):
    settings.NOCO_STATEMENT_TIMEOUT = LIMIT
    forget_all()  # connections made from now on carry the limit


def _connect(api, url: str, **flags) -> Base:
    res = api.post(
        f"{API}/bases/", {"title": "slow", "url": url, **flags}, format="json"
    )
    assert res.status_code == 201, res.content
    return Base.objects.get(pk=res.json()["id"])


def _assert_timeout(res, started: float) -> None:
    took = time.monotonic() - started
    assert res.status_code == 504, res.content[:500]
    body = res.json()
    assert body["error"] == "STATEMENT_TIMEOUT"
    assert "NOCO_STATEMENT_TIMEOUT" in body["message"] and "1 s" in body["message"]
    assert took < LIMIT + MARGIN, f"answered after {took:.1f} s"


def test_a_slow_query_is_stopped_at_the_timeout(external_db, api, limited):
    external_db.execute(SLOW_VIEW[external_db.kind])
    base = _connect(api, external_db.url)
    slow = base.tables.get(table_name="slow")
    started = time.monotonic()
    _assert_timeout(api.get(f"/api/v2/tables/{slow.pk}/records"), started)
    # The connection is fine afterwards: the next request is answered normally.
    external_db.execute(
        f"CREATE TABLE {external_db.q('fast')} (id INTEGER PRIMARY KEY)"
    )
    api.post(f"{API}/bases/{base.pk}/meta-diff")
    fast = base.tables.get(table_name="fast")
    assert api.get(f"/api/v2/tables/{fast.pk}/records").status_code == 200


def test_the_grid_says_so_too(sqlite_db, api, web, limited):
    sqlite_db.execute(SLOW_VIEW["sqlite"])
    base = _connect(api, sqlite_db.url)
    slow = base.tables.get(table_name="slow")
    started = time.monotonic()
    page = web.get(f"/bases/{base.pk}/tables/{slow.pk}/")
    assert time.monotonic() - started < 2 * (LIMIT + MARGIN)  # list and count
    assert b"NOCO_STATEMENT_TIMEOUT" in page.content
    started = time.monotonic()
    rows = web.get(f"/bases/{base.pk}/tables/{slow.pk}/grid/rows")
    assert rows.status_code == 504
    assert b"NOCO_STATEMENT_TIMEOUT" in rows.content
    assert time.monotonic() - started < LIMIT + MARGIN


def test_the_builtin_sqlite_store_has_the_timeout_too(api, limited):
    res = api.post(f"{API}/bases/", {"title": "store"}, format="json")
    assert res.status_code == 201, res.content
    base = Base.objects.get(pk=res.json()["id"])
    path = config_of(base.sources.get()).path
    with sqlite3.connect(path) as conn:
        conn.execute(SLOW_VIEW["sqlite"])
    assert api.post(f"{API}/bases/{base.pk}/meta-diff").status_code == 200
    slow = base.tables.get(table_name="slow")
    started = time.monotonic()
    _assert_timeout(api.get(f"/api/v2/tables/{slow.pk}/records"), started)


def test_the_builtin_postgres_store_has_the_timeout_too(api, limited, settings):
    try:
        psycopg.connect(settings.TEST_POSTGRES_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable ({exc})")
    settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    res = api.post(f"{API}/bases/", {"title": "store"}, format="json")
    assert res.status_code == 201, res.content
    base = Base.objects.get(pk=res.json()["id"])
    schema = config_of(base.sources.get()).schema
    try:
        with psycopg.connect(settings.TEST_POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(SLOW_VIEW["pg"])
        assert api.post(f"{API}/bases/{base.pk}/meta-diff").status_code == 200
        slow = base.tables.get(table_name="slow")
        started = time.monotonic()
        _assert_timeout(api.get(f"/api/v2/tables/{slow.pk}/records"), started)
    finally:
        assert api.delete(f"{API}/bases/{base.pk}").status_code == 200


# --- schema edits -----------------------------------------------------------------------------


def _hold_lock(kind: str, url: str, seconds: float) -> threading.Thread:
    """Another session reads table t in an open transaction for `seconds`: a DDL on t waits
    for it (PostgreSQL's ACCESS EXCLUSIVE, MariaDB's metadata lock) — a slow schema edit."""
    ready = threading.Event()

    def hold():
        if kind == "pg":
            conn = psycopg.connect(url.split("?")[0])
            schema = url.split("schema=")[1]
            conn.execute(f'SELECT * FROM "{schema}".t')
        else:
            from urllib.parse import urlsplit

            import MySQLdb

            parts = urlsplit(url)
            conn = MySQLdb.connect(
                host=parts.hostname,
                port=parts.port or 3306,
                user=parts.username or "root",
                password=parts.password or "",
                database=parts.path.lstrip("/"),
            )
            conn.autocommit(False)
            conn.cursor().execute("SELECT * FROM t")
        ready.set()
        time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(10)
    return thread


def _column(base: Base, name: str):
    table = Table.objects.get(base=base, table_name="t")
    return table.fields.get(column_name=name)


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_schema_edits_get_the_longer_timeout(api, settings, request, kind):
    db = request.getfixturevalue(f"{kind}_db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER)")
    settings.NOCO_STATEMENT_TIMEOUT = 0.5
    forget_all()
    base = _connect(api, db.url, is_schema_readonly=False)
    # A DDL that has to wait 2 s: stopped when the schema-edit limit is short too (so it is
    # genuinely slow, and under a limit)...
    settings.NOCO_SCHEMA_STATEMENT_TIMEOUT = 0.5
    holder = _hold_lock(kind, db.url, 2.0)
    res = api.delete(f"{API}/columns/{_column(base, 'a').pk}")
    assert res.status_code == 504, res.content
    assert res.json()["error"] == "STATEMENT_TIMEOUT"
    assert "NOCO_SCHEMA_STATEMENT_TIMEOUT" in res.json()["message"]
    holder.join()
    # ...and done when only the ordinary limit is short: schema edits have their own.
    settings.NOCO_SCHEMA_STATEMENT_TIMEOUT = 30
    holder = _hold_lock(kind, db.url, 2.0)
    started = time.monotonic()
    res = api.delete(f"{API}/columns/{_column(base, 'b').pk}")
    assert res.status_code == 200, res.content
    assert time.monotonic() - started > 1.0  # it did wait for the lock
    holder.join()
    # Back to the ordinary limit afterwards, on the same connection.
    assert _session_timeout(kind, base) == pytest.approx(0.5)


def _session_timeout(kind: str, base: Base) -> float:
    from django.db import connections

    from bases.sources import source_alias

    alias = source_alias(DataSource.objects.get(base=base))
    with connections[alias].cursor() as cur:
        if kind == "pg":
            cur.execute(
                "SELECT setting::float / 1000 FROM pg_settings WHERE name = %s",
                ["statement_timeout"],
            )
        else:
            cur.execute("SELECT @@max_statement_time")
        return float(cur.fetchone()[0])


def test_sqlite_schema_edits_get_the_longer_timeout(api, settings, sqlite_db):
    # Dropping a column rewrites every row: with 200,000 rows of 1 KB, slow on any machine.
    sqlite_db.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a BLOB, b BLOB)",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) "
        "INSERT INTO t (id, a, b) SELECT x, randomblob(1000), randomblob(1000) FROM c",
    )
    settings.NOCO_STATEMENT_TIMEOUT = 0.05
    forget_all()
    base = _connect(api, sqlite_db.url, is_schema_readonly=False)
    settings.NOCO_SCHEMA_STATEMENT_TIMEOUT = 0.05
    res = api.delete(f"{API}/columns/{_column(base, 'a').pk}")
    assert res.status_code == 504, res.content
    assert "NOCO_SCHEMA_STATEMENT_TIMEOUT" in res.json()["message"]
    settings.NOCO_SCHEMA_STATEMENT_TIMEOUT = 120
    res = api.delete(f"{API}/columns/{_column(base, 'b').pk}")
    assert res.status_code == 200, res.content
