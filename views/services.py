"""Writes for views: create, change (filter, sort, fields, title), delete."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from bases.models import Table
from bases.query.params import FieldResolver, parse_sort
from nocoplatform.errors import Conflict, InvalidInput
from permissions.checks import Actor, require
from views.models import View
from views.realtime import notices


def _clean_title(title) -> str:
    title = str(title or "").strip()
    if not title:
        raise InvalidInput("A view needs a title.")
    if len(title) > 255:
        raise InvalidInput("A title is at most 255 characters.")
    return title


def _validate(
    table: Table, *, where: str, sort: str, field_order: list, hidden: list
) -> None:
    """Refuse a filter, sort or field list that does not fit the table (400 naming it)."""
    from bases.query.where import compile_where, parse_where

    fields = list(table.fields.all())
    resolve = FieldResolver(fields)
    if where:
        node = parse_where(where)
        compile_where(node, resolve=resolve, vendor="sqlite")
    if sort:
        parse_sort(resolve, sort)
    ids = {f.id for f in fields}
    for name, value in (("field_order", field_order), ("hidden_fields", hidden)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"`{name}` must be a list of field ids.")
        unknown = [v for v in value if v not in ids]
        if unknown:
            raise InvalidInput(
                f"`{name}`: no field '{unknown[0]}' in this table.",
                code="FIELD_NOT_FOUND",
            )


def default_view(table: Table) -> View:
    """Every table has at least one grid view (created on first use)."""
    view = table.views.order_by("order", "created_at").first()
    if view is None:
        view, _ = View.objects.get_or_create(
            table=table, order=0, defaults={"title": "Default view"}
        )
    return view


def view_create(
    *,
    actor: Actor,
    table: Table,
    title: str,
    type: str = View.Type.GRID,
    data: dict | None = None,
) -> View:
    require(actor, "views.create", table)
    if type not in View.Type.values:
        raise InvalidInput(f"Unknown view type '{type}'.")
    title = _clean_title(title)
    if table.views.filter(title__iexact=title).exists():
        raise Conflict(
            f"A view called '{title}' exists already.", code="DUPLICATE_TITLE"
        )
    data = data or {}
    options = {}
    if type != View.Type.GRID:
        from views.types import view_type

        kind = view_type(type)
        if kind is not None:
            options = kind.clean_options(
                table, {**kind.default_options(table), **(data.get("options") or {})}
            )
    where, sort = str(data.get("where") or ""), str(data.get("sort") or "")
    field_order, hidden = data.get("field_order") or [], data.get("hidden_fields") or []
    _validate(table, where=where, sort=sort, field_order=field_order, hidden=hidden)
    with transaction.atomic():
        order = (table.views.aggregate(m=Max("order"))["m"] or 0) + 1
        return View.objects.create(
            table=table,
            title=title,
            type=type,
            order=order,
            where=where,
            sort=sort,
            field_order=field_order,
            hidden_fields=hidden,
            options=options,
            created_by=actor.user,
        )


def view_update(*, actor: Actor, view: View, data: dict) -> View:
    require(actor, "views.update", view.table)
    before = notices.snapshot(view)
    if not isinstance(data, dict):
        raise InvalidInput("expected an object")
    if "title" in data:
        title = _clean_title(data["title"])
        if view.table.views.filter(title__iexact=title).exclude(pk=view.pk).exists():
            raise Conflict(
                f"A view called '{title}' exists already.", code="DUPLICATE_TITLE"
            )
        view.title = title
    where = str(data.get("where", view.where) or "")
    sort = str(data.get("sort", view.sort) or "")
    field_order = data.get("field_order", view.field_order) or []
    hidden = data.get("hidden_fields", view.hidden_fields) or []
    _validate(
        view.table, where=where, sort=sort, field_order=field_order, hidden=hidden
    )
    view.where, view.sort, view.field_order, view.hidden_fields = (
        where,
        sort,
        field_order,
        hidden,
    )
    if "options" in data:
        if not isinstance(data["options"], dict):
            raise InvalidInput("`options` must be an object.")
        from views.types import view_type

        kind = view_type(view.type)
        # Gallery, kanban and calendar settings are checked by their type (views/types/).
        view.options = (
            kind.clean_options(view.table, data["options"]) if kind else data["options"]
        )
    view.save()
    notices.view_saved(view, before)
    return view


def view_delete(*, actor: Actor, view: View) -> None:
    require(actor, "views.delete", view.table)
    if view.table.views.count() == 1:
        raise Conflict("A table keeps at least one view.", code="LAST_VIEW")
    with transaction.atomic():
        notices.view_deleted(view)  # sent once the delete commits
        view.delete()


def view_duplicate(*, actor: Actor, view: View) -> View:
    """A copy of a view (filter, sort, fields, options) titled "<title> copy" (or "copy 2"…)."""
    require(actor, "views.create", view.table)
    titles = {t.lower() for t in view.table.views.values_list("title", flat=True)}
    base_title = f"{view.title} copy"[:245]
    title, n = base_title, 2
    while title.lower() in titles:
        title, n = f"{base_title} {n}", n + 1
    copy = view_create(
        actor=actor,
        table=view.table,
        title=title,
        type=view.type,
        data={
            "where": view.where,
            "sort": view.sort,
            "field_order": view.field_order,
            "hidden_fields": view.hidden_fields,
        },
    )
    before = notices.snapshot(copy)
    copy.options = dict(view.options or {})
    copy.save(update_fields=["options"])
    notices.view_saved(copy, before)
    return copy


def view_reorder(*, actor: Actor, table: Table, view_ids: list[str]) -> list[View]:
    """Put a table's views in the order given (ids); views left out keep their place after."""
    require(actor, "views.update", table)
    views = {v.pk: v for v in table.views.all()}
    unknown = [v for v in view_ids if v not in views]
    if unknown:
        raise InvalidInput(
            f"No view '{unknown[0]}' in this table.", code="VIEW_NOT_FOUND"
        )
    ordered = [views[v] for v in dict.fromkeys(view_ids)]
    ordered += [v for v in views.values() if v not in ordered]
    with transaction.atomic():
        for i, v in enumerate(ordered):
            if v.order != i:
                v.order = i
                v.save(update_fields=["order"])
    return ordered


def view_options_update(*, actor: Actor, view: View, options: dict) -> View:
    """Merge `options` into the view's type settings, validated by its type (views/types)."""
    from views.types import view_type

    require(actor, "views.update", view.table)
    kind = view_type(view.type)
    if kind is None:
        raise InvalidInput(f"{view.get_type_display()} views have no such settings.")
    if not isinstance(options, dict):
        raise InvalidInput("`options` must be an object.")
    with transaction.atomic():
        # Under a row lock: a card order saved meanwhile is kept, not overwritten.
        fresh = View.objects.select_for_update().get(pk=view.pk)
        before = notices.snapshot(fresh)
        merged = {**(fresh.options or {}), **options}
        fresh.options = kind.clean_options(view.table, merged)
        fresh.save(update_fields=["options", "updated_at"])
        notices.view_saved(fresh, before)
    view.options = fresh.options
    return view
