import pytest


@pytest.mark.django_db
def test_connect_reads_tables_and_foreign_keys(external_db, actor, make_table):
    q = external_db.q
    make_table.create(external_db, "authors", "name VARCHAR(100) NOT NULL")
    make_table.create(
        external_db,
        "books",
        "title VARCHAR(200)",
        f"author_id INTEGER REFERENCES {q('authors')}(id)",
    )
    tables = make_table.connect(external_db, title="Library", actor=actor)
    assert set(tables) == {"authors", "books"}
    books = {f.title: f for f in tables["books"].fields.all()}
    assert books["author_id"].uidt == "ForeignKey"
    assert books["authors"].options["relation"] == "bt"
    authors = {f.title: f for f in tables["authors"].fields.all()}
    assert authors["books"].options["relation"] == "hm"
    assert authors["id"].uidt == "ID" and authors["id"].is_pk
    assert authors["name"].is_nullable is False
