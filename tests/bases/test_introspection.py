"""Reading a user database's schema into tables, fields and links, on every dialect."""

from __future__ import annotations

import pytest

from bases.connections.config import ConnectionConfig
from bases.introspection import introspect, junction_columns
from bases.services import base_connect
from bases.sources import source_alias
from bases.sync import diff


def _pk(kind: str) -> str:
    return {
        "pg": "SERIAL PRIMARY KEY",
        "mysql": "INTEGER PRIMARY KEY AUTO_INCREMENT",
        "sqlite": "INTEGER PRIMARY KEY",
    }[kind]


def _connect(db, actor, title="Intro"):
    base, _ = base_connect(
        actor=actor, title=title, config=ConnectionConfig.from_url(db.url)
    )
    tables = {t.table_name: t for t in base.tables.all()}
    return base, tables


def _fields(table) -> dict:
    return {f.title: f for f in table.fields.all()}


def _library(db) -> None:
    q, pk = db.q, _pk(db.kind)
    db.execute(
        f"CREATE TABLE {q('authors')} (id {pk}, name VARCHAR(100) NOT NULL)",
        f"CREATE TABLE {q('books')} (id {pk}, title VARCHAR(200), "
        f"author_id INTEGER REFERENCES {q('authors')}(id))",
        f"CREATE TABLE {q('tags')} (id {pk}, label VARCHAR(50))",
        f"CREATE TABLE {q('book_tags')} (book_id INTEGER NOT NULL REFERENCES {q('books')}(id), "
        f"tag_id INTEGER NOT NULL REFERENCES {q('tags')}(id), PRIMARY KEY (book_id, tag_id))",
    )
    if (
        db.kind == "mysql"
    ):  # MariaDB ignores inline REFERENCES: declare the keys properly.
        db.execute(
            "ALTER TABLE `books` ADD FOREIGN KEY (author_id) REFERENCES `authors`(id)",
            "ALTER TABLE `book_tags` ADD FOREIGN KEY (book_id) REFERENCES `books`(id), "
            "ADD FOREIGN KEY (tag_id) REFERENCES `tags`(id)",
        )


@pytest.mark.django_db
def test_foreign_keys_become_belongs_to_and_has_many(external_db, actor):
    _library(external_db)
    base, tables = _connect(external_db, actor)
    books, authors = _fields(tables["books"]), _fields(tables["authors"])

    assert books["author_id"].uidt == "ForeignKey"
    bt = books["authors"]
    assert bt.uidt == "LinkToAnotherRecord" and bt.is_virtual
    assert bt.options["relation"] == "bt"
    assert bt.options["fk_column"] == "author_id" and bt.options["ref_column"] == "id"
    assert bt.related_table == tables["authors"]
    assert bt.options["related_table_id"] == tables["authors"].pk

    hm = authors["books"]
    assert hm.options["relation"] == "hm" and hm.related_table == tables["books"]
    assert hm.options["fk_column"] == "author_id"
    # The plain columns stay plain.
    assert authors["name"].uidt == "SingleLineText"
    assert not tables["books"].is_junction and not tables["authors"].is_junction


