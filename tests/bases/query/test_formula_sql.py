"""Formulas compiled by bases.query.formula and run on real PostgreSQL, MariaDB and SQLite.

Every case expects the same values on all three databases, row by row.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

import pytest

from bases.formula import FieldSpec, FType, check
from bases.query.formula import compile_formula
from bases.query.identifiers import quote_identifier

VENDOR = {"pg": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}
HOSTILE = 'we"ird` %s name'

DDL = {
    "pg": f"""CREATE TABLE t (id integer PRIMARY KEY, name text, qty integer,
        price numeric(10, 2), flag boolean, d date, at timestamp,
        {quote_identifier("postgresql", HOSTILE).replace("%%", "%")} integer)""",
    "mysql": f"""CREATE TABLE t (id integer PRIMARY KEY, name varchar(200), qty integer,
        price decimal(10, 2), flag tinyint(1), d date, at datetime,
        {quote_identifier("mysql", HOSTILE).replace("%%", "%")} integer)""",
    "sqlite": f"""CREATE TABLE t (id integer PRIMARY KEY, name text, qty integer,
        price real, flag integer, d date, at datetime,
        {quote_identifier("postgresql", HOSTILE).replace("%%", "%")} integer)""",
}
D, T = dt.date, dt.datetime
# fmt: off
ROWS = [
    (1, "Alice", 10, "9.99", True, D(2024, 5, 15), T(2024, 5, 15, 8, 30), 1),
    (2, "bob", 3, "19.50", False, D(2024, 2, 29), T(2024, 3, 1, 0, 0), 2),
    (3, None, None, None, None, None, None, None),
    (4, "", 0, "0", False, D(2024, 12, 31), T(2025, 1, 1, 23, 59, 59), 0),
    (5, "Zoë", -4, "-1.50", True, D(2023, 1, 15), T(2023, 1, 31, 12, 0), -1),
]
# fmt: on

FIELDS = {
    "Name": FieldSpec("Name", FType.TEXT, key="name"),
    "Qty": FieldSpec("Qty", FType.NUMBER, key="qty"),
    "Price": FieldSpec("Price", FType.NUMBER, key="price"),
    "Done": FieldSpec("Done", FType.BOOLEAN, key="flag"),
    "Day": FieldSpec("Day", FType.DATE, key="d"),
    "At": FieldSpec("At", FType.DATETIME, key="at"),
    "Odd {name}": FieldSpec("Odd {name}", FType.NUMBER, key=HOSTILE),
    "Double": FieldSpec("Double", FType.NUMBER, formula="{Qty} * 2"),
    "Label": FieldSpec("Label", FType.TEXT, formula='{Name} & " x" & {Double}'),
}


@pytest.fixture
def table(external_db):
    db = external_db
    db.execute(DDL[db.kind])
    placeholder = "?" if db.kind == "sqlite" else "%s"
    rows = []
    for row in ROWS:
        row = list(row)
        if row[3] is not None:
            row[3] = float(row[3]) if db.kind == "sqlite" else decimal.Decimal(row[3])
        if db.kind == "sqlite":
            row[4] = None if row[4] is None else int(row[4])
            row[5] = row[5].isoformat() if row[5] else None
            row[6] = row[6].isoformat(" ") if row[6] else None
        rows.append(row)
    cur = db._conn.cursor()
    cur.executemany(f"INSERT INTO t VALUES ({', '.join([placeholder] * 8)})", rows)
    cur.close()
    if db.kind == "sqlite":
        db._conn.commit()
        # What Django's SQLite backend registers on the platform's user connections.
        from django.db.backends.sqlite3._functions import register

        register(db._conn)
    return db


def evaluate(db, formula: str) -> list:
    vendor = VENDOR[db.kind]
    typed = check(formula, FIELDS)
    frag = compile_formula(
        typed, vendor, lambda spec: quote_identifier(vendor, spec.key)
    )
    sql = frag.sql
    # Placeholders and a name's doubled %% are the only percent signs the drivers see.
    assert "%" not in re.sub(r"%%|%s", "", sql)
    assert len(re.findall(r"(?<!%)%s", sql)) == len(frag.params)
    if (
        db.kind == "sqlite"
    ):  # what Django's SQLite cursor does to a statement with parameters
        sql = re.sub(r"(?<!%)%s", "?", sql).replace("%%", "%")
    rows = db.query(f"SELECT {sql} FROM t ORDER BY id", frag.params)
    return [normal(r[0], typed.type) for r in rows]


def normal(value, kind: FType):
    if value is None:
        return None
    if kind is FType.BOOLEAN:
        return bool(value)
    if isinstance(value, T):
        return value.isoformat(" ")
    if isinstance(value, D):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | float | int):
        return round(float(value), 4)
    return value


N = None
CASES = [
    # arithmetic: integer columns divide as decimals; dividing by zero is blank, not an error
    ("{Qty} * 2", [20, 6, N, 0, -8]),
    ("{Qty} / 4", [2.5, 0.75, N, 0, -1]),
    ("{Qty} / 0", [N, N, N, N, N]),
    ("{Price} + {Qty}", [19.99, 22.5, N, 0, -5.5]),
    ("-{Qty} + 1", [-9, -2, N, 1, 5]),
    ("2 + 3 * 4 - (1 + 1) / 2", [13] * 5),
    ("ROUND({Price} * 1.234, 1)", [12.3, 24.1, N, 0, -1.9]),
    ("ROUND({Price})", [10, 20, N, 0, -2]),
    ("ABS({Qty})", [10, 3, N, 0, 4]),
    ("CEILING({Price})", [10, 20, N, 0, -1]),
    ("FLOOR({Price})", [9, 19, N, 0, -2]),
    ("MOD({Qty}, 3)", [1, 0, N, 0, -1]),
    ("MOD({Qty}, 0)", [N, N, N, N, N]),
    ("POWER({Qty}, 2)", [100, 9, N, 0, 16]),
    ("POWER({Qty}, 0.5)", [3.1623, 1.7321, N, 0, N]),
    ("POWER(10, 1000)", [N] * 5),
    ("POWER(0, -1)", [N] * 5),
    ("SQRT({Qty})", [3.1623, 1.7321, N, 0, N]),
    ("MIN({Qty}, {Price})", [9.99, 3, N, 0, -4]),
    ("MAX({Qty}, {Price}, 5)", [10, 19.5, 5, 5, 5]),
    ("AVG({Qty}, {Price})", [9.995, 11.25, N, 0, -2.75]),
    ("SUM({Qty}, 1)", [11, 4, 1, 1, -3]),
    # text: blanks join as empty text
    ('{Name} & "!"', ["Alice!", "bob!", "!", "!", "Zoë!"]),
    ('CONCAT({Name}, "-", {Qty})', ["Alice-10", "bob-3", "-", "-0", "Zoë--4"]),
    ('{Qty} & ""', ["10", "3", "", "0", "-4"]),
    ("LEFT({Name}, 2)", ["Al", "bo", N, "", "Zo"]),
    ("RIGHT({Name}, 2)", ["ce", "ob", N, "", "oë"]),
    ("LEFT({Name}, -1)", ["", "", N, "", ""]),
    ("MID({Name}, 2, 3)", ["lic", "ob", N, "", "oë"]),
    ("LEN({Name})", [5, 3, N, 0, 3]),
    ("LOWER({Name})", ["alice", "bob", N, "", "zoë"]),
    ('UPPER("abc") & TRIM("  a b  ")', ["ABCa b"] * 5),
    ('SUBSTITUTE({Name}, "b", "B")', ["Alice", "BoB", N, "", "Zoë"]),
    ('REPLACE({Name}, "o", "0")', ["Alice", "b0b", N, "", "Z0ë"]),
    ('SEARCH({Name}, "o")', [0, 2, N, 0, 2]),
    ("REPEAT({Name}, 2)", ["AliceAlice", "bobbob", N, "", "ZoëZoë"]),
    ('LEN(REPEAT("ab", 10000000))', [100000] * 5),
    (
        'URL("https://example.com/" & {Qty})',
        [f"https://example.com/{q}" for q in ("10", "3", "", "0", "-4")],
    ),
    # logic: conditions are two-valued (a blank is false)
    ('IF({Qty} > 5, "big", "small")', ["big", "small", "small", "small", "small"]),
    ("IF({Done}, 1, 0)", [1, 0, 0, 0, 1]),
    ('IF({Qty}, "yes")', ["yes", "yes", N, N, "yes"]),
    ('IF({Name}, {Qty}, "none")', ["10", "3", "none", "none", "-4"]),
    ('SWITCH({Name}, "Alice", 1, "bob", 2, 0)', [1, 2, 0, 0, 0]),
    ('SWITCH({Qty}, 3, "three", 10, "ten")', ["ten", "three", N, N, N]),
    ("AND({Qty} > 0, {Done})", [True, False, False, False, False]),
    ("OR({Qty} < 0, {Done}) && TRUE", [True, False, False, False, True]),
    ("NOT({Done})", [False, True, True, True, False]),
    ('{Qty} >= 3 || {Name} = ""', [True, True, False, True, False]),
    ("ISBLANK({Name})", [False, False, True, True, False]),
    ("{Qty} = BLANK()", [False, False, True, False, False]),
    ("{Qty} != BLANK()", [True, True, False, True, True]),
    ("{Qty} <> 3", [True, False, False, True, True]),
    ("TRUE()", [True] * 5),
    # dates
    (
        'DATEADD({Day}, 1, "month")',
        ["2024-06-15", "2024-03-29", N, "2025-01-31", "2023-02-15"],
    ),
    (
        'DATEADD({Day}, -1, "week")',
        ["2024-05-08", "2024-02-22", N, "2024-12-24", "2023-01-08"],
    ),
    (
        'DATEADD({Day}, 1, "year")',
        ["2025-05-15", "2025-02-28", N, "2025-12-31", "2024-01-15"],
    ),
    ('DATEADD("2024-01-31", 1, "month")', ["2024-02-29"] * 5),
    ('DATEADD("2024-01-31 10:15:00", -2, "months")', ["2023-11-30 10:15:00"] * 5),
    (
        'DATEADD({At}, 90, "minute")',
        [
            "2024-05-15 10:00:00",
            "2024-03-01 01:30:00",
            N,
            "2025-01-02 01:29:59",
            "2023-01-31 13:30:00",
        ],
    ),
    ('DATEADD("2024-01-31 10:00", 30, "second")', ["2024-01-31 10:00:30"] * 5),
    ('DATETIME_DIFF({At}, {Day}, "hours")', [8, 24, N, 47, 396]),
    ('DATETIME_DIFF({Day}, "2024-01-01", "months")', [4, 1, N, 11, -11]),
    ('DATETIME_DIFF({Day}, "2024-01-01", "years")', [0, 0, N, 0, 0]),
    ('DATETIME_DIFF({Day}, "2024-01-01", "quarters")', [1, 0, N, 3, -3]),
    ('DATETIME_DIFF("2022/10/14", "2022/10/15", "seconds")', [-86400] * 5),
    (
        'DATETIME_DIFF({At}, "2024-05-15", "ms")',
        [30600000, -6480000000, N, 20044799000, -40564800000],
    ),
    ('DATETIME_DIFF({Day}, {Day}, "days")', [0, 0, N, 0, 0]),
    ("WEEKDAY({Day})", [2, 3, N, 1, 6]),
    ('WEEKDAY({Day}, "sunday")', [3, 4, N, 2, 0]),
    ("DATESTR({At})", ["2024-05-15", "2024-03-01", N, "2025-01-01", "2023-01-31"]),
    ("YEAR({Day}) * 100 + MONTH({Day})", [202405, 202402, N, 202412, 202301]),
    ("DAY({Day})", [15, 29, N, 31, 15]),
    ("{At} > {Day}", [True, True, False, True, True]),
    ('{Day} < "2024-03-01"', [False, True, False, False, True]),
    (
        '"Due " & {Day}',
        [
            "Due 2024-05-15",
            "Due 2024-02-29",
            "Due ",
            "Due 2024-12-31",
            "Due 2023-01-15",
        ],
    ),
    (
        '"At " & {At}',
        [
            "At 2024-05-15 08:30:00",
            "At 2024-03-01 00:00:00",
            "At ",
            "At 2025-01-01 23:59:59",
            "At 2023-01-31 12:00:00",
        ],
    ),
    ('IF({Done}, {Day}, "n/a")', ["2024-05-15", "n/a", "n/a", "n/a", "2023-01-15"]),
    ('NOW() > "2020-01-01" && TODAY() < "2200-01-01"', [True] * 5),
    # other formulas and hostile names
    ("{Double} + 1", [21, 7, N, 1, -7]),
    ("{Label}", ["Alice x20", "bob x6", " x", " x0", "Zoë x-8"]),
    ("{Odd \\{name\\}} * 10", [10, 20, N, 0, -10]),
]


@pytest.mark.parametrize(("formula", "expected"), CASES, ids=[c[0] for c in CASES])
def test_formula_values_agree_on_every_database(table, formula, expected):
    assert evaluate(table, formula) == expected


def test_a_string_literal_is_a_bound_parameter_never_sql(table):
    text = "'); DROP TABLE t; -- %s %% \\"
    assert evaluate(table, '"' + text.replace("\\", "\\\\") + '"') == [text] * 5
    assert evaluate(table, "LEN({Name})") == [
        5,
        3,
        None,
        0,
        3,
    ]  # the table is still there
