"""Link cells of the rows bases/records.py reads: belongs-to links come from the page's own
SELECT (`select.linked_columns`) as `{key, primary value}`; has-many and many-to-many links
as a count, one query per link field."""

from __future__ import annotations

from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.query import select
from bases.query.dialects import Dialect
from bases.query.dialects import dialect_for as dialect_for_conn
from bases.table_meta import TableMeta
from permissions.checks import Actor


def belongs_to(
    meta: TableMeta, links: list[Field], actor: Actor
) -> dict[Field, tuple[Field, list[Field]]]:
    """The belongs-to links among `links`, each with its foreign key and the linked table's
    columns to show: the referenced key and the primary value, as *this actor* sees them."""
    out = {}
    for link in links:
        o = link.options
        if o.get("relation") != "bt":
            continue
        fk = meta.internal.by_column.get(o.get("fk_column"))
        rel_all = related_meta(meta, link.related_table)
        ref = rel_all.internal.by_column.get(o.get("ref_column"))
        if fk is None or ref is None:
            out[link] = (fk, [])
            continue
        pv = rel_all.for_actor(actor).pv
        out[link] = (fk, [ref] + ([pv] if pv is not None and pv != ref else []))
    return out


def as_dicts(
    d: Dialect,
    fields: list[Field],
    raw_rows: list,
    belongs_to: dict[Field, tuple[Field, list[Field]]],
) -> list[dict]:
    """Rows as dicts, with the belongs-to subqueries' trailing columns folded into their link
    cells: `{key, primary value}`, or None when the row links nowhere (or to a missing row)."""
    n = len(fields)
    if not any(cols for _, cols in belongs_to.values()):
        rows = d.rows_as_dicts(fields, raw_rows)
        for link in belongs_to:
            for row in rows:
                row[link.title] = None
        return rows
    rows = d.rows_as_dicts(fields, [raw[:n] for raw in raw_rows])
    for row, raw in zip(rows, raw_rows, strict=True):
        i = n
        for link, (_, cols) in belongs_to.items():
            values = raw[i : i + len(cols)]
            i += len(cols)
            row[link.title] = (
                {c.title: d.from_db(c, v) for c, v in zip(cols, values, strict=True)}
                if cols and values[0] is not None
                else None
            )
    return rows


def load_links(
    conn,
    d: Dialect,
    meta: TableMeta,
    links: list[Field],
    rows: list[dict],
    actor: Actor,
) -> None:
    """Fill has-many / many-to-many link cells for a page with a count (as NocoDB's v2 API does):
    one query per link field. Belongs-to links are read by the page's own SELECT
    (`select.linked_columns`)."""
    by_column = meta.internal.by_column
    for link in links:
        o = link.options
        related = link.related_table
        ref = by_column.get(o.get("ref_column"))
        keys = sorted(
            {r.get(ref.title) for r in rows if ref and r.get(ref.title) is not None},
            key=str,
        )
        counts = {}
        if keys:
            if o.get("relation") == "hm":
                src_table, src_col = related.table_name, o.get("fk_column")
            else:
                junction = Table.objects.filter(pk=o.get("junction_table_id")).first()
                src_table, src_col = (
                    (junction.table_name if junction else None),
                    o.get("self_column"),
                )
            if src_table:
                with conn.cursor() as cur:
                    cur.execute(*select.link_counts(d, src_table, src_col, keys))
                    counts = dict(cur.fetchall())
        for r in rows:
            r[link.title] = int(counts.get(r.get(ref.title), 0)) if ref else 0


