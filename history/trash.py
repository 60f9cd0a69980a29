"""Deleted rows, kept NOCO_TRASH_DAYS days per table and restorable (docs/import-export.md).

Every delete (grid, API, bulk: records/writes.py::delete_rows) emits a RecordsChanged whose
before image holds every column of the rows, read in the delete's own transaction. This
module's in-transaction subscriber keeps them in the meta DB (DeletedRow), saved when the
user database commits like the record history's entries: a rolled-back delete keeps nothing.
Its `prepare` hook, run just before the delete, reads what the rows' has-many and
many-to-many links point at (one query per link field: bases/linked_cells.linked_keys).

Restoring re-inserts the rows with their original primary key through records/writes.py
(`insert_rows(restore=True)`: history, webhooks and realtime see an insert), refusing with
409 RESTORE_CONFLICT when a key is taken meanwhile, then re-creates the has-many and
many-to-many links whose other rows still exist (a has-many child that was linked to another
row since is left alone). Belongs-to links are columns of the row: they come back with it.
The same for every database: the trash is the deleted values in the meta DB, not the rows
kept in the user's tables (no schema change to any user table, external ones included).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bases import linked_cells, records
from bases.fieldtypes import field_type_for
from bases.models import Table
from bases.table_meta import TableMeta
from history.models import DeletedRow
from history.services import who
from nocoplatform.errors import Conflict, DomainError, InvalidInput, NotFound
from permissions.checks import Actor, require

log = logging.getLogger(__name__)

MAX_RESTORE = 1000
PAGE = 50


# --------------------------------------------------------------------------------------------
# Keeping deleted rows (records/dispatch.py subscriber, registered in history/apps.py)


def prepare(table: Table, op: str, keys) -> dict | None:
    """Before a delete: the has-many / many-to-many links of the rows about to go."""
    if op != "delete" or not keys:
        return None
    return linked_keys(table, [list(k) for k in keys])


def linked_keys(table: Table, keys: list) -> dict:
    return linked_cells.linked_keys(table, keys)


def records_changed(event) -> None:
    """A committed delete's rows go to the trash (saved on the user database's commit)."""
    if event.op != "delete":
        return
    meta = TableMeta.unrestricted(event.table)
    pv = meta.pv
    links = event.prepared.get("trash") or {}
    author = who(event.actor)
    now = timezone.now()
    rows = []
    for pk_values in event.keys:
        values = dict(event.before.get(tuple(str(v) for v in pk_values)) or {})
        record_id = meta.record_id(list(pk_values))
        display = values.get(pv.id) if pv is not None else None
        rows.append(
            DeletedRow(
                table_id=event.table.pk,
                record_id=str(record_id)[:255],
                values=values,
                links=links.get(str(record_id), {}),
                display=("" if display is None else str(display))[:255],
                user_id=author.get("user_id"),
                actor_name=author.get("actor_name", ""),
                deleted_at=now,
            )
        )

    def save() -> None:
        try:
            DeletedRow.objects.bulk_create(rows, batch_size=500)
        except Exception:
            log.exception("trash: %s deleted rows could not be kept", len(rows))

    transaction.on_commit(save, using=event.using)


# --------------------------------------------------------------------------------------------
# Reading


def _live(table: Table):
    cutoff = timezone.now() - timedelta(days=settings.NOCO_TRASH_DAYS)
    qs = DeletedRow.objects.filter(table=table)
    if settings.NOCO_TRASH_DAYS > 0:
        qs = qs.filter(deleted_at__gte=cutoff)
    return qs


@dataclass
class TrashPage:
    entries: list[DeletedRow]
    next: int | None


def trash_list(
    *, actor: Actor, table: Table, limit: int = PAGE, before: int | None = None
) -> TrashPage:
    """The table's deleted rows, newest first (`before`: an entry id, for the next page)."""
    require(actor, "records.restore", table)
    qs = _live(table).select_related("user").order_by("-id")
    if before is not None:
        qs = qs.filter(id__lt=before)
    entries = list(qs[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    # The display value only when the reader may see that field (a table override or a
    # field rule may hide it from them).
    pv = TableMeta.unrestricted(table).pv
    if pv is None or pv.id not in TableMeta.of(table, actor=actor).resolve.by_id:
        for e in entries:
            e.display = ""
    return TrashPage(entries, entries[-1].id if more and entries else None)


def entry_json(e: DeletedRow) -> dict:
    return {
        "id": e.id,
        "recordId": e.record_id,
        "display": e.display,
        "deletedBy": e.actor_name,
        "deletedAt": e.deleted_at.isoformat(),
    }


# --------------------------------------------------------------------------------------------
# Restoring


def trash_restore(
    *,
    actor: Actor,
    table: Table,
    ids: list | None = None,
    record_ids: list | None = None,
) -> dict:
    """Restore trash entries (by entry id) or the latest deleted version of rows (by record
    id): all the rows or none, then their links. {"restored": [record ids], "linksSkipped": n}."""
    require(actor, "records.restore", table)
    wanted = ids if ids is not None else record_ids
    if not isinstance(wanted, list) or not wanted:
        raise InvalidInput(
            "Send `ids` (trash entries) or `recordIds` to restore.", code="INVALID_BODY"
        )
    if len(wanted) > MAX_RESTORE:
        raise InvalidInput(
            f"Restore at most {MAX_RESTORE} rows at a time.", code="INVALID_BODY"
        )
    live = _live(table)
    if ids is not None:
        try:
            numbers = [int(i) for i in ids]
        except (TypeError, ValueError):
            raise InvalidInput("`ids` are trash entry numbers.", code="INVALID_BODY")
        entries = list(live.filter(id__in=numbers).order_by("id"))
        if len(entries) != len(set(numbers)):
            raise NotFound(
                "Some of these deleted rows are not in the trash (restored already, or "
                "kept no longer).",
                code="TRASH_ENTRY_NOT_FOUND",
            )
    else:
        latest: dict[str, DeletedRow] = {}
        for e in live.filter(record_id__in=[str(r) for r in record_ids]).order_by("id"):
            latest[e.record_id] = e
        missing = [str(r) for r in record_ids if str(r) not in latest]
        if missing:
            raise NotFound(
                f"Row {', '.join(missing[:5])} is not in the trash.",
                code="TRASH_ENTRY_NOT_FOUND",
            )
        entries = list(latest.values())
    by_record: dict[str, DeletedRow] = {}
    for e in entries:
        if e.record_id in by_record:
            raise Conflict(
                f"Row {e.record_id} was deleted twice; restore one of its entries.",
                code="RESTORE_CONFLICT",
            )
        by_record[e.record_id] = e
    full = TableMeta.unrestricted(table)
    full.require_pk()
    keys = [full.parse_record_id(e.record_id) for e in entries]
    taken = records.rows_by_key(table, keys, meta=full)
    if taken:
        names = ", ".join(str(full.record_id(k)) for k, _, _ in taken[:5])
        raise Conflict(
            f"Cannot restore: the id of row {names} is used by another row now.",
            code="RESTORE_CONFLICT",
        )
    from records.writes import insert_rows

    insert_rows(
        table, [e.values for e in entries], actor=actor, max_rows=None, restore=True
    )
    DeletedRow.objects.filter(id__in=[e.id for e in entries]).delete()
    skipped = sum(_relink(actor, table, full, e) for e in entries)
    return {"restored": [e.record_id for e in entries], "linksSkipped": skipped}


def _relink(actor: Actor, table: Table, full: TableMeta, entry: DeletedRow) -> int:
    """Re-create one restored row's has-many / many-to-many links to rows that still
    exist; how many could not be."""
    from records.links import link_records

    skipped = 0
    for fid, targets in (entry.links or {}).items():
        link = full.internal.by_id.get(fid)
        if (
            link is None
            or link.related_table is None
            or not field_type_for(link).is_link
        ):
            skipped += len(targets)
            continue
        related = TableMeta.unrestricted(link.related_table)
        found = records.rows_by_key(
            link.related_table,
            [related.parse_record_id(t) for t in targets],
            meta=related,
        )
        usable = []
        fk = related.internal.by_column.get((link.options or {}).get("fk_column"))
        for key, row, _ in found:
            # A has-many child linked to another row since stays with that row.
            if link.options.get("relation") == "hm" and fk is not None:
                if row.get(fk.title) not in (None, ""):
                    current = str(row.get(fk.title))
                    if current != entry.record_id:
                        continue
            usable.append(str(related.record_id(key)))
        skipped += len(targets) - len(usable)
        if not usable:
            continue
        try:
            link_records(table, link, entry.record_id, usable, actor=actor)
        except DomainError as exc:
            log.info("trash: links of %s not restored: %s", entry.record_id, exc)
            skipped += len(usable)
    return skipped


# --------------------------------------------------------------------------------------------
# Retention


def prune_trash(*, days: int | None = None) -> int:
    """Forget deleted rows older than `days` (NOCO_TRASH_DAYS; 0 keeps them): how many."""
    days = settings.NOCO_TRASH_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = DeletedRow.objects.filter(deleted_at__lt=cutoff).delete()
    return deleted
