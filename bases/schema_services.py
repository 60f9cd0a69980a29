"""Writes for tables and fields: DDL on the user database, then the metadata to match."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from django.db import DatabaseError, models, transaction
from django.db.models import F, Max

from audit.log import audited
from bases import fieldtypes as ft
from bases import schema, schema_ddl
from bases import sync as meta_sync
from bases.connections import replicas
from bases.models import Base, DataSource, Field, Table
from bases.query import select
from bases.query.dialects import dialect_for
from bases.query.identifiers import quote_identifier
from bases.sources import source_alias, user_db
from nocoplatform.errors import Conflict, Forbidden, InvalidInput
from permissions import authcache, object_perms
from permissions.checks import Actor, require
from records import meta_events


def _schema_source(actor: Actor, base: Base, operation: str) -> DataSource:
    require(actor, operation, base)
    source = base.sources.order_by("created_at").first()
    if source is None:
        raise Conflict("This base has no data source.")
    if not source.allow_schema_edit:
        raise Forbidden(
            "Schema editing is switched off for this data source (data source settings).",
            code="SCHEMA_EDIT_DISABLED",
        )
    return source


def _check_editable(table: Table) -> None:
    if not table.source.allow_schema_edit:
        raise Forbidden(
            "Schema editing is switched off for this data source.",
            code="SCHEMA_EDIT_DISABLED",
        )
    if table.kind == Table.Kind.VIEW:
        raise Forbidden(
            "A database view's columns cannot be edited.", code="TABLE_READ_ONLY"
        )
    if table.read_only_reason == "no primary key":
        raise Forbidden(
            "Tables without a primary key cannot be edited.", code="TABLE_READ_ONLY"
        )


def _bump(source: DataSource) -> None:
    DataSource.objects.filter(pk=source.pk).update(meta_version=F("meta_version") + 1)
    # This process forgets cached answers holding the old version as the change commits
    # (other processes on the meta DB's NOTIFY): GraphQL's next schema is the new one.
    authcache.forget_on_commit()
    replicas.note_schema_change(source)  # replicas may not have the new schema yet


def _clean_title(title: str, what: str = "A field") -> str:
    title = (title or "").strip()
    if not title:
        raise InvalidInput(f"{what} needs a title.")
    if len(title) > 255:
        raise InvalidInput("A title is at most 255 characters.")
    return title


# --- tables ----------------------------------------------------------------------------------


@audited(
    "table.create",
    base=lambda kw, r: r.base_id,
    target=lambda kw, r: (r.title, r.pk),
    details=lambda kw, r: {"fields": [c.get("title") for c in kw.get("columns") or []]},
)
def table_create(
    *,
    actor: Actor,
    base: Base,
    title: str,
    columns: list[dict] | None = None,
    table_name: str = "",
    before_ddl: Callable[[DataSource, str], None] | None = None,
) -> Table:
    """Create a table with an auto-numbered `id` and the given columns ({title, uidt, options}).

    `before_ddl(source, name)` hears where the table goes just before the DDL: the DDL commits on the
    user database before the metadata commits on the meta DB, and a caller that must clean
    up after a process killed in between (imports/newtable.py) notes it there."""
    source = _schema_source(actor, base, "table.create")
    title = _clean_title(title, "A table")
    if base.tables.filter(title__iexact=title).exists():
        raise Conflict(
            f"A table called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    alias = source_alias(source)
    with user_db(source) as conn:
        existing = set(conn.introspection.table_names())
        name = schema.column_name_for(table_name or title, existing)
        specs = [
            _column_spec(c, i, builtin=source.is_builtin)
            for i, c in enumerate(
                columns or [{"title": "title", "uidt": "SingleLineText"}]
            )
        ]
        taken = {"id"}
        attrs: dict = {
            "__module__": "bases.dynamic",
            "id": models.BigAutoField(primary_key=True),
        }
        for i, spec in enumerate(specs):
            spec["column_name"] = schema.column_name_for(
                spec.get("column_name") or spec["title"], taken
            )
            taken.add(spec["column_name"])
            field = schema.new_column_field(spec["uidt"], options=spec["options"])
            field.db_column = spec["column_name"]
            attrs[f"c{i}"] = field
        from django.apps.registry import Apps

        attrs["Meta"] = type(
            "Meta", (), {"app_label": "noco_dynamic", "db_table": name, "apps": Apps()}
        )
        model = type("NewTable", (models.Model,), attrs)
        if before_ddl is not None:
            before_ddl(source, name)
        try:
            with schema.editor(alias) as ed:
                ed.create_model(model)
                for spec in specs:
                    _column_ddl(
                        ed, conn, spec["uidt"], name, spec["column_name"], ["id"]
                    )
        except DatabaseError as exc:
            raise schema_ddl.ddl_error(exc)
    with transaction.atomic():
        order = (base.tables.aggregate(m=Max("order"))["m"] or 0) + 1
        table = Table.objects.create(
            base=base, source=source, table_name=name, title=title, order=order
        )
        fields = meta_sync.refresh_table(table)
        for spec in specs:
            field = fields[spec["column_name"]]
            field.title, field.uidt, field.options = (
                spec["title"],
                spec["uidt"],
                spec["options"],
            )
            field.description = spec.get("description", "")
            field.save()
        if "id" in fields:
            fields["id"].title = (
                "Id" if not any(s["title"].lower() == "id" for s in specs) else "id"
            )
            fields["id"].save()
        meta_events.schema_changed(table.pk)
        object_perms.sync_base(
            base
        )  # the members' rights on the new table, in guardian
    return table


@audited(
    "table.update",
    base=lambda kw, r: r.base_id,
    target=lambda kw, r: (r.title, r.pk),
    details=lambda kw, r: {
        "changed": [k for k in ("title", "description") if kw.get(k) is not None]
    },
)
def table_update(
    *,
    actor: Actor,
    table: Table,
    title: str | None = None,
    description: str | None = None,
) -> Table:
    require(actor, "table.update", table)
    if title is not None:
        title = _clean_title(title, "A table")
        if table.base.tables.filter(title__iexact=title).exclude(pk=table.pk).exists():
            raise Conflict(
                f"A table called '{title}' exists already.", code="DUPLICATE_TITLE"
            )
        table.title = title
    if description is not None:
        table.description = description
    table.save()
    _bump(table.source)
    return table


@audited(
    "table.delete",
    base=lambda kw, r: kw["table"].base_id,
    target=lambda kw, r: (kw["table"].title, kw["table"].pk),
)
def table_delete(*, actor: Actor, table: Table) -> None:
    require(actor, "table.delete", table)
    source = table.source
    if not source.allow_schema_edit:
        raise Forbidden(
            "Schema editing is switched off for this data source.",
            code="SCHEMA_EDIT_DISABLED",
        )
    alias = source_alias(source)
    with user_db(source) as conn:
        qn = conn.ops.quote_name
        kind = "VIEW" if table.kind == Table.Kind.VIEW else "TABLE"
        try:
            with schema.editor(alias) as ed:
                ed.execute(f"DROP {kind} {qn(table.table_name)}")
        except DatabaseError as exc:
            raise schema_ddl.ddl_error(exc)
    with user_db(source):
        meta_sync.sync(source)


def table_drop_unlisted(*, source: DataSource, table_name: str) -> bool:
    """Drop `source`'s physical table `table_name` when no metadata lists it and it holds no
    row: what a process killed between table_create's DDL and its metadata left (the
    recovery of a new-table import, imports/recovery.py). False, leaving it, when it is
    listed or holds rows (then it is not that leftover); True when it is gone."""
    if source.tables.filter(table_name=table_name).exists():
        return False
    alias = source_alias(source)
    with user_db(source) as conn:
        if table_name not in conn.introspection.table_names():
            return True
        d = dialect_for(conn)
        with conn.cursor() as cur:
            cur.execute(*select.bounded_count(d, table_name, "", [], 1))
            if cur.fetchone()[0]:
                return False
        try:
            with schema.editor(alias) as ed:
                ed.execute(
                    "DROP TABLE IF EXISTS "
                    + quote_identifier(conn.vendor, table_name, ddl=True)
                )
        except DatabaseError as exc:
            raise schema_ddl.ddl_error(exc)
    return True


# --- fields ----------------------------------------------------------------------------------


def _column_spec(data: dict, index: int = 0, *, builtin: bool) -> dict:
    if not isinstance(data, dict):
        raise InvalidInput(f"column {index + 1} must be an object")
    uidt = data.get("uidt") or "SingleLineText"
    if not ft.creatable(uidt):
        raise InvalidInput(
            f"column {index + 1}: '{uidt}' is not a type a column can be created with "
            f"({', '.join(ft.CREATABLE)}).",
            code="UNKNOWN_FIELD_TYPE",
        )
    ft.get(uidt).check_column(None, builtin=builtin, new=True)
    options = _clean_options(uidt, data.get("options") or data.get("meta") or {}, data)
    return {
        "title": _clean_title(data.get("title") or data.get("column_name") or ""),
        "uidt": uidt,
        "options": options,
        "description": str(data.get("description") or ""),
        "column_name": str(data.get("column_name") or ""),
    }


def _column_ddl(ed, conn, uidt: str, table_name: str, column: str, pk) -> None:
    """What a column of `uidt` needs once added (an AutoNumber's numbering), in `ed`'s DDL."""
    for sql, params in ft.get(uidt).column_ddl(
        dialect_for(conn), table_name, column, list(pk)
    ):
        ed.execute(sql, params)


def _clean_options(uidt: str, options: dict, data: dict) -> dict:
    if not isinstance(options, dict):
        raise InvalidInput("`options` must be an object")
    return ft.get(uidt).clean_options(options, data)


def _follow(table: Table, gone: Field | None = None) -> None:
    """After a field of `table` changed (or `gone` was deleted): computed fields that use it
    follow (formulas keep a deleted field's title and are re-checked: bases/fieldtypes)."""
    ft.fields_changed(table, gone=gone)


def _visible(actor: Actor, table: Table) -> frozenset:
    """The ids of the fields `actor` may see: a computed field's definition may use no other
    (a formula must not read a field hidden from its author)."""
    from bases.table_meta import TableMeta

    return frozenset(f.id for f in TableMeta.of(table, actor=actor).fields)


def computed_create(*, actor: Actor, table: Table, data: dict) -> Field:
    """A computed field (formula…): metadata only, no column; its definition is checked
    against the table's fields by its type (`FieldType.define`), a 400 naming the problem."""
    require(actor, "fields.create", table)
    ftype = ft.get(data.get("uidt"))
    title = _clean_title(str(data.get("title") or ""))
    if table.fields.filter(title__iexact=title).exists():
        raise Conflict(
            f"A field called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    options, column_type = ftype.define(table, data, visible=_visible(actor, table))
    with transaction.atomic():
        field = Field.objects.create(
            table=table,
            title=title,
            uidt=ftype.uidt,
            column_type=column_type,
            options=options,
            description=str(data.get("description") or ""),
            order=(table.fields.aggregate(m=Max("order"))["m"] or 0) + 1,
        )
        _bump(table.source)
        meta_events.schema_changed(table.pk)
    return field


@audited(
    "field.create",
    base=lambda kw, r: kw["table"].base_id,
    target=lambda kw, r: (f"{kw['table'].title} › {r.title}", r.pk),
    details=lambda kw, r: {"type": r.uidt},
    when=lambda kw, r: not ft.named(r.uidt).is_link,  # link_create records it
)
def field_create(*, actor: Actor, table: Table, data: dict) -> Field:
    require(actor, "fields.create", table)
    if ft.named(data.get("uidt")).is_link:
        return link_create(actor=actor, table=table, data=data)
    if ft.named(data.get("uidt")).over_link:
        from bases.lookup_services import lookup_field_create

        return lookup_field_create(actor=actor, table=table, data=data)
    if ft.named(data.get("uidt")).computed:
        return computed_create(actor=actor, table=table, data=data)
    _check_editable(table)
    spec = _column_spec(data, builtin=table.source.is_builtin)
    if table.fields.filter(title__iexact=spec["title"]).exists():
        raise Conflict(
            f"A field called '{spec['title']}' exists already.", code="DUPLICATE_TITLE"
        )
    source = table.source
    alias = source_alias(source)
    with user_db(source) as conn:
        info = schema.live_table(alias, table.table_name)
        name = schema.column_name_for(
            spec["column_name"] or spec["title"], {c.name for c in info.columns}
        )
        model = schema.build_model(schema_ddl.source_vendor(alias), info)
        field = schema.new_column_field(spec["uidt"], options=spec["options"])
        field.set_attributes_from_name(f"new_{name}")
        field.db_column = name
        field.column = name
        field.model = model
        try:
            with schema.editor(alias) as ed:
                ed.add_field(model, field)
                _column_ddl(
                    ed, conn, spec["uidt"], table.table_name, name, info.pk_columns
                )
        except DatabaseError as exc:
            raise schema_ddl.ddl_error(exc)
        with transaction.atomic():  # the new field's metadata at once: one notice
            fields = meta_sync.refresh_table(table)
            new = fields[name]
            new.title, new.uidt, new.options, new.description = (
                spec["title"],
                spec["uidt"],
                spec["options"],
                spec["description"],
            )
            new.order = (table.fields.aggregate(m=Max("order"))["m"] or 0) + 1
            new.save()
            _follow(table)  # a formula may name a field missing until now
            meta_events.schema_changed(table.pk)
            # A kept field (CreatedBy…) is filled from the record history once this commits.
            meta_events.column_added(new.pk)
    return new


@audited(
    "field.update",
    base=lambda kw, r: r.table.base_id,
    target=lambda kw, r: (f"{r.table.title} › {r.title}", r.pk),
    details=lambda kw, r: {
        "changed": sorted(kw["data"]) if isinstance(kw["data"], dict) else []
    },
)
def field_update(*, actor: Actor, field: Field, data: dict) -> Field:
    """Rename (title or column), retype (meta-level when the column can hold it, else DDL), options."""
    table = field.table
    require(actor, "fields.update", table)
    if not isinstance(data, dict):
        raise InvalidInput("expected an object")
    if "title" in data:
        title = _clean_title(data["title"])
        if table.fields.filter(title__iexact=title).exclude(pk=field.pk).exists():
            raise Conflict(
                f"A field called '{title}' exists already.", code="DUPLICATE_TITLE"
            )
        field.title = title
    if "description" in data:
        field.description = str(data["description"] or "")
    new_uidt = data.get("uidt") or field.uidt
    retyped = new_uidt != field.uidt
    if field.is_virtual:
        ftype = ft.named(field.uidt)
        if retyped:
            raise InvalidInput(
                f"A {ftype.label.lower()} field's type cannot be changed.",
                code="FIELD_TYPE_FIXED",
            )
        with transaction.atomic():
            if ftype.computed:
                field.options, field.column_type = ftype.define(
                    table, data, field=field, visible=_visible(actor, table)
                )
            field.save()
            _follow(table)
            _bump(table.source)
            meta_events.schema_changed(table.pk)
        return field
    new_column = (data.get("column_name") or "").strip()
    needs_ddl = (new_column and new_column != field.column_name) or (
        retyped and not ft.get(new_uidt).fits(field.column_type)
    )
    options = (
        _clean_options(
            new_uidt,
            data.get("options", {} if retyped else field.options),
            data,
        )
        if ("options" in data or "choices" in data or retyped or "colOptions" in data)
        else field.options
    )
    if retyped and not ft.creatable(new_uidt):
        raise InvalidInput(
            f"A field cannot be changed to '{new_uidt}'.", code="UNKNOWN_FIELD_TYPE"
        )
    if retyped:
        ft.get(new_uidt).check_column(field, builtin=table.source.is_builtin, new=False)
    with ExitStack() as meta:
        if needs_ddl:
            if field.is_pk or ft.named(field.uidt).holds_key:
                raise Forbidden(
                    "Key columns cannot be renamed or retyped here.", code="KEY_COLUMN"
                )
            _check_editable(table)
            if retyped:
                # SQLite converts nothing on a rebuild ('abc' would land in an integer column), and
                # the other dialects' errors say less: check the stored values first, everywhere.
                options = schema_ddl.check_retype(field, new_uidt, options)
            renames = schema_ddl.alter_column(
                field, new_uidt, options, new_column or field.column_name
            )
            # The column changed: its metadata in one meta transaction, one notice.
            meta.enter_context(transaction.atomic())
            fields = meta_sync.refresh_table(table, renames)
            field = (
                fields[new_column or field.column_name]
                if (new_column or field.column_name) in fields
                else field
            )
            if "title" in data:
                field.title = _clean_title(data["title"])
            elif new_column and field.title == (renames and next(iter(renames))):
                field.title = new_column
        elif retyped:
            options = schema_ddl.check_retype(field, new_uidt, options)
        field.uidt = new_uidt
        field.options = options
        field.save()
        _follow(table)
        _bump(table.source)
        meta_events.schema_changed(table.pk)
    return field


@audited(
    "field.delete",
    base=lambda kw, r: kw["field"].table.base_id,
    target=lambda kw, r: (
        f"{kw['field'].table.title} › {kw['field'].title}",
        kw["field"].pk,
    ),
    when=lambda kw, r: not ft.named(kw["field"].uidt).is_link,  # link_delete records it
)
def field_delete(*, actor: Actor, field: Field) -> None:
    table = field.table
    require(actor, "fields.delete", table)
    if ft.named(field.uidt).computed:
        gone = Field(id=field.id, title=field.title, uidt=field.uidt)
        with transaction.atomic():
            # Lookups, rollups and counts reading it go with it (bases/lookup_services.py).
            meta_sync._removing_field(field, table.base_id)
            field.delete()  # (which empties its id)
            _follow(table, gone=gone)
            _bump(table.source)
            meta_events.schema_changed(table.pk)
        return None
    if field.is_virtual:
        return link_delete(actor=actor, field=field)
    _check_editable(table)
    if field.is_pk:
        raise Forbidden("The primary key cannot be deleted.", code="KEY_COLUMN")
    source = table.source
    alias = source_alias(source)
    with user_db(source) as conn:
        info = schema.live_table(alias, table.table_name)
        vendor = schema_ddl.source_vendor(alias)
        undo = ft.named(field.uidt).drop_ddl(
            dialect_for(conn), table.table_name, field.column_name
        )
        if undo:  # before the column goes (and before SQLite's rebuild saves triggers)
            try:
                with schema.editor(alias) as ed:
                    for sql, params in undo:
                        ed.execute(sql, params)
            except DatabaseError as exc:
                raise schema_ddl.ddl_error(exc)
        schema_ddl.drop_column(alias, vendor, info, field.column_name)
        with transaction.atomic():  # the field's metadata goes at once: one notice
            if ft.named(field.uidt).holds_key:  # links may change with it
                meta_sync.sync(source)
            else:
                meta_sync.refresh_table(table)  # (formulas over it follow there)
            _bump(source)
            meta_events.schema_changed(table.pk)


# --- links -----------------------------------------------------------------------------------


@audited(
    "link.create",
    base=lambda kw, r: kw["table"].base_id,
    target=lambda kw, r: (f"{kw['table'].title} › {r.title}", r.pk),
    details=lambda kw, r: {
        "relation": r.options.get("relation"),
        "to": r.related_table.title if r.related_table_id else "",
    },
)
def link_create(*, actor: Actor, table: Table, data: dict) -> Field:
    """Add a link: has-many/belongs-to (a foreign key column) or many-to-many (a junction table)."""
    require(actor, "fields.create", table)
    _check_editable(table)
    title = _clean_title(data.get("title") or "")
    relation = data.get("relation") or data.get("type") or "hm"
    if relation not in ("hm", "bt", "mm"):
        raise InvalidInput(
            "`relation` must be hm (has many), bt (belongs to) or mm (many to many)."
        )
    related_id = (
        data.get("related_table_id") or data.get("childId") or data.get("parentId")
    )
    related = (
        Table.objects.filter(pk=related_id, base=table.base)
        .select_related("source")
        .first()
    )
    if related is None:
        raise InvalidInput(
            "`related_table_id` must name a table of this base.", code="TABLE_NOT_FOUND"
        )
    if related.source_id != table.source_id:
        raise InvalidInput("Links across data sources are not supported.")
    _check_editable(related)
    if table.fields.filter(title__iexact=title).exists():
        raise Conflict(
            f"A field called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    source = table.source
    alias = source_alias(source)
    vendor = schema_ddl.source_vendor(alias)
    with user_db(source) as conn:
        if relation == "mm":
            existing = set(conn.introspection.table_names())
            jname = schema.column_name_for(
                f"_nc_m2m_{table.table_name}_{related.table_name}", existing
            )
            a_info = schema.live_table(alias, table.table_name)
            b_info = schema.live_table(alias, related.table_name)
            a = schema.build_model(vendor, a_info)
            b = schema.build_model(vendor, b_info) if related.pk != table.pk else a

            a_col = schema.column_name_for(f"{table.table_name}_id", set())
            b_col = schema.column_name_for(f"{related.table_name}_id", {a_col})
            attrs = {
                "__module__": "bases.dynamic",
                "id": models.BigAutoField(primary_key=True),
                "left": models.ForeignKey(
                    a, on_delete=models.CASCADE, db_column=a_col, related_name="+"
                ),
                "right": models.ForeignKey(
                    b, on_delete=models.CASCADE, db_column=b_col, related_name="+"
                ),
                "Meta": type(
                    "Meta",
                    (),
                    {
                        "app_label": "noco_dynamic",
                        "db_table": jname,
                        "apps": a._meta.apps,
                    },
                ),
            }
            junction = type("Junction", (models.Model,), attrs)
            try:
                with schema.editor(alias) as ed:
                    ed.create_model(junction)
            except DatabaseError as exc:
                raise schema_ddl.ddl_error(exc)

            def key(o: dict) -> bool:
                return (
                    o.get("relation") == "mm"
                    and o.get("junction") == jname
                    and o.get("self_column") == a_col
                )
        else:
            child, parent = (related, table) if relation == "hm" else (table, related)
            c_info = schema.live_table(alias, child.table_name)
            p_info = schema.live_table(alias, parent.table_name)
            if len(p_info.pk_columns) != 1:
                raise Forbidden(
                    "The linked table needs a single-column primary key.",
                    code="TABLE_READ_ONLY",
                )
            child_model = schema.build_model(vendor, c_info)
            parent_model = (
                schema.build_model(vendor, p_info, apps=child_model._meta.apps)
                if child.pk != parent.pk
                else child_model
            )
            fk_col = schema.column_name_for(
                f"{parent.table_name}_id", {c.name for c in c_info.columns}
            )
            fk = models.ForeignKey(
                parent_model,
                on_delete=models.SET_NULL,
                null=True,
                db_column=fk_col,
                related_name="+",
            )
            fk.set_attributes_from_name(f"link_{fk_col}")
            fk.column = fk_col
            fk.model = child_model
            with schema_ddl.table_ddl(alias, vendor, child.table_name) as ed:
                ed.add_field(child_model, fk)
            wanted = "hm" if relation == "hm" else "bt"
            key = lambda o: o.get("relation") == wanted and o.get("fk_column") == fk_col  # noqa: E731
        with transaction.atomic():  # the link's metadata at once: one notice per table
            meta_sync.sync(source)
            link = next(
                f
                for f in table.fields.filter(uidt="LinkToAnotherRecord")
                if key(f.options)
            )
            link.title = title
            link.save()
            meta_events.schema_changed(table.pk)
    return link


@audited(
    "link.delete",
    base=lambda kw, r: kw["field"].table.base_id,
    target=lambda kw, r: (
        f"{kw['field'].table.title} › {kw['field'].title}",
        kw["field"].pk,
    ),
)
def link_delete(*, actor: Actor, field: Field) -> None:
    """Remove a link and what holds it: the foreign key column, or the junction table."""
    table = field.table
    require(actor, "fields.delete", table)
    _check_editable(table)
    options = field.options
    source = table.source
    alias = source_alias(source)
    vendor = schema_ddl.source_vendor(alias)
    with user_db(source):
        if options.get("relation") == "mm":
            junction = Table.objects.filter(pk=options.get("junction_table_id")).first()
            if junction:
                try:
                    with schema.editor(alias) as ed:
                        ed.execute(f"DROP TABLE {ed.quote_name(junction.table_name)}")
                except DatabaseError as exc:
                    raise schema_ddl.ddl_error(exc)
        else:
            child = table if options.get("relation") == "bt" else field.related_table
            info = schema.live_table(alias, child.table_name)
            schema_ddl.drop_column(alias, vendor, info, options.get("fk_column"))
        meta_sync.sync(source)
