"""Linking and unlinking records (belongs-to, has-many, many-to-many) as an actor, in one
transaction on the user database, with one RecordsChanged (op `link` or `unlink`)."""

from __future__ import annotations

from django.conf import settings

from bases import schema_guard
from bases.models import Field, Table
from bases.query import dml
from bases.query.dialects import dialect_for
from bases.records import TableMeta
from bases.sources import user_db
from nocoplatform.errors import Forbidden, InvalidInput, NotFound
from permissions.checks import Actor, require
from records import dispatch, inputs


def _link_targets(related_meta: TableMeta, body) -> list:
    items, _ = inputs.as_list(body, "linked record", settings.NOCO_MAX_PAGE_SIZE)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            out.append(inputs.pk_values(related_meta, item, i)[0])
        else:
            out.append(related_meta.parse_record_id(item)[0])
    return out


def link_records(
    table: Table, link: Field, record_id, body, *, actor: Actor, unlink: bool = False
) -> int:
    """Link (or unlink) records of the related table to one record as `actor`; returns how
    many. The link field must be visible and writable for them, the related table visible."""
    source, meta = inputs.writable(table, actor, "records.update")
    if link.id not in meta.resolve.by_id:
        raise NotFound("Link field not found.", code="FIELD_NOT_FOUND")
    if link.id in meta.read_only:
        raise Forbidden(f"'{link.title}' is read-only for you.", code="FIELD_READ_ONLY")
    related = link.related_table
    related_meta = TableMeta.of(related, actor=actor)
    if link.options.get("relation") == "hm":
        # Has-many links are stored in the related table's rows: the actor must be allowed
        # to change those too (a table override may make it read-only for them).
        require(actor, "records.update", related)
    related_meta.require_pk()
    o = link.options
    this_pk = meta.parse_record_id(record_id)
    targets = _link_targets(related_meta, body)
    op = "unlink" if unlink else "link"
    prepared = dispatch.prepare(table, op, [this_pk])
    with (
        user_db(source) as conn,
        schema_guard.guarded_write(conn, table, meta.all_fields),
    ):
        d = dialect_for(conn)
        with inputs.write_transaction(conn), conn.cursor() as cur:
            this_ref = _ref_value(
                cur,
                d,
                meta,
                this_pk,
                o.get("fk_column")
                if o.get("relation") == "bt"
                else o.get("ref_column"),
            )
            rel_pk = related_meta.pk[0]
            for t in targets:
                _require_row(cur, d, related_meta, [t])
            relation = o.get("relation")
            if relation == "bt":
                if len(targets) > 1:
                    raise InvalidInput(
                        "A belongs-to link holds one record.", code="INVALID_BODY"
                    )
                target = targets[0]
                ref_val = _ref_value(
                    cur, d, related_meta, [target], o.get("ref_column")
                )
                new = None if unlink else ref_val
                if unlink and this_ref != ref_val:
                    return 0
                cur.execute(
                    dml.set_column_by_key(d, table.table_name, o["fk_column"], meta.pk),
                    [
                        new,
                        *[d.to_db(f, v) for f, v in zip(meta.pk, this_pk, strict=True)],
                    ],
                )
            elif relation == "hm":
                statement = dml.set_column(
                    d,
                    related.table_name,
                    o["fk_column"],
                    rel_pk.column_name,
                    len(targets),
                    only_if=unlink,
                )
                cur.execute(
                    statement,
                    [*targets, this_ref] if unlink else [this_ref, *targets],
                )
            else:
                junction = Table.objects.get(pk=o["junction_table_id"])
                other_refs = [
                    _ref_value(cur, d, related_meta, [t], o.get("other_ref_column"))
                    for t in targets
                ]
                names = (junction.table_name, o["self_column"], o["other_column"])
                for other in other_refs:
                    cur.execute(dml.junction_delete(d, *names), [this_ref, other])
                    if not unlink:
                        cur.execute(dml.junction_insert(d, *names), [this_ref, other])
            inputs.emit(
                table,
                op,
                [this_pk],
                actor=actor,
                meta=meta,
                conn=conn,
                fields=(link.id,),
                link=link,
                related=related_meta,
                targets=tuple(targets),
                prepared=prepared,
            )
    return len(targets)


def _require_row(cur, d, meta: TableMeta, pk_values: list) -> None:
    cur.execute(
        dml.select_by_key(d, meta.table.table_name, ["1"], meta.pk),
        [d.to_db(f, v) for f, v in zip(meta.pk, pk_values, strict=True)],
    )
    if cur.fetchone() is None:
        raise NotFound(
            f"Record {meta.record_id(pk_values)} of '{meta.table.title}' not found.",
            code="RECORD_NOT_FOUND",
        )


def _ref_value(cur, d, meta: TableMeta, pk_values: list, column: str | None):
    cur.execute(
        dml.select_by_key(d, meta.table.table_name, [d.quote(column)], meta.pk),
        [d.to_db(f, v) for f, v in zip(meta.pk, pk_values, strict=True)],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(
            f"Record {meta.record_id(pk_values)} of '{meta.table.title}' not found.",
            code="RECORD_NOT_FOUND",
        )
    return row[0]
