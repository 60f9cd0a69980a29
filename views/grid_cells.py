"""Grid cells: how each field type shows a value, and how typed text becomes a value to save.

Display is rendered here in Python (escaped with format_html) rather than with one template
include per cell: a 100-row window of 25 columns is 2,500 cells, and the grid's speed target
(first page under 60 ms of server time) leaves no room for 2,500 template includes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape as _escape
from urllib.parse import quote

from django.utils.safestring import SafeString, mark_safe

# Field types the grid never edits as text in a cell (links have their own picker, files
# their own popup and drop target: `can_upload`).
READ_ONLY_UIDTS = {"ID", "SpecificDBType", "Attachment"}
# Raster types shown as thumbnails (bases/thumbnails.THUMB_TYPES; not imported, to keep
# Pillow out of the grid's import path).
THUMB_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
ATTACHMENTS_SHOWN = 5  # files drawn in a cell; "+N" for the rest
NUMERIC_UIDTS = {"Number", "Rating", "Decimal", "Currency", "Percent", "Duration"}
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}
SAFE_URL = re.compile(r"^(https?|ftp)://|^mailto:", re.IGNORECASE)
DISPLAY_LIMIT = 300  # characters of long text kept in a cell's display


def files_url(table, record_id, field) -> Callable[[dict], str] | None:
    """entry -> the URL that serves it (views/attachment_pages.py, access-checked), for the
    thumbnails of one attachment cell. Built from strings: 2,500 reverse() calls per window
    would cost the grid its speed target."""
    if record_id is None:
        return None
    prefix = (
        f"/bases/{table.base_id}/tables/{table.pk}/attachments/"
        f"{quote(str(record_id), safe='')}/{field.id}/"
    )
    return lambda entry: prefix + quote(str(entry.get("id") or ""), safe="")


def escape(text) -> str:
    return _escape(str(text), quote=True)


def format_html(template: str, *args) -> str:
    return template.format(*(escape(a) for a in args))


@dataclass(slots=True)
class GridCell:
    fid: str
    html: SafeString
    raw: str
    css: str


def cell_td(c: GridCell) -> str:
    """A cell's <td>. The inner div clips tall content to the row height: the virtual scroll
    relies on every row being exactly the view's row height."""
    return (
        f'<td class="cell{c.css}" data-f="{c.fid}" data-v="{escape(c.raw)}">'
        f'<div class="c">{c.html}</div></td>'
    )


@dataclass(slots=True)
class GridRow:
    id: object
    n: int
    cells: list[GridCell]
    comments: int = 0

    @property
    def html(self) -> SafeString:
        """The row's <tr>: views/partials/grid_row.html prints this (see the contract there).

        Built here, not with template tags: 100 rows x 25 cells through the template engine
        cost ~100 ms, this ~5 ms.
        """
        parts = [
            f'<tr class="grid-row" data-id="{"" if self.id is None else escape(self.id)}"'
            f' data-n="{self.n}" aria-rowindex="{self.n + 1}">'
            f'<td class="rownum"><span class="n">{self.n}</span>'
        ]
        if self.id is not None:
            parts.append(
                '<button type="button" class="expand" tabindex="-1" title="Expand row'
                f' (Space)" aria-label="Expand row {self.n}">⤢</button>'
            )
        if self.comments:
            # The badge; the thread itself is in the expanded row.
            parts.append(
                f'<span class="comments" aria-label="Comments on row {escape(self.id)}"'
                f' title="{self.comments} comment{"s" if self.comments != 1 else ""}">'
                f'<span class="comment-count badge">{self.comments}</span></span>'
            )
        parts.append("</td>")
        parts.extend(cell_td(c) for c in self.cells)
        parts.append("</tr>")
        return mark_safe("".join(parts))  # noqa: S308 - every value escaped above


