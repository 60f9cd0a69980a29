"""Reading the record history, as one reader may see it.

Only readers of the table (`records.read`) see a record's history, and only the fields they may
see: a field hidden from them (field permissions, a link into a table they cannot see, a field
deleted since) is cut out of every entry, and an update or link entry left with no field is left
out entirely — as realtime sends no message for an edit of hidden fields only.

Pages go newest first with a keyset cursor (the last entry's id): entries are filtered in
Python after the query, so a page is read in chunks until it is full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bases.models import Table
from bases.records import TableMeta
from history.models import RecordChange
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import Actor, require

DEFAULT_LIMIT = 25
_DIGITS = re.compile(r"^[0-9]{1,19}$")
MAX_LIMIT = 100


@dataclass
class Entry:
    change: RecordChange
    # [(field, old, new)] in the table's field order, only fields the reader may see.
    fields: list

    @property
    def author(self) -> str:
        """Who made the change, for people: an email, a token, a form, or the system."""
        c = self.change
        if c.via == RecordChange.Via.SYSTEM:
            return "system"
        if c.via in (RecordChange.Via.FORM, RecordChange.Via.SHARE):
            return f"{c.get_via_display()} “{c.actor_name}”"
        name = c.user.email if c.user is not None else (c.actor_name or "deleted user")
        if c.via == RecordChange.Via.TOKEN:
            return f"{name} (API token “{c.token_name}”)"
        return name


@dataclass
class HistoryPage:
    entries: list[Entry]
    limit: int
    next: str | None  # cursor of the next (older) page
    first: bool


def parse_page_params(limit, cursor) -> tuple[int, int | None]:
    """`limit` (1–100) and `cursor` (a previous page's `next`) from request text."""
    if limit in (None, ""):
        size = DEFAULT_LIMIT
    else:
        text = str(limit).strip()
        if not _DIGITS.match(text):
            raise InvalidInput("`limit` must be a whole number.", code="INVALID_LIMIT")
        size = int(text)
        if not 1 <= size <= MAX_LIMIT:
            raise InvalidInput(
                f"`limit` must be between 1 and {MAX_LIMIT}.", code="INVALID_LIMIT"
            )
    before = None
    if cursor not in (None, ""):
        text = str(cursor)
        if not _DIGITS.match(text):
            raise InvalidInput(
                "`cursor` must be a previous page's `next`.", code="INVALID_CURSOR"
            )
        before = int(text)
    return size, before


def canonical_record_id(table: Table, meta: TableMeta, record_id) -> str:
    """The record id as the history stores it (`01` and `1` name the same number)."""
    rid = str(meta.record_id(meta.parse_record_id(record_id)))
    if len(rid) > 255 or "\x00" in rid:  # no such record id is ever stored
        raise NotFound("Record not found.", code="RECORD_NOT_FOUND")
    return rid


def history_page(
    *,
    actor: Actor,
    table: Table,
    record_id,
    limit: int = DEFAULT_LIMIT,
    before: int | None = None,
) -> HistoryPage:
    """One page of a record's history, newest first, cut to what `actor` may see.

    The record need not exist any more: a deleted record's history stays readable (its id is
    all it takes), until pruned."""
    require(actor, "records.read", table)
    meta = TableMeta.of(table, actor=actor)
    rid = canonical_record_id(table, meta, record_id)
    order = {f.id: i for i, f in enumerate(meta.fields)}
    by_id = {f.id: f for f in meta.fields}
    query = (
        RecordChange.objects.filter(table_id=table.pk, record_id=rid)
        .select_related("user")
        .order_by("-id")
    )
    entries: list[Entry] = []
    chunk = max(limit + 1, 50)
    cursor = before
    more = False
    while True:
        batch = list(
            (query.filter(id__lt=cursor) if cursor is not None else query)[:chunk]
        )
        for change in batch:
            entry = _visible(change, by_id, order)
            if entry is None:
                continue
            if len(entries) == limit:
                more = True
                break
            entries.append(entry)
        if more or len(batch) < chunk:
            break
        cursor = batch[-1].id
    return HistoryPage(
        entries=entries,
        limit=limit,
        next=str(entries[-1].change.id) if more else None,
        first=before is None,
    )


def _visible(change: RecordChange, by_id: dict, order: dict) -> Entry | None:
    items = [
        (by_id[fid], pair[0], pair[1])
        for fid, pair in (change.changes or {}).items()
        if fid in by_id and isinstance(pair, list) and len(pair) == 2
    ]
    if not items and change.kind not in (
        RecordChange.Kind.INSERT,
        RecordChange.Kind.DELETE,
    ):
        return None
    items.sort(key=lambda item: order[item[0].id])
    return Entry(change=change, fields=items)


def entry_json(entry: Entry) -> dict:
    """An entry for the API: NocoDB's audit names (`fk_model_id`, `row_id`, `op_type`,
    `op_sub_type`, `user`) next to our own (`kind`, `actor`, `changes`)."""
    c = entry.change
    email = None
    if c.via in (RecordChange.Via.USER, RecordChange.Via.TOKEN):
        email = c.user.email if c.user is not None else (c.actor_name or None)
    return {
        "id": c.id,
        "fk_model_id": c.table_id,
        "row_id": c.record_id,
        "op_type": "DATA",
        "op_sub_type": _SUB_TYPES[c.kind],
        "kind": c.kind,
        "user": email,
        "actor": {
            "type": c.via,
            "user_id": c.user_id,
            "token": c.token_name or None,
            "form": c.actor_name
            if c.via in (RecordChange.Via.FORM, RecordChange.Via.SHARE)
            else None,
            "display": entry.author,
        },
        "created_at": c.created_at,
        "changes": [
            {"field_id": f.id, "field": f.title, "old": old, "new": new}
            for f, old, new in entry.fields
        ],
    }


_SUB_TYPES = {
    "insert": "INSERT",
    "update": "UPDATE",
    "delete": "DELETE",
    "link": "LINK_RECORD",
    "unlink": "UNLINK_RECORD",
}
