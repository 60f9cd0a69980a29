"""Names are data, never SQL: hostile table and column names on PostgreSQL, MariaDB and SQLite.

Names typed by users (a column rename through the meta API) and names read from a connected
database go through `bases.query.identifiers.quote_identifier` on every path: introspection,
sync, DDL, list, sort, filter, search, links, inserts, updates, deletes and the record history.
The tests quote with their own function (below) when they build a database by hand.
"""

from __future__ import annotations

import secrets
import time

import pytest
from django.db import connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bases.connections.aliases import alias_for, forget_source
from bases.connections.config import ConnectionConfig
from bases.models import Field
from bases.query.identifiers import check_new_name, quote_identifier
from bases.query.textmatch import like
from bases.services import base_connect
from bases.sync import diff
from nocoplatform.errors import InvalidInput
from permissions.checks import Actor

pytestmark = pytest.mark.django_db


def q(kind: str, name: str) -> str:
    """The test's own quoting (doubles the quote character), for hand-written SQL."""
    mark = "`" if kind == "mysql" else '"'
    return mark + name.replace(mark, mark * 2) + mark


def _pk(kind: str) -> str:
    return {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[kind]


def _names(kind: str) -> dict[str, str]:
    """Column names that break naive quoting, within what each database can hold."""
    mark = "`" if kind == "mysql" else '"'
    longest = {"pg": "l" * 63, "mysql": "l" * 64, "sqlite": "l" * 10_000}[kind]
    return {
        "inject": f"x{mark}; DROP TABLE sentinel; --",
        "concat": f"id{mark}||current_user||version()||{mark}id",
        "percent": "per%cent%s",
        "quote": "it's",
        "other": 'a"b`c',
        # MySQL/MariaDB names hold characters of the Basic Multilingual Plane only.
        "rtl": "שם ✓" if kind == "mysql" else "שם 📦",
        "long": longest,
    }


@pytest.fixture
def hostile(external_db, user):
    """A child table with hostile column names and a belongs-to link to a hostile parent."""
    db, kind = external_db, external_db.kind
    names = _names(kind)
    mark = "`" if kind == "mysql" else '"'
    child = f"wq{mark}; CREATE TABLE pwned(i int); --"
    parent = f"p{mark}arent's"
    text = "VARCHAR(200)" if kind == "mysql" else "TEXT"
    columns = ", ".join(f"{q(kind, n)} {text}" for n in names.values())
    db.execute(
        f"CREATE TABLE sentinel (id {_pk(kind)})",
        f"CREATE TABLE {q(kind, parent)} (id {_pk(kind)}, {q(kind, 'na;me')} {text})",
        f"CREATE TABLE {q(kind, child)} (id {_pk(kind)}, {columns}, "
        f"{q(kind, 'par%sent_id')} INTEGER REFERENCES {q(kind, parent)}(id))",
        f"INSERT INTO {q(kind, parent)} ({q(kind, 'na;me')}) VALUES ('Acme')",
        f"INSERT INTO {q(kind, child)} ({', '.join(q(kind, n) for n in names.values())}, "
        f"{q(kind, 'par%sent_id')}) VALUES ({', '.join(repr(k) for k in names)}, 1)",
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Hostile",
        config=ConnectionConfig.from_url(db.url),
        allow_schema_edit=True,
    )
    tables = {t.table_name: t for t in base.tables.all()}
    assert set(tables) == {"sentinel", child, parent}
    return db, names, tables[child], tables[parent]


def _tables(db) -> set[str]:
    if db.kind == "sqlite":
        rows = db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    elif db.kind == "pg":
        rows = db.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        )
    else:
        rows = db.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE()"
        )
    return {r[0] for r in rows}


def _columns(db, table: str) -> list[str]:
    if db.kind == "sqlite":
        return [r[1] for r in db.query(f"PRAGMA table_info({q('sqlite', table)})")]
    schema = "current_schema()" if db.kind == "pg" else "DATABASE()"
    return [
        r[0]
        for r in db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            f"AND table_schema = {schema} ORDER BY ordinal_position",
            (table,),
        )
    ]


def _field(table, column: str) -> Field:
    return table.fields.get(column_name=column)


