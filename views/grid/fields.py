"""Adding and changing fields from the grid: the "+" panel at the end of the header row and
each column's header menu (rename, edit, delete).

The panel is one form for every type: a title, the type menu (bases/fieldtypes `addable()`,
with each type's icon and label) and the settings part its type names (`options_ui`):
select options, the table a link points to, a formula, the link and field of a lookup or
rollup. What is posted goes to bases/schema_services (`field_create`, which hands links to
`link_create`, and `field_update`) in the NocoDB shapes the meta API accepts, so the checks
and errors are the services' own. Deleting posts to bases/pages.py `field_delete`.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from bases import records, schema_services, selectors
from bases.fieldtypes import addable, field_type_for, named
from bases.models import Field
from nocoplatform.errors import DomainError
from permissions.middleware import HtmxHttpRequest
from views.grid.common import field_of, grid_table

PANEL = "views/partials/field_panel.html"
RELATIONS = [
    ("hm", "Has many", "one record here links to several records there"),
    ("bt", "Belongs to", "each record here links to one record there"),
    ("mm", "Many to many", "records on both sides link to several"),
]
ROLLUP_FUNCTIONS = [
    ("sum", "Sum"),
    ("avg", "Average"),
    ("min", "Minimum"),
    ("max", "Maximum"),
    ("count", "Count"),
    ("countDistinct", "Count distinct"),
    ("concat", "Join as text"),
]
# Posted as they are, in the NocoDB shapes of the meta API (docs/api.md); the panel disables
# the inputs of the settings parts its type does not show, so only that part is posted.
PASSED = (
    "relation",
    "related_table_id",
    "formula_raw",
    "fk_relation_column_id",
    "fk_lookup_column_id",
    "fk_rollup_column_id",
    "rollup_function",
)
TARGET_KEYS = {"lookup": "fk_lookup_column_id", "rollup": "fk_rollup_column_id"}


def choice_list(text: str, old: list | None = None) -> list:
    """Options typed one a line (or comma-separated); an option kept keeps its colour."""
    colours = {
        c.get("title"): c.get("color")
        for c in old or []
        if isinstance(c, dict) and c.get("color")
    }
    titles = list(dict.fromkeys(t.strip() for t in re.split(r"[\n,]", text or "")))
    return [
        {"title": t, "color": colours[t]} if t in colours else {"title": t}
        for t in titles
        if t
    ]


def field_data(post, *, field: Field | None = None) -> dict:
    """What the panel posted, as the schema services take it."""
    data: dict = {"title": (post.get("title") or "").strip()}
    if post.get("uidt"):
        data["uidt"] = post["uidt"]
    if "choices" in post:
        old = (field.options or {}).get("choices") if field is not None else None
        data["choices"] = choice_list(post["choices"], old)
    for key in PASSED:
        if key in post:
            data[key] = post[key].strip()
    # One "field of the linked records" menu serves lookups and rollups: it is the column
    # their type looks up or rolls up.
    target = (post.get("fk_target") or "").strip()
    ui = named(data.get("uidt") or (field.uidt if field is not None else "")).options_ui
    if target and ui in TARGET_KEYS:
        data[TARGET_KEYS[ui]] = target
    return data


def _menu(current: str = "") -> list[dict]:
    return [
        {
            "uidt": t.uidt,
            "label": t.label,
            "icon": t.icon,
            "ui": t.options_ui,
            "checked": t.uidt == current,
        }
        for t in addable()
    ]


def panel_context(request, table, *, field=None, posted=None, error=None) -> dict:
    """The panel's choices: types, tables to link to, this table's links and the fields of
    the tables they reach (lookups, rollups), the field names a formula may use."""
    actor = request.actor
    meta = records.TableMeta.of(table, actor=actor)
    links = []
    # What a link, lookup or rollup is built on is chosen when it is added, not edited.
    for f in meta.fields if field is None else ():
        if not field_type_for(f).is_link or f.related_table is None:
            continue
        try:
            related = records.TableMeta.of(f.related_table, actor=actor)
        except DomainError:  # a linked table hidden from the actor offers no fields
            continue
        links.append(
            {
                "field": f,
                "table": f.related_table,
                "targets": [
                    t
                    for t in related.fields
                    # A lookup or rollup reads a value: not a key, not another link.
                    if not t.is_system
                    and not field_type_for(t).holds_key
                    and not field_type_for(t).is_link
                ],
            }
        )
    tables = [
        t
        for t in (
            selectors.table_list(actor=actor, base=table.base) if field is None else ()
        )
        if t.source_id == table.source_id and not t.read_only_reason
    ]
    posted = posted if posted is not None else {}
    options = (field.options or {}) if field is not None else {}
    if field is not None and not posted:
        posted = {
            "title": field.title,
            "uidt": field.uidt,
            "choices": "\n".join(
                str(c.get("title"))
                for c in options.get("choices") or []
                if isinstance(c, dict)
            ),
            # A formula is stored with field ids; its type renders it with today's titles.
            "formula_raw": (field_type_for(field).column_options(field) or {}).get(
                "formula_raw"
            )
            or "",
        }
    ftype = field_type_for(field) if field is not None else None
    # A stored column may change to another creatable type; links, keys and computed
    # fields keep theirs (bases/schema_services.field_update).
    retypable = field is None or not (
        field.is_virtual
        or field.is_pk
        or ftype.holds_key
        or ftype.read_only
        or ftype.computed
    )
    current = posted.get("uidt") or (field.uidt if field is not None else "")
    types = _menu(current)
    if types and not any(t["checked"] for t in types):
        types[0]["checked"] = True
    if field is not None and not retypable:
        types = [t for t in types if t["uidt"] == field.uidt] or [
            {
                "uidt": field.uidt,
                "label": ftype.label,
                "icon": ftype.icon,
                "ui": ftype.options_ui,
                "checked": True,
            }
        ]
        types[0]["checked"] = True
    position = (error.details or {}).get("position") if error is not None else None
    formula = posted.get("formula_raw") or ""
    return {
        "base": table.base,
        "table": table,
        "field": field,
        "types": types,
        "retypable": retypable,
        "posted": posted,
        "error": error,
        "position": position if isinstance(position, int) else None,
        "formula_at": _around(formula, position),
        "tables": tables,
        "relations": RELATIONS,
        "links": links,
        "names": [f.title for f in meta.fields if not f.is_system],
        "rollup_functions": ROLLUP_FUNCTIONS,
    }


def _around(text: str, position) -> dict | None:
    """The formula around an error's position, to point at it under the text box."""
    if not isinstance(position, int) or not 0 <= position <= len(text):
        return None
    return {
        "before": text[max(0, position - 30) : position],
        "at": text[position : position + 1] or " ",
        "after": text[position + 1 : position + 30],
    }


