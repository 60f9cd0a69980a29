"""View types other than the grid: small registered classes, one module each.

A type knows its settings (`clean_options`: View.options validated against the table, a 400
naming what is wrong) and renders its page (`page`). views/view_pages.py routes the table page
and the per-view endpoints (cards, move, add, settings) to the view's type. The grid stays in
views/grid/. Cards (gallery, kanban) and chips (calendar) are built here from rows read
through bases/records.py with the actor, so the view's filter, sort, hidden fields and search
apply, and fields hidden from the actor are never selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field

from django.utils.safestring import SafeString

from bases.fieldtypes import field_type_for
from bases.query.params import view_fields
from nocoplatform.errors import InvalidInput

REGISTRY: dict[str, ViewType] = {}


def register(cls):
    REGISTRY[cls.type] = cls()
    return cls


def view_type(type_name: str) -> ViewType | None:
    _load()
    return REGISTRY.get(type_name)


def _load() -> None:
    from views.types import calendar, gallery, kanban  # noqa: F401 - they register


class ViewType:
    type = ""
    label = ""
    icon = "▦"
    # Settings that describe a field's values ({field option: [settings]}): withheld with
    # that field from a caller who may not see it (views/api.view_json_for).
    dependent_options: dict[str, tuple[str, ...]] = {}

    def default_options(self, table) -> dict:
        return {}

    def clean_options(self, table, options: dict) -> dict:
        raise NotImplementedError

    def page(self, request, ctx: dict):
        raise NotImplementedError


# ---- covers: the field types that have one say so (FieldType.has_cover / cover_url)


def cover_capable(field) -> bool:
    return field_type_for(field).has_cover


def cover_url(field, value, table=None, record_id=None) -> str | None:
    """The image URL a card shows for `value` of its cover field (None: no cover)."""
    if value in (None, ""):
        return None
    return field_type_for(field).cover_url(field, value, table, record_id)


def is_cover_type(field) -> bool:
    return field_type_for(field).has_cover


def is_stack_type(field) -> bool:
    """One short text per record: a kanban stack (a select's option, a member, a computed
    text)."""
    return field_type_for(field).stacks_cards(field)


def is_date_type(field) -> bool:
    """A date or date-time value (stored, or computed: a formula, a lookup, a created time)."""
    return field_type_for(field).on_calendar(field)


# What each predicate asks for, in the 400 refusing another field.
WANTS = {
    is_cover_type: "a URL or Attachment field",
    is_stack_type: (
        "a SingleSelect or User field, or a Formula or Lookup giving one text a record"
    ),
    is_date_type: (
        "a Date or DateTime field (or CreatedTime, LastModifiedTime, or a Formula or "
        "Lookup giving a date)"
    ),
}


# ---- option helpers shared by the types


def table_fields(table) -> dict:
    return {f.id: f for f in table.fields.all()}


def opt_field(fields: dict, options: dict, key: str, *, accepts=None, required=False):
    """The field id under `key`, checked to exist (and, with `accepts`, a predicate on the
    field, to be of a fitting type); None when unset."""
    fid = options.get(key)
    if fid in (None, ""):
        if required:
            raise InvalidInput(f"`{key}`: choose a field.")
        return None
    if not isinstance(fid, str) or fid not in fields:
        raise InvalidInput(
            f"`{key}`: no field '{fid}' in this table.", code="FIELD_NOT_FOUND"
        )
    if accepts and not accepts(fields[fid]):
        raise InvalidInput(
            f"`{key}`: '{fields[fid].title}' is a {fields[fid].uidt} field; "
            f"choose {WANTS.get(accepts, 'another field')}."
        )
    return fid


def opt_field_list(fields: dict, options: dict, key: str) -> list[str]:
    ids = options.get(key) or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput(f"`{key}` must be a list of field ids.")
    unknown = [i for i in ids if i not in fields]
    if unknown:
        raise InvalidInput(
            f"`{key}`: no field '{unknown[0]}' in this table.", code="FIELD_NOT_FOUND"
        )
    return list(dict.fromkeys(ids))


def opt_choice(options: dict, key: str, allowed: tuple, default: str) -> str:
    value = options.get(key) or default
    if value not in allowed:
        raise InvalidInput(f"`{key}` is one of {', '.join(allowed)}.")
    return value


# ---- cards


@dataclass
class Card:
    id: object
    title: str
    cover: str | None = None
    fields: list = dc_field(default_factory=list)  # (Field, SafeString html)
    row: dict = dc_field(default_factory=dict)


def shown_fields(meta, view) -> list:
    """The view's fields for this actor, in its order, less the hidden ones."""
    return view_fields(view, meta.fields)


def title_field(meta, view, visible: list):
    by_id = {f.id: f for f in meta.fields}
    chosen = by_id.get((view.options or {}).get("title_field") or "")
    if chosen is not None:
        return chosen
    return meta.pv if meta.pv in visible else (visible[0] if visible else None)