@pytest.mark.django_db
def test_junction_table_gives_many_to_many_on_both_sides(external_db, actor):
    _library(external_db)
    base, tables = _connect(external_db, actor)
    junction = tables["book_tags"]
    assert junction.is_junction is True
    assert junction.read_only_reason == ""

    books, tags = _fields(tables["books"]), _fields(tables["tags"])
    mm_books = [f for f in books.values() if f.options.get("relation") == "mm"]
    mm_tags = [f for f in tags.values() if f.options.get("relation") == "mm"]
    assert len(mm_books) == 1 and len(mm_tags) == 1
    b, t = mm_books[0], mm_tags[0]
    assert b.related_table == tables["tags"] and t.related_table == tables["books"]
    assert (
        b.options["junction"] == "book_tags"
        and b.options["junction_table_id"] == junction.pk
    )
    assert (
        b.options["self_column"] == "book_id" and b.options["other_column"] == "tag_id"
    )
    assert (
        t.options["self_column"] == "tag_id" and t.options["other_column"] == "book_id"
    )
    # A junction does not produce has-many links on the tables it joins.
    assert not any(f.options.get("relation") == "hm" for f in tags.values())
    every_link = [
        f for t in tables.values() for f in t.fields.filter(uidt="LinkToAnotherRecord")
    ]
    assert not any(f.related_table == junction for f in every_link)
    assert sorted(
        f.options["relation"] for f in books.values() if f.uidt == "LinkToAnotherRecord"
    ) == ["bt", "mm"]
    # The junction's own key columns are foreign keys, not auto ids.
    jf = {f.column_name: f for f in junction.fields.all()}
    assert jf["book_id"].uidt == "ForeignKey" and jf["tag_id"].uidt == "ForeignKey"
    assert jf["book_id"].is_pk and jf["tag_id"].is_pk
    assert not jf["book_id"].is_auto and not jf["tag_id"].is_auto


@pytest.mark.django_db
def test_junction_with_own_id_and_timestamp_is_still_a_junction(external_db, actor):
    q, pk = external_db.q, _pk(external_db.kind)
    ts = "TIMESTAMP" if external_db.kind != "mysql" else "DATETIME"
    external_db.execute(
        f"CREATE TABLE {q('a')} (id {pk})",
        f"CREATE TABLE {q('b')} (id {pk})",
        f"CREATE TABLE {q('a_b')} (id {pk}, a_id INTEGER, b_id INTEGER, created_at {ts}, "
        f"FOREIGN KEY (a_id) REFERENCES {q('a')}(id), FOREIGN KEY (b_id) REFERENCES {q('b')}(id))",
        # A third payload column makes it an ordinary table with two belongs-to links.
        f"CREATE TABLE {q('a_b_qty')} (id {pk}, a_id INTEGER, b_id INTEGER, qty INTEGER, "
        f"FOREIGN KEY (a_id) REFERENCES {q('a')}(id), FOREIGN KEY (b_id) REFERENCES {q('b')}(id))",
    )
    base, tables = _connect(external_db, actor)
    assert tables["a_b"].is_junction is True
    assert tables["a_b_qty"].is_junction is False
    qty_links = sorted(
        f.options["relation"]
        for f in tables["a_b_qty"].fields.filter(uidt="LinkToAnotherRecord")
    )
    assert qty_links == ["bt", "bt"]
    a_links = sorted(
        f.options["relation"]
        for f in tables["a"].fields.filter(uidt="LinkToAnotherRecord")
    )
    assert a_links == ["hm", "mm"]


@pytest.mark.django_db
def test_view_and_table_without_primary_key_are_read_only(external_db, actor):
    q, pk = external_db.q, _pk(external_db.kind)
    external_db.execute(
        f"CREATE TABLE {q('people')} (id {pk}, name VARCHAR(50))",
        f"CREATE VIEW {q('people_names')} AS SELECT id, name FROM {q('people')}",
        f"CREATE TABLE {q('logs')} (msg VARCHAR(50), at_n INTEGER)",
    )
    base, tables = _connect(external_db, actor)
    assert set(tables) == {"people", "people_names", "logs"}
    view = tables["people_names"]
    assert (
        view.kind == "view"
        and view.read_only_reason == "database view"
        and view.is_read_only
    )
    assert set(_fields(view)) == {"id", "name"}
    logs = tables["logs"]
    assert logs.kind == "table" and logs.read_only_reason == "no primary key"
    assert not any(f.is_pk for f in logs.fields.all())
    people = tables["people"]
    assert (
        people.kind == "table"
        and people.read_only_reason == ""
        and not people.is_read_only
    )


