"""Search across a view's fields: the toolbar's temporary search, as one `where` expression.

The text becomes an OR of per-field conditions in the where dialect (so it is compiled, typed
and bound like any filter): text-like fields `like` (contains, case-insensitive), number fields
`eq` when the text is a number, date fields `eq` when it is a date, UUIDs when it is a UUID.
Fields that cannot hold the text (checkboxes, JSON, links) are skipped. It is never saved on
the view; the grid passes it as `search=` to records.list_records and friends.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

from bases.fieldtypes import field_type_for
from bases.query.where import And, Condition, Or, WhereNode

MAX_SEARCH = 200
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_TEXT_TYPES = ("text", "longtext")
_NUMBER_TYPES = ("integer", "bigint", "decimal", "float")


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def search_node(fields, text: str | None) -> WhereNode | None:
    """The condition for `text` over `fields` (None for no search). Matches nothing when no
    field could hold the text."""
    text = (text or "").strip()[:MAX_SEARCH]
    if not text:
        return None
    # `%` is the dialect's wildcard; a searched "%" would match everything, so it is dropped.
    needle = text.replace("%", "")
    conditions: list[WhereNode] = []
    for f in fields:
        ftype = field_type_for(f)
        if not (f.column_name or ftype.computed) or not ftype.searchable:
            continue
        kind = f.column_type
        if kind in ("json", "binary", "other", "boolean"):
            continue
        if kind in _TEXT_TYPES:
            if needle:
                conditions.append(Condition(f.id, "like", needle))
        elif kind in _NUMBER_TYPES and _NUMBER.fullmatch(text):
            conditions.append(Condition(f.id, "eq", text))
        elif kind in ("date", "datetime") and _is_date(text):
            conditions.append(Condition(f.id, "eq", text))
        elif kind == "uuid" and _is_uuid(text):
            conditions.append(Condition(f.id, "eq", text))
    if not conditions:
        pk = next((f for f in fields if f.is_pk and f.column_name), None)
        anchor = pk or next((f for f in fields if f.column_name), None)
        if anchor is None:
            return None
        # "is null and is not null": a condition no row meets.
        return And(
            (Condition(anchor.id, "null", None), Condition(anchor.id, "notnull", None))
        )
    return conditions[0] if len(conditions) == 1 else Or(tuple(conditions))
