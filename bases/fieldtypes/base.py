"""The field type class: what every type declares, with the behaviour most types share.

A type is a small class with declarative attributes (what it is) and a few methods (what it
does with a value). Types are registered once, in bases/fieldtypes/registry.py; callers ask
`field_type_for(field)` instead of comparing `field.uidt`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from django.db import models

from bases.fieldtypes.columns import (
    BINARY,
    BOOLEAN,
    DATE,
    DATETIME,
    JSON,
    LONGTEXT,
    NUMERIC,
    ORDERED,
    OTHER,
    TEXT,
    UUID,
    column_model_field,
)
from bases.fieldtypes.html import DISPLAY_LIMIT, escape, markdown_text
from bases.formula.types import FType
from nocoplatform.errors import InvalidInput

Parser = Callable[[Any, dict], Any]

AGGREGATES = {
    "sum": "Sum",
    "avg": "Average",
    "min": "Min",
    "max": "Max",
    "empty": "Empty",
    "filled": "Filled",
}
UNORDERED_COLUMNS = (JSON, BINARY, OTHER)  # columns that neither sort nor group
# What a formula reads a column type as; others (time, duration, JSON…) it cannot use.
_FORMULA_TYPES = {
    **dict.fromkeys(NUMERIC, FType.NUMBER),
    TEXT: FType.TEXT,
    LONGTEXT: FType.TEXT,
    UUID: FType.TEXT,
    BOOLEAN: FType.BOOLEAN,
    DATE: FType.DATE,
    DATETIME: FType.DATETIME,
}


class FieldType:
    uidt: ClassVar[str]
    label: ClassVar[str]
    column_types: ClassVar[tuple[str, ...]] = ()
    # The column type used when the platform creates a column of this type.
    default_column_type: ClassVar[str] = TEXT
    virtual: ClassVar[bool] = False
    # Never written as a record value (generated keys, database-only types, links, which
    # change through their own endpoints): the one read-only set.
    read_only: ClassVar[bool] = False
    # The grid edits the value as text typed into the cell (files have their own popup).
    typed_in_cell: ClassVar[bool] = True
    # A public form may ask for it.
    fillable: ClassVar[bool] = True
    # What callers ask about a type (each set by the families that are one):
    # a relation to another table's records; attachment entries (bases/attachments.py);
    # options with colours (field.options["choices"]), several in one comma-joined cell.
    is_link: ClassVar[bool] = False
    holds_files: ClassVar[bool] = False
    has_choices: ClassVar[bool] = False
    multiple: ClassVar[bool] = False
    is_boolean: ClassVar[bool] = False
    # Typed in any locale and shown formatted; kept as exact decimal text by the history.
    numeric: ClassVar[bool] = False
    exact_decimal: ClassVar[bool] = False
    # May place a record on a calendar; a day without a time of day.
    calendar_date: ClassVar[bool] = False
    date_only: ClassVar[bool] = False
    # May be a table's display value (its first text column); the quick search looks in it.
    display_text: ClassVar[bool] = False
    searchable: ClassVar[bool] = True
    # A generated primary key (an explicit value is still accepted on insert); a foreign
    # key, the links of its table rest on it.
    auto_key: ClassVar[bool] = False
    holds_key: ClassVar[bool] = False
    # Stored as JSON text in a text column; a card may show an image from it.
    decodes_json: ClassVar[bool] = False
    has_cover: ClassVar[bool] = False
    openapi: ClassVar[dict] = {"type": "string"}
    input_type: ClassVar[str] = "text"  # the <input type> a public form asks with
    # The grid's header: the type's icon, and a first column width that suits it (dragging
    # a column's edge saves its own; None: the grid's default).
    icon: ClassVar[str] = "·"
    column_width: ClassVar[int | None] = None
    # Its value is an SQL expression over the row computed when read (formula, lookup, rollup,
    # count): virtual and read-only; `sql()` gives the expression (bases/query/expressions.py).
    computed: ClassVar[bool] = False
    # Kept by the platform, never by clients (bases/fieldtypes/system.py): "insert" sets the
    # value when a row is created (CreatedTime, CreatedBy), "write" on every insert and update
    # (LastModifiedTime, LastModifiedBy), in the write's own statement.
    stamped_on: ClassVar[str] = ""
    # Holds base members' user ids (User, CreatedBy, LastModifiedBy): read back as
    # {id, email, display_name} objects (bases/user_cells.py), filtered with `@me`.
    holds_users: ClassVar[bool] = False

    # ---- values the platform keeps

    def stamp(self, *, now, user_id):
        """The value a stamped type gets on a write at `now` by the user `user_id` (text or None)."""
        raise NotImplementedError(f"{self.uidt} is not stamped")

    def check_column(self, field, *, builtin: bool, new: bool) -> None:
        """Refuse (InvalidInput naming why) giving this type to `field`'s column: a `new`
        column the platform creates, or an existing one retyped; `builtin`: the built-in store."""

    def column_ddl(self, dialect, table_name: str, column: str, pk: list[str]) -> list:
        """(sql, params) statements that make a column of this type just added to a table
        what it must be (an AutoNumber's sequence); run in the DDL's transaction."""
        return []

    def drop_ddl(self, dialect, table_name: str, column: str) -> list:
        """(sql, params) statements to run before such a column is dropped."""
        return []

    # The part of the grid's add-field panel that asks for this type's settings
    # (templates/views/partials/field_panel.html): "choices", "link", "formula", "lookup",
    # "rollup" or "count"; "" when a title is all it needs.
    options_ui: ClassVar[str] = ""
    # Computed through a link (Lookup, Rollup, Count: bases/fieldtypes/rollup.py), created by
    # bases/lookup_services.py from NocoDB's fk_relation_column_id shapes.
    over_link: ClassVar[bool] = False

    # ---- computed fields

    def sql(self, field, ctx):
        """The SQL value (a bases.query.formula Frag) of a computed `field` read through
        `ctx` (a bases.query.expressions.ExprContext). Only computed types have one.

        A computed field has no column (`column_name` is empty); its `column_type` is the
        type of its value (decimal, text, date, datetime, boolean…), set when it is saved,
        so filters, sorts, group-by, aggregates, cursors and value conversion treat it like
        a column of that type."""
        raise NotImplementedError(f"{self.uidt} is not computed")

    def define(
        self, table, data: dict, *, field=None, visible=None
    ) -> tuple[dict, str]:
        """A computed field's options and value column type from a meta API request (a create,
        or an update of `field`), checked against `table`'s fields; a 400 naming the problem
        otherwise (bases/schema_services.py). `visible`: the ids of the fields the author may
        see (None: all); others are unknown to the definition. Only computed types define
        fields this way."""
        raise InvalidInput(f"{self.uidt} is not a computed field type.")

    def fields_changed(self, table, *, gone=None) -> None:
        """After a field of `table` was created, changed or deleted (`gone`, already deleted):
        bring this computed type's fields of the table up to date (re-check, forget `gone`)."""

    def column_options(self, field) -> dict | None:
        """The `colOptions` of `field` in the meta API's column JSON (None: none)."""
        return None

    def formula_type(self, field):
        """What a formula sees `field` as (a bases.formula FType), None when a formula
        cannot use it. By its value's column type; links, files and JSON cannot be used."""
        if self.is_link or self.holds_files or self.decodes_json:
            return None
        if self.is_boolean:
            return FType.BOOLEAN
        return _FORMULA_TYPES.get(field.column_type)

    # ---- input and storage

    def model_field(self, *, null: bool, options: dict) -> models.Field:
        return column_model_field(self.default_column_type, null=null, options=options)

    def parse(self, value: Any, options: dict) -> Any:
        """Convert request input to the value to store; raise InvalidInput naming the problem."""
        return value

    def value_parser(self, field, *, db: str) -> Parser:
        """`parse` bounded by what `field`'s column holds on a data source of kind `db`
        (bases/value_limits.py). Every write of a value goes through one of these."""
        return self.parse

    def stored_as(self, field) -> FieldType:
        """The type whose parsing a value of `field` follows (keys follow their column)."""
        return self

    def clean_options(self, options: dict, data: dict) -> dict:
        """The options a field of this type keeps, checked (`data`: the whole request)."""
        return dict(options)

    def fits(self, column_type: str) -> bool:
        return column_type in self.column_types

    def fits_column(self, col, *, is_fk: bool) -> bool:
        """Whether an introspected column (bases/introspection.ColumnInfo) may hold this type."""
        if is_fk:
            return False
        if col.enum_values:
            return self.has_choices and not self.multiple
        return self.fits(col.column_type)

    # ---- reading: filters, sorting, grouping, footer aggregates

    def filterable(self, field) -> bool:
        return bool(field.column_name) or self.computed

    def filter_column_type(self, field) -> str:
        """The column type a filter on `field` compares as (a list lookup: its JSON text)."""
        return getattr(field, "column_type", "")

    def filter_ops_only(self, field) -> tuple[str, ...] | None:
        """The only operators a filter on `field` may use (None: what its kind allows)."""
        return None

    def filter_operators(self, field) -> list[str]:
        """The where-dialect operators `field` accepts (docs/where.md).

        Asked of the compiler itself, one probe compile per operator, so what a filter
        builder offers can never drift from what the API accepts.
        """
        if not self.filterable(field):
            return []
        # Imported here: the where compiler asks the field types about fields.
        from bases.query import where

        ops = []
        for op in where.VALUE_OPS + where.LIST_OPS + where.NO_VALUE_OPS:
            no_value, many = op in where.NO_VALUE_OPS, op in where.LIST_OPS
            value = None if no_value else ("1", "2") if many else "1"
            try:
                where.compile_where(
                    where.Condition(field.id, op, value),
                    resolve=lambda name: field,
                    vendor="sqlite",
                )
            except InvalidInput as exc:
                if exc.code in ("OPERATOR_NOT_SUPPORTED", "FILTER_NOT_SUPPORTED"):
                    continue
            ops.append(op)
        return ops

    def groupable(self, field) -> bool:
        return self._ordered(field)

    def sortable(self, field) -> bool:
        return self._ordered(field)

    def _ordered(self, field) -> bool:
        # A computed field's column_type is the type of its value (it has no column).
        has_value = bool(field.column_name) or (self.computed and field.column_type)
        return bool(has_value) and field.column_type not in UNORDERED_COLUMNS

    def aggregates(self, field) -> list[str]:
        """The footer aggregates that apply to `field` (names of AGGREGATES)."""
        if not field.column_name and not (self.computed and field.column_type):
            return []
        out = []
        if field.column_type in NUMERIC:
            out += ["sum", "avg"]
        if field.column_type in ORDERED:
            out += ["min", "max"]
        return out + ["empty", "filled"]

    # ---- OpenAPI

    def schema(self, field) -> dict:
        """The OpenAPI schema of a value of `field` (nullability and description added)."""
        schema = dict(self.openapi)
        if field.is_nullable and not self.is_link:
            schema["nullable"] = True
        if self.auto_key or (field.is_pk and field.is_auto):
            schema["readOnly"] = True
        if field.description:
            schema["description"] = markdown_text(field.description)
        return schema

    # ---- the grid: edit text, display, typed text

    def edit_text(self, field, value) -> str:
        """The text an editor starts from and Ctrl+C copies; saving it back gives the same value."""
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.isoformat(
                timespec="minutes" if not value.second else "seconds"
            )
        if isinstance(value, (dt.date, dt.time)):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def export_text(self, field, value) -> str:
        """A value in an exported file (bases/export.py): the editor's text by default."""
        return self.edit_text(field, value)

    def display_html(self, field, value, file_url=None) -> str:
        """A value as a cell shows it (escaped HTML). `file_url` (attachment fields): entry ->
        the access-checked URL of that file, to show images as thumbnails."""
        if value is None or value == "":
            return ""
        return self.show(field, value, file_url)

    def show(self, field, value, file_url=None) -> str:
        """display_html of a value that is neither None nor empty text."""
        if isinstance(value, dt.datetime):
            return escape(value.strftime("%Y-%m-%d %H:%M"))
        return escape(self.edit_text(field, value)[:DISPLAY_LIMIT])

    def typed_value(self, field, text, decimal_sep: str = ".", date_order: str = "dmy"):
        """What the grid sends to the records service for text typed or pasted into a cell
        (`decimal_sep`, `date_order`: how the user's locale writes numbers and dates)."""
        if text is None:
            return None
        if not isinstance(text, str):
            return text
        if text == "":
            return None
        return self.from_typed(text, decimal_sep)

    def from_typed(self, text: str, decimal_sep: str) -> Any:
        return text

    def posted_text(self, data, key: str) -> str | None:
        """The text an HTML form posted for this field under `key` (None: not posted)."""
        return data.get(key)

    def form_text(self, field, value) -> str:
        """A value as an HTML form's input holds it (to tell what the user changed)."""
        return self.edit_text(field, value)

    # ---- kanban stacks and calendar days (views/types/)

    def stacks_cards(self, field) -> bool:
        """Whether a kanban may stack records by `field`: one short text per record (a
        select's option, a member, a computed text), grouped in SQL."""
        return self.has_choices and not self.multiple

    def stack_choices(self, field) -> list[dict]:
        """The stacks a kanban by `field` shows before any row is read, in order, each
        `{title, color}` (a select's options). Without (`[]`), the stacks are the distinct
        values the rows hold."""
        if not self.has_choices:
            return []
        return [
            c
            for c in (field.options or {}).get("choices", [])
            if isinstance(c, dict) and c.get("title")
        ]

    def stack_key(self, field, value) -> str:
        """The stack a record whose `field` reads `value` is in ("": Uncategorized)."""
        return "" if value in (None, "") else str(value)

    def stack_titles(self, field, keys: list[str]) -> dict[str, str]:
        """Headers for stack keys that are not shown as they are (member ids: their names)."""
        return {}

    def on_calendar(self, field) -> bool:
        """Whether a calendar may place records by `field`: a date or date-time value."""
        return self.calendar_date

    # ---- cards

    def cover_url(self, field, value, table=None, record_id=None) -> str | None:
        """The image URL a card shows for a non-empty `value` (None: no cover)."""
        return None
