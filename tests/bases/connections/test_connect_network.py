"""Data sources and the server's own network (issue 15).

A data source makes the server open a connection where its creator says. Ordinary users may
only reach public addresses (every resolved address checked, the connection pinned to the
checked one); site admins, sources an admin saved, and NOCO_SOURCES_ALLOW_PRIVATE may reach
private ones. The refusal is the same whatever is (or is not) listening behind it, connection
attempts are rate-limited per user, and SQLite paths outside the allowed folders say nothing
about whether a file exists there.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from bases.connections.aliases import forget_all
from bases.models import Base, DataSource
from bases.sources import config_of
from nocoplatform import netguard
from permissions.services import api_token_create, membership_create

pytestmark = pytest.mark.django_db

REFUSED = "DATABASE_HOST_REFUSED"
API = "/api/v2/meta"


@pytest.fixture
def no_private(settings):
    settings.NOCO_SOURCES_ALLOW_PRIVATE = False


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user(
        username="root@example.com",
        email="root@example.com",
        password="pw-root-12345",
        is_staff=True,
    )


def _client(user) -> APIClient:
    _, raw = api_token_create(user=user, name="t")
    c = APIClient()
    c.credentials(HTTP_XC_TOKEN=raw)
    return c


@pytest.fixture
def admin_api(admin):
    return _client(admin)


def _server(kind: str, settings) -> dict:
    url = settings.TEST_POSTGRES_URL if kind == "pg" else settings.TEST_MYSQL_URL
    parts = urlsplit(url)
    return {
        "user": parts.username or "",
        "port": parts.port,
        "database": parts.path.lstrip("/"),
    }


def _body(kind: str, host: str, settings, **extra) -> dict:
    server = _server(kind, settings)
    return {
        "type": kind,
        "connection": {
            "host": host,
            "port": server["port"],
            "user": server["user"],
            "database": server["database"],
            **extra,
        },
    }


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PRIVATE_HOSTS = [
    "127.0.0.1",
    "localhost",
    "::1",
    "::ffff:127.0.0.1",
    "::127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "10.255.255.1",
    "169.254.169.254",
    "100.64.0.1",
    "64:ff9b::7f00:1",
]


@pytest.mark.parametrize("kind", ["pg", "mysql2"])
@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_connection_test_refuses_private_hosts_for_users(
    api, no_private, settings, kind, host
):
    res = api.post(f"{API}/connection/test", _body(kind, host, settings), format="json")
    assert res.status_code == 403, (host, res.content)
    assert res.json()["error"] == REFUSED


@pytest.mark.parametrize("kind", ["pg", "mysql2"])
def test_refusal_is_the_same_whether_a_port_is_open_or_not(
    api, no_private, settings, kind
):
    """Not a port scanner: a listening server and a closed port answer alike."""
    answers = []
    for port in (_server(kind, settings)["port"], _closed_port(), 1):
        body = _body(kind, "127.0.0.1", settings)
        body["connection"]["port"] = port
        res = api.post(f"{API}/connection/test", body, format="json")
        answers.append((res.status_code, res.json()))
    assert answers[0][0] == 403 and answers[0][1]["error"] == REFUSED
    assert answers[0] == answers[1] == answers[2]


def test_unresolvable_names_are_refused_alike_for_users(api, no_private, settings):
    """Nor an oracle of internal DNS names: a name that does not resolve and one that resolves
    to a private address get the same code."""
    res = api.post(
        f"{API}/connection/test",
        _body("pg", "no-such-host.invalid", settings),
        format="json",
    )
    assert res.status_code == 403 and res.json()["error"] == REFUSED


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1/postgres",
        "mysql://root@127.0.0.1/mysql",
        "mysql://root@localhost/mysql",
    ],
)
def test_users_cannot_connect_the_servers_own_databases(api, no_private, url):
    """The attack from the issue: a fresh user connected these and read mysql.user."""
    res = api.post(f"{API}/bases/", {"title": "x", "url": url}, format="json")
    assert res.status_code == 403, res.content
    assert res.json()["error"] == REFUSED
    assert not Base.objects.exists() and not DataSource.objects.exists()


def test_pages_refuse_too(web, no_private, settings):
    url = settings.TEST_POSTGRES_URL
    res = web.post("/bases/connection-test", {"title": "x", "mode": "url", "url": url})
    assert REFUSED.encode() in res.content
    res = web.post("/bases/new/", {"title": "x", "mode": "url", "url": url})
    assert res.status_code == 200
    assert b"only site administrators" in res.content
    assert not Base.objects.exists()


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_site_admins_may_connect_private_hosts(
    admin_api, admin, no_private, settings, kind, request
):
    db = request.getfixturevalue(f"{kind}_db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    res = admin_api.post(
        f"{API}/connection/test",
        {"url": db.url},
        format="json",
    )
    assert res.status_code == 200, res.content
    res = admin_api.post(f"{API}/bases/", {"title": "x", "url": db.url}, format="json")
    assert res.status_code == 201, res.content
    source = DataSource.objects.get()
    assert source.approved_by_admin is True
    # Its members (not admins) use it: the source was approved, not the person asking.
    member = type(admin).objects.create_user(username="m@example.com", password="x")
    membership_create(base=source.base, user=member, role="editor")
    forget_all()
    table = source.tables.get()
    res = _client(member).get(f"/api/v2/tables/{table.pk}/records")
    assert res.status_code == 200, res.content


def test_the_setting_allows_private_hosts_for_everyone(api, settings, pg_db):
    settings.NOCO_SOURCES_ALLOW_PRIVATE = True
    res = api.post(f"{API}/bases/", {"title": "x", "url": pg_db.url}, format="json")
    assert res.status_code == 201, res.content
    assert DataSource.objects.get().approved_by_admin is False


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_a_stored_source_is_checked_at_every_connect(api, settings, kind, request):
    """Saved while private addresses were allowed, then they are not: the owner (not an
    admin) can no longer reach it, on the records API as on pages."""
    db = request.getfixturevalue(f"{kind}_db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    settings.NOCO_SOURCES_ALLOW_PRIVATE = True
    res = api.post(f"{API}/bases/", {"title": "x", "url": db.url}, format="json")
    assert res.status_code == 201, res.content
    table = DataSource.objects.get().tables.get()
    assert api.get(f"/api/v2/tables/{table.pk}/records").status_code == 200
    settings.NOCO_SOURCES_ALLOW_PRIVATE = False
    forget_all()  # a new process, or the next connection after a restart
    res = api.get(f"/api/v2/tables/{table.pk}/records")
    assert res.status_code == 403, res.content
    assert res.json()["error"] == REFUSED


def test_source_edit_by_a_user_is_checked_and_drops_the_approval(
    api, admin_api, admin, user, settings, pg_db, sqlite_db
):
    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    # A user's own SQLite source may not be pointed at the server's PostgreSQL.
    res = api.post(f"{API}/bases/", {"title": "x", "url": sqlite_db.url}, format="json")
    assert res.status_code == 201, res.content
    source = DataSource.objects.get()
    settings.NOCO_SOURCES_ALLOW_PRIVATE = False
    path = f"{API}/bases/{source.base_id}/sources/{source.pk}"
    res = api.patch(path, {"url": pg_db.url}, format="json")
    assert res.status_code == 403 and res.json()["error"] == REFUSED
    assert config_of(DataSource.objects.get(pk=source.pk)).kind == "sqlite3"
    # An admin's source, handed to a user as owner: the user's edit of the connection drops
    # the approval (a title-only edit keeps it).
    res = admin_api.post(
        f"{API}/bases/", {"title": "y", "url": pg_db.url}, format="json"
    )
    assert res.status_code == 201, res.content
    theirs = DataSource.objects.get(base_id=res.json()["id"])
    membership_create(base=theirs.base, user=user, role="owner")
    path = f"{API}/bases/{theirs.base_id}/sources/{theirs.pk}"
    assert api.patch(path, {"alias": "renamed"}, format="json").status_code == 200
    assert DataSource.objects.get(pk=theirs.pk).approved_by_admin is True
    settings.NOCO_SOURCES_ALLOW_PRIVATE = True
    assert api.patch(path, {"url": pg_db.url}, format="json").status_code == 200
    assert DataSource.objects.get(pk=theirs.pk).approved_by_admin is False
    # An admin saving the connection approves it again.
    settings.NOCO_SOURCES_ALLOW_PRIVATE = False
    membership_create(base=theirs.base, user=admin, role="owner")
    assert admin_api.patch(path, {"url": pg_db.url}, format="json").status_code == 200
    assert DataSource.objects.get(pk=theirs.pk).approved_by_admin is True


def _fake_dns(monkeypatch, answers: dict[str, list]):
    """The platform's resolver answers `name` from `answers[name]` (a list of address lists,
    one per question; the last repeats). Names not in it are not in DNS at all, so a driver
    that resolved one itself (rather than use the address it was given) would fail."""
    real = netguard.resolve
    asked: dict[str, int] = {}

    def fake(host, port):
        if host not in answers:
            return real(host, port)
        n = asked.get(host, 0)
        asked[host] = n + 1
        return list(answers[host][min(n, len(answers[host]) - 1)])

    monkeypatch.setattr(netguard, "resolve", fake)
    return asked


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_connections_go_to_the_checked_address(
    admin_api, no_private, settings, monkeypatch, kind, request
):
    """The name is resolved by the platform and the driver is given the checked address: the
    drivers never resolve `db.example.test` themselves (they could not: it is not in DNS)."""
    db = request.getfixturevalue(f"{kind}_db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    asked = _fake_dns(monkeypatch, {"db.example.test": [["127.0.0.1"]]})
    parts = urlsplit(db.url)
    url = db.url.replace(f"@{parts.hostname}", "@db.example.test", 1)
    res = admin_api.post(f"{API}/connection/test", {"url": url}, format="json")
    assert res.status_code == 200, res.content
    res = admin_api.post(f"{API}/bases/", {"title": "x", "url": url}, format="json")
    assert res.status_code == 201, res.content
    table = DataSource.objects.get().tables.get()
    forget_all()
    assert admin_api.get(f"/api/v2/tables/{table.pk}/records").status_code == 200
    assert asked["db.example.test"] >= 3  # test, connect, and the new connection


def test_a_name_rebound_to_metadata_is_refused_at_the_next_connect(
    admin_api, no_private, monkeypatch, pg_db
):
    pg_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    _fake_dns(
        monkeypatch,
        {"db.example.test": [["127.0.0.1"], ["127.0.0.1"], ["169.254.169.254"]]},
    )
    url = pg_db.url.replace("@127.0.0.1", "@db.example.test", 1)
    res = admin_api.post(f"{API}/bases/", {"title": "x", "url": url}, format="json")
    assert res.status_code == 201, res.content
    table = DataSource.objects.get().tables.get()
    forget_all()
    res = admin_api.get(f"/api/v2/tables/{table.pk}/records")
    assert res.status_code == 403, res.content
    assert res.json()["error"] == REFUSED


def test_every_resolved_address_is_checked(api, no_private, settings, monkeypatch):
    _fake_dns(monkeypatch, {"db.example.test": [["8.8.8.8", "127.0.0.1"]]})
    res = api.post(
        f"{API}/connection/test",
        _body("pg", "db.example.test", settings),
        format="json",
    )
    assert res.status_code == 403 and res.json()["error"] == REFUSED


def test_connection_attempts_are_rate_limited_for_users(
    api, admin_api, settings, sqlite_db
):
    cache.clear()
    settings.NOCO_CONNECTION_TESTS_PER_MINUTE = 3
    body = {"url": sqlite_db.url}
    for _ in range(3):
        assert (
            api.post(f"{API}/connection/test", body, format="json").status_code == 200
        )
    res = api.post(f"{API}/connection/test", body, format="json")
    assert res.status_code == 429, res.content
    assert res.json()["error"] == "TOO_MANY_CONNECTION_TESTS"
    # Connecting counts as an attempt too.
    res = api.post(f"{API}/bases/", {"title": "x", **body}, format="json")
    assert res.status_code == 429
    for _ in range(5):  # admins are not limited
        assert (
            admin_api.post(f"{API}/connection/test", body, format="json").status_code
            == 200
        )
    cache.clear()


# --- SQLite files -----------------------------------------------------------------------------


def _sqlite_answers(client, *paths) -> list:
    out = []
    for path in paths:
        res = client.post(
            f"{API}/connection/test", {"url": f"sqlite:///{path}"}, format="json"
        )
        out.append((res.status_code, res.json()))
    return out


def test_sqlite_outside_allowed_folders_reveals_nothing(api, settings, tmp_path):
    import sqlite3

    inside = tmp_path / "ok"
    inside.mkdir()
    outside_db = tmp_path / "real.sqlite3"
    sqlite3.connect(outside_db).close()
    outside_txt = tmp_path / "notes.txt"
    outside_txt.write_text("hello")
    missing = tmp_path / "missing.sqlite3"
    settings.NOCO_SQLITE_ALLOWED_DIRS = [str(inside)]
    answers = _sqlite_answers(api, outside_db, outside_txt, missing, "/etc/passwd")
    assert answers[0][0] == 403 and answers[0][1]["error"] == "FORBIDDEN_PATH"
    assert all(a == answers[0] for a in answers), answers


def test_sqlite_files_only_for_admins_without_allowed_folders(
    api, admin_api, settings, tmp_path
):
    """Without NOCO_SQLITE_ALLOWED_DIRS a user may open no file at all, and the connection
    test does not tell them whether one exists (it used to: UNKNOWN_DATABASE, NOT_A_DATABASE
    or success)."""
    import sqlite3

    real = tmp_path / "real.sqlite3"
    sqlite3.connect(real).close()
    settings.NOCO_SQLITE_ALLOWED_DIRS = []
    answers = _sqlite_answers(api, real, tmp_path / "missing.sqlite3", "/etc/passwd")
    assert answers[0][0] == 403 and answers[0][1]["error"] == "FORBIDDEN_PATH"
    assert all(a == answers[0] for a in answers), answers
    assert _sqlite_answers(admin_api, real)[0][0] == 200


def test_stored_sqlite_source_checked_at_connect(api, settings, sqlite_db):
    """Allowed folders are checked again when a connection opens, like network addresses."""
    sqlite_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    res = api.post(f"{API}/bases/", {"title": "x", "url": sqlite_db.url}, format="json")
    assert res.status_code == 201, res.content
    table = DataSource.objects.get().tables.get()
    settings.NOCO_SQLITE_ALLOWED_DIRS = []
    forget_all()
    res = api.get(f"/api/v2/tables/{table.pk}/records")
    assert res.status_code == 403 and res.json()["error"] == "FORBIDDEN_PATH"


@pytest.mark.parametrize("kind", ["pg", "mysql"])
def test_after_an_outage_the_name_is_resolved_again(
    admin_api, settings, monkeypatch, kind, request
):
    """Pinning must not outlive a move: the first try after an outage resolves the name afresh
    (DNS failover), while the outage memory still answers 503 at once before that."""
    db = request.getfixturevalue(f"{kind}_db")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    # Nothing listens on 127.0.0.2: the database "was" there, then moved to 127.0.0.1.
    answers = {"db.example.test": [["127.0.0.1"], ["127.0.0.1"], ["127.0.0.2"]]}
    asked = _fake_dns(monkeypatch, answers)
    url = db.url.replace("@127.0.0.1", "@db.example.test", 1)
    res = admin_api.post(f"{API}/bases/", {"title": "x", "url": url}, format="json")
    assert res.status_code == 201, res.content
    table = DataSource.objects.get().tables.get()
    forget_all()
    records = f"/api/v2/tables/{table.pk}/records"
    assert admin_api.get(records).status_code == 503
    answers["db.example.test"].append(["127.0.0.1"])
    assert admin_api.get(records).status_code == 200
    assert asked["db.example.test"] == 4


def test_the_connect_base_command_is_the_operator_approving(user, no_private, pg_db):
    """`manage.py connect_base --owner` is run by whoever runs the server: the source it
    makes for a user may be on the private network, and stays reachable for that user."""
    import io

    from django.core.management import call_command

    pg_db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    out = io.StringIO()
    call_command(
        "connect_base",
        "Ops",
        pg_db.url,
        "--owner",
        user.email,
        stdout=out,
        stderr=io.StringIO(),
    )
    source = DataSource.objects.get(base_id=out.getvalue().strip())
    assert source.approved_by_admin is True
    assert source.base.created_by == user
    forget_all()
    table = source.tables.get()
    res = _client(user).get(f"/api/v2/tables/{table.pk}/records")
    assert res.status_code == 200, res.content
