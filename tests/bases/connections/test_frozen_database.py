"""A frozen database server (it accepts connections and answers nothing, like a server under
SIGSTOP) costs its base a few seconds and every other base nothing (bases/connections/liveness.py).

The database is reached through tests/freezeproxy.py, which freezes like a stopped server
without stopping the machine's shared PostgreSQL and MariaDB.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from bases.sources import user_db
from nocoplatform.errors import DatabaseUnavailable
from permissions.checks import Actor
from tests.freezeproxy import FreezeProxy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick(settings):
    settings.NOCO_FREEZE_PROBE_AFTER = 0.5
    settings.NOCO_FREEZE_PROBE_TIMEOUT = 1
    settings.NOCO_CONNECT_TIMEOUT = 2
    settings.NOCO_UNAVAILABLE_RETRY_AFTER = 30


def _through(proxy: FreezeProxy, url: str) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rsplit("@", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{proxy.port}"))


@pytest.fixture(params=["pg", "mysql"])
def frozen_base(request, user):
    db = request.getfixturevalue({"pg": "pg_db", "mysql": "mysql_db"}[request.param])
    db.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(20))",
        "INSERT INTO items VALUES (1, 'one')",
    )
    target = urlsplit(db.url)
    proxy = FreezeProxy(target.hostname, target.port)
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Freezes",
        config=ConnectionConfig.from_url(_through(proxy, db.url)),
    )
    yield base, proxy
    proxy.thaw()
    proxy.close()


@pytest.fixture
def healthy_table(sqlite_db, make_table):
    return make_table(
        sqlite_db, "notes", "body TEXT", rows=[{"body": "fine"}], title="Healthy"
    )


def test_a_statement_on_a_frozen_server_is_cut_and_answered_503(frozen_base):
    base, proxy = frozen_base
    source = base.sources.get()
    started = None
    with pytest.raises(DatabaseUnavailable):
        with user_db(source) as conn, conn.cursor() as cur:
            cur.execute("SELECT name FROM items WHERE id = %s", [1])
            assert cur.fetchone()[0] == "one"
            proxy.freeze()
            started = time.monotonic()
            cur.execute("SELECT name FROM items WHERE id = %s", [1])  # never answered
    waited = time.monotonic() - started
    # probe after 0.5 s, probe timeout 1 s, watchdog ticks: well under the 5 s target
    assert waited < 4, f"a frozen server held the statement {waited:.1f} s"


def test_a_frozen_base_answers_503_fast_and_others_do_not_notice(
    api, frozen_base, healthy_table
):
    base, proxy = frozen_base
    table = base.tables.get()
    url = f"/api/v2/tables/{table.pk}/records"
    assert api.get(url).status_code == 200
    proxy.freeze()

    start = time.monotonic()
    first = api.get(url)
    assert first.status_code == 503, first.content
    assert first.json()["error"] == "DATABASE_UNAVAILABLE"
    assert time.monotonic() - start < 5

    # known frozen: answered at once, and other bases as usual
    for _ in range(3):
        start = time.monotonic()
        assert api.get(url).status_code == 503
        assert time.monotonic() - start < 0.5
        start = time.monotonic()
        healthy = api.get(f"/api/v2/tables/{healthy_table.pk}/records")
        assert healthy.status_code == 200
        assert time.monotonic() - start < 0.5

    # thawed: the background probe lifts the mark, no request has to find out
    proxy.thaw()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got = api.get(url)
        if got.status_code == 200:
            break
        assert got.status_code == 503
        time.sleep(0.2)
    assert got.status_code == 200, "the base did not come back within 5 s of the thaw"
    assert got.json()["list"][0]["name"] == "one"


def test_a_slow_query_on_a_live_server_is_not_mistaken_for_a_freeze(pg_db, user):
    """The probe opens a new connection: a live server answers it however slow the query."""
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Slow",
        config=ConnectionConfig.from_url(pg_db.url),
    )
    with user_db(base.sources.get()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_sleep(%s), 1", [2])
        assert cur.fetchone()[1] == 1
