"""The one way a name reaches SQL text on a user database, and the connection rules it needs.

Table and column names come from metadata, but metadata is not trusted text: users type names
and external databases hold any name (`wq"; DROP TABLE x; --` is a valid PostgreSQL table name).
Django's `quote_name` wraps a name in quotes without doubling the quotes inside it, and passes a
name that already starts and ends with a quote through untouched, so it must never see such a
name. `quote_identifier` always quotes and doubles the dialect's quote character.

It also doubles `%`: every driver here reads `%s` / `%%` placeholders in the statement text when
parameters are given (psycopg even inside quoted names; mysqlclient splices escaped values there
client-side, where a backtick in a value would close the name). A name's `%` is therefore written
`%%`, and every statement on a user-database connection is executed with parameters, an empty
list when it has none (`prepare_connection` makes that so for Django cursors), so the driver
turns `%%` back into `%` and never reads a placeholder inside a name. Statements sent without
parameter parsing (psycopg's COPY) go through `unescape_percent` first.

Names that no database can hold are refused at the door by `check_new_name`.
"""

from __future__ import annotations

import functools
from contextvars import ContextVar

from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from bases.query import textmatch
from nocoplatform.errors import InvalidInput

# The quote character of each Django vendor in statements over rows. SQLite takes backticks
# there: it reads a double-quoted name that is no column as a string literal (the "DQS"
# misfeature), so a dropped column would silently read as its own name; backticks are always
# identifiers. In DDL a double-quoted name is always a name, and Django's SQLite introspection
# parses `CREATE TABLE` text expecting double quotes, so the DDL quoting keeps them.
_QUOTES = {"postgresql": '"', "mysql": "`", "sqlite": "`"}
_DDL_QUOTES = {**_QUOTES, "sqlite": '"'}
# The longest name each database keeps: PostgreSQL cuts longer names to 63 bytes without a word
# (two long names would become one), MySQL/MariaDB refuse more than 64 characters. SQLite has no
# limit; 255 keeps names usable in every tool.
_MAX_NAME = {
    "postgresql": ("bytes", 63),
    "mysql": ("chars", 64),
    "sqlite": ("chars", 255),
}


def quote_identifier(vendor: str, name: str, *, ddl: bool = False) -> str:
    """`name` as a quoted identifier of `vendor`'s SQL, safe inside a parameterised statement."""
    quote = (_DDL_QUOTES if ddl else _QUOTES)[vendor]
    if "\x00" in name:
        # No database stores NUL in a name, and C drivers would cut the statement there.
        raise InvalidInput(
            "Names cannot contain the NUL character.", code="INVALID_NAME"
        )
    escaped = name.replace(quote, quote + quote).replace("%", "%%")
    return f"{quote}{escaped}{quote}"


def unescape_percent(statement: str) -> str:
    """A statement built with `quote_identifier`, for a driver call that parses no placeholders."""
    return statement.replace("%%", "%")


def check_new_name(vendor: str, name: str, *, what: str = "name") -> str:
    """Refuse a user-given table or column name that `vendor` cannot hold as it is (400)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"The {what} cannot be empty.", code="INVALID_NAME")
    if name != name.strip():
        raise InvalidInput(
            f"The {what} cannot start or end with spaces.", code="INVALID_NAME"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput(
            f"The {what} cannot contain control characters (NUL, tab, new line…).",
            code="INVALID_NAME",
        )
    unit, limit = _MAX_NAME.get(vendor, ("chars", 64))
    size = len(name.encode()) if unit == "bytes" else len(name)
    if size > limit:
        raise InvalidInput(
            f"The {what} is too long for this database: at most {limit} {unit}"
            + (" (UTF-8)" if unit == "bytes" else "")
            + f", this one has {size}.",
            code="INVALID_NAME",
        )
    return name


# Set while Django's PostgreSQL schema editor runs a statement it has already merged with its
# parameters client-side (it then executes it unparsed, several statements at times).
_composed: ContextVar[bool] = ContextVar("noco_composed_sql", default=False)


def _parsed(params):
    return () if params is None and not _composed.get() else params


class _ParamsCursor(CursorWrapper):
    """Every statement is parsed for placeholders, so `%%` in quoted names means `%`."""

    def execute(self, sql, params=None):
        return super().execute(sql, _parsed(params))


class _ParamsDebugCursor(CursorDebugWrapper):
    def execute(self, sql, params=None):
        return super().execute(sql, _parsed(params))


@functools.cache
def _schema_editor_class(base: type) -> type:
    """The vendor's schema editor, with every DDL statement parsed for placeholders.

    Django runs some DDL unparsed (`params or None`) and some parsed; names carry `%%`, so all of
    it is parsed here. Column types and defaults read from a database are escaped to match
    (bases/schema.py)."""

    def execute(self, sql, params=()):
        params = () if params is None else params
        if self.connection.vendor != "postgresql":
            return base.execute(self, sql, params)
        token = _composed.set(True)  # merged by Django, then sent as it is
        try:
            return base.execute(self, sql, params)
        finally:
            _composed.reset(token)

    return type(f"Noco{base.__name__}", (base,), {"execute": execute})


def prepare_connection(wrapper) -> None:
    """Make a user-database connection wrapper quote names and parse statements our way.

    Django's schema editors and introspection call `wrapper.ops.quote_name`, so replacing it on
    this wrapper's own operations object covers the DDL and catalog reads Django writes for us.
    """
    vendor = wrapper.vendor
    wrapper.ops.quote_name = lambda name: quote_identifier(vendor, name, ddl=True)
    wrapper.make_cursor = lambda cursor: _ParamsCursor(cursor, wrapper)
    wrapper.make_debug_cursor = lambda cursor: _ParamsDebugCursor(cursor, wrapper)
    wrapper.SchemaEditorClass = _schema_editor_class(type(wrapper).SchemaEditorClass)
    if vendor == "sqlite":
        _tolerate_collation_parsing(wrapper.introspection)
        connect = wrapper.get_new_connection

        def get_new_connection(conn_params):
            connection = connect(conn_params)
            textmatch.register(connection)
            return connection

        wrapper.get_new_connection = get_new_connection


def _tolerate_collation_parsing(introspection) -> None:
    """Django's SQLite introspection reads column collations by splitting the table's CREATE
    TABLE text on ", " — a user's file defeats it (`PRIMARY KEY (a, b)` raises IndexError), and
    every column read fails with it. The collation is only informative here: a table whose text
    cannot be parsed this way is read without collations rather than not at all."""
    parse = introspection._get_column_collations

    def column_collations(cursor, table_name):
        try:
            return parse(cursor, table_name)
        except (IndexError, ValueError):
            return {}

    introspection._get_column_collations = column_collations
