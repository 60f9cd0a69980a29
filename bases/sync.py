"""Meta sync: compare a data source's live schema with its metadata, show the diff, apply it.

Applying keeps what users set on whatever survived (titles, descriptions, field types chosen at
the meta level, select colours, order), renames where a rename can be inferred (one column gone
and one of the same type added in the same table; a table gone and one with the same columns
added), and rebuilds link fields from the foreign keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from bases import fieldtypes as ft
from bases.fieldtypes import field_type_for
from bases.introspection import ColumnInfo, TableInfo, introspect, junction_columns
from bases.models import DataSource, Field, Table
from permissions import authcache
from records import meta_events


@dataclass
class Change:
    kind: (
        str  # table_added, table_removed, table_renamed, column_added, column_removed,
    )
    # column_renamed, column_retyped, link_added, link_removed
    table: str
    column: str = ""
    detail: str = ""

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.kind.replace('_', ' ')}: {where}" + (
            f" ({self.detail})" if self.detail else ""
        )


def read_schema(source: DataSource) -> list[TableInfo]:
    from bases.sources import source_alias

    alias = source_alias(source)
    return introspect(alias)


def diff(source: DataSource, snapshot: list[TableInfo] | None = None) -> list[Change]:
    snapshot = read_schema(source) if snapshot is None else snapshot
    plan = _plan(source, snapshot)
    return plan.changes


def sync(source: DataSource, snapshot: list[TableInfo] | None = None) -> list[Change]:
    """Apply the live schema to the metadata; return what changed."""
    snapshot = read_schema(source) if snapshot is None else snapshot
    with transaction.atomic():
        plan = _plan(source, snapshot)
        plan.apply()
        if any(c.kind == "table_added" for c in plan.changes):
            from permissions import object_perms

            object_perms.sync_base(source.base_id)  # members' rights on the new tables
        DataSource.objects.filter(pk=source.pk).update(
            meta_version=F("meta_version") + 1, last_synced_at=timezone.now()
        )
        authcache.forget_on_commit()  # as schema_services._bump
    source.refresh_from_db(fields=["meta_version", "last_synced_at"])
    return plan.changes


class _Plan:
    def __init__(self, source: DataSource, snapshot: list[TableInfo]):
        self.source = source
        self.snapshot = {t.name: t for t in snapshot}
        self.tables = {t.table_name: t for t in source.tables.all()}
        self.fields = {}
        for field in Field.objects.filter(table__source=source).select_related("table"):
            self.fields.setdefault(field.table.table_name, []).append(field)
        self.changes: list[Change] = []
        self.table_renames: dict[str, str] = {}  # old name -> new name
        self._diff_tables()

    # --- diff ---------------------------------------------------------------------------
    def _diff_tables(self) -> None:
        removed = [n for n in self.tables if n not in self.snapshot]
        added = [n for n in self.snapshot if n not in self.tables]
        for old in list(removed):
            old_cols = {
                f.column_name for f in self.fields.get(old, []) if f.column_name
            }
            same = [
                n
                for n in added
                if {c.name for c in self.snapshot[n].columns} == old_cols
            ]
            if len(same) == 1:
                self.table_renames[old] = same[0]
                removed.remove(old)
                added.remove(same[0])
                self.changes.append(
                    Change("table_renamed", old, detail=f"now {same[0]}")
                )
        self.changes += [
            Change("table_added", n, detail=self.snapshot[n].kind) for n in added
        ]
        self.changes += [Change("table_removed", n) for n in removed]
        for name, info in self.snapshot.items():
            old_name = next(
                (o for o, n in self.table_renames.items() if n == name), name
            )
            if old_name in self.tables:
                self._diff_columns(info, self.fields.get(old_name, []))
        self._diff_links()

    def _diff_columns(self, info: TableInfo, fields: list[Field]) -> None:
        by_column = {f.column_name: f for f in fields if f.column_name}
        live = {c.name: c for c in info.columns}
        removed = [n for n in by_column if n not in live]
        added = [n for n in live if n not in by_column]
        self.column_renames = getattr(self, "column_renames", {})
        if len(removed) == 1 and len(added) == 1:
            old, new = removed[0], added[0]
            if by_column[old].column_type == live[new].column_type:
                self.column_renames[(info.name, old)] = new
                self.changes.append(
                    Change("column_renamed", info.name, old, f"now {new}")
                )
                removed, added = [], []
        self.changes += [
            Change("column_added", info.name, n, live[n].db_type) for n in added
        ]
        self.changes += [Change("column_removed", info.name, n) for n in removed]
        for name, col in live.items():
            field = by_column.get(name)
            if field is None:
                continue
            if field.column_type != col.column_type or field.db_type != col.db_type:
                self.changes.append(
                    Change(
                        "column_retyped",
                        info.name,
                        name,
                        f"{field.db_type or field.column_type} → {col.db_type}",
                    )
                )
            elif field.is_nullable != col.nullable or field.is_pk != col.is_pk:
                self.changes.append(
                    Change(
                        "column_retyped", info.name, name, "nullability or key changed"
                    )
                )

    def _desired_links(self) -> dict[tuple, dict]:
        """Every link field the foreign keys call for, keyed by what identifies it."""
        links: dict[tuple, dict] = {}
        junctions = {}
        for info in self.snapshot.values():
            pair = junction_columns(info)
            if pair:
                junctions[info.name] = pair
        for info in self.snapshot.values():
            for fk in info.foreign_keys:
                if fk.ref_table not in self.snapshot:
                    continue
                if info.name not in junctions:
                    links[("bt", info.name, fk.column)] = {
                        "table": info.name,
                        "relation": "bt",
                        "related": fk.ref_table,
                        "fk_column": fk.column,
                        "ref_column": fk.ref_column,
                    }
                    links[("hm", fk.ref_table, info.name, fk.column)] = {
                        "table": fk.ref_table,
                        "relation": "hm",
                        "related": info.name,
                        "fk_column": fk.column,
                        "ref_column": fk.ref_column,
                    }
        for jname, (a, b) in junctions.items():
            for this, other in ((a, b), (b, a)):
                links[("mm", this.ref_table, jname, this.column, other.column)] = {
                    "table": this.ref_table,
                    "relation": "mm",
                    "related": other.ref_table,
                    "junction": jname,
                    "self_column": this.column,
                    "other_column": other.column,
                    "ref_column": this.ref_column,
                    "other_ref_column": other.ref_column,
                }
        return links

    def _existing_links(self) -> dict[tuple, Field]:
        out = {}
        for table_name, fields in self.fields.items():
            table_name = self.table_renames.get(table_name, table_name)
            for f in fields:
                if not field_type_for(f).is_link:
                    continue
                options = f.options
                if "related" not in options and f.related_table_id:
                    options = {**options, "related": f.related_table.table_name}
                out[_link_key(table_name, options, self.table_renames)] = f
        return out

    def _diff_links(self) -> None:
        self.desired_links = self._desired_links()
        self.existing_links = self._existing_links()
        for key, link in self.desired_links.items():
            if key not in self.existing_links:
                self.changes.append(
                    Change(
                        "link_added",
                        link["table"],
                        detail=f"{link['relation']} {link['related']}",
                    )
                )
        for key, field in self.existing_links.items():
            if key not in self.desired_links:
                self.changes.append(Change("link_removed", key[1], field.title))

    # --- apply --------------------------------------------------------------------------
    def apply(self) -> None:
        renames = getattr(self, "column_renames", {})
        for old, new in self.table_renames.items():
            table = self.tables.pop(old)
            if table.title == old:
                table.title = new
            table.table_name = new
            table.save(update_fields=["table_name", "title", "updated_at"])
            self.tables[new] = table
            self.fields[new] = self.fields.pop(old, [])
        for name in [n for n in self.tables if n not in self.snapshot]:
            table = self.tables.pop(name)
            _removing_table(table)
            table.delete()
        next_order = max((t.order for t in self.tables.values()), default=0) + 1
        junction_names = {
            link["junction"]
            for link in self._desired_links().values()
            if link["relation"] == "mm"
        }
        for name, info in self.snapshot.items():
            table = self.tables.get(name)
            if table is None:
                table = Table.objects.create(
                    base_id=self.source.base_id,
                    source=self.source,
                    table_name=name,
                    title=name,
                    order=next_order,
                )
                next_order += 1
                self.tables[name] = table
            table.kind = info.kind
            table.is_junction = name in junction_names
            table.read_only_reason = _read_only_reason(info)
            table.save(
                update_fields=["kind", "is_junction", "read_only_reason", "updated_at"]
            )
            self._apply_columns(table, info, renames)
        self._apply_links()

    def _apply_columns(self, table: Table, info: TableInfo, renames: dict) -> None:
        apply_columns(table, info, self.fields.get(table.table_name, []), renames)

    def _apply_links(self) -> None:
        for key, field in self.existing_links.items():
            if key not in self.desired_links:
                _removing_field(field, self.source.base_id)
                field.delete()
        for key, link in self.desired_links.items():
            field = self.existing_links.get(key)
            table = self.tables[link["table"]]
            related = self.tables[link["related"]]
            options = {
                k: v for k, v in link.items() if k != "table"
            }  # _link_key needs "related"
            if link["relation"] == "mm":
                options["junction_table_id"] = self.tables[link["junction"]].pk
            options["related_table_id"] = related.pk
            if field is None:
                taken = set(
                    Field.objects.filter(table=table).values_list("title", flat=True)
                )
                title = related.title if link["relation"] == "bt" else related.title
                if title in taken:
                    title = f"{related.title} ({link.get('fk_column') or link.get('junction')})"
                n = 2
                base_title = title
                while title in taken:
                    title, n = f"{base_title} {n}", n + 1
                order = (
                    Field.objects.filter(table=table)
                    .order_by("-order")
                    .values_list("order", flat=True)
                    .first()
                    or 0
                ) + 1
                field = Field(
                    table=table,
                    title=title,
                    uidt="LinkToAnotherRecord",
                    column_type="",
                    order=order,
                )
            field.options = {**field.options, **options}
            field.related_table = related
            field.save()
            meta_events.schema_changed(table.pk)


def apply_columns(
    table: Table, info: TableInfo, fields: list[Field], renames: dict | None = None
) -> dict[str, Field]:
    """Make a table's column fields match its live columns; return them by column name."""
    renames = renames or {}
    existing = {f.column_name: f for f in fields if f.column_name}
    for (tname, old), new in renames.items():
        if tname == info.name and old in existing:
            field = existing.pop(old)
            if field.title == old:
                field.title = new
            field.column_name = new
            existing[new] = field
    live = {c.name for c in info.columns}
    gone = []
    for name in [n for n in existing if n not in live]:
        field = existing.pop(name)
        _removing_field(field, table.base_id)
        gone.append(Field(id=field.id, title=field.title, uidt=field.uidt))
        field.delete()
    fk_cols = {fk.column for fk in info.foreign_keys}
    for position, col in enumerate(info.columns):
        field = existing.get(col.name)
        if field is None:
            field = Field(table=table, column_name=col.name, title=col.name)
            field.uidt = _default_uidt(col, col.name in fk_cols)
            field.options = _default_options(col)
            field.order = position
            existing[col.name] = field
        elif not _uidt_fits(field.uidt, col, col.name in fk_cols):
            field.uidt = _default_uidt(col, col.name in fk_cols)
            field.options = {**field.options, **_default_options(col)}
        elif col.enum_values:
            field.options = {
                **field.options,
                "choices": _merge_choices(
                    field.options.get("choices"), col.enum_values
                ),
            }
        field.db_type = col.db_type[:200]
        field.column_type = col.column_type
        field.is_pk = col.is_pk
        field.is_nullable = col.nullable
        field.is_auto = col.is_auto
        field.is_unique = col.is_unique
        field.default = col.default
        field.save()
    # The columns' order as seen now: bases/schema_guard.py compares it before writes (two
    # columns whose names were exchanged outside the platform exchange their places).
    order = [c.name for c in info.columns]
    if (table.meta or {}).get("columns") != order:
        table.meta = {**(table.meta or {}), "columns": order}
        table.save(update_fields=["meta"])
    if any(field_type_for(f).computed for f in fields):
        # Formulas (…) over a column dropped or retyped outside the platform follow it.
        for field in gone or [None]:
            ft.fields_changed(table, gone=field)
    meta_events.schema_changed(table.pk)
    return existing


