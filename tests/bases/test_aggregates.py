"""Search, column aggregates, row counts and group buckets on PostgreSQL, MySQL and SQLite."""

import datetime as dt
import decimal

import pytest
from django.test import override_settings

from bases import aggregates, records
from bases.connections.config import ConnectionConfig
from bases.services import base_connect
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM
from views import services

pytestmark = pytest.mark.django_db

PK = {
    "pg": "SERIAL PRIMARY KEY",
    "mysql": "INT AUTO_INCREMENT PRIMARY KEY",
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
}


@pytest.fixture
def items(external_db, actor):
    q = external_db.q
    external_db.execute(
        f"CREATE TABLE {q('items')} (id {PK[external_db.kind]}, name VARCHAR(80), "
        f"kind VARCHAR(20), qty INTEGER, price DECIMAL(10,2), made DATE)",
        f"INSERT INTO {q('items')} (name, kind, qty, price, made) VALUES "
        "('Apple pie', 'food', 3, 2.50, '2024-01-05'), "
        "('Écorce', 'food', 5, 4.00, '2024-02-01'), "
        "('Hammer', 'tool', 1, 12.00, NULL), "
        "('', 'tool', NULL, NULL, '2024-03-01'), "
        "(NULL, NULL, 7, 1.25, '2024-01-05')",
    )
    base, _ = base_connect(
        actor=actor, title="Shop", config=ConnectionConfig.from_url(external_db.url)
    )
    return base.tables.get(table_name="items")


def f(table, title):
    return table.fields.get(title=title)


def test_search_matches_text_case_insensitively_and_numbers_exactly(items):
    names = lambda s: sorted(  # noqa: E731
        (r["name"] or "")
        for r in records.list_records(items, search=s, actor=SYSTEM).rows
    )
    assert names("apple") == ["Apple pie"]
    assert names("ÉCORCE") == ["Écorce"]
    assert names("food") == ["Apple pie", "Écorce"]  # any shown field
    assert names("7") == [""]  # qty = 7 (row with no name)
    assert names("2024-01-05") == ["", "Apple pie"]
    assert names("nothing like it") == []
    assert names("%") == []  # a wildcard is not "everything"
    assert records.count_records(items, search="tool", actor=SYSTEM) == 2


def test_search_only_looks_at_the_view_fields(items, actor):
    view = services.view_create(actor=actor, table=items, title="No kind")
    services.view_update(
        actor=actor, view=view, data={"hidden_fields": [f(items, "kind").pk]}
    )
    assert records.count_records(items, view=view, search="tool", actor=SYSTEM) == 0
    assert records.count_records(items, search="tool", actor=SYSTEM) == 2


def test_search_and_filter_combine(items):
    page = records.list_records(
        items, {"where": "(qty,gt,2)"}, search="food", actor=SYSTEM
    )
    assert sorted(r["name"] for r in page.rows) == ["Apple pie", "Écorce"]


def test_column_aggregates(items, actor):
    qty, price, name, made = (f(items, t) for t in ("qty", "price", "name", "made"))
    got = aggregates.column_aggregates(
        items,
        {
            qty.pk: "sum",
            price.pk: "avg",
            made.pk: "max",
            name.pk: "empty",
        },
        actor=SYSTEM,
    )
    assert int(got[qty.pk]) == 16
    assert decimal.Decimal(str(got[price.pk])).quantize(decimal.Decimal("0.01")) == (
        decimal.Decimal("4.94")
    )
    assert got[made.pk] == dt.date(2024, 3, 1)
    assert got[name.pk] == 2  # NULL and ''
    view = services.view_create(actor=actor, table=items, title="Food")
    services.view_update(actor=actor, view=view, data={"where": "(kind,eq,food)"})
    got = aggregates.column_aggregates(
        items, {qty.pk: "sum", name.pk: "filled"}, view=view, actor=SYSTEM
    )
    assert int(got[qty.pk]) == 8 and got[name.pk] == 2
    got = aggregates.column_aggregates(
        items, {qty.pk: "min"}, search="hammer", actor=SYSTEM
    )
    assert got[qty.pk] == 1
    with pytest.raises(InvalidInput) as exc:
        aggregates.column_aggregates(items, {name.pk: "sum"}, actor=SYSTEM)
    assert exc.value.code == "AGGREGATE_NOT_SUPPORTED"


def test_group_buckets_count_every_value_including_empty(items):
    kind = f(items, "kind")
    buckets, more = aggregates.group_buckets(items, kind, actor=SYSTEM)
    assert not more
    by_value = {b.value: b.count for b in buckets}
    assert by_value == {None: 1, "food": 2, "tool": 2}
    for b in buckets:  # each bucket's where text selects exactly its rows
        assert records.count_records(items, {"where": b.where}, actor=SYSTEM) == b.count
    desc, _ = aggregates.group_buckets(items, kind, descending=True, actor=SYSTEM)
    assert [b.value for b in desc if b.value] == ["tool", "food"]
    made = f(items, "made")
    inner, _ = aggregates.group_buckets(
        items, made, within="(kind,eq,food)", actor=SYSTEM
    )
    assert {b.value: b.count for b in inner} == {
        dt.date(2024, 1, 5): 1,
        dt.date(2024, 2, 1): 1,
    }
    for b in inner:
        assert records.count_records(items, {"where": b.where}, actor=SYSTEM) >= b.count


