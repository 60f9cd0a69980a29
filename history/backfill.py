"""A new CreatedTime, LastModifiedTime, CreatedBy or LastModifiedBy column, filled from the
record history (docs/fields.md, "Filled from the record history").

The record services stamp these columns on every write from the moment the field exists
(records.inputs.stamps); the rows written before then through the platform have history
entries that say who wrote them and when. Added as a new column (built-in store or external
database), such a field gets those values:

- CreatedTime / CreatedBy: the row's insert entry (the latest one: a row restored from the
  trash, or an id used again, counts from its last insert);
- LastModifiedTime / LastModifiedBy: its latest insert or update entry (link and unlink
  entries are not modifications; updates that changed nothing left no entry);
- a row whose latest entry is a delete (the id now belongs to a row written outside the
  platform) and rows without entries keep NULL, as do entries by a public form or share
  visitor, or by a user since deleted, for the "by" fields.

Set-based and bounded: the history is read a chunk of record ids at a time, TWO meta-DB queries
per chunk through the ORM (the latest entries' ids grouped by record id on the history's
(table, record id) index, then those entries), and written with a few UPDATEs per chunk through the dialect (bases/query/dml.py:
rows sharing a value in one `SET c = %s`, else one CASE — on PostgreSQL a join to arrays of
keys and values), each under the source's statement timeout. Only columns still NULL are set, so a write made while this runs keeps its own
value. These UPDATEs are not record writes: no history entry, webhook or realtime row event;
one schema notice at the end lets open grids reload.

The first chunk runs when the field's creation commits (a table whose history names at most
CHUNK rows is complete before the response); the rest runs in the background
(history/tasks.py), and until it reaches a row, the row reads NULL. Running it again
(`manage.py fill_kept_field`) is harmless: filled columns are not NULL any more. While the
background part runs, a thread of its process refreshes its note's heartbeat
(nocoplatform/heartbeat.py), so one slow chunk (a statement near its timeout) does not make a
live fill look stalled to `resume_stalled`, which would start a second one beside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.query import dml
from bases.query.dialects import dialect_for
from bases.sources import user_db
from bases.table_meta import TableMeta
from history.models import KeptFieldFill, RecordChange
from nocoplatform.errors import InvalidInput, NotFound
from nocoplatform.heartbeat import beating
from records import bulk as pg_bulk
from records import meta_events

log = logging.getLogger(__name__)

CHUNK = 1000  # record ids per history read, and at most that many rows per UPDATE


@dataclass
class Progress:
    filled: int = 0  # rows whose column was set
    after: str | None = None  # the last record id read; the next chunk starts after it
    done: bool = False


def kept_column(field: Field | None) -> bool:
    """A field the record services stamp, with a column of its own."""
    return (
        field is not None
        and bool(field.column_name)
        and bool(field_type_for(field).stamped_on)
    )


def column_added(field_id) -> None:
    """The meta_events subscriber (history/apps.py): the first chunk now, the rest queued."""
    field = Field.objects.select_related("table__source").filter(pk=field_id).first()
    if not kept_column(field):
        return
    # Noted before the first chunk: a process that dies during it (the field committed, its
    # column empty) leaves a fill the recovery sweep continues from the start.
    marker = KeptFieldFill.objects.filter(field_id=field.pk)
    KeptFieldFill.objects.update_or_create(
        field=field, defaults={"after": "", "heartbeat_at": timezone.now()}
    )
    progress = fill(field, chunks=1)  # one chunk: well inside NOCO_JOB_STALE_SECONDS
    if not progress.done:
        from history import tasks

        marker.update(after=progress.after or "", heartbeat_at=timezone.now())
        tasks.start_fill(field.pk, progress.after)
        return
    marker.delete()
    if progress.filled:
        meta_events.schema_changed(field.table_id)


def run(field_id, after: str | None = None) -> Progress:
    """The rest of a field's fill, from the record id after `after` (the background job)."""
    field = Field.objects.select_related("table__source").filter(pk=field_id).first()
    marker = KeptFieldFill.objects.filter(field_id=field_id)
    if not kept_column(field):  # deleted (or retyped) meanwhile
        marker.delete()
        return Progress(done=True)
    started = time.monotonic()

    def reached(progress: Progress) -> None:  # where a stalled fill continues from
        marker.update(after=progress.after or "", heartbeat_at=timezone.now())

    def beat() -> None:  # alive, even in a chunk slower than NOCO_JOB_STALE_SECONDS
        KeptFieldFill.objects.filter(field_id=field_id).update(
            heartbeat_at=timezone.now()
        )

    with beating(beat, name=f"heartbeat-fill-{field_id}"):
        progress = fill(field, after=after, on_chunk=reached)
    marker.delete()
    log.info(
        "history: %s rows of field %s filled from the record history in %.1f s",
        progress.filled,
        field.pk,
        time.monotonic() - started,
    )
    meta_events.schema_changed(field.table_id)
    return progress