@login_required
@require_GET
def field_panel(request: HtmxHttpRequest, base_id: str, table_id: str) -> HttpResponse:
    """The add-field panel, or with `?field=<id>` the edit panel of that field."""
    field_id = request.GET.get("field")
    operation = "fields.update" if field_id else "fields.create"
    table = grid_table(request, base_id, table_id, operation=operation)
    field = None
    if field_id:
        field = field_of(records.TableMeta.of(table, actor=request.actor), field_id)
    return render(request, PANEL, panel_context(request, table, field=field))


def add_field(request: HtmxHttpRequest, table) -> HttpResponse | None:
    """The table page's POST: a new field from the panel. htmx gets the page reloaded, or
    the panel again with the service's message and what was typed; a plain form post is
    redirected back, or answered None (the page shows the panel open with the message)."""
    data = field_data(request.POST)
    try:
        schema_services.field_create(actor=request.actor, table=table, data=data)
    except DomainError as exc:
        ctx = panel_context(request, table, posted=request.POST, error=exc)
        if request.htmx:
            return render(request, PANEL, ctx)
        request.field_panel = render_to_string(PANEL, ctx, request)
        return None
    messages.success(request, f"Field '{data['title']}' added.")
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("table", base_id=table.base_id, table_id=table.pk)


@login_required
@require_POST
def field_edit(
    request: HtmxHttpRequest, base_id: str, table_id: str, field_id: str
) -> HttpResponse:
    """Rename or change a field: from the edit panel (htmx: the page reloads, or the panel
    comes back with the message) or the header menu's rename (JSON {"ok"} or the error)."""
    table = grid_table(request, base_id, table_id, operation="fields.update")
    field = field_of(records.TableMeta.of(table, actor=request.actor), field_id)
    field = Field.objects.select_related("table").get(pk=field.pk)
    data = field_data(request.POST, field=field)
    if not data.get("uidt"):
        data.pop("uidt", None)
    try:
        schema_services.field_update(actor=request.actor, field=field, data=data)
    except DomainError as exc:
        if not request.htmx:
            return JsonResponse(exc.as_dict(), status=exc.status)
        ctx = panel_context(request, table, field=field, posted=request.POST, error=exc)
        return render(request, PANEL, ctx)
    messages.success(request, f"Field '{data['title'] or field.title}' saved.")
    if request.htmx:
        return HttpResponseClientRefresh()
    return JsonResponse({"ok": True})