def _types_table(db) -> None:
    if db.kind == "pg":
        db.execute(
            "CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s complicated')",
            "CREATE TABLE t (id SERIAL PRIMARY KEY, s VARCHAR(120) NOT NULL DEFAULT 'hello', "
            "lt TEXT, n INTEGER DEFAULT 7, bn BIGINT, d NUMERIC(10,3), b BOOLEAN NOT NULL DEFAULT false, "
            "dt DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, tm TIME, j JSON, jb JSONB, m mood, "
            "u UUID UNIQUE, f DOUBLE PRECISION, bin BYTEA)",
        )
    elif db.kind == "mysql":
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTO_INCREMENT, s VARCHAR(120) NOT NULL DEFAULT 'hello', "
            "lt TEXT, n INTEGER DEFAULT 7, bn BIGINT, d DECIMAL(10,3), b TINYINT(1) NOT NULL DEFAULT 0, "
            "dt DATE, ts DATETIME, tstz TIMESTAMP NULL, tm TIME, j JSON, "
            "m ENUM('happy','sad','it''s complicated'), u CHAR(36) UNIQUE, f DOUBLE, bin BLOB)"
        )
    else:
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s VARCHAR(120) NOT NULL DEFAULT 'hello', "
            "lt TEXT, n INTEGER DEFAULT 7, bn BIGINT, d DECIMAL(10,3), b BOOLEAN NOT NULL DEFAULT 0, "
            "dt DATE, ts DATETIME, tstz TIMESTAMP, tm TIME, j JSON, f REAL, bin BLOB, anything)"
        )


@pytest.mark.django_db
def test_column_types_are_mapped(external_db, actor):
    _types_table(external_db)
    base, tables = _connect(external_db, actor)
    f = {x.column_name: x for x in tables["t"].fields.all()}
    expected = {
        "id": "ID",
        "s": "SingleLineText",
        "lt": "LongText",
        "n": "Number",
        "bn": "Number",
        "d": "Decimal",
        "b": "Checkbox",
        "dt": "Date",
        "ts": "DateTime",
        "tstz": "DateTime",
        "tm": "Time",
        "j": "JSON",
        "f": "Decimal",
        "bin": "SpecificDBType",
    }
    if external_db.kind == "pg":
        expected |= {"jb": "JSON", "m": "SingleSelect", "u": "UUID"}
    elif external_db.kind == "mysql":
        expected |= {"m": "SingleSelect", "u": "SingleLineText"}
    else:
        expected |= {"anything": "LongText"}
    assert {k: f[k].uidt for k in expected} == expected
    assert set(f) == set(expected)
    # Column order follows the table.
    assert [x.column_name for x in sorted(f.values(), key=lambda x: x.order)] == list(f)
    # Declared types are kept.
    assert "120" in f["s"].db_type
    assert f["s"].column_type == "text" and f["lt"].column_type == "longtext"
    assert f["d"].column_type == "decimal" and f["d"].options.get("precision") == 3
    assert tables["t"].read_only_reason == ""


@pytest.mark.django_db
def test_auto_increment_primary_key(external_db, actor):
    _types_table(external_db)
    base, tables = _connect(external_db, actor)
    pk = tables["t"].fields.get(column_name="id")
    assert (
        pk.uidt == "ID"
        and pk.is_pk
        and pk.is_auto
        and pk.is_unique
        and not pk.is_nullable
    )
    others = tables["t"].fields.exclude(column_name="id").exclude(column_name="")
    assert not any(x.is_pk or x.is_auto for x in others)


@pytest.mark.django_db
def test_non_auto_primary_keys_are_not_ids(external_db, actor):
    q = external_db.q
    external_db.execute(
        f"CREATE TABLE {q('codes')} (code VARCHAR(10) PRIMARY KEY, label TEXT)",
        f"CREATE TABLE {q('nums')} (n BIGINT PRIMARY KEY, label TEXT)",
    )
    base, tables = _connect(external_db, actor)
    code = tables["codes"].fields.get(column_name="code")
    assert code.is_pk and not code.is_auto and code.uidt == "SingleLineText"
    n = tables["nums"].fields.get(column_name="n")
    # On SQLite only `INTEGER PRIMARY KEY` is the rowid alias; BIGINT PRIMARY KEY is not auto-numbered.
    assert n.is_pk and not n.is_auto and n.uidt == "Number"