RESUMES = (
    3  # a fill that stalls more often than this is left to `manage.py fill_kept_field`
)


def resume_stalled(*, dispatch: bool = True) -> int:
    """Continue the fills whose process ended (no heartbeat for NOCO_JOB_STALE_SECONDS: a
    running fill's thread refreshes it, nocoplatform/heartbeat.py): each is
    taken over by one conditional UPDATE (two sweepers never both continue it) and started
    again from its last chunk. `dispatch=False` (a command with the embedded runner, whose
    threads would die with it) leaves them to the web process's sweep. How many it started."""
    if not dispatch:
        return 0
    from history import tasks

    cutoff = timezone.now() - timedelta(seconds=float(settings.NOCO_JOB_STALE_SECONDS))
    started = 0
    stale = KeptFieldFill.objects.filter(heartbeat_at__lt=cutoff)
    for fill_row in list(stale):
        claimed = KeptFieldFill.objects.filter(
            pk=fill_row.pk, heartbeat_at__lt=cutoff
        ).update(heartbeat_at=timezone.now(), resumed=F("resumed") + 1)
        if not claimed:
            continue
        if fill_row.resumed >= RESUMES:
            log.error(
                "history: the fill of field %s stalled %s times; run "
                "`manage.py fill_kept_field %s` to finish it",
                fill_row.field_id,
                fill_row.resumed + 1,
                fill_row.field_id,
            )
            KeptFieldFill.objects.filter(pk=fill_row.pk).delete()
            continue
        log.warning(
            "history: continuing the fill of field %s after record %r",
            fill_row.field_id,
            fill_row.after,
        )
        tasks.start_fill(fill_row.field_id, fill_row.after or None)
        started += 1
    return started


def fill(
    field: Field,
    *,
    after: str | None = None,
    chunks: int | None = None,
    on_chunk: Callable[[Progress], None] | None = None,
) -> Progress:
    """Fill `field`'s NULL cells from the history, CHUNK record ids at a time; stop after
    `chunks` chunks (None: to the end). `on_chunk` hears of each chunk written."""
    table = field.table
    meta = TableMeta.unrestricted(table)
    pk = meta.pk
    progress = Progress(after=after)
    if not pk:
        progress.done = True
        return progress
    ftype = field_type_for(field)
    created = ftype.stamped_on == "insert"
    count = 0
    while chunks is None or count < chunks:
        count += 1
        lines = _history_chunk(table.pk, progress.after, CHUNK)
        if not lines:
            progress.done = True
            break
        progress.after = lines[-1][0]
        groups: dict = {}
        for record_id, c_user, c_at, m_user, m_at in lines:
            user_id, at = (c_user, c_at) if created else (m_user, m_at)
            if at is None:  # no such entry, or the row was deleted after it
                continue
            value = ftype.stamp(
                now=at, user_id=None if user_id is None else str(user_id)
            )
            if value is None:
                continue
            try:
                key = meta.parse_record_id(record_id)
            except (InvalidInput, NotFound):  # an id the key's type no longer reads
                continue
            groups.setdefault(value, []).append(key)
        if groups:
            progress.filled += _write(table, field, pk, groups)
        if on_chunk is not None:
            on_chunk(progress)
        if len(lines) < CHUNK:
            progress.done = True
            break
    return progress