def test_names_read_from_the_database_are_never_sql(api, hostile):
    db, names, child, parent = hostile
    url = f"/api/v2/tables/{child.pk}/records"
    assert "pwned" not in _tables(db) and "sentinel" in _tables(db)

    listed = api.get(url)
    assert listed.status_code == 200, listed.content
    (row,) = listed.json()["list"]
    for key, column in names.items():
        # The stored value, not the database user or version spliced in by the name.
        assert row[_field(child, column).title] == key

    # sort and filter by each hostile column; search-like filter too
    for key, column in names.items():
        f = _field(child, column)
        for sort in (f.id, f"-{f.id}"):
            got = api.get(url, {"sort": sort})
            assert got.status_code == 200, (key, got.content)
        for where in (f"({f.id},eq,{key})", f"({f.id},like,%{key[1:]}%)"):
            got = api.get(url, {"where": where})
            assert got.status_code == 200, (key, got.content)
            assert len(got.json()["list"]) == 1, (key, where)
        assert api.get(url, {"where": f"({f.id},eq,nothing)"}).json()["list"] == []

    # the belongs-to link reads the parent's display value through hostile names
    link = child.fields.get(uidt="LinkToAnotherRecord")
    got = api.get(f"/api/v2/tables/{child.pk}/links/{link.id}/records/{row['id']}")
    assert got.status_code == 200, got.content
    assert got.json()["list"][0]["na;me"] == "Acme"

    # insert, update (with history), delete
    body = {_field(child, c).title: f"new {k}" for k, c in names.items()}
    created = api.post(url, body, format="json")
    assert created.status_code == 200, created.content
    rid = created.json()["id"]
    inject = _field(child, names["inject"]).title
    patched = api.patch(url, {"id": rid, inject: "changed"}, format="json")
    assert patched.status_code == 200, patched.content
    got = api.get(f"{url}/{rid}").json()
    assert got[inject] == "changed" and got[_field(child, names["long"]).title] == (
        "new long"
    )
    history = api.get(f"{url}/{rid}/history")
    assert history.status_code == 200, history.content
    assert "changed" in history.content.decode()
    assert api.delete(url, {"id": rid}, format="json").status_code == 200
    assert api.get(f"{url}/{rid}").status_code == 404

    # schema sync reads the same names back: nothing to change
    changes = diff(child.source)
    assert changes == [], changes
    assert "pwned" not in _tables(db) and "sentinel" in _tables(db)


def test_column_rename_through_the_meta_api_is_not_sql(api, hostile):
    """The critical report: a creator's rename ran `CREATE TABLE`/`DROP TABLE`."""
    db, names, child, _ = hostile
    mark = "`" if db.kind == "mysql" else '"'
    field = _field(child, names["quote"])
    for attack in (
        f"x{mark}; CREATE TABLE t(i int); --",
        f'{mark}", 1); DROP TABLE sentinel; --{mark}',
        "tail%s%%",
    ):
        response = api.patch(
            f"/api/v2/meta/columns/{field.id}", {"column_name": attack}, format="json"
        )
        assert response.status_code == 200, response.content
        assert attack in _columns(db, child.table_name)
        assert {"t", "sentinel"} & _tables(db) == {"sentinel"}
        field.refresh_from_db()
        assert field.column_name == attack
        # and the renamed column still reads and writes
        url = f"/api/v2/tables/{child.pk}/records"
        listed = api.get(url, {"where": f"({field.id},eq,quote)", "sort": field.id})
        assert listed.status_code == 200 and len(listed.json()["list"]) == 1


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a\x00b", "control"),
        ("tab\there", "control"),
        (" padded", "spaces"),
        ("", "empty"),
    ],
)
def test_unusable_column_names_are_refused_at_the_door(api, hostile, name, why):
    db, names, child, _ = hostile
    field = _field(child, names["quote"])
    before = _columns(db, child.table_name)
    response = api.patch(
        f"/api/v2/meta/columns/{field.id}", {"column_name": name}, format="json"
    )
    if why == "empty":  # an empty column_name means "keep the column's name"
        assert response.status_code == 200
    elif why == "spaces":  # trimmed, as titles are
        assert response.status_code == 200
        assert "padded" in _columns(db, child.table_name)
        return
    else:
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "INVALID_NAME"
    assert _columns(db, child.table_name) == before