def is_editable(field, meta, *, table_writable: bool) -> bool:
    """A cell the grid lets the user type into (links are changed through their picker).

    `meta` is the user's TableMeta: fields read-only for their role are not editable."""
    return (
        table_writable
        and field.id not in meta.read_only
        and bool(field.column_name)
        and not field.is_pk
        and field.uidt not in READ_ONLY_UIDTS
    )


def can_upload(field, meta, *, table_writable: bool) -> bool:
    """An attachment cell the user may drop files on (or add files to from its popup)."""
    return (
        field.uidt == "Attachment"
        and table_writable
        and field.id not in meta.read_only
        and bool(field.column_name)
    )


def raw_text(field, value) -> str:
    """The text an editor starts from and Ctrl+C copies; saving it back gives the same value."""
    if value is None:
        return ""
    uidt = field.uidt
    if uidt == "Checkbox":
        return "true" if value else "false"
    if uidt in ("JSON", "Attachment"):
        return json.dumps(value, ensure_ascii=False)
    if uidt == "LinkToAnotherRecord":
        if isinstance(value, dict):
            return str(_display_value(value))
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes" if not value.second else "seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _display_value(linked: dict):
    values = list(linked.values())
    return values[1] if len(values) > 1 else values[0] if values else ""


def _choice_colours(field) -> dict:
    colours = getattr(field, "_grid_colours", None)
    if colours is None:
        colours = {
            c.get("title"): c.get("color", "#eeeeee")
            for c in (field.options or {}).get("choices", [])
            if isinstance(c, dict)
        }
        field._grid_colours = colours
    return colours


def _chip(text, colour="#eeeeee") -> str:
    return format_html('<span class="chip" data-bg="{}">{}</span>', colour, text)


def _number(field, value) -> str:
    o = field.options or {}
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return escape(str(value))
    uidt = field.uidt
    if uidt in ("Number", "Rating"):
        return escape(str(value))
    precision = o.get("precision")
    if uidt == "Currency":
        places = 2 if precision in (None, "") else int(precision)
        code = str(o.get("currency") or "")
        symbol = CURRENCY_SYMBOLS.get(code, code)
        text = f"{number:,.{places}f}"
        return escape(f"{symbol} {text}" if symbol else text)
    if uidt == "Percent":
        return escape(f"{number.normalize():f} %")
    if precision not in (None, ""):
        return escape(f"{number:,.{int(precision)}f}")
    return escape(f"{number:f}")


def attachments_html(value, file_url=None) -> str:
    """An attachment cell: a thumbnail per image, a chip per other file (or per image when
    `file_url`, entry -> the URL serving it, is not given). An image whose thumbnail could not
    be made (a hostile or broken file) shows as a chip: its original is never put in an <img>
    here."""
    files = [f for f in value if isinstance(f, dict)] if isinstance(value, list) else []
    parts = []
    for f in files[:ATTACHMENTS_SHOWN]:
        name = f.get("name") or "file"
        if file_url and f.get("mime") in THUMB_TYPES and f.get("thumb") is not False:
            parts.append(
                format_html(
                    '<img class="att-mini" src="{}?thumb=1" alt="" title="{}"'
                    ' loading="lazy" draggable="false">'
                    '<span class="visually-hidden">{}</span>',
                    file_url(f),
                    name,
                    name,
                )
            )
        else:
            parts.append(_chip(name, "#eef2f7"))
    more = len(files) - ATTACHMENTS_SHOWN
    if more > 0:
        parts.append(f'<span class="att-more">+{more}</span>')
    return "".join(parts)


