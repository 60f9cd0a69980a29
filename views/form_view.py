"""Form views: their settings (the builder's output) and the checking of a submission.

A form view's settings live in `view.options["form"]`:

    {"title", "description", "cover_url", "submit_text",
     "after": "message" | "another" | "redirect", "message", "redirect_url",
     "fields": [{"id", "label", "help", "required", "default", "hidden_prefill",
                 "show_if"?: {"field": <id of a field above>, "op": "filled" | "eq",
                              "value": <text, for eq>}}]}

A field with `show_if` is asked only while its condition holds (the page's script shows and
hides it as the person types); the server decides again on submit from the posted values: a
field whose condition does not hold is not required and whatever was posted for it is ignored.

A submission is checked here field by field (required, type) so every problem is shown next to
its input with the typed value kept; only the form's own writable fields are read from the
POST (anything else is ignored: mass assignment), and the row is created through
records.writes.insert_rows as the form's actor (views.shares.share_actor), so webhooks
and realtime fire as for any insert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from django.utils.safestring import SafeString, mark_safe

from bases import fieldtypes as ft
from bases.fieldtypes import field_type_for
from bases.models import Field
from bases.table_meta import TableMeta
from nocoplatform.errors import InvalidInput
from permissions.checks import Actor, require
from views.models import View
from views.realtime import notices

AFTER = ("message", "another", "redirect")
SHOW_OPS = ("filled", "eq")
MAX_TEXT = 5000


def safe_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL, else ''."""
    url = str(url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    return ""


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?!\w)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)\"'<>]+)\)")


def simple_markdown(text: str) -> SafeString:
    """Help text and messages: escaped first, then **bold**, *italic*, [links](https://…)
    (http/https only) and line breaks. Nothing else of the input can become markup."""
    html = escape(str(text or ""), quote=True)
    html = _LINK.sub(
        lambda m: (
            f'<a href="{m.group(2)}" target="_blank" rel="noopener noreferrer'
            f' nofollow">{m.group(1)}</a>'
        ),
        html,
    )
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    return mark_safe(html.replace("\n", "<br>"))  # noqa: S308 - escaped above


def fillable(f: Field, meta: TableMeta) -> bool:
    """A field a form can fill (links: belongs-to only, by choosing the linked record)."""
    ftype = ft.REGISTRY.get(f.uidt)
    if ftype is None or f.is_system or f.id in meta.read_only or not ftype.fillable:
        return False
    if ftype.is_link:
        return (f.options or {}).get("relation") == "bt" and f.related_table is not None
    if not f.column_name or (f.is_pk and f.is_auto):
        return False
    return not ftype.read_only


def config(view: View) -> dict:
    cfg = dict((view.options or {}).get("form") or {})
    cfg.setdefault("title", view.title)
    cfg.setdefault("description", "")
    cfg.setdefault("cover_url", "")
    cfg.setdefault("submit_text", "Submit")
    cfg.setdefault("after", "message")
    cfg.setdefault("message", "Thank you! Your answer was sent.")
    cfg.setdefault("redirect_url", "")
    cfg.setdefault("fields", [])
    return cfg


def _text(data: dict, key: str, limit: int = MAX_TEXT) -> str:
    value = str(data.get(key) or "").strip()
    if len(value) > limit:
        raise InvalidInput(f"`{key}` is at most {limit} characters.")
    return value


def form_config_save(*, actor: Actor, view: View, data: dict) -> View:
    """Check and save a form view's settings (views.update on the table)."""
    require(actor, "views.update", view.table)
    if view.type != View.Type.FORM:
        raise InvalidInput("This view is not a form.", code="NOT_A_FORM")
    before = notices.snapshot(view)
    meta = TableMeta.of(view.table, actor=actor)
    by_id = {f.id: f for f in meta.fields}
    cfg = {
        "title": _text(data, "title", 255) or view.title,
        "description": _text(data, "description"),
        "cover_url": _text(data, "cover_url", 2000),
        "submit_text": _text(data, "submit_text", 100) or "Submit",
        "after": str(data.get("after") or "message"),
        "message": _text(data, "message"),
        "redirect_url": _text(data, "redirect_url", 2000),
    }
    if cfg["after"] not in AFTER:
        raise InvalidInput(f"`after` is one of {', '.join(AFTER)}.")
    if cfg["cover_url"] and not safe_url(cfg["cover_url"]):
        raise InvalidInput("The cover image URL must start with http:// or https://.")
    if cfg["after"] == "redirect" and not safe_url(cfg["redirect_url"]):
        raise InvalidInput("The redirect URL must start with http:// or https://.")
    fields = []
    for item in data.get("fields") or []:
        f = by_id.get(str(item.get("id")))
        if f is None or not fillable(f, meta):
            name = f.title if f is not None else item.get("id")
            raise InvalidInput(f"'{name}' cannot be filled in a form.")
        if any(x["id"] == f.id for x in fields):
            continue
        entry = {
            "id": f.id,
            "label": _text(item, "label", 255),
            "help": _text(item, "help"),
            "required": bool(item.get("required")),
            "default": _text(item, "default", 1000),
            "hidden_prefill": bool(item.get("hidden_prefill")),
        }
        show_if = _clean_show_if(item.get("show_if"), f, fields, by_id)
        if show_if:
            entry["show_if"] = show_if
        fields.append(entry)
    cfg["fields"] = fields
    view.options = {**(view.options or {}), "form": cfg}
    view.save(update_fields=["options", "updated_at"])
    notices.view_saved(view, before)
    return view