def test_too_long_names_are_refused_naming_the_limit():
    with pytest.raises(InvalidInput, match="63 bytes"):
        check_new_name("postgresql", "é" * 32)  # 64 bytes in UTF-8
    assert check_new_name("postgresql", "é" * 31) == "é" * 31
    with pytest.raises(InvalidInput, match="64 chars"):
        check_new_name("mysql", "m" * 65)
    with pytest.raises(InvalidInput, match="NUL"):
        quote_identifier("sqlite", "a\x00")


# --- property: any name round-trips through a real connection -----------------------------


_NAME_CHARS = st.characters(
    blacklist_categories=("Cs",),  # lone surrogates are no text
    blacklist_characters="\x00",
)


def _property_names(kind: str):
    if kind == "mysql":
        # BMP only; no trailing space (MySQL strips it); 64 characters.
        chars = st.characters(
            max_codepoint=0xFFFF,
            blacklist_categories=("Cs",),
            blacklist_characters="\x00",
        )
        names = st.text(chars, min_size=1, max_size=64).filter(
            lambda s: s == s.rstrip()
        )
    elif kind == "pg":
        names = st.text(_NAME_CHARS, min_size=1, max_size=63).filter(
            lambda s: len(s.encode()) <= 63
        )
    else:
        names = st.text(_NAME_CHARS, min_size=1, max_size=300)
    hostile = st.sampled_from(['"', "`", "'", ";", "--", "%s", "%%", "%", "\\", "?"])
    return (
        st.lists(st.one_of(hostile, names), min_size=1, max_size=6)
        .map("".join)
        .filter(
            lambda s: (
                (
                    (len(s.encode()) <= 63 if kind == "pg" else len(s) <= 64)
                    if kind != "sqlite"
                    else True
                )
                and (s == s.rstrip() if kind == "mysql" else True)
            )
        )
    )


