"""What a record write changed, for the record history: the entries to save
(history.services.record), built from the write's RecordsChanged (records/events.py) — the
values written and the rows' values before the write (its before image, read in the write's
own transaction by bases/row_images.py).
"""

from __future__ import annotations

import datetime as dt

from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.table_meta import TableMeta
from records.values import MAX_TEXT, plain


def entries(event) -> list:
    """The history entries of one RecordsChanged."""
    meta, op = event.meta, event.op
    if op == "insert":
        return insert_entries(meta, event.keys, event.values)
    if op == "update":
        # update_entries moves each row's state along a bulk request: on copies, the event's
        # before image stays as it was for the other subscribers.
        state = {k: dict(v) for k, v in event.before.items()}
        return update_entries(
            meta, list(zip(event.keys, event.values, strict=True)), state
        )
    if op == "delete":
        return delete_entries(meta, event.keys, event.before)
    return link_entries(
        meta,
        event.related,
        event.link,
        event.keys[0],
        event.targets,
        op == "unlink",
    )


def update_entries(meta: TableMeta, plan: list, state: dict) -> list:
    """(table id, record id, {field id: [old, new]}) per written row, changed fields only.

    `state` starts as the rows before the write; a row named twice in one bulk request sees
    its first change as the old value of its second. The fields the platform keeps on every
    write (LastModifiedTime, LastModifiedBy) are left out: an entry has its own time and author."""
    entries = []
    kept = {f.id for f in meta.all_fields if field_type_for(f).stamped_on}
    for pk_values, values in plan:
        row = state.setdefault(key(pk_values), {})
        diff = {}
        for f, value in values.items():
            if f.id in kept:
                continue
            new = plain(f, value)
            old = row.get(f.id)
            if old != new:
                diff[f.id] = [old, new]
            row[f.id] = new
        entries.append((meta.table.pk, meta.record_id(pk_values), diff))
    return entries


def insert_entries(meta: TableMeta, ids: list, parsed: list[dict]) -> list:
    """(table id, record id, {field id: [None, value]}) per inserted row, empty values left out.

    Runs for every cell of a 1000-row bulk insert, so it works a column at a time: the rows
    sharing a set of fields (usually all of them) are transposed, each column converted by one
    comprehension that leaves the values `plain` would return unchanged (short text, whole
    numbers and booleans of fields that keep them so) as they are, and the rows' dicts built
    back from the columns."""
    table_id, record_id = meta.table.pk, meta.record_id
    groups: dict[tuple, list[int]] = {}
    for i, values in enumerate(parsed):
        if ids[i]:
            groups.setdefault(tuple(map(id, values)), []).append(i)
    out: list = [None] * len(parsed)
    for indexes in groups.values():
        fields = list(parsed[indexes[0]])
        fids = [f.id for f in fields]
        columns = zip(*(parsed[i].values() for i in indexes), strict=True)
        converted = [
            _history_column(f, col) for f, col in zip(fields, columns, strict=True)
        ]
        rows = zip(*converted, strict=True) if fields else [()] * len(indexes)
        for i, row in zip(indexes, rows, strict=True):
            out[i] = (
                table_id,
                record_id(ids[i]),
                {
                    fid: [None, v]
                    for fid, v in zip(fids, row, strict=True)
                    if v is not None
                },
            )
    return [entry for entry in out if entry is not None]


def _history_column(field: Field, column: tuple) -> list:
    kind = next((type(v) for v in column if v is not None), None)
    iso = _ISO.get(kind) if not field_type_for(field).is_boolean else None
    if (
        iso is not None
    ):  # a column of dates or times: what plain() returns, without the call
        return [
            None if v is None else iso(v) if type(v) is kind else plain(field, v)
            for v in column
        ]
    kinds = _unchanged_types(field)
    return [
        v
        if v is None
        or (type(v) in kinds and (type(v) is not str or len(v) <= MAX_TEXT))
        else plain(field, v)
        for v in column
    ]


def _utc_iso(value: dt.datetime) -> str:
    return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).isoformat()


_ISO = {dt.date: dt.date.isoformat, dt.time: dt.time.isoformat, dt.datetime: _utc_iso}


def _unchanged_types(field: Field) -> tuple:
    ftype = field_type_for(field)
    if ftype.exact_decimal:
        return ()
    if ftype.is_boolean:
        return (bool,)
    return (str, int, bool)


def delete_entries(meta: TableMeta, keys: list, state: dict) -> list:
    """(table id, record id, {field id: [value, None]}) per deleted row, its key left out."""
    pk_ids = {f.id for f in meta.pk}
    return [
        (
            meta.table.pk,
            meta.record_id(pk_values),
            {
                fid: [value, None]
                for fid, value in state.get(key(pk_values), {}).items()
                if fid not in pk_ids
            },
        )
        for pk_values in keys
    ]


def key(pk_values) -> tuple:
    return tuple(str(v) for v in pk_values)


def link_entries(meta, related_meta, link, this_pk, targets, unlink: bool) -> list:
    """History of a link or unlink: on this record (its link field), and on each other record
    through the link field that shows the same link from its side, when there is one."""

    def change(ids: list) -> list:
        return [ids, None] if unlink else [None, ids]

    this_id = meta.record_id(this_pk)
    target_ids = [related_meta.record_id([t]) for t in targets]
    entries = [(meta.table.pk, this_id, {link.id: change(target_ids)})]
    inverse = inverse_link(link, related_meta)
    if inverse is not None:
        entries += [
            (related_meta.table.pk, t, {inverse.id: change([this_id])})
            for t in target_ids
        ]
    return entries


def inverse_link(link: Field, related_meta: TableMeta) -> Field | None:
    o = link.options
    relation = o.get("relation")
    other = {"bt": "hm", "hm": "bt", "mm": "mm"}.get(relation)
    for f in related_meta.all_fields:
        fo = f.options or {}
        if (
            not field_type_for(f).is_link
            or f.pk == link.pk
            or f.related_table_id != link.table_id
            or fo.get("relation") != other
        ):
            continue
        if relation == "mm":
            if fo.get("junction_table_id") == o.get("junction_table_id"):
                return f
        elif fo.get("fk_column") == o.get("fk_column"):
            return f
    return None
