"""Schema edits (tables, fields, links) on external databases and on the built-in store.

Each test runs on PostgreSQL, MariaDB and SQLite (connected with allow_schema_edit=True) and on
a base created from scratch; the database itself is checked after every edit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bases import fieldtypes as ft
from bases import records
from bases.connections.config import ConnectionConfig
from bases.models import Base, Field, Table
from bases.schema_services import (
    field_create,
    field_delete,
    field_update,
    link_create,
    link_delete,
    table_create,
    table_delete,
    table_update,
)
from bases.services import base_connect, base_create
from bases.sources import config_of
from bases.sync import diff
from nocoplatform.errors import Conflict, Forbidden, InvalidInput, Unprocessable
from permissions.checks import SYSTEM


@dataclass
class Editable:
    kind: str  # pg, mysql, sqlite, builtin
    base: Base
    query: Callable
    execute: Callable

    @property
    def source(self):
        return self.base.sources.get()

    @property
    def dialect(self) -> str:
        return "sqlite" if self.kind == "builtin" else self.kind

    def columns(self, table: str) -> dict[str, str]:
        """The live columns of a table: name -> declared type (lower case)."""
        if self.dialect == "sqlite":
            return {
                r[1]: r[2].lower() for r in self.query(f'PRAGMA table_info("{table}")')
            }
        schema = "current_schema()" if self.kind == "pg" else "DATABASE()"
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = {schema} AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        return {r[0]: str(r[1]).lower() for r in rows}

    def tables(self) -> set[str]:
        if self.dialect == "sqlite":
            return {
                r[0]
                for r in self.query(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            }
        schema = "current_schema()" if self.kind == "pg" else "DATABASE()"
        return {
            r[0]
            for r in self.query(
                f"SELECT table_name FROM information_schema.tables WHERE table_schema = {schema}"
            )
        }

    def insert(self, table: str, columns: str, *rows: tuple) -> None:
        q = (lambda n: f"`{n}`") if self.kind == "mysql" else (lambda n: f'"{n}"')
        cols = [c.strip() for c in columns.split(",")]

        def lit(v):
            return (
                "NULL"
                if v is None
                else (
                    str(v)
                    if isinstance(v, int)
                    else "'" + str(v).replace("'", "''") + "'"
                )
            )

        self.execute(
            *[
                f"INSERT INTO {q(table)} ({', '.join(q(c) for c in cols)}) VALUES ({', '.join(lit(v) for v in row)})"
                for row in rows
            ]
        )

    def rows(self, table: str, columns: str) -> list[tuple]:
        q = (lambda n: f"`{n}`") if self.kind == "mysql" else (lambda n: f'"{n}"')
        cols = ", ".join(q(c.strip()) for c in columns.split(","))
        return self.query(f"SELECT {cols} FROM {q(table)} ORDER BY {q('id')}")


def _sqlite_runner(path: str):
    def query(sql, params=()):
        conn = sqlite3.connect(path)
        try:
            return [
                tuple(r)
                for r in conn.execute(sql.replace("%s", "?"), params).fetchall()
            ]
        finally:
            conn.close()

    def execute(*statements):
        conn = sqlite3.connect(path)
        try:
            for sql in statements:
                conn.execute(sql)
            conn.commit()
        finally:
            conn.close()

    return query, execute


@pytest.fixture(params=["pg", "mysql", "sqlite", "builtin"])
def ed(request, actor) -> Editable:
    if request.param == "builtin":
        base = base_create(actor=actor, title="Scratch")
        source = base.sources.get()
        assert source.is_builtin and source.allow_schema_edit
        query, execute = _sqlite_runner(config_of(source).path)
        return Editable("builtin", base, query, execute)
    db = request.getfixturevalue(
        {"pg": "pg_db", "mysql": "mysql_db", "sqlite": "sqlite_db"}[request.param]
    )
    base, _ = base_connect(
        actor=actor,
        title="Ext",
        config=ConnectionConfig.from_url(db.url),
        allow_schema_edit=True,
    )
    if db.kind == "sqlite":
        query, execute = _sqlite_runner(config_of(base.sources.get()).path)
    else:
        query, execute = db.query, db.execute
    return Editable(db.kind, base, query, execute)


def _fields(table: Table) -> dict[str, Field]:
    return {f.title: f for f in Field.objects.filter(table=table)}


def _reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def _every_type_columns() -> list[dict]:
    cols = []
    for uidt in ft.CREATABLE:
        col = {"title": f"{uidt} col", "uidt": uidt}
        if uidt in ("SingleSelect", "MultiSelect"):
            col["options"] = {"choices": ["red", "green"]}
        cols.append(col)
    return cols


# --- tables ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_table_create_with_every_creatable_type(ed, actor):
    table = table_create(
        actor=actor, base=ed.base, title="All Types", columns=_every_type_columns()
    )
    assert table.table_name == "all_types" and table.title == "All Types"
    assert table.read_only_reason == "" and table.kind == "table"
    live = ed.columns("all_types")
    expected_columns = ["id"] + [f"{u.lower()}_col" for u in ft.CREATABLE]
    assert list(live) == expected_columns
    f = _fields(table)
    assert f["Id"].uidt == "ID" and f["Id"].is_pk and f["Id"].is_auto
    for uidt in ft.CREATABLE:
        field = f[f"{uidt} col"]
        assert field.uidt == uidt, (uidt, field.uidt, field.db_type)
        assert field.column_name == f"{uidt.lower()}_col"
        assert field.is_nullable
    assert [c["title"] for c in f["SingleSelect col"].options["choices"]] == [
        "red",
        "green",
    ]
    assert diff(ed.source) == [], "the metadata matches the live table"


@pytest.mark.django_db
def test_created_table_round_trips_values(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="Rows",
        columns=[
            {"title": "Name", "uidt": "SingleLineText"},
            {"title": "Count", "uidt": "Number"},
            {"title": "Done", "uidt": "Checkbox"},
            {"title": "Due", "uidt": "Date"},
            {"title": "Data", "uidt": "JSON"},
            {"title": "Mail", "uidt": "Email"},
        ],
    )
    records.insert_many(
        table,
        [
            {
                "Name": "a",
                "Count": "3",
                "Done": True,
                "Due": "2024-05-06",
                "Data": {"k": [1, 2]},
                "Mail": "a@b.co",
            },
            {"Name": "b"},
        ],
    )
    rows = records.list_records(table, actor=SYSTEM)
    assert [r["Name"] for r in rows] == ["a", "b"]
    assert (
        rows[0]["Count"] == 3
        and rows[0]["Done"] is True
        and str(rows[0]["Due"]) == "2024-05-06"
    )
    assert rows[0]["Data"] == {"k": [1, 2]} and rows[0]["Mail"] == "a@b.co"
    assert rows[1]["Count"] is None and rows[1]["Id"] == rows[0]["Id"] + 1


@pytest.mark.django_db
def test_table_create_refuses_duplicate_title_and_dedupes_names(ed, actor):
    table_create(actor=actor, base=ed.base, title="Tasks")
    with pytest.raises(Conflict) as info:
        table_create(actor=actor, base=ed.base, title="tasks")
    assert info.value.code == "DUPLICATE_TITLE"
    # Same table name from another title gets a free name.
    other = table_create(actor=actor, base=ed.base, title="Tasks!")
    assert other.table_name == "tasks_2"
    assert {"tasks", "tasks_2"} <= ed.tables()
    with pytest.raises(InvalidInput):
        table_create(actor=actor, base=ed.base, title="   ")
    with pytest.raises(InvalidInput) as info:
        table_create(
            actor=actor,
            base=ed.base,
            title="Bad",
            columns=[{"title": "x", "uidt": "ID"}],
        )
    assert info.value.code == "UNKNOWN_FIELD_TYPE"
    assert "bad" not in ed.tables()


@pytest.mark.django_db
def test_table_update_changes_metadata_only(ed, actor):
    table = table_create(actor=actor, base=ed.base, title="Tasks")
    table_update(actor=actor, table=table, title="Todo", description="things")
    table = _reload(table)
    assert (
        table.title == "Todo"
        and table.description == "things"
        and table.table_name == "tasks"
    )
    assert "tasks" in ed.tables()


@pytest.mark.django_db
def test_table_delete_drops_the_table_and_links_to_it(ed, actor):
    customers = table_create(actor=actor, base=ed.base, title="Customers")
    orders = table_create(actor=actor, base=ed.base, title="Orders")
    link_create(
        actor=actor,
        table=customers,
        data={"title": "Orders", "relation": "hm", "related_table_id": orders.pk},
    )
    table_delete(actor=actor, table=orders)
    assert "orders" not in ed.tables() and "customers" in ed.tables()
    assert not Table.objects.filter(pk=orders.pk).exists()
    assert not customers.fields.filter(uidt="LinkToAnotherRecord").exists()
    assert diff(ed.source) == []


# --- fields ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_field_create_for_every_creatable_type(ed, actor):
    table = table_create(actor=actor, base=ed.base, title="Things")
    ed.insert("things", "title", ("kept",))
    for uidt in ft.CREATABLE:
        data = {"title": f"New {uidt}", "uidt": uidt, "description": f"a {uidt}"}
        if uidt in ("SingleSelect", "MultiSelect"):
            data["options"] = {"choices": [{"title": "x", "color": "#000000"}, "y"]}
        field = field_create(actor=actor, table=table, data=data)
        assert (
            field.uidt == uidt
            and field.title == f"New {uidt}"
            and field.description == f"a {uidt}"
        )
        assert field.column_name == f"new_{uidt.lower()}"
        assert field.column_name in ed.columns("things"), uidt
    f = _fields(table)
    assert f["New SingleSelect"].options["choices"] == [
        {"title": "x", "color": "#000000"},
        {"title": "y", "color": ft.SELECT_COLOURS[1]},
    ]
    orders = [x.order for x in sorted(f.values(), key=lambda x: x.order)]
    assert len(set(orders)) == len(orders), "every field has its own place"
    assert ed.rows("things", "title") == [("kept",)]
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_field_create_rejects_bad_input(ed, actor):
    table = table_create(actor=actor, base=ed.base, title="Things")
    with pytest.raises(Conflict):
        field_create(
            actor=actor, table=table, data={"title": "TITLE", "uidt": "Number"}
        )
    with pytest.raises(InvalidInput) as info:
        field_create(actor=actor, table=table, data={"title": "x", "uidt": "Barcode"})
    assert info.value.code == "UNKNOWN_FIELD_TYPE"
    with pytest.raises(InvalidInput) as info:  # a formula needs its text
        field_create(actor=actor, table=table, data={"title": "x", "uidt": "Formula"})
    assert info.value.code == "FORMULA_SYNTAX"
    with pytest.raises(InvalidInput):
        field_create(
            actor=actor,
            table=table,
            data={"title": "p", "uidt": "Decimal", "options": {"precision": 12}},
        )
    assert set(ed.columns("things")) == {"id", "title"}


@pytest.mark.django_db
def test_field_rename_title_only(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="People",
        columns=[{"title": "Name", "uidt": "SingleLineText"}],
    )
    field = _fields(table)["Name"]
    updated = field_update(actor=actor, field=field, data={"title": "Full name"})
    assert (
        updated.pk == field.pk
        and updated.title == "Full name"
        and updated.column_name == "name"
    )
    assert list(ed.columns("people")) == ["id", "name"]
    with pytest.raises(Conflict):
        field_update(actor=actor, field=_reload(field), data={"title": "id"})


@pytest.mark.django_db
def test_field_rename_column_renames_it_in_the_database(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="People",
        columns=[
            {"title": "name", "uidt": "SingleLineText"},
            {"title": "Age", "uidt": "Number"},
        ],
    )
    ed.insert("people", "name, age", ("Ann", 30), ("Bob", 40))
    f = _fields(table)
    renamed = field_update(
        actor=actor, field=f["name"], data={"column_name": "full_name"}
    )
    assert renamed.pk == f["name"].pk and renamed.column_name == "full_name"
    assert renamed.title == "full_name", "a title equal to the column name follows it"
    assert list(ed.columns("people")) == ["id", "full_name", "age"]
    assert ed.rows("people", "full_name") == [("Ann",), ("Bob",)]

    aged = field_update(
        actor=actor,
        field=f["Age"],
        data={"column_name": "age_years", "title": "Age in years"},
    )
    assert (
        aged.pk == f["Age"].pk
        and aged.column_name == "age_years"
        and aged.title == "Age in years"
    )
    assert aged.uidt == "Number"
    assert ed.rows("people", "age_years") == [(30,), (40,)]
    assert diff(ed.source) == []
    assert records.list_records(_reload(table), actor=SYSTEM)[0] == {
        "Id": 1,
        "full_name": "Ann",
        "Age in years": 30,
    }


@pytest.mark.django_db
def test_retype_by_ddl_converts_values_that_fit(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="Stock",
        columns=[{"title": "Qty", "uidt": "SingleLineText"}],
    )
    ed.insert("stock", "qty", ("12",), ("7",), (None,))
    qty = _fields(table)["Qty"]
    out = field_update(actor=actor, field=qty, data={"uidt": "Number"})
    assert out.pk == qty.pk and out.uidt == "Number" and out.title == "Qty"
    assert out.column_type in ("integer", "bigint")
    assert "int" in ed.columns("stock")["qty"]
    assert ed.rows("stock", "qty") == [(12,), (7,), (None,)]
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_retype_by_ddl_refuses_values_that_do_not_fit_and_changes_nothing(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="Stock",
        columns=[{"title": "Qty", "uidt": "SingleLineText"}],
    )
    ed.insert("stock", "qty", ("12",), ("abc",))
    qty = _fields(table)["Qty"]
    before_type = ed.columns("stock")["qty"]
    with pytest.raises(Unprocessable) as info:
        field_update(
            actor=actor, field=qty, data={"uidt": "Number", "title": "Quantity"}
        )
    assert info.value.status == 422
    assert ed.columns("stock")["qty"] == before_type
    assert ed.rows("stock", "qty") == [("12",), ("abc",)]
    after = _reload(qty)
    assert (
        after.uidt == "SingleLineText"
        and after.title == "Qty"
        and after.column_type == qty.column_type
    )
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_meta_level_retype_to_email_checks_stored_values(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="Contacts",
        columns=[{"title": "Mail", "uidt": "SingleLineText"}],
    )
    ed.insert("contacts", "mail", ("ann@example.com",), ("not an email",))
    mail = _fields(table)["Mail"]
    db_type = ed.columns("contacts")["mail"]
    with pytest.raises(Unprocessable) as info:
        field_update(actor=actor, field=mail, data={"uidt": "Email"})
    assert info.value.code == "VALUES_DO_NOT_FIT"
    assert "not an email" in info.value.message
    assert _reload(mail).uidt == "SingleLineText"

    ed.execute(
        f"UPDATE {'`contacts`' if ed.kind == 'mysql' else 'contacts'} SET mail = 'bob@example.com' WHERE mail = 'not an email'"
    )
    out = field_update(actor=actor, field=_reload(mail), data={"uidt": "Email"})
    assert out.uidt == "Email" and out.pk == mail.pk
    assert ed.columns("contacts")["mail"] == db_type, "a meta-level retype does no DDL"
    with pytest.raises(InvalidInput):
        records.insert_many(_reload(table), [{"Mail": "nope"}])
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_meta_level_retype_to_single_select_collects_choices(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="Tickets",
        columns=[{"title": "Status", "uidt": "SingleLineText"}],
    )
    ed.insert("tickets", "status", ("open",), ("closed",), ("open",), (None,), ("",))
    status = _fields(table)["Status"]
    db_type = ed.columns("tickets")["status"]
    out = field_update(
        actor=actor,
        field=status,
        data={
            "uidt": "SingleSelect",
            "options": {"choices": [{"title": "open", "color": "#123456"}]},
        },
    )
    assert out.uidt == "SingleSelect"
    titles = [c["title"] for c in out.options["choices"]]
    assert sorted(titles) == ["closed", "open"] and titles[0] == "open"
    assert out.options["choices"][0]["color"] == "#123456"
    assert ed.columns("tickets")["status"] == db_type, "a meta-level retype does no DDL"
    # Values outside the choices are refused from now on.
    with pytest.raises(InvalidInput):
        records.insert_many(_reload(table), [{"Status": "pending"}])


@pytest.mark.django_db
def test_field_delete_drops_the_column(ed, actor):
    table = table_create(
        actor=actor,
        base=ed.base,
        title="People",
        columns=[
            {"title": "Name", "uidt": "SingleLineText"},
            {"title": "Nick", "uidt": "SingleLineText"},
        ],
    )
    ed.insert("people", "name, nick", ("Ann", "a"))
    f = _fields(table)
    field_delete(actor=actor, field=f["Nick"])
    assert list(ed.columns("people")) == ["id", "name"]
    assert not Field.objects.filter(pk=f["Nick"].pk).exists()
    assert ed.rows("people", "id, name") == [(1, "Ann")]
    with pytest.raises(Forbidden) as info:
        field_delete(actor=actor, field=f["Id"])
    assert info.value.code == "KEY_COLUMN"
    assert diff(ed.source) == []


# --- links ----------------------------------------------------------------------------------


def _pair(ed, actor):
    customers = table_create(
        actor=actor,
        base=ed.base,
        title="Customers",
        columns=[{"title": "Name", "uidt": "SingleLineText"}],
    )
    orders = table_create(
        actor=actor,
        base=ed.base,
        title="Orders",
        columns=[{"title": "Total", "uidt": "Number"}],
    )
    return customers, orders


def _links(table: Table) -> list[Field]:
    return list(Field.objects.filter(table=table, uidt="LinkToAnotherRecord"))


@pytest.mark.django_db
def test_link_create_has_many_adds_foreign_key_and_both_sides(ed, actor):
    customers, orders = _pair(ed, actor)
    link = link_create(
        actor=actor,
        table=customers,
        data={"title": "Orders", "relation": "hm", "related_table_id": orders.pk},
    )
    assert (
        link.title == "Orders"
        and link.options["relation"] == "hm"
        and link.related_table == orders
    )
    assert "customers_id" in ed.columns("orders")
    other = _links(orders)
    assert (
        len(other) == 1
        and other[0].options["relation"] == "bt"
        and other[0].related_table == customers
    )
    fk = orders.fields.get(column_name="customers_id")
    assert fk.uidt == "ForeignKey" and fk.is_nullable
    assert [x.pk for x in _links(customers)] == [link.pk]
    assert diff(ed.source) == []

    link_delete(actor=actor, field=link)
    assert "customers_id" not in ed.columns("orders")
    assert _links(customers) == [] and _links(orders) == []
    assert not orders.fields.filter(column_name="customers_id").exists()
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_link_create_belongs_to(ed, actor):
    customers, orders = _pair(ed, actor)
    ed.insert("orders", "total", (5,))
    link = link_create(
        actor=actor,
        table=orders,
        data={"title": "Buyer", "relation": "bt", "related_table_id": customers.pk},
    )
    assert (
        link.title == "Buyer"
        and link.options["relation"] == "bt"
        and link.options["fk_column"] == "customers_id"
    )
    assert "customers_id" in ed.columns("orders")
    hm = _links(customers)
    assert (
        len(hm) == 1
        and hm[0].options["relation"] == "hm"
        and hm[0].related_table == orders
    )
    assert ed.rows("orders", "total, customers_id") == [(5, None)]
    # Deleting the has-many side removes the same column.
    link_delete(actor=actor, field=hm[0])
    assert "customers_id" not in ed.columns("orders")
    assert _links(orders) == []
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_link_create_many_to_many_adds_junction(ed, actor):
    customers, orders = _pair(ed, actor)
    before = ed.tables()
    link = link_create(
        actor=actor,
        table=customers,
        data={"title": "Orders", "relation": "mm", "related_table_id": orders.pk},
    )
    new_tables = ed.tables() - before
    assert len(new_tables) == 1
    jname = new_tables.pop()
    assert {"customers_id", "orders_id"} <= set(ed.columns(jname))
    junction = ed.base.tables.get(table_name=jname)
    assert junction.is_junction
    assert link.title == "Orders" and link.options["relation"] == "mm"
    assert (
        link.related_table == orders
        and link.options["junction_table_id"] == junction.pk
    )
    back = _links(orders)
    assert (
        len(back) == 1
        and back[0].options["relation"] == "mm"
        and back[0].related_table == customers
    )
    assert diff(ed.source) == []

    link_delete(actor=actor, field=link)
    assert jname not in ed.tables()
    assert not Table.objects.filter(pk=junction.pk).exists()
    assert _links(customers) == [] and _links(orders) == []
    assert diff(ed.source) == []


@pytest.mark.django_db
def test_link_create_rejects_bad_input(ed, actor):
    customers, orders = _pair(ed, actor)
    with pytest.raises(InvalidInput):
        link_create(
            actor=actor,
            table=customers,
            data={"title": "X", "relation": "xx", "related_table_id": orders.pk},
        )
    with pytest.raises(InvalidInput) as info:
        link_create(
            actor=actor,
            table=customers,
            data={"title": "X", "relation": "hm", "related_table_id": "mnope"},
        )
    assert info.value.code == "TABLE_NOT_FOUND"
    with pytest.raises(Conflict):
        link_create(
            actor=actor,
            table=customers,
            data={"title": "name", "relation": "hm", "related_table_id": orders.pk},
        )
    assert "customers_id" not in ed.columns("orders")


@pytest.mark.django_db
def test_link_create_through_field_create(ed, actor):
    customers, orders = _pair(ed, actor)
    link = field_create(
        actor=actor,
        table=orders,
        data={
            "title": "Customer",
            "uidt": "LinkToAnotherRecord",
            "relation": "bt",
            "related_table_id": customers.pk,
        },
    )
    assert link.options["relation"] == "bt" and "customers_id" in ed.columns("orders")
    # Deleting a link field through field_delete removes its column.
    field_delete(actor=actor, field=link)
    assert "customers_id" not in ed.columns("orders")


# --- permissions and read-only tables ------------------------------------------------------------


@pytest.mark.django_db
def test_schema_edit_disabled_is_forbidden(external_db, actor, make_table):
    table = make_table(
        external_db, "items", "name VARCHAR(20)", title="RO", actor=actor
    )
    base = table.base
    assert base.sources.get().allow_schema_edit is False
    assert list(base.tables.all()) == [table]
    name = table.fields.get(column_name="name")
    attempts = [
        lambda: table_create(actor=actor, base=base, title="New"),
        lambda: table_delete(actor=actor, table=table),
        lambda: field_create(
            actor=actor, table=table, data={"title": "x", "uidt": "Number"}
        ),
        lambda: field_delete(actor=actor, field=name),
        lambda: field_update(actor=actor, field=name, data={"column_name": "renamed"}),
        lambda: field_update(actor=actor, field=name, data={"uidt": "Number"}),
        lambda: link_create(
            actor=actor,
            table=table,
            data={"title": "L", "relation": "hm", "related_table_id": table.pk},
        ),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden) as info:
            attempt()
        assert info.value.code == "SCHEMA_EDIT_DISABLED" and info.value.status == 403
    cols = external_db.query(
        "SELECT name FROM pragma_table_info('items')"
        if external_db.kind == "sqlite"
        else "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND table_schema = "
        + ("current_schema()" if external_db.kind == "pg" else "DATABASE()")
    )
    assert sorted(c[0] for c in cols) == ["id", "name"]
    # Metadata-only edits stay allowed.
    assert field_update(actor=actor, field=name, data={"title": "Name"}).title == "Name"


@pytest.mark.django_db
def test_views_and_tables_without_key_cannot_be_edited(external_db, actor, make_table):
    q = external_db.q
    make_table.create(external_db, "items", "name VARCHAR(20)")
    external_db.execute(
        f"CREATE VIEW {q('item_names')} AS SELECT name FROM {q('items')}"
    )
    make_table.create(external_db, "logs", "msg VARCHAR(20)", pk=None)
    tables = make_table.connect(
        external_db, title="RW", actor=actor, allow_schema_edit=True
    )
    for name in ("item_names", "logs"):
        table = tables[name]
        with pytest.raises(Forbidden) as info:
            field_create(
                actor=actor, table=table, data={"title": "x", "uidt": "Number"}
            )
        assert info.value.code == "TABLE_READ_ONLY"


# --- SQLite table rebuilds ---------------------------------------------------------------------


@pytest.mark.django_db
def test_sqlite_retype_keeps_data_indexes_and_constraints(sqlite_db, actor):
    sqlite_db.execute(
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE, qty VARCHAR(10), "
        "label TEXT DEFAULT 'none', parent_id INTEGER REFERENCES parents(id))",
        "CREATE INDEX idx_items_label ON items(label)",
        "CREATE INDEX idx_items_qty_label ON items(qty, label)",
        "INSERT INTO parents (name) VALUES ('p')",
        "INSERT INTO items (code, qty, label, parent_id) VALUES ('A', '5', 'x', 1), ('B', '6', NULL, NULL)",
    )
    base, _ = base_connect(
        actor=actor,
        title="Lite",
        config=ConnectionConfig.from_url(sqlite_db.url),
        allow_schema_edit=True,
    )
    table = base.tables.get(table_name="items")
    f = {x.column_name: x for x in table.fields.all() if x.column_name}

    field_update(actor=actor, field=f["qty"], data={"uidt": "Number"})
    indexes = {
        r[0]
        for r in sqlite_db.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL"
        )
    }
    assert {"idx_items_label", "idx_items_qty_label"} <= indexes
    assert sqlite_db.query(
        "SELECT id, code, qty, label, parent_id FROM items ORDER BY id"
    ) == [(1, "A", 5, "x", 1), (2, "B", 6, None, None)]
    info = {r[1]: r for r in sqlite_db.query("PRAGMA table_info(items)")}
    assert "int" in info["qty"][2].lower()
    assert info["code"][3] == 1, "NOT NULL kept"
    assert info["label"][4] == "'none'", "default kept"
    assert info["parent_id"][2].lower() == "integer", (
        "foreign key column keeps its type"
    )
    assert sqlite_db.query("PRAGMA foreign_key_list(items)")[0][2:4] == (
        "parents",
        "parent_id",
    )
    with pytest.raises(sqlite3.IntegrityError):
        sqlite_db.execute("INSERT INTO items (code) VALUES ('A')")
    sqlite_db._conn.rollback()  # the failed INSERT left the fixture's transaction open

    # Renaming a column keeps the indexes on it, under the new name.
    field_update(actor=actor, field=_reload(f["label"]), data={"column_name": "tag"})
    idx_sql = dict(
        sqlite_db.query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL"
        )
    )
    assert (
        "tag" in idx_sql["idx_items_label"] and "tag" in idx_sql["idx_items_qty_label"]
    )
    assert sqlite_db.query("SELECT tag FROM items ORDER BY id") == [("x",), (None,)]

    # A second rebuild keeps the default exactly as declared (it does not grow parentheses).
    field_update(actor=actor, field=_reload(f["qty"]), data={"uidt": "SingleLineText"})
    info = {r[1]: r for r in sqlite_db.query("PRAGMA table_info(items)")}
    assert info["tag"][4] == "'none'" and info["parent_id"][2].lower() == "integer"
    assert sqlite_db.query("SELECT qty FROM items ORDER BY id") == [("5",), ("6",)]

    # Deleting a column keeps the indexes that do not use it.
    field_delete(actor=actor, field=_reload(f["code"]))
    names = {
        r[0]
        for r in sqlite_db.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL"
        )
    }
    assert {"idx_items_label", "idx_items_qty_label"} <= names
    assert diff(base.sources.get()) == []
