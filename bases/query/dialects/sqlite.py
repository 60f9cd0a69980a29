"""SQLite: loosely typed storage (decimals, dates and times as text), Unicode-aware LIKE
through noco_like (bases/query/textmatch.py), RETURNING from 3.35."""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3

from bases.query.dialects.base import Bind, Dialect


class SQLiteDialect(Dialect):
    vendor = "sqlite"

    @property
    def supports_returning(self) -> bool:
        return sqlite3.sqlite_version_info >= (3, 35)

    def decimal_to_db(self, value: decimal.Decimal):
        return str(value)

    def like(self, col: str, value: str, p: Bind) -> str:
        # SQLite's LIKE and lower() fold ASCII only: noco_like (registered on every user
        # SQLite connection) folds all of Unicode, in linear time.
        parts = value.split("%") if "%" in value else ["", value, ""]
        return f"noco_like({col}, {p('%'.join(parts))})"

    def contains_option(self, col: str, needle: str, p: Bind) -> str:
        return f"instr(',' || {col} || ',', {p(needle)}) > 0"

    def filter_number(self, d: decimal.Decimal):
        return float(d)

    def bind_date(self, day: dt.date):
        return day.isoformat()

    def bind_instant(self, moment: dt.datetime):
        return super().bind_instant(moment).isoformat(" ")
