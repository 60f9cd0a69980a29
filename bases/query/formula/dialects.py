"""What formulas compile to on each database. SQL text holds no `%`: formats are bound parameters."""

from __future__ import annotations

from bases.formula import FType
from bases.query.formula.compiler import (
    MAX_REPEAT_CHARS,
    SECONDS,
    FormulaCompiler,
    Frag,
    fmt,
    join,
    param,
)

_DIFF_SECONDS = {"millisecond": 0.001, **SECONDS}


class PostgresFormulas(FormulaCompiler):
    def string(self, value):
        # A bare parameter is of unknown type to PostgreSQL: CONCAT(), || and CASE need to know.
        return Frag("CAST(%s AS TEXT)", (value,))

    def date_param(self, iso, with_time):
        return Frag(f"CAST(%s AS {'TIMESTAMP' if with_time else 'DATE'})", (iso,))

    def divide(self, left, right):
        # Integer columns would divide as integers.
        return fmt("(CAST({} AS NUMERIC) / NULLIF({}, 0))", left, right)

    def truth(self, boolean_value):
        return fmt("COALESCE({}, FALSE)", boolean_value)

    def extreme(self, sql_name, sqlite_name, xs):
        # PostgreSQL's LEAST/GREATEST already ignore NULLs.
        return fmt(f"{sql_name}({{}})", join([self.value(x) for x in xs], ", "))

    def fn_round(self, node, x, digits=None):
        places = self.value(digits) if digits else Frag("0")
        return fmt(
            "ROUND(CAST({} AS NUMERIC), CAST({} AS INTEGER))", self.value(x), places
        )

    def fn_mod(self, node, a, b):
        return fmt(
            "MOD(CAST({} AS NUMERIC), NULLIF(CAST({} AS NUMERIC), 0))",
            self.value(a),
            self.value(b),
        )

    def fn_left(self, node, s, n):
        return fmt(
            "LEFT({}, GREATEST(CAST({} AS INTEGER), 0))", self.text(s), self.value(n)
        )

    def fn_right(self, node, s, n):
        return fmt(
            "RIGHT({}, GREATEST(CAST({} AS INTEGER), 0))", self.text(s), self.value(n)
        )

    def fn_mid(self, node, s, start, count):
        return fmt(
            "SUBSTR({}, CAST({} AS INTEGER), GREATEST(CAST({} AS INTEGER), 0))",
            self.text(s),
            self.value(start),
            self.value(count),
        )

    def fn_search(self, node, s, needle):
        return fmt("STRPOS({}, {})", self.text(s), self.text(needle))

    def fn_now(self, node):
        return Frag("LOCALTIMESTAMP")

    def fn_today(self, node):
        return Frag("CURRENT_DATE")

    def date_add(self, date, amount, unit, result):
        moved = fmt(f"({{}} + ({{}}) * INTERVAL '1 {unit}')", date, amount)
        return fmt("CAST({} AS DATE)", moved) if result is FType.DATE else moved

    def date_diff(self, a, b, unit):
        a, b = fmt("CAST({} AS TIMESTAMP)", a), fmt("CAST({} AS TIMESTAMP)", b)
        if unit in _DIFF_SECONDS:
            seconds = fmt("EXTRACT(EPOCH FROM ({} - {}))", a, b)
            return fmt(f"CAST(TRUNC({{}} / {_DIFF_SECONDS[unit]}) AS BIGINT)", seconds)
        age = fmt("AGE({}, {})", a, b)
        months = fmt("(EXTRACT(YEAR FROM {}) * 12 + EXTRACT(MONTH FROM {}))", age, age)
        per = {"month": 1, "quarter": 3, "year": 12}[unit]
        return fmt(f"CAST(TRUNC({{}} / {per}) AS BIGINT)", months)

    def monday_index(self, date):
        return fmt("(CAST(EXTRACT(ISODOW FROM {}) AS INTEGER) - 1)", date)

    def date_text(self, value):
        return fmt("TO_CHAR({}, 'YYYY-MM-DD')", value)

    def datetime_text(self, value):
        return fmt("TO_CHAR({}, 'YYYY-MM-DD HH24:MI:SS')", value)

    def date_part(self, part, date):
        return fmt(f"CAST(EXTRACT({part.upper()} FROM {{}}) AS INTEGER)", date)


class MySQLFormulas(FormulaCompiler):
    def date_param(self, iso, with_time):
        return Frag(f"CAST(%s AS {'DATETIME' if with_time else 'DATE'})", (iso,))

    def number_text(self, value):
        return fmt("CAST({} AS CHAR)", value)

    def integer(self, value):
        return fmt("CAST({} AS SIGNED)", value)

    def concat(self, nodes):
        # `||` is OR on MySQL; CONCAT() is NULL as soon as one part is, hence the COALESCE.
        parts = [fmt("COALESCE({}, '')", self.text(node)) for node in nodes]
        return fmt("CONCAT({})", join(parts, ", "))

    def fn_search(self, node, s, needle):
        return fmt("LOCATE({}, {})", self.text(needle), self.text(s))

    def fn_now(self, node):
        return Frag("NOW()")

    def fn_today(self, node):
        return Frag("CURDATE()")

    def date_add(self, date, amount, unit, result):
        return fmt(f"DATE_ADD({{}}, INTERVAL ({{}}) {unit.upper()})", date, amount)

    def date_diff(self, a, b, unit):
        if unit == "millisecond":
            return fmt("(TIMESTAMPDIFF(MICROSECOND, {}, {}) DIV 1000)", b, a)
        return fmt(f"TIMESTAMPDIFF({unit.upper()}, {{}}, {{}})", b, a)

    def monday_index(self, date):
        return fmt("WEEKDAY({})", date)

    def date_text(self, value):
        return fmt("DATE_FORMAT({}, {})", value, param("%Y-%m-%d"))

    def datetime_text(self, value):
        return fmt("DATE_FORMAT({}, {})", value, param("%Y-%m-%d %H:%i:%s"))

    def date_part(self, part, date):
        return fmt(f"{'DAYOFMONTH' if part == 'day' else part.upper()}({{}})", date)