def test_row_count_is_bounded_and_flagged(items):
    with override_settings(NOCO_EXACT_COUNT_LIMIT=2):
        rough = aggregates.row_count(items, actor=SYSTEM)
        assert rough.estimated and rough.count >= 3
        exact = aggregates.row_count(items, exact=True, actor=SYSTEM)
    assert (exact.count, exact.estimated) == (5, False)
    assert aggregates.row_count(items, search="tool", actor=SYSTEM).count == 2


def test_group_buckets_on_a_huge_table_use_estimates_not_counts(pg_db, actor):
    pg_db.execute(
        "CREATE TABLE big (id SERIAL PRIMARY KEY, kind VARCHAR(10))",
        "INSERT INTO big (kind) SELECT CASE WHEN g % 4 = 0 THEN 'rare' ELSE 'common' END "
        "FROM generate_series(1, 2000) g",
        "INSERT INTO big (kind) VALUES (NULL)",
        "ANALYZE big",
    )
    base, _ = base_connect(
        actor=actor, title="Big", config=ConnectionConfig.from_url(pg_db.url)
    )
    big = base.tables.get(table_name="big")
    kind = big.fields.get(title="kind")
    with override_settings(NOCO_EXACT_COUNT_LIMIT=100):
        buckets, more = aggregates.group_buckets(big, kind, actor=SYSTEM)
    assert all(b.estimated for b in buckets) and not more
    got = {b.value: b.count for b in buckets}
    assert set(got) == {"common", "rare", None}
    assert abs(got["common"] - 1500) < 150 and abs(got["rare"] - 500) < 100
    exact, _ = aggregates.group_buckets(big, kind, actor=SYSTEM)
    assert {b.value: (b.count, b.estimated) for b in exact} == {
        "common": (1500, False),
        "rare": (500, False),
        None: (1, False),
    }


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 5, 1, 10, 30, 15, 250000, tzinfo=dt.UTC),
        dt.date(2024, 5, 1),
        dt.time(10, 30),
        dt.timedelta(hours=1, seconds=1.5),
        decimal.Decimal("12.50"),
        'a),~b "q"',
        "",
        None,
        True,
        False,
    ],
)
def test_bucket_conditions_are_valid_where_text(value):
    from bases.query.where import parse_where, render_where

    class F:
        id = "fld"
        uidt = "Checkbox" if isinstance(value, bool) else "SingleLineText"
        column_type = "boolean" if isinstance(value, bool) else "text"

    text = render_where(aggregates.bucket_condition(F, value))
    node = parse_where(text)
    if value is None:
        assert node.op == "null"
    elif isinstance(value, bool):
        assert node.op == ("checked" if value else "notchecked")
    else:
        assert node.op == "eq" and node.value != "" or value == ""


def test_every_bucket_where_selects_exactly_its_rows(external_db, actor):
    q = external_db.q
    ts = {"pg": "TIMESTAMP", "mysql": "DATETIME(6)", "sqlite": "DATETIME"}[
        external_db.kind
    ]
    flag = {"pg": "BOOLEAN", "mysql": "BOOLEAN", "sqlite": "BOOLEAN"}[external_db.kind]
    external_db.execute(
        f"CREATE TABLE {q('events')} (id {PK[external_db.kind]}, at {ts}, "
        f"score DOUBLE PRECISION, ok {flag}, label VARCHAR(20))",
        f"INSERT INTO {q('events')} (at, score, ok, label) VALUES "
        # (SQLite keeps datetimes as text: written here as the platform writes them.)
        "('2024-05-01 10:30:15.250000', 0.1, TRUE, 'a),~b'), "
        "('2024-05-01 10:30:15.250000', 0.1, FALSE, 'a),~b'), "
        "('2024-05-02 00:00:00', 2.5, NULL, '\"q\"'), "
        "(NULL, NULL, TRUE, '')",
    )
    base, _ = base_connect(
        actor=actor, title="Events", config=ConnectionConfig.from_url(external_db.url)
    )
    events = base.tables.get(table_name="events")
    for title in ("at", "score", "ok", "label"):
        field = events.fields.get(title=title)
        buckets, _ = aggregates.group_buckets(events, field, actor=SYSTEM)
        assert sum(b.count for b in buckets) == 4, title
        for b in buckets:
            got = records.count_records(events, {"where": b.where}, actor=SYSTEM)
            assert got == b.count, (title, b.value, b.where)
