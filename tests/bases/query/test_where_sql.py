"""`where` compiled by bases.query.where and run on real PostgreSQL, MariaDB and SQLite.

Every case expects the same ids on all three databases.
"""

from __future__ import annotations

import datetime as dt
import decimal
from types import SimpleNamespace

import pytest

from bases.query.where import compile_where, parse_where
from nocoplatform.errors import InvalidInput

TODAY = dt.date(2024, 5, 15)
VENDOR = {"pg": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}


def F(title, column_name, uidt, column_type):
    return SimpleNamespace(
        title=title, column_name=column_name, uidt=uidt, column_type=column_type
    )


FIELDS = [
    F("Id", "id", "ID", "integer"),
    F("Name", "name", "SingleLineText", "text"),
    F("Qty", "qty", "Number", "integer"),
    F("Price", "price", "Decimal", "decimal"),
    F("Done", "flag", "Checkbox", "boolean"),
    F("Day", "d", "Date", "date"),
    F("When", "dt", "DateTime", "datetime"),
    F("Tags", "tags", "MultiSelect", "text"),
    F("Status", "status", "SingleSelect", "text"),
    F("At", "tm", "Time", "time"),
    F("Data", "js", "JSON", "json"),
    F("Friends", "", "LinkToAnotherRecord", "other"),
]


def resolve(name):
    for f in FIELDS:
        if f.title == name:
            return f
    for f in FIELDS:
        if f.column_name and f.column_name == name:
            return f
    raise InvalidInput(f"No field '{name}'.", code="FIELD_NOT_FOUND")


D = dt.date
T = dt.datetime
# id, name, qty, price, flag, d, dt (UTC), tags, status, tm
# fmt: off
ROWS = [
    (1, "Alice", 10, "9.99", True, D(2024, 5, 15), T(2024, 5, 15, 8, 30), "a,b,c", "Open", "09:00:00"),
    (2, "alice", 20, "19.50", False, D(2024, 5, 14), T(2024, 5, 14, 23, 59, 59), "a", "Closed", "17:30:00"),
    (3, None, None, None, None, None, None, None, None, None),
    (4, "", 0, "0", False, D(2024, 5, 8), T(2024, 5, 16, 0, 0), "", "", "00:00:00"),
    (5, "Zoë", -5, "-1.50", True, D(2024, 4, 15), T(2024, 4, 15, 12, 0), "ab,c", "Open", "12:00:00"),
    (6, "ÉCOLE", 100, "100", None, D(2024, 6, 15), T(2024, 5, 22, 10, 0), "b,c", "open", "23:59:00"),
    (7, "O'Brien \"q\"", 7, "7", True, D(2024, 5, 25), T(2023, 5, 15, 0, 0), "c", "Closed", None),
    (8, "100% sure", 8, None, None, None, None, None, None, None),
    (9, "snake_case", 9, None, None, None, None, None, None, None),
    (10, "snakeXcase", 11, None, None, None, None, None, None, None),
    (11, "école", None, None, None, None, None, None, None, None),
    (12, "Smith, John", None, None, None, None, None, None, None, None),
    (13, "a)b", None, None, None, None, None, None, None, None),
    (14, "trail ", None, None, None, None, None, None, None, None),
]
# fmt: on
ALL = [r[0] for r in ROWS]


def but(*ids):
    return [i for i in ALL if i not in ids]


DDL = {
    "pg": """CREATE TABLE t (id integer PRIMARY KEY, name text, qty integer,
        price numeric(10,2), flag boolean, d date, dt timestamptz, tags text,
        status varchar(50), tm time, js jsonb)""",
    "mysql": """CREATE TABLE t (id int PRIMARY KEY, name varchar(100), qty int,
        price decimal(10,2), flag tinyint(1), d date, dt datetime(6), tags text,
        status varchar(50), tm time(6), js json) CHARACTER SET utf8mb4""",
    "sqlite": """CREATE TABLE t (id integer PRIMARY KEY, name text, qty integer,
        price decimal, flag bool, d date, dt datetime, tags text, status text,
        tm time, js text)""",
}