def card_fields(meta, view, visible: list, title, skip=()) -> list:
    """The fields printed on a card: the chosen ones that are shown in the view (the toolbar's
    Fields panel hides them everywhere), else the first few shown fields. A foreign key shows
    as its belongs-to link: the linked record's display value, not the key's number."""
    chosen = (view.options or {}).get("card_fields") or []
    by_id = {f.id: f for f in visible}
    if chosen:
        return _as_links(meta, [by_id[i] for i in chosen if i in by_id])
    out = [
        f
        for f in _as_links(meta, visible)
        if f is not title
        and f not in skip
        and f is not cover_field(meta, view)
        and not f.is_pk
        and (not field_type_for(f).is_link or _single_link(f))
    ]
    return out[:4]


def _single_link(field) -> bool:
    """A link to one record (belongs-to): its cell is that record's display value."""
    return (field.options or {}).get("relation") == "bt"


def _as_links(meta, fields: list) -> list:
    """`fields` with each foreign key replaced by the belongs-to link resting on it (when the
    actor sees that link), each field once."""
    links = {
        (f.options or {}).get("fk_column"): f
        for f in meta.fields
        if field_type_for(f).is_link and _single_link(f)
    }
    out: list = []
    for f in fields:
        if field_type_for(f).holds_key and f.column_name in links:
            f = links[f.column_name]
        if f not in out:
            out.append(f)
    return out


def cover_field(meta, view):
    by_id = {f.id: f for f in meta.fields}
    f = by_id.get((view.options or {}).get("cover_field") or "")
    return f if f is not None and cover_capable(f) else None


def read_list(meta, *groups) -> str:
    """The `fields` parameter for the given fields plus the key, each once."""
    out: list[str] = []
    for group in groups:
        for f in group:
            if f is not None and f.id not in out:
                out.append(f.id)
    for f in meta.pk:
        if f.id not in out and f in meta.fields:
            out.append(f.id)
    return ",".join(out)


def make_cards(meta, rows, *, title, fields, cover) -> list[Card]:
    out = []
    for row in rows:
        rid = meta.record_id([row.get(f.title) for f in meta.pk]) if meta.pk else None
        text = row.get(title.title) if title is not None else None
        out.append(
            Card(
                id=rid,
                title=str(text) if text not in (None, "") else "",
                cover=cover_url(cover, row.get(cover.title), meta.table, rid)
                if cover
                else None,
                fields=[
                    (
                        f,
                        SafeString(field_type_for(f).display_html(f, row.get(f.title))),
                    )
                    for f in fields
                ],
                row=row,
            )
        )
    return out


# ---- writes shared by kanban and calendar


def key_row(meta, record_id) -> dict:
    """The record's primary key as a row for records.writes (`{pk title: value}`)."""
    values = meta.parse_record_id(record_id)
    return {f.title: v for f, v in zip(meta.require_pk(), values, strict=True)}


def kept_elsewhere(field) -> str:
    """Why nobody moves records by changing `field` ("": they may): its value is computed
    (formula, lookup, rollup) or kept by the platform (created time, created by…)."""
    ftype = field_type_for(field)
    if ftype.computed:
        return f"a {ftype.label.lower()}: its value is computed from other fields"
    if ftype.read_only:
        return f"a {ftype.label.lower()} field: the platform keeps its value"
    return ""


def can_drag(ctx: dict, field) -> bool:
    """Whether the actor may move records by changing `field` (drag handles shown)."""
    meta = ctx["meta"]
    return (
        field is not None
        and ctx["can_edit"]
        and field in meta.fields
        and field.id not in meta.read_only
        and bool(field.column_name)
        and not field.is_pk
        and not kept_elsewhere(field)
    )


def require_drag(ctx: dict, field, moving: str = "records cannot be moved") -> None:
    """A refusal naming why, unless the actor may move records by changing `field`."""
    from nocoplatform.errors import Forbidden

    why = kept_elsewhere(field) if field is not None else ""
    if why:
        raise InvalidInput(
            f"'{field.title}' is {why}, so {moving}.",
            code="READ_ONLY_FIELD",
        )
    if not can_drag(ctx, field):
        raise Forbidden(
            "You may not change this field here, so records cannot be moved.",
            code="FIELD_READ_ONLY",
        )


def new_card(ctx: dict, record_id, *, title, fields, cover) -> Card:
    """A freshly written record as a card, read back through the records layer."""
    from bases import records

    meta = ctx["meta"]
    row = records.get_record(
        ctx["table"],
        record_id,
        {"fields": read_list(meta, [title, cover], fields)},
        actor=ctx["actor"],
    )
    return make_cards(meta, [row], title=title, fields=fields, cover=cover)[0]
