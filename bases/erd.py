"""A base's tables and links as a diagram (the ERD page, docs/erd.md).

`diagram(base, actor)` gives the tables the actor may see, each with the fields they may see
(primary and foreign keys marked, the field type's icon and label), and one edge per
relationship between two of those tables: a belongs-to/has-many pair is one edge (child → parent,
"many to one"), a many-to-many link one edge through its junction table, which is not drawn.
The page lays it out in the browser (static/js/erd.js, with the dagre layout library).
"""

from __future__ import annotations

from bases.fieldtypes import field_type_for
from bases.models import Base
from bases.table_meta import TableMeta
from permissions.checks import Actor, visible_tables

# A box lists this many fields, then "+ N more" (the table's page has them all).
MAX_FIELDS_SHOWN = 12


def diagram(base: Base, *, actor: Actor) -> dict:
    tables = visible_tables(
        actor,
        base.tables.filter(is_junction=False)
        .select_related("source")
        .order_by("order", "title"),
    )
    shown = {t.pk for t in tables}
    boxes, edges, seen = [], [], set()
    for table in tables:
        meta = TableMeta.of(table, actor=actor)
        fields = []
        for f in meta.fields:
            ftype = field_type_for(f)
            fields.append(
                {
                    "title": f.title,
                    "type": ftype.label,
                    "icon": ftype.icon,
                    "pk": f.is_pk,
                    "fk": bool(ftype.holds_key),
                    "link": bool(ftype.is_link),
                }
            )
            if not ftype.is_link or f.related_table_id not in shown:
                continue
            relation = f.options.get("relation")
            if relation == "mm":
                pair = tuple(sorted([table.pk, f.related_table_id]))
                key = ("mm", *pair, f.options.get("junction_table_id"))
                child, parent, kind = table.pk, f.related_table_id, "many to many"
            else:
                child, parent = (
                    (table.pk, f.related_table_id)
                    if relation == "bt"
                    else (f.related_table_id, table.pk)
                )
                key = (child, parent, f.options.get("fk_column"))
                kind = "many to one"
            if key in seen:
                continue
            seen.add(key)
            edges.append({"from": child, "to": parent, "kind": kind, "title": f.title})
        boxes.append(
            {
                "id": table.pk,
                "title": table.title,
                "view": table.kind == "view",
                "fields": fields[:MAX_FIELDS_SHOWN],
                "more": max(len(fields) - MAX_FIELDS_SHOWN, 0),
            }
        )
    return {"tables": boxes, "links": edges}