def _row_for(kind, row):
    id_, name, qty, price, flag, d, moment, tags, status, tm = row
    if kind == "pg":
        price = decimal.Decimal(price) if price is not None else None
        moment = moment.replace(tzinfo=dt.UTC) if moment else None
        tm = dt.time.fromisoformat(tm) if tm else None
    elif kind == "mysql":
        price = decimal.Decimal(price) if price is not None else None
    else:
        price = float(price) if price is not None else None
        flag = None if flag is None else int(flag)
        d = d.isoformat() if d else None
        moment = moment.isoformat(" ") if moment else None
    return (id_, name, qty, price, flag, d, moment, tags, status, tm)


@pytest.fixture
def table(external_db):
    db = external_db
    db.execute(DDL[db.kind])
    conn = db._conn
    placeholder = "?" if db.kind == "sqlite" else "%s"
    cur = conn.cursor()
    cur.executemany(
        f"INSERT INTO t (id, name, qty, price, flag, d, dt, tags, status, tm) "
        f"VALUES ({', '.join([placeholder] * 10)})",
        [_row_for(db.kind, r) for r in ROWS],
    )
    cur.close()
    if db.kind == "sqlite":
        conn.commit()
        # What Django's SQLite backend and the platform's user connections register.
        from django.db.backends.sqlite3._functions import register

        from bases.query import textmatch

        register(conn)
        textmatch.register(conn)
    return db


def run(db, where, today=TODAY):
    sql, params = compile_where(
        parse_where(where),
        resolve=resolve,
        vendor=VENDOR[db.kind],
        quote=db.q,
        today=today,
    )
    assert "%" not in sql.replace("%s", "")  # no stray percent signs for the drivers
    assert sql.count("%s") == len(params)
    if db.kind == "sqlite":
        sql = sql.replace("%s", "?")
    return [r[0] for r in db.query(f"SELECT id FROM t WHERE {sql} ORDER BY id", params)]


def error(db, where, today=TODAY):
    with pytest.raises(InvalidInput) as exc:
        run(db, where, today)
    return exc.value.code