def _history_chunk(table_id, after: str | None, limit: int) -> list[tuple]:
    """(record id, insert's user id, insert's time, last modification's user id, its time)
    for the next `limit` record ids of the table after `after`, in record id order; the
    entries' columns are None where there is none, or a delete came after it.

    Two meta-DB queries whatever the chunk's size: per record id the ids of its latest
    insert, insert-or-update and delete entries; then those entries' authors and times."""
    kinds = RecordChange.Kind
    entries = RecordChange.objects.filter(
        table_id=table_id, kind__in=[kinds.INSERT, kinds.UPDATE, kinds.DELETE]
    )
    if after is not None:
        entries = entries.filter(record_id__gt=after)
    latest = list(
        entries.values("record_id")
        .annotate(
            created=Max("id", filter=Q(kind=kinds.INSERT)),
            modified=Max("id", filter=Q(kind__in=[kinds.INSERT, kinds.UPDATE])),
            deleted=Max("id", filter=Q(kind=kinds.DELETE)),
        )
        .order_by("record_id")[:limit]
    )

    def live(
        entry_id, deleted
    ):  # an entry before the row's latest delete is not its own
        return (
            entry_id if entry_id and (deleted is None or entry_id > deleted) else None
        )

    wanted = {
        e
        for g in latest
        for e in (live(g["created"], g["deleted"]), live(g["modified"], g["deleted"]))
        if e
    }
    found = {
        pk: (user_id, at)
        for pk, user_id, at in RecordChange.objects.filter(pk__in=wanted).values_list(
            "id", "user_id", "created_at"
        )
    }
    none = (None, None)
    return [
        (
            g["record_id"],
            *found.get(live(g["created"], g["deleted"]), none),
            *found.get(live(g["modified"], g["deleted"]), none),
        )
        for g in latest
    ]


def _write(table, field: Field, pk: list[Field], groups: dict) -> int:
    """One chunk's values into the user table: as few UPDATEs as the database's limit of
    bound parameters allows (one, usually). Autocommit: each statement stands alone."""
    filled = 0
    with user_db(table.source) as conn:
        d = dialect_for(conn)
        per_statement = _rows_per_statement(d, len(pk))
        batch: dict = {}
        size = 0
        statements = []
        for value, keys in groups.items():
            for key in keys:
                batch.setdefault(value, []).append(key)
                size += 1
                if size == per_statement:
                    statements.append(batch)
                    batch, size = {}, 0
        if batch:
            statements.append(batch)
        unnest = (
            d.typed_bulk_insert
            and len(groups) > 1
            and all(f.db_type and pg_bulk.scalar_column(f) for f in [*pk, field])
        )
        with conn.cursor() as cur:
            for part in statements:
                done = (
                    _write_unnest(conn, d, table, field, pk, part) if unnest else None
                )
                if done is None:
                    cur.execute(*dml.fill_nulls(d, table.table_name, field, pk, part))
                    done = max(cur.rowcount, 0)
                filled += done
    return filled


def _write_unnest(conn, d, table, field: Field, pk: list[Field], part: dict):
    """PostgreSQL, rows with values of their own: one UPDATE joined to arrays of keys and
    values (bases/query/dml.fill_nulls_unnest), sent in psycopg's binary format. None when
    psycopg cannot send a column as one array: the caller writes the CASE form instead."""
    pairs = [(key, value) for value, keys in part.items() for key in keys]
    columns = [[d.to_db(f, key[i]) for key, _ in pairs] for i, f in enumerate(pk)] + [
        [d.to_db(field, value) for _, value in pairs]
    ]
    try:
        with transaction.atomic(using=conn.alias):
            raw = conn.connection.cursor()
            try:
                raw.execute(
                    dml.fill_nulls_unnest(d, table.table_name, field, pk), columns
                )
                return max(raw.rowcount, 0)
            finally:
                raw.close()
    except (DatabaseError, psycopg.Error):
        return None  # the savepoint has been rolled back


def _rows_per_statement(d, key_columns: int) -> int:
    """Rows one fill_nulls statement may name: each key is bound twice (its CASE branch and
    the WHERE), plus a value per row at most."""
    return max(1, min(CHUNK, (d.parameter_limit() - 1) // (2 * key_columns + 1)))