def load_labels(
    conn,
    d: Dialect,
    meta: TableMeta,
    links: list[Field],
    rows: list[dict],
    actor: Actor,
    per_key: int,
) -> dict[Field, list[tuple]]:
    """The display values of the first `per_key` records each row's has-many / many-to-many
    link reaches, as this actor sees them. One query per
    link field for the whole page (`select.linked_labels`), never one per row. A linked table
    whose display value is hidden from the actor gives no labels (its count still shows).
    Answers {link: [the labels of rows[0], of rows[1], …]}."""
    by_column = meta.internal.by_column
    out: dict[Field, list[tuple]] = {}
    for link in links:
        o = link.options
        ref = by_column.get(o.get("ref_column"))
        related = related_meta(meta, link.related_table)
        pv = related.for_actor(actor).pv
        if ref is None or pv is None or not pv.column_name:
            continue
        keys = sorted(
            {r.get(ref.title) for r in rows if r.get(ref.title) is not None}, key=str
        )
        if not keys:
            continue
        order = related.pk[0] if len(related.pk) == 1 else pv
        if o.get("relation") == "hm":
            statement = select.linked_labels(
                d,
                link.related_table.table_name,
                o.get("fk_column"),
                pv.column_name,
                order.column_name,
                keys,
                per_key,
            )
        else:
            junction = Table.objects.filter(pk=o.get("junction_table_id")).first()
            other_ref = o.get("other_ref_column")
            if junction is None or not other_ref:
                continue
            statement = select.linked_labels(
                d,
                link.related_table.table_name,
                "",
                pv.column_name,
                order.column_name,
                keys,
                per_key,
                junction=(
                    junction.table_name,
                    o.get("self_column"),
                    o.get("other_column"),
                    other_ref,
                ),
            )
        ftype = field_type_for(pv)
        labels: dict = {}
        with conn.cursor() as cur:
            cur.execute(*statement)
            for key, value in cur.fetchall():
                text = ftype.edit_text(pv, d.from_db(pv, value))
                labels.setdefault(key, []).append(text)
        # Keyed as load_links' counts are: by the value of the row's own key column.
        out[link] = [tuple(labels.get(r.get(ref.title), ())) for r in rows]
    return out


def related_meta(meta: TableMeta, related: Table) -> TableMeta:
    """The linked table's metadata. Links stay within one data source, whose version this
    request has already checked, so a cached copy of that version needs no second query."""
    from bases import metacache

    if related.source_id == meta.table.source_id:
        cached = metacache.cached(related.pk, meta.table.source.meta_version)
        if cached is not None:
            return cached._table_meta
    return TableMeta.unrestricted(related)


def linked_keys(table: Table, keys: list[list]) -> dict[str, dict[str, list]]:
    """What the has-many and many-to-many links of the rows with these primary keys point at:
    {record id: {link field id: [related record ids]}}, one query per link field. Links whose
    own side is not the table's one-column primary key are left out (the deleted rows' trash,
    history/trash.py, keeps what it can restore)."""
    from bases.sources import user_db

    meta = TableMeta.unrestricted(table)
    if len(meta.pk) != 1 or not keys:
        return {}
    pk = meta.pk[0]
    out: dict[str, dict[str, list]] = {}
    links = [
        f
        for f in meta.all_fields
        if f.related_table_id
        and (f.options or {}).get("relation") in ("hm", "mm")
        and (f.options or {}).get("ref_column") == pk.column_name
    ]
    if not links:
        return {}
    with user_db(table.source) as conn:
        d = dialect_for_conn(conn)
        values = [d.to_db(pk, k[0]) for k in keys]
        for link in links:
            o = link.options
            related = TableMeta.unrestricted(link.related_table)
            if len(related.pk) != 1:
                continue
            if o.get("relation") == "hm":
                source, column = link.related_table.table_name, o.get("fk_column")
                target = related.pk[0].column_name
            else:
                if o.get("other_ref_column") != related.pk[0].column_name:
                    continue
                junction = Table.objects.filter(pk=o.get("junction_table_id")).first()
                if junction is None:
                    continue
                source, column = junction.table_name, o.get("self_column")
                target = o.get("other_column")
            with conn.cursor() as cur:
                cur.execute(*select.link_pairs(d, source, column, target, values))
                for own, other in cur.fetchall():
                    out.setdefault(str(own), {}).setdefault(link.id, []).append(
                        str(other)
                    )
    return out