CASES = [
    # text equality: exact (case, accents and trailing spaces count) on every database
    ("(Name,eq,Alice)", [1]),
    ("(name,eq,alice)", [2]),
    ("(Name,eq,Zoe)", []),
    ("(Name,eq,Zoë)", [5]),
    ("(Name,eq,trail)", []),
    ("(Name,eq,trail )", [14]),
    ("(Name,eq,Smith, John)", [12]),
    ("(Name,eq,a)b)", [13]),
    ('(Name,eq,"O\'Brien \\"q\\"")', [7]),
    ("(Name,eq,)", [4]),
    ("(Name,eq,'; DROP TABLE t; --)", []),
    ("(Name,neq,Alice)", but(1)),
    ("(Name,not,Alice)", but(1)),
    ("(Name,is,Alice)", [1]),
    ("(Name,isnot,Alice)", but(1)),
    ("(Name,in,Alice,Zoë,nobody)", [1, 5]),
    ('(Name,in,"Smith, John",alice)', [2, 12]),
    # like: case-insensitive (Unicode too), % wildcard, _ literal, no % means "contains"
    ("(Name,like,alice)", [1, 2]),
    ("(Name,like,ALICE)", [1, 2]),
    ("(Name,like,%école%)", [6, 11]),
    ("(Name,like,ÉCOLE)", [6, 11]),
    ("(Name,like,ZOË)", [5]),
    ("(Name,like,zoe)", []),
    ("(Name,like,snake_case)", [9]),
    ("(Name,like,100%)", [8]),
    ("(Name,like,a%)", [1, 2, 13]),
    ("(Name,like,%)", but(3)),
    ('(Name,like,o\'brien "Q")', [7]),
    ("(Name,nlike,alice)", but(1, 2)),
    # blank / empty / null
    ("(Name,blank)", [3, 4]),
    ("(Name,notblank)", but(3, 4)),
    ("(Name,empty)", [4]),
    ("(Name,notempty)", but(4)),
    ("(Name,null)", [3]),
    ("(Name,notnull)", but(3)),
    ("(Name,is,null)", [3]),
    ("(Name,isnot,null)", but(3)),
    ("(Name,is,blank)", [3, 4]),
    ("(Name,isnot,blank)", but(3, 4)),
    ("(Name,is,notblank)", but(3, 4)),
    # numbers
    ("(Qty,eq,10)", [1]),
    ("(Qty,eq, 10 )", [1]),
    ("(Qty,neq,10)", but(1)),
    ("(Qty,gt,10)", [2, 6, 10]),
    ("(Qty,ge,10)", [1, 2, 6, 10]),
    ("(Qty,gte,10)", [1, 2, 6, 10]),
    ("(Qty,lt,0)", [5]),
    ("(Qty,le,0)", [4, 5]),
    ("(Qty,lte,0)", [4, 5]),
    ("(Qty,gt,10.5)", [2, 6, 10]),
    ("(Qty,btw,0,10)", [1, 4, 7, 8, 9]),
    ("(Qty,nbtw,0,10)", [2, 3, 5, 6, 10, 11, 12, 13, 14]),
    ("(Qty,in,10,20,1)", [1, 2]),
    ("(Qty,blank)", [3, 11, 12, 13, 14]),
    ("(Qty,notblank)", but(3, 11, 12, 13, 14)),
    ("(Qty,is,null)", [3, 11, 12, 13, 14]),
    ("(Price,eq,9.99)", [1]),
    ("(Price,gt,9.99)", [2, 6]),
    ("(Price,le,0)", [4, 5]),
    ("(Price,btw,-1.5,7)", [4, 5, 7]),
    ("(Price,eq,1e2)", [6]),
    # checkbox: NULL counts as unchecked
    ("(Done,checked)", [1, 5, 7]),
    ("(Done,notchecked)", but(1, 5, 7)),
    ("(Done,eq,true)", [1, 5, 7]),
    ("(Done,eq,false)", but(1, 5, 7)),
    ("(Done,neq,true)", but(1, 5, 7)),
    ("(Done,is,true)", [1, 5, 7]),
    ("(Done,is,false)", but(1, 5, 7)),
    ("(Done,isnot,true)", but(1, 5, 7)),
    ("(Done,isnot,false)", [1, 5, 7]),
    ("(Done,blank)", [3, 6, 8, 9, 10, 11, 12, 13, 14]),
    ("(Done,notblank)", [1, 2, 4, 5, 7]),
    ("(Done,is,null)", [3, 6, 8, 9, 10, 11, 12, 13, 14]),
    # dates (today is 2024-05-15)
    ("(Day,eq,today)", [1]),
    ("(Day,eq,yesterday)", [2]),
    ("(Day,eq,tomorrow)", []),
    ("(Day,eq,oneWeekAgo)", [4]),
    ("(Day,eq,oneMonthAgo)", [5]),
    ("(Day,eq,oneMonthFromNow)", [6]),
    ("(Day,eq,daysFromNow,10)", [7]),
    ("(Day,eq,daysAgo,1)", [2]),
    ("(Day,eq,exactDate,2024-05-08)", [4]),
    ("(Day,eq,2024-05-25)", [7]),
    ("(Day,neq,today)", but(1)),
    ("(Day,gt,today)", [6, 7]),
    ("(Day,ge,today)", [1, 6, 7]),
    ("(Day,lt,yesterday)", [4, 5]),
    ("(Day,le,yesterday)", [2, 4, 5]),
    ("(Day,isWithin,pastWeek)", [1, 2, 4]),
    ("(Day,isWithin,pastMonth)", [1, 2, 4, 5]),
    ("(Day,isWithin,pastYear)", [1, 2, 4, 5]),
    ("(Day,isWithin,nextWeek)", [1]),
    ("(Day,isWithin,nextMonth)", [1, 6, 7]),
    ("(Day,isWithin,nextYear)", [1, 6, 7]),
    ("(Day,isWithin,pastNumberOfDays,1)", [1, 2]),
    ("(Day,isWithin,nextNumberOfDays,10)", [1, 7]),
    ("(Day,btw,2024-05-01,2024-05-31)", [1, 2, 4, 7]),
    ("(Day,btw,yesterday,today)", [1, 2]),
    ("(Day,nbtw,2024-05-01,2024-05-31)", [3, 5, 6, 8, 9, 10, 11, 12, 13, 14]),
    ("(Day,in,2024-05-08,today)", [1, 4]),
    ("(Day,blank)", [3, 8, 9, 10, 11, 12, 13, 14]),
    # datetimes: a day means the whole UTC day
    ("(When,eq,today)", [1]),
    ("(When,eq,yesterday)", [2]),
    ("(When,eq,tomorrow)", [4]),
    ("(When,eq,oneWeekFromNow)", [6]),
    ("(When,eq,oneMonthAgo)", [5]),
    ("(When,eq,exactDate,2023-05-15)", [7]),
    ("(When,neq,today)", but(1)),
    ("(When,gt,today)", [4, 6]),
    ("(When,ge,today)", [1, 4, 6]),
    ("(When,lt,today)", [2, 5, 7]),
    ("(When,le,today)", [1, 2, 5, 7]),
    ("(When,isWithin,pastWeek)", [1, 2]),
    ("(When,isWithin,nextWeek)", [1, 4, 6]),
    ("(When,isWithin,pastYear)", [1, 2, 5, 7]),
    ("(When,eq,2024-05-15 08:30:00)", [1]),
    ("(When,eq,2024-05-15T10:30:00+02:00)", [1]),
    ("(When,gt,2024-05-15 08:30)", [4, 6]),
    ("(When,ge,2024-05-15 08:30)", [1, 4, 6]),
    ("(When,btw,2024-05-14,2024-05-15)", [1, 2]),
    ("(When,btw,2024-05-14 12:00,2024-05-16 00:00)", [1, 2, 4]),
    ("(When,blank)", [3, 8, 9, 10, 11, 12, 13, 14]),
    # multi-select: whole options, exact case
    ("(Tags,anyof,a)", [1, 2]),
    ("(Tags,anyof,b)", [1, 6]),
    ("(Tags,anyof,ab)", [5]),
    ("(Tags,anyof,A)", []),
    ("(Tags,anyof,a,ab)", [1, 2, 5]),
    ("(Tags,allof,b,c)", [1, 6]),
    ("(Tags,allof,a,c)", [1]),
    ("(Tags,allof, c )", [1, 5, 6, 7]),
    ("(Tags,nanyof,a)", but(1, 2)),
    ("(Tags,nallof,b,c)", but(1, 6)),
    ("(Tags,like,b)", [1, 5, 6]),
    ("(Tags,blank)", [3, 4, 8, 9, 10, 11, 12, 13, 14]),
    ("(Tags,eq,a,b,c)", [1]),
    # single select
    ("(Status,eq,Open)", [1, 5]),
    ("(Status,anyof,Open,Closed)", [1, 2, 5, 7]),
    ("(Status,nanyof,Open)", but(1, 5)),
    ("(Status,allof,Open)", [1, 5]),
    ("(Status,in,open)", [6]),
    # time
    ("(At,eq,09:00)", [1]),
    ("(At,gt,12:00)", [2, 6]),
    ("(At,btw,09:00,12:00:00)", [1, 5]),
    ("(At,in,09:00,17:30)", [1, 2]),
    ("(At,blank)", [3, 7, 8, 9, 10, 11, 12, 13, 14]),
    # json: only null tests
    ("(Data,blank)", ALL),
    # logic; ~not is always the exact complement
    ("((Name,like,alice)~or(Qty,gt,50))~and~not(Done,checked)", [2, 6]),
    ("~not(Name,eq,Alice)", but(1)),
    ("~not(Qty,gt,10)", but(2, 6, 10)),
    ("~not~not(Qty,gt,10)", [2, 6, 10]),
    ("~not((Qty,gt,10)~or(Name,blank))", but(2, 3, 4, 6, 10)),
    ("~not((Qty,gt,0)~and(Qty,lt,10))", but(7, 8, 9)),
    ("(Qty,gt,0)~and(Qty,lt,10)~and(Name,notblank)", [7, 8, 9]),
    ("(Id,eq,1)~or(Id,eq,3)~or(Id,eq,14)", [1, 3, 14]),
    ("(id,in,1,2)", [1, 2]),
]