def display_html(field, value, file_url=None) -> str:
    """A value as the cell shows it (escaped HTML). `file_url` (attachment fields): entry ->
    the access-checked URL of that file, to show images as thumbnails."""
    uidt = field.uidt
    if uidt == "Checkbox":  # an empty checkbox shows as unchecked, ready for its click
        return (
            '<span class="cb on" aria-label="checked">✓</span>'
            if value
            else '<span class="cb" aria-label="unchecked"></span>'
        )
    if value is None or value == "":
        return ""
    if uidt == "SingleSelect":
        return _chip(value, _choice_colours(field).get(value, "#eeeeee"))
    if uidt == "MultiSelect":
        colours = _choice_colours(field)
        return "".join(
            _chip(v, colours.get(v, "#eeeeee")) for v in str(value).split(",") if v
        )
    if uidt in NUMERIC_UIDTS:
        return _number(field, value)
    if uidt == "URL":
        text = str(value)
        if SAFE_URL.match(text):
            return format_html(
                '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
                text,
                text[:120],
            )
        return escape(text[:DISPLAY_LIMIT])
    if uidt == "LinkToAnotherRecord":
        if isinstance(value, dict):
            return _chip(_display_value(value), "#e8ecf8")
        count = int(value or 0)
        if not count:
            return ""
        return _chip(f"{count} linked", "#e8ecf8")
    if uidt == "Attachment":
        return attachments_html(value, file_url)
    if uidt == "JSON":
        return format_html(
            '<code class="json">{}</code>',
            json.dumps(value, ensure_ascii=False)[:DISPLAY_LIMIT],
        )
    if isinstance(value, dt.datetime):
        return escape(value.strftime("%Y-%m-%d %H:%M"))
    return escape(raw_text(field, value)[:DISPLAY_LIMIT])


def grid_cell(field, value, *, editable: bool, file_url=None) -> GridCell:
    """`editable`: typed into, or for an attachment cell, files may be added (can_upload)."""
    css = f" t-{field.uidt}"
    if not editable and field.uidt != "LinkToAnotherRecord":
        css += " ro"
    return GridCell(
        field.id,
        mark_safe(display_html(field, value, file_url)),  # noqa: S308 - escaped there
        raw_text(field, value),
        css,
    )


def normalise_number(text: str, decimal_sep: str = ".") -> str:
    """Typed or pasted number text in any common locale form → '1234.5'.

    Spaces, currency symbols and '%' are dropped. With both ',' and '.', the last one is the
    decimal separator. With only one kind: several of them group thousands; a single one is
    grouping only when it is the user's grouping character and three digits follow it
    ("1,234" in English, "1.234" in German), otherwise it is the decimal point ("12,5").
    Anything else is returned as typed, for the field type to refuse with its message.
    """
    s = re.sub(r"[\s\u00a0\u202f'’]|[€$£¥₹%]", "", str(text))
    s = re.sub(r"^[A-Z]{3}|[A-Z]{3}$", "", s)
    if not re.fullmatch(r"[-+]?[0-9.,]+", s or "x"):
        return str(text).strip()
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        group = "." if dec == "," else ","
        return s.replace(group, "").replace(dec, ".")
    sep = "," if commas else "." if dots else None
    if sep is None:
        return s
    if s.count(sep) > 1:
        return s.replace(sep, "")
    group_char = "." if decimal_sep == "," else ","
    after = s.split(sep)[1]
    if sep == group_char and len(after) == 3:
        return s.replace(sep, "")
    return s.replace(sep, ".")


def typed_value(field, text, decimal_sep: str = "."):
    """What the grid sends to the records service for text typed or pasted into a cell."""
    if text is None:
        return None
    if not isinstance(text, str):
        return text
    if field.uidt == "Checkbox":
        t = text.strip().lower()
        return {"✓": "true", "x": "true", "☑": "true"}.get(t, t or "false")
    if text == "":
        return None
    if field.uidt in NUMERIC_UIDTS:
        return normalise_number(text, decimal_sep)
    if field.uidt == "DateTime" and re.fullmatch(
        r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?", text.strip()
    ):
        return text.strip().replace(" ", "T")
    if field.uidt == "MultiSelect":
        return ",".join(p.strip() for p in re.split(r"[,;\n]", text) if p.strip())
    return text