class SQLiteFormulas(FormulaCompiler):
    def divide(self, left, right):
        return fmt("(CAST({} AS REAL) / NULLIF({}, 0))", left, right)

    def extreme_name(self, sql_name, sqlite_name):
        return sqlite_name  # SQLite's MIN()/MAX() with several arguments are scalar

    def fn_left(self, node, s, n):
        return fmt("SUBSTR({}, 1, MAX({}, 0))", self.text(s), self.value(n))

    def fn_right(self, node, s, n):
        text, count = self.text(s), self.value(n)
        return fmt(
            "(CASE WHEN {} > 0 THEN SUBSTR({}, -{}) ELSE '' END)", count, text, count
        )

    def fn_mid(self, node, s, start, count):
        return fmt(
            "SUBSTR({}, {}, MAX({}, 0))",
            self.text(s),
            self.value(start),
            self.value(count),
        )

    def fn_len(self, node, s):
        return fmt("LENGTH({})", self.text(s))

    def length(self, text):
        return fmt("LENGTH({})", text)

    def fn_repeat(self, node, s, n):
        text, count = self.text(s), self.value(n)
        capped = fmt(
            f"MIN(MAX({{}}, 0), FLOOR({MAX_REPEAT_CHARS} / MAX(LENGTH({{}}), 1)))",
            count,
            text,
        )
        return fmt("REPEAT({}, {})", text, self.integer(capped))

    def fn_now(self, node):
        return Frag("DATETIME('now')")

    def fn_today(self, node):
        return Frag("DATE('now')")

    def date_add(self, date, amount, unit, result):
        if unit in ("month", "year"):
            return self.add_months(
                date, amount if unit == "month" else fmt("(({}) * 12)", amount), result
            )
        if unit == "week":
            amount, unit = fmt("(({}) * 7)", amount), "day"
        function = "DATE" if result is FType.DATE else "DATETIME"
        return fmt(f"{function}({{}}, ({{}}) || ' {unit}s')", date, amount)

    def add_months(self, date, months, result):
        """Months added as PostgreSQL and MySQL do: Jan 31 + 1 month is the last day of February.

        SQLite's own '+1 months' rolls over into March instead."""
        start = fmt(
            "DATE({}, 'start of month', CAST({} AS INTEGER) || ' months')", date, months
        )
        last_day = fmt(
            "CAST({} AS INTEGER)",
            self.strftime("%d", fmt("DATE({}, '+1 months', '-1 days')", start)),
        )
        day = fmt("MIN(CAST({} AS INTEGER), {})", self.strftime("%d", date), last_day)
        moved = fmt("DATE({}, ({} - 1) || ' days')", start, day)
        if result is FType.DATE:
            return moved
        return fmt("DATETIME({} || ' ' || TIME({}))", moved, date)

    def strftime(self, pattern, date):
        return fmt("STRFTIME({}, {})", param(pattern), date)

    def date_diff(self, a, b, unit):
        if unit in _DIFF_SECONDS:
            ms = _DIFF_SECONDS[unit] * 1000
            return fmt(
                f"CAST(ROUND((JULIANDAY({{}}) - JULIANDAY({{}})) * 86400000) / {ms!r} AS INTEGER)",
                a,
                b,
            )
        year = lambda d: fmt("CAST({} AS INTEGER)", self.strftime("%Y", d))  # noqa: E731
        month = lambda d: fmt("CAST({} AS INTEGER)", self.strftime("%m", d))  # noqa: E731
        raw = fmt("(({} - {}) * 12 + {} - {})", year(a), year(b), month(a), month(b))
        rest_a, rest_b = (
            self.strftime("%d %H:%M:%f", a),
            self.strftime("%d %H:%M:%f", b),
        )
        # Whole months only, as TIMESTAMPDIFF and AGE count them.
        months = fmt(
            "(CASE WHEN {} > 0 AND {} < {} THEN {} - 1 WHEN {} < 0 AND {} > {} THEN {} + 1"
            " ELSE {} END)",
            raw,
            rest_a,
            rest_b,
            raw,
            raw,
            rest_a,
            rest_b,
            raw,
            raw,
        )
        per = {"month": 1, "quarter": 3, "year": 12}[unit]
        return fmt(f"({{}} / {per})", months)

    def monday_index(self, date):
        return fmt("MOD(CAST({} AS INTEGER) + 6, 7)", self.strftime("%w", date))

    def date_text(self, value):
        return self.strftime("%Y-%m-%d", value)

    def datetime_text(self, value):
        return self.strftime("%Y-%m-%d %H:%M:%S", value)

    def date_part(self, part, date):
        pattern = {"day": "%d", "month": "%m", "year": "%Y"}[part]
        return fmt("CAST({} AS INTEGER)", self.strftime(pattern, date))


COMPILERS = {
    "postgresql": PostgresFormulas,
    "mysql": MySQLFormulas,
    "sqlite": SQLiteFormulas,
}