@pytest.mark.parametrize("kind", ["pg", "mysql", "sqlite"])
def test_any_name_round_trips_through_a_user_connection(request, kind):
    db = request.getfixturevalue(
        {"pg": "pg_db", "mysql": "mysql_db", "sqlite": "sqlite_db"}[kind]
    )
    source_id = "prop" + secrets.token_hex(3)
    alias = alias_for(source_id, ConnectionConfig.from_url(db.url))
    conn = connections[alias]
    vendor = conn.vendor
    seen: set[str] = set()

    @settings(
        max_examples=150 if kind == "sqlite" else 40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(name=_property_names(kind))
    def check(name):
        if vendor == "mysql":
            key = name.lower()  # table names are files: case-insensitive here
        else:
            key = name
        if key in seen:
            return
        seen.add(key)
        t = quote_identifier(vendor, name)
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {t} ({t} VARCHAR(20))")
            cur.execute(f"INSERT INTO {t} ({t}) VALUES (%s)", ["v"])
            cur.execute(f"SELECT {t} FROM {t} WHERE {t} = %s", ["v"])
            assert [tuple(r) for r in cur.fetchall()] == [("v",)]
            cur.execute(f"DROP TABLE {t}")
        # Django's schema editor (DDL for schema edits) quotes through the same function
        assert conn.ops.quote_name(name) == quote_identifier(vendor, name, ddl=True)

    try:
        check()
    finally:
        forget_source(source_id)


# --- like on SQLite: linear time ----------------------------------------------------------


def test_like_matcher_agrees_with_the_obvious_definition():
    import re

    cases = [
        ("Hello World", "%world%", 1),
        ("Hello World", "hello%", 1),
        ("Hello World", "%hello", 0),
        ("abc", "a%c", 1),
        ("ac", "a%%c", 1),
        ("a", "a%a", 0),
        ("aXa", "a%a", 1),
        ("ÉCOLE", "%école%", 1),
        ("x", "", 0),
        ("", "", 1),
        ("abab", "%ab%ab%", 1),
        ("aab", "%a%a%b", 1),
        ("ab", "%a%a%b", 0),
    ]
    for value, pattern, expected in cases:
        regex = "(?is)\\A" + ".*".join(re.escape(p.lower()) for p in pattern.split("%"))
        assert (
            like(value, pattern)
            == expected
            == int(bool(re.match(regex + "\\Z", value.lower())))
        ), (value, pattern)
    assert like(None, "%a%") is None


def test_like_filter_on_sqlite_cannot_stall_the_server(api, sqlite_db, user):
    """A viewer's `(Notes,like,%a%a%a%a%b)` took 40 s with a backtracking regex."""
    sqlite_db.execute(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
        *[f"INSERT INTO notes (body) VALUES ('{'a' * 20_000}')" for _ in range(20)],
    )
    base, _ = base_connect(
        actor=Actor(user=user),
        title="Notes",
        config=ConnectionConfig.from_url(sqlite_db.url),
    )
    table = base.tables.get(table_name="notes")
    start = time.monotonic()
    got = api.get(
        f"/api/v2/tables/{table.pk}/records",
        {"where": "(body,like,%a%a%a%a%a%a%b)"},
    )
    elapsed = time.monotonic() - start
    assert got.status_code == 200 and got.json()["list"] == []
    assert elapsed < 2, f"like took {elapsed:.1f} s"
    assert (
        len(
            api.get(
                f"/api/v2/tables/{table.pk}/records",
                {"where": "(body,like,%A%a%A%)", "fields": "id"},
            ).json()["list"]
        )
        == 20
    )


def test_a_rename_cannot_reach_another_users_base_in_the_postgresql_store(
    settings, pg_db, user, other_user
):
    """The reported exploit: on a shared PostgreSQL built-in store (one schema per base), a
    freshly signed-up user's rename copied another user's table out of that user's schema."""
    from bases.schema_services import field_update, table_create
    from bases.services import base_create, base_delete
    from bases.sources import config_of

    settings.NOCO_STORE_URL = settings.TEST_POSTGRES_URL
    victim, attacker = Actor(user=user), Actor(user=other_user)
    secret_base = base_create(actor=victim, title="Payroll")
    own_base = base_create(actor=attacker, title="Mine")
    try:
        secret = table_create(
            actor=victim,
            base=secret_base,
            title="Salaries",
            columns=[{"title": "Who", "uidt": "SingleLineText"}],
        )
        mine = table_create(
            actor=attacker,
            base=own_base,
            title="Scratch",
            columns=[{"title": "Note", "uidt": "SingleLineText"}],
        )
        victim_schema = config_of(secret_base.sources.get()).schema
        own_schema = config_of(own_base.sources.get()).schema
        note = mine.fields.get(title="Note")
        # short enough to pass the name-length check: only quoting stands in its way
        payload = f'x";CREATE TABLE loot AS TABLE {victim_schema}.{secret.table_name}--'
        assert len(payload.encode()) <= 63 and own_schema != victim_schema
        field_update(actor=attacker, field=note, data={"column_name": payload})
        stolen = pg_db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_name = 'loot'"
        )
        assert stolen == []
        note.refresh_from_db()
        assert note.column_name == payload  # a (strange) name, nothing more
    finally:
        base_delete(actor=victim, base=secret_base)
        base_delete(actor=attacker, base=own_base)


@pytest.mark.parametrize("relation", ["hm", "mm"])
def test_links_made_between_hostile_tables_are_not_sql(api, hostile, relation):
    """Link DDL (a foreign key column, or a junction table) names the hostile tables."""
    from bases.schema_services import link_create

    db, _, child, parent = hostile
    before = _tables(db)
    link = link_create(
        actor=Actor(user=child.base.created_by),
        table=parent,
        data={"title": "Kids", "relation": relation, "related_table_id": child.pk},
    )
    assert "pwned" not in _tables(db) and "sentinel" in _tables(db)
    if relation == "mm":
        # the junction, nothing else (SQLite adds its own AUTOINCREMENT bookkeeping)
        assert len(_tables(db) - before - {"sqlite_sequence"}) == 1
    (row,) = api.get(f"/api/v2/tables/{parent.pk}/records").json()["list"]
    (kid,) = api.get(f"/api/v2/tables/{child.pk}/records", {"fields": "id"}).json()[
        "list"
    ]
    linked = api.post(
        f"/api/v2/tables/{parent.pk}/links/{link.id}/records/{row['id']}",
        [{"id": kid["id"]}],
        format="json",
    )
    assert linked.status_code == 200, linked.content
    got = api.get(f"/api/v2/tables/{parent.pk}/links/{link.id}/records/{row['id']}")
    assert [r["id"] for r in got.json()["list"]] == [kid["id"]]
    assert diff(child.source) == []