# Fields and roles are announced where they are written (records/meta_events.py): the sockets
# of a table reload its shape, those of a base re-check their rights once the meta DB commits.


def _removing_field(field: Field, base_id) -> None:
    """Before `field` is deleted: its table changes shape; a field rule on it goes too, and so
    do the lookups, rollups and counts that read it (as NocoDB deletes them with their link)."""
    from bases.lookup_services import remove_dependants
    from permissions.models import FieldRule

    meta_events.schema_changed(field.table_id)
    remove_dependants([field.id])
    if FieldRule.objects.filter(field=field).exists():
        meta_events.access_changed(base_id)


def _removing_table(table: Table) -> None:
    """Before `table` is deleted with its fields, table roles and field rules (and the
    lookups, rollups and counts elsewhere that read its fields or links into it)."""
    from bases.lookup_services import remove_dependants
    from permissions.models import FieldRule, TableRole

    meta_events.schema_changed(table.pk)
    remove_dependants(
        Field.objects.filter(Q(table=table) | Q(related_table=table)).values_list(
            "id", flat=True
        )
    )
    if (
        TableRole.objects.filter(table=table).exists()
        or FieldRule.objects.filter(field__table=table).exists()
    ):
        meta_events.access_changed(table.base_id)


def refresh_table(table: Table, renames: dict | None = None) -> dict[str, Field]:
    """Re-read one table's columns after a schema edit (links are left as they are)."""
    from bases.sources import source_alias

    infos = introspect(source_alias(table.source), only={table.table_name})
    if not infos:
        raise LookupError(f"table {table.table_name} is gone")
    fields = list(Field.objects.filter(table=table))
    with transaction.atomic():
        result = apply_columns(
            table,
            infos[0],
            fields,
            {(table.table_name, o): n for o, n in (renames or {}).items()},
        )
        table.read_only_reason = _read_only_reason(infos[0])
        table.save(update_fields=["read_only_reason", "updated_at"])
        DataSource.objects.filter(pk=table.source_id).update(
            meta_version=F("meta_version") + 1
        )
        authcache.forget_on_commit()  # as schema_services._bump
    return result