def _clean_show_if(raw, f: Field, above: list[dict], by_id: dict) -> dict | None:
    """A field's condition, checked: it names a field placed above it in the form (so
    conditions never loop), an operator of SHOW_OPS, and for `eq` the value to equal."""
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput(f"'{f.title}': `show_if` is {{field, op, value}}.")
    target = str(raw.get("field") or "")
    if not target:
        return None
    if not any(x["id"] == target for x in above):
        name = by_id[target].title if target in by_id else target
        raise InvalidInput(
            f"'{f.title}' can only depend on a field above it in the form "
            f"('{name}' is not)."
        )
    op = str(raw.get("op") or "filled")
    if op not in SHOW_OPS:
        raise InvalidInput(
            f"'{f.title}': `show_if.op` is one of {', '.join(SHOW_OPS)}."
        )
    value = _text(raw, "value", 1000) if op == "eq" else ""
    if op == "eq" and not value:
        raise InvalidInput(f"'{f.title}': say which value shows it.")
    return {"field": target, "op": op, "value": value}


def condition_holds(show_if: dict | None, texts: dict, shown: dict) -> bool:
    """Whether a field with condition `show_if` is asked, given the text posted (or
    prefilled) for each field id (`texts`) and whether each field above is asked (`shown`)."""
    if not show_if:
        return True
    target = show_if["field"]
    if not shown.get(target, False):
        return False
    text = str(texts.get(target) or "").strip()
    if show_if["op"] == "filled":
        return text not in ("", "false")
    values = {v.strip() for v in text.split(",")} if "," in text else {text}
    return show_if["value"] in values or text == show_if["value"]


def visibility(fields: list[FormField], texts: dict) -> dict:
    """{field id: asked?} for the form's fields, in order (conditions look upwards)."""
    shown: dict = {}
    for ff in fields:
        shown[ff.field.id] = condition_holds(ff.show_if, texts, shown)
    return shown


# --------------------------------------------------------------------------------------------
# Filling


@dataclass
class FormField:
    field: Field
    label: str
    help: SafeString
    required: bool
    default: str
    hidden: bool = False
    value: str = ""
    error: str = ""
    choices: list | None = None
    hidden_prefill: bool = False
    show_if: dict | None = None
    # False: its condition does not hold (visibility below).
    asked: bool = True

    @property
    def input_type(self) -> str:
        return field_type_for(self.field).input_type


def form_fields(view: View, creator: Actor) -> list[FormField]:
    """The form's fields still fillable by the link's creator, in the form's order."""
    meta = TableMeta.of(view.table, actor=creator)
    by_id = {f.id: f for f in meta.fields}
    out = []
    for item in config(view)["fields"]:
        f = by_id.get(item.get("id"))
        if f is None or not fillable(f, meta):
            continue
        choices = None
        if field_type_for(f).has_choices:
            choices = [
                c.get("title")
                for c in (f.options or {}).get("choices", [])
                if isinstance(c, dict) and c.get("title")
            ]
        out.append(
            FormField(
                field=f,
                label=item.get("label") or f.title,
                help=simple_markdown(item.get("help") or ""),
                required=bool(item.get("required")),
                default=item.get("default") or "",
                choices=choices,
                hidden_prefill=bool(item.get("hidden_prefill")),
                show_if=item.get("show_if"),
            )
        )
    return out


def fk_field(meta: TableMeta, link: Field) -> Field | None:
    return meta.internal.by_column.get((link.options or {}).get("fk_column"))


def check_submission(
    fields: list[FormField], posted, meta: TableMeta, files=None
) -> tuple[dict, bool]:
    """(row to insert, ok). Sets each FormField's `value` (as typed) and `error`.

    Attachment fields are checked (required, limits) but not stored here: their uploads are
    returned under `row[field.title]` as the list of uploaded files, for the caller to store.
    """
    from bases.attachments import check_limits

    row: dict = {}
    ok = True
    db = meta.table.source.kind
    texts = {
        ff.field.id: str(
            field_type_for(ff.field).posted_text(posted, ff.field.id) or ""
        )
        for ff in fields
    }
    asked = visibility(fields, texts)
    for ff in fields:
        f = ff.field
        ftype = field_type_for(f)
        ff.asked = asked[f.id]
        if not ff.asked:
            continue  # its condition does not hold: not required, anything posted ignored
        if ftype.holds_files:
            uploads = [u for u in (files.getlist(f.id) if files else []) if u.size]
            if not uploads:
                if ff.required:
                    ff.error = "This field is required."
                    ok = False
                continue
            try:
                check_limits(uploads)
            except InvalidInput as exc:
                ff.error = exc.message
                ok = False
                continue
            row[f.title] = uploads
            continue
        # Whole: the field's own limit refuses a value too long (bases/value_limits.py),
        # rather than storing it cut short.
        ff.value = str(ftype.posted_text(posted, f.id) or "")
        text = ff.value.strip()
        empty = text == "" or (ftype.is_boolean and text == "false")
        if empty:
            if ff.required:
                ff.error = "This field is required."
                ok = False
            continue
        try:
            if ftype.is_link:
                fk = fk_field(meta, f)
                if fk is None:
                    continue
                key_type = ft.get("ForeignKey").stored_as(fk)
                row[fk.title] = key_type.value_parser(fk, db=db)(text, fk.options)
                continue
            one_choice = ftype.has_choices and not ftype.multiple
            if one_choice and ff.choices and text not in ff.choices:
                raise InvalidInput(f"'{text}' is not one of the choices")
            if ftype.multiple and ff.choices:
                bad = [v for v in text.split(",") if v not in ff.choices]
                if bad:
                    raise InvalidInput(f"'{bad[0]}' is not one of the choices")
            value = ftype.value_parser(f, db=db)(text, f.options)
        except InvalidInput as exc:
            ff.error = exc.message[:1].upper() + exc.message[1:] + "."
            ok = False
            continue
        row[f.title] = value
    return row, ok