@pytest.mark.parametrize("where, expected", CASES, ids=[c[0] for c in CASES])
def test_filters(table, where, expected):
    assert run(table, where) == expected


ERRORS = [
    ("(Nope,eq,1)", "FIELD_NOT_FOUND"),
    ("(Friends,eq,1)", "FILTER_NOT_SUPPORTED"),
    ("(Qty,eq,abc)", "INVALID_FILTER_VALUE"),
    ("(Qty,eq,)", "INVALID_FILTER_VALUE"),
    ("(Qty,eq,nan)", "INVALID_FILTER_VALUE"),
    ("(Qty,eq,1_000)", "INVALID_FILTER_VALUE"),
    ("(Qty,eq,1e999)", "INVALID_FILTER_VALUE"),
    ("(Qty,in,1,x)", "INVALID_FILTER_VALUE"),
    ("(Qty,btw,1,x)", "INVALID_FILTER_VALUE"),
    ("(Price,gt,ten)", "INVALID_FILTER_VALUE"),
    ("(Done,eq,maybe)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,2024-13-01)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,notadate)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,2024-05-15 10:00)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,daysAgo)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,daysAgo,x)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,daysAgo,-1)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,today,1)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,exactDate)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,exactDate,tomorrow)", "INVALID_FILTER_VALUE"),
    ("(Day,eq,daysAgo,99999999)", "INVALID_FILTER_VALUE"),
    ("(Day,isWithin,lastWeek)", "INVALID_FILTER_VALUE"),
    ("(Day,isWithin,pastNumberOfDays)", "INVALID_FILTER_VALUE"),
    ("(When,eq,2024-05-15 25:00)", "INVALID_FILTER_VALUE"),
    ("(At,eq,25:00)", "INVALID_FILTER_VALUE"),
    ("(Tags,anyof,)", "INVALID_FILTER_VALUE"),
    ('(Tags,anyof,"a,b")', "INVALID_FILTER_VALUE"),
    ("(Name,gt,a)", "OPERATOR_NOT_SUPPORTED"),
    ("(Name,btw,a,b)", "OPERATOR_NOT_SUPPORTED"),
    ("(Name,checked)", "OPERATOR_NOT_SUPPORTED"),
    ("(Name,isWithin,pastWeek)", "OPERATOR_NOT_SUPPORTED"),
    ("(Name,anyof,a)", "OPERATOR_NOT_SUPPORTED"),
    ("(Qty,like,1)", "OPERATOR_NOT_SUPPORTED"),
    ("(Qty,empty)", "OPERATOR_NOT_SUPPORTED"),
    ("(Qty,checked)", "OPERATOR_NOT_SUPPORTED"),
    ("(Done,gt,true)", "OPERATOR_NOT_SUPPORTED"),
    ("(Done,in,true)", "OPERATOR_NOT_SUPPORTED"),
    ("(Data,eq,1)", "OPERATOR_NOT_SUPPORTED"),
    ("(Data,like,x)", "OPERATOR_NOT_SUPPORTED"),
]