def _link_key(table_name: str, options: dict, renames: dict) -> tuple:
    relation = options.get("relation")
    related = options.get("related", "")
    if relation == "bt":
        return ("bt", table_name, options.get("fk_column"))
    if relation == "hm":
        return (
            "hm",
            table_name,
            renames.get(related, related),
            options.get("fk_column"),
        )
    return (
        "mm",
        table_name,
        renames.get(options.get("junction"), options.get("junction")),
        options.get("self_column"),
        options.get("other_column"),
    )


def _read_only_reason(info: TableInfo) -> str:
    if info.kind == "view":
        return "database view"
    if not info.pk_columns:
        return "no primary key"
    return ""


def _default_uidt(col: ColumnInfo, is_fk: bool) -> str:
    if col.is_pk and col.is_auto:
        return "ID"
    if is_fk:
        return "ForeignKey"
    if col.enum_values:
        return "SingleSelect"
    return ft.DEFAULT_UIDT.get(col.column_type, "SpecificDBType")


def _default_options(col: ColumnInfo) -> dict:
    options = {}
    if col.enum_values:
        options["choices"] = ft.normalise_choices(col.enum_values)
        options["enum"] = True
    if col.precision is not None:
        options["precision"] = col.scale if col.scale is not None else 2
    return options


def _merge_choices(current, values: list[str]) -> list[dict]:
    colours = {c["title"]: c["color"] for c in (current or []) if isinstance(c, dict)}
    return [
        {
            "title": v,
            "color": colours.get(v) or ft.SELECT_COLOURS[i % len(ft.SELECT_COLOURS)],
        }
        for i, v in enumerate(values)
    ]


def _uidt_fits(uidt: str, col: ColumnInfo, is_fk: bool) -> bool:
    return ft.get(uidt).fits_column(col, is_fk=is_fk)


def as_dicts(changes: list[Change]) -> list[dict]:
    return [asdict(c) | {"text": str(c)} for c in changes]


_plan = _Plan