@pytest.mark.django_db
def test_composite_keys_with_one_letter_columns(external_db, actor):
    # Django's SQLite introspection parses CREATE TABLE text for collations and failed with an
    # IndexError on `PRIMARY KEY (a, b)` (a one-character last column): connecting such a file
    # was a 500. Collations are read tolerantly (bases/query/identifiers.py).
    q = external_db.q
    external_db.execute(
        f"CREATE TABLE {q('pairs')} (a INTEGER NOT NULL, b VARCHAR(10) NOT NULL, "
        f"note TEXT, PRIMARY KEY (a, b))",
        f"INSERT INTO {q('pairs')} (a, b, note) VALUES (1, 'x', 'one')",
    )
    base, tables = _connect(external_db, actor)
    fields = _fields(tables["pairs"])
    assert fields["a"].is_pk and fields["b"].is_pk and not fields["note"].is_pk
    (info,) = introspect(source_alias(base.sources.get()), only={"pairs"})
    assert [c.name for c in info.columns] == ["a", "b", "note"]
    assert info.pk_columns == ["a", "b"]


@pytest.mark.django_db
def test_enum_becomes_single_select_with_choices(external_db, actor):
    if external_db.kind == "sqlite":
        pytest.skip("SQLite has no enum type")
    _types_table(external_db)
    base, tables = _connect(external_db, actor)
    m = tables["t"].fields.get(column_name="m")
    assert m.uidt == "SingleSelect"
    assert [c["title"] for c in m.options["choices"]] == [
        "happy",
        "sad",
        "it's complicated",
    ]
    assert all(c["color"].startswith("#") for c in m.options["choices"])
    assert m.options.get("enum") is True


@pytest.mark.django_db
def test_nullability_defaults_and_uniqueness(external_db, actor):
    _types_table(external_db)
    base, tables = _connect(external_db, actor)
    f = {x.column_name: x for x in tables["t"].fields.all()}
    assert f["s"].is_nullable is False and f["b"].is_nullable is False
    assert f["lt"].is_nullable is True and f["n"].is_nullable is True
    assert f["n"].default == "7"
    assert "hello" in f["s"].default
    assert f["b"].default is not None and (
        "0" in f["b"].default or "false" in f["b"].default.lower()
    )
    assert f["lt"].default is None
    if external_db.kind != "sqlite":
        assert f["u"].is_unique is True
    assert f["s"].is_unique is False


@pytest.mark.django_db
def test_introspect_directly_and_only_filter(external_db, actor):
    _library(external_db)
    base, tables = _connect(external_db, actor)
    alias = source_alias(base.sources.get())
    infos = {t.name: t for t in introspect(alias)}
    assert set(infos) == {"authors", "books", "tags", "book_tags"}
    assert [
        (fk.column, fk.ref_table, fk.ref_column) for fk in infos["books"].foreign_keys
    ] == [("author_id", "authors", "id")]
    assert sorted(infos["book_tags"].pk_columns) == ["book_id", "tag_id"]
    pair = junction_columns(infos["book_tags"])
    assert pair is not None and {fk.ref_table for fk in pair} == {"books", "tags"}
    assert junction_columns(infos["books"]) is None
    only = introspect(alias, only={"tags"})
    assert [t.name for t in only] == ["tags"]


@pytest.mark.django_db
def test_fresh_connect_is_in_sync(external_db, actor):
    _library(external_db)
    _types_table(external_db)
    base, _ = _connect(external_db, actor)
    assert diff(base.sources.get()) == []


@pytest.mark.django_db
def test_pg_other_schemas_are_not_read(pg_db, actor):
    pg_db.execute(
        "CREATE TABLE mine (id SERIAL PRIMARY KEY)",
        "CREATE SCHEMA IF NOT EXISTS noco_t_other_intro",
        "CREATE TABLE IF NOT EXISTS noco_t_other_intro.theirs (id SERIAL PRIMARY KEY)",
    )
    try:
        base, tables = _connect(pg_db, actor)
        assert set(tables) == {"mine"}
    finally:
        pg_db.execute("DROP SCHEMA noco_t_other_intro CASCADE")
