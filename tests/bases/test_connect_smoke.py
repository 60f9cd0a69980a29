import pytest

from bases.connections.config import ConnectionConfig
from bases.services import base_connect


@pytest.mark.django_db
def test_connect_reads_tables_and_foreign_keys(external_db, actor):
    q = external_db.q
    pk = (
        "SERIAL PRIMARY KEY"
        if external_db.kind == "pg"
        else (
            "INTEGER PRIMARY KEY AUTO_INCREMENT"
            if external_db.kind == "mysql"
            else "INTEGER PRIMARY KEY"
        )
    )
    external_db.execute(
        f"CREATE TABLE {q('authors')} (id {pk}, name VARCHAR(100) NOT NULL)",
        f"CREATE TABLE {q('books')} (id {pk}, title VARCHAR(200), author_id INTEGER REFERENCES {q('authors')}(id))",
    )
    base, changes = base_connect(
        actor=actor, title="Library", config=ConnectionConfig.from_url(external_db.url)
    )
    tables = {t.table_name: t for t in base.tables.all()}
    assert set(tables) == {"authors", "books"}
    books = {f.title: f for f in tables["books"].fields.all()}
    assert books["author_id"].uidt == "ForeignKey"
    assert books["authors"].options["relation"] == "bt"
    authors = {f.title: f for f in tables["authors"].fields.all()}
    assert authors["books"].options["relation"] == "hm"
    assert authors["id"].uidt == "ID" and authors["id"].is_pk
    assert authors["name"].is_nullable is False
