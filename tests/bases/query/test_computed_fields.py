"""The computed-field hook (bases/query/expressions.py) wired through every statement that names a
field: select list (page rows only), where, order by + keyset cursor, group by, aggregates, one
row by key, rows by key with conditions — on PostgreSQL, MariaDB and SQLite.

The types here are test-only computed types with bound parameters and a correlated subquery, so
parameter order and the qualification of the row's table are checked in every statement.
"""

from __future__ import annotations

import pytest
from django.db import connections
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from bases import aggregates, records
from bases.fieldtypes import registry
from bases.fieldtypes.base import FieldType
from bases.models import DataSource, Field, Table
from bases.query.formula.compiler import fmt, param
from bases.query.where import Condition, parse_where
from bases.sources import source_alias
from bases.table_meta import TableMeta
from permissions.checks import SYSTEM

pytestmark = pytest.mark.django_db


class _Computed(FieldType):
    """`twice`: qty * 2 (a bound 2); `above`: how many rows have a larger qty (a correlated
    subquery over the same table, with a bound parameter inside)."""

    uidt, label = "TestComputed", "Test computed"
    computed = virtual = read_only = True

    def sql(self, field, ctx):
        meta = TableMeta.unrestricted(field.table)
        qty = meta.internal.by_column["qty"]
        if field.options["kind"] == "twice":
            return fmt("({} * {})", ctx.column(qty), param(2))
        alias, sub = ctx.subquery()
        table = ctx.dialect.quote(field.table.table_name)
        return fmt(
            f"(SELECT COUNT(*) FROM {table} {alias} WHERE {{}} > {{}} AND {{}} <> {{}})",
            sub.column(qty),
            ctx.column(qty),
            sub.column(meta.internal.by_column["name"]),
            param("nobody"),
        )


ROWS = [("a", 3), ("b", 1), ("c", 5), ("d", None), ("e", 2)]


@pytest.fixture
def items(external_db, make_table, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "TestComputed", _Computed())
    table = make_table(
        external_db,
        "items",
        "name VARCHAR(20)",
        "qty INTEGER",
        rows=[{"name": n, "qty": q} for n, q in ROWS],
    )
    for order, kind in ((50, "twice"), (51, "above")):
        Field.objects.create(
            table=table,
            title=kind.title(),
            uidt="TestComputed",
            column_type="bigint",
            options={"kind": kind},
            order=order,
        )
    DataSource.objects.filter(pk=table.source_id).update(
        meta_version=F("meta_version") + 1
    )
    return Table.objects.get(pk=table.pk)


def _rows(table, **params):
    return records.list_records(table, params, actor=SYSTEM).rows


def _above(qty):
    return sum(1 for _, q in ROWS if q is not None and qty is not None and q > qty)


def test_page_reads_computed_values(items):
    rows = _rows(items, sort="id")
    assert [(r["name"], r["Twice"], r["Above"]) for r in rows] == [
        (n, None if q is None else q * 2, _above(q)) for n, q in ROWS
    ]
    only = _rows(items, fields="Twice", sort="-Twice", limit="2", where="(Twice,gt,0)")
    assert only == [{"Twice": 10}, {"Twice": 6}]  # sort key and id stay internal


def test_where_sort_and_cursor_on_computed(items):
    rows = _rows(items, where="(Twice,gt,4)~and(Above,lt,3)", sort="Above")
    assert [r["name"] for r in rows] == ["c", "a"]
    seen, cursor = [], None
    while True:
        params = {"sort": "-Above,name", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = records.list_records(items, params, actor=SYSTEM)
        seen += [r["name"] for r in page.rows]
        cursor = page.page_info.get("next")
        if not cursor:
            break
    expected = sorted(ROWS, key=lambda r: (-_above(r[1]), r[0]))
    assert seen == [n for n, _ in expected]
    second = _rows(items, sort="Twice", limit="2", offset="2", where="(Twice,gt,0)")
    assert [r["name"] for r in second] == ["a", "c"]


def test_group_and_aggregates_on_computed(items):
    twice = items.fields.get(title="Twice")
    above = items.fields.get(title="Above")
    assert aggregates.aggregates_for(twice) == [
        "sum",
        "avg",
        "min",
        "max",
        "empty",
        "filled",
    ]
    values = aggregates.column_aggregates(
        items,
        {twice.id: "sum", above.id: "max"},
        actor=SYSTEM,
    )
    assert int(values[twice.id]) == 22 and int(values[above.id]) == 3
    buckets, more = aggregates.group_buckets(
        items,
        twice,
        actor=SYSTEM,
        descending=True,
        within="(Above,lt,3)~and(Twice,gt,0)",
    )
    assert [(b.value, b.count) for b in buckets] == [(10, 1), (6, 1), (4, 1)]
    assert not more
    rows = _rows(items, where=buckets[1].where)
    assert [r["name"] for r in rows] == ["a"]


def test_single_and_keyed_rows_carry_computed(items):
    row = records.get_record(items, "3", actor=SYSTEM)
    assert (row["Twice"], row["Above"]) == (10, 0)
    meta = TableMeta.of(items, actor=SYSTEM)
    found = records.rows_by_key(
        items,
        [[1], [2]],
        matches={"big": parse_where("(Twice,ge,6)")},
        meta=meta,
    )
    assert [(r["Twice"], r["Above"], m["big"]) for _, r, m in found] == [
        (6, 1, True),
        (2, 3, False),
    ]
    assert records.count_records(items, {"where": "(Above,eq,3)"}, actor=SYSTEM) == 1
    where = Condition(items.fields.get(title="Above").id, "eq", "1")
    assert [
        r["name"] for r in records.list_records(items, actor=SYSTEM, where=where)
    ] == ["a"]


def test_statement_count_is_fixed_whatever_the_page_size(items):
    counts = []
    _rows(items, limit="2", sort="-Above")  # connection set up, estimate cached
    for limit in ("1", "3"):  # both pages have more rows after them
        with CaptureQueriesContext(connections[source_alias(items.source)]) as ctx:
            rows = _rows(items, limit=limit, sort="-Above")
        assert len(rows) == int(limit)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