@pytest.mark.parametrize("where, code", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(where, code):
    for vendor in ("postgresql", "mysql", "sqlite"):
        with pytest.raises(InvalidInput) as exc:
            compile_where(
                parse_where(where),
                resolve=resolve,
                vendor=vendor,
                quote=str,
                today=TODAY,
            )
        assert exc.value.code == code, (vendor, exc.value.message)


def test_today_defaults_to_utc_and_moves(table):
    # Relative to a different "today" the same filter picks other rows.
    assert run(table, "(Day,eq,today)", today=D(2024, 5, 25)) == [7]
    assert run(table, "(Day,eq,today)", today=T(2024, 5, 14, 23, 0)) == [2]
    real_today = dt.datetime.now(dt.UTC).date()
    sql, params = compile_where(
        parse_where("(Day,eq,today)"), resolve=resolve, vendor="postgresql", quote=str
    )
    assert params == [real_today]


def test_values_are_parameters_never_sql():
    nasty = "x') OR 1=1; --"
    sql, params = compile_where(
        parse_where(
            f'(Name,eq,"{nasty}")~or(Name,like,{nasty})~or(Tags,anyof,{nasty})'
        ),
        resolve=resolve,
        vendor="postgresql",
        quote=lambda n: f'"{n}"',
        today=TODAY,
    )
    assert "1=1" not in sql and nasty in params


def test_no_where_is_always_true():
    assert compile_where(None, resolve=resolve, vendor="sqlite", quote=str) == (
        "1 = 1",
        [],
    )


def test_compiled_sql_composes_with_other_conditions(table):
    sql, params = compile_where(
        parse_where("(Name,neq,Alice)"),
        resolve=resolve,
        vendor=VENDOR[table.kind],
        quote=table.q,
        today=TODAY,
    )
    if table.kind == "sqlite":
        sql = sql.replace("%s", "?")
    got = table.query(f"SELECT id FROM t WHERE {sql} AND id < 4 ORDER BY id", params)
    assert [r[0] for r in got] == [2, 3]
