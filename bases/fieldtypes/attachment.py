"""Attachments: the files of a cell, stored as JSON text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import quote

from bases import value_limits as limits
from bases.fieldtypes.base import FieldType, Parser
from bases.fieldtypes.columns import JSON, LONGTEXT, TEXTUAL
from bases.fieldtypes.html import chip, format_html
from nocoplatform.errors import InvalidInput

# Raster types shown as thumbnails (bases/thumbnails.THUMB_TYPES; not imported, to keep
# Pillow out of the grid's import path).
THUMB_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
ATTACHMENTS_SHOWN = 5  # files drawn in a cell; "+N" for the rest


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
            parts.append(chip(name, "#eef2f7"))
    more = len(files) - ATTACHMENTS_SHOWN
    if more > 0:
        parts.append(f'<span class="att-more">+{more}</span>')
    return "".join(parts)


class Attachment(FieldType):
    """Files of a cell, stored as JSON text: [{"id", "name", "size", "mime", "path", "thumb"}].

    The files themselves live in the "attachments" storage (bases/attachments.py), which is
    the only writer of entries; written values are checked for shape here, and a file is
    served only from the path its table, field and id give (so a crafted entry reaches
    nothing else).
    """

    uidt, label = "Attachment", "Attachment"
    icon = "◫"
    column_types = (*TEXTUAL, JSON)
    default_column_type = LONGTEXT
    holds_files = True
    decodes_json = True
    typed_in_cell = False  # files are added from the cell's popup or dropped on it
    has_cover = True
    _id = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

    def parse(self, value, options):
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise InvalidInput("expected a list of attachments (JSON)")
        if not isinstance(value, list):
            raise InvalidInput("expected a list of attachments")
        out = []
        for item in value:
            if not isinstance(item, dict):
                raise InvalidInput("each attachment is an object")
            entry = {
                "id": str(item.get("id") or ""),
                "name": str(item.get("name") or "")[:255],
                "size": item.get("size"),
                "mime": str(item.get("mime") or "application/octet-stream")[:100],
                "path": str(item.get("path") or "")[:500],
            }
            if not self._id.match(entry["id"]) or not isinstance(entry["size"], int):
                raise InvalidInput("an attachment needs an `id` and an integer `size`")
            if isinstance(item.get("thumb"), bool):
                # Whether the upload made a thumbnail (bases/thumbnails.py); absent on
                # files stored before thumbnails existed.
                entry["thumb"] = item["thumb"]
            out.append(entry)
        limits.json_text(out)  # no NUL in a name or path
        return out

    def value_parser(self, field, *, db: str) -> Parser:
        parse, limit = self.parse, limits.text_limit(field, db=db)

        def parse_files(value, options):
            files = parse(value, options)
            if files is not None:
                limit.check(limits.json_text(files))
            return files

        return parse_files

    def edit_text(self, field, value) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False)

    def export_text(self, field, value) -> str:
        """The files' names, comma separated (their URLs need a session: never exported)."""
        if not isinstance(value, list):
            return ""
        return ", ".join(
            str(e.get("name") or "file") for e in value if isinstance(e, dict)
        )

    def show(self, field, value, file_url=None) -> str:
        return attachments_html(value, file_url)

    def cover_url(self, field, value, table=None, record_id=None) -> str | None:
        """The thumbnail of the cell's first image (PNG, JPEG, GIF, WebP), served through the
        attachment view with its access checks; other files, and images whose thumbnail
        could not be made (hostile or broken files), give no cover."""
        if table is None or record_id is None or not isinstance(value, list):
            return None
        for entry in value:
            if (
                isinstance(entry, dict)
                and entry.get("mime") in THUMB_TYPES
                and entry.get("thumb") is not False
            ):
                return files_url(table, record_id, field)(entry) + "?thumb=1"
        return None
