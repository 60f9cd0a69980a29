"""Attachment files: store uploads, add them to a cell, remove them, and find one to serve.

Files go to the "attachments" storage (Django's storage API: local files under
NOCO_VAR_DIR/media by default; any backend, e.g. an S3-compatible one, by settings) at
`attachments/<table id>/<field id>/<file id>/<clean name>`. The cell holds JSON
[{"id", "name", "size", "mime", "path"}] written through bases.record_services.update_rows, so
permissions, webhooks and realtime work as for any write.

The server decides the content type from the file's first bytes (`sniff`), never from the
browser's header or the name; names are cleaned of paths and control characters.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import storages

from bases import records
from bases.models import Field, Table
from bases.record_services import update_rows
from bases.table_meta import TableMeta
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import Actor, require

# Served inline (shown in the page); everything else is a download. Never SVG or HTML.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
]
_MARKUP = re.compile(
    rb"^\s*(<\?xml|<svg|<!doctype\s+html|<html|<script|<head|<body)", re.I
)


def storage():
    return storages["attachments"]


def sniff(head: bytes) -> str:
    """The content type of a file from its first bytes (SVG/HTML named as such)."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    text = head.lstrip(b"\xef\xbb\xbf")
    if _MARKUP.match(text[:512]):
        return "image/svg+xml" if b"<svg" in text[:4096].lower() else "text/html"
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        # The head may end inside a multi-byte character: retry without its last 3 bytes.
        try:
            text[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "text/plain" if b"\x00" not in text else "application/octet-stream"


def clean_name(name: str) -> str:
    """A file name safe to store and to send back: no folders, no control characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.strip().lstrip(".").strip()
    name = re.sub(r"[<>:\"|?*]", "_", name)
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:100] + dot + ext[:15]) if dot else name[:120]
    return name or "file"


def path_for(table: Table, field: Field, file_id: str, name: str) -> str:
    return f"attachments/{table.pk}/{field.pk}/{file_id}/{name}"


@dataclass
class Served:
    entry: dict
    file: object
    inline: bool


def _attachment_field(table: Table, field_id: str, actor: Actor) -> Field:
    meta = TableMeta.of(table, actor=actor)
    field = meta.resolve.by_id.get(field_id)
    if field is None or field.uidt != "Attachment":
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    return field


def _cell(table: Table, record_id, field: Field, actor: Actor) -> list:
    row = records.get_record(table, record_id, {"fields": [field.id]}, actor=actor)
    value = row.get(field.title)
    return list(value) if isinstance(value, list) else []


def attachments_add(
    *, actor: Actor, table: Table, record_id, field_id: str, files: list
) -> list:
    """Store uploaded files and append them to the cell; the cell's new list.

    Limits (NOCO_ATTACHMENT_MAX_SIZE per file, NOCO_ATTACHMENT_MAX_FILES and
    NOCO_ATTACHMENT_MAX_CELL_SIZE per cell) are checked before anything is stored.
    """
    field = _attachment_field(table, field_id, actor)
    require(actor, "records.update", field)
    current = _cell(table, record_id, field, actor)
    if not files:
        raise InvalidInput("Choose at least one file.", code="NO_FILE")
    added = attachments_store(table=table, field=field, files=files, current=current)
    try:
        update_rows(
            table,
            [{**_key(table, record_id, actor), field.title: current + added}],
            actor=actor,
        )
    except Exception:
        discard(added)
        raise
    return current + added


def check_limits(files: list, current: list | None = None) -> None:
    """Refuse files over the per-file, per-cell count or per-cell size limits (InvalidInput)."""
    current = current or []
    max_size = settings.NOCO_ATTACHMENT_MAX_SIZE
    if len(current) + len(files) > settings.NOCO_ATTACHMENT_MAX_FILES:
        raise InvalidInput(
            f"A cell holds at most {settings.NOCO_ATTACHMENT_MAX_FILES} files.",
            code="TOO_MANY_FILES",
        )
    total = sum(int(e.get("size") or 0) for e in current)
    for upload in files:
        if upload.size > max_size:
            raise InvalidInput(
                f"'{clean_name(upload.name)}' is larger than {max_size // 1024} KiB.",
                code="FILE_TOO_LARGE",
            )
        total += upload.size
    if total > settings.NOCO_ATTACHMENT_MAX_CELL_SIZE:
        raise InvalidInput(
            f"A cell's files are at most {settings.NOCO_ATTACHMENT_MAX_CELL_SIZE // 1024} KiB in all.",
            code="CELL_TOO_LARGE",
        )


def attachments_store(
    *, table: Table, field: Field, files: list, current: list | None = None
) -> list:
    """Check the limits, store the files, return their cell entries (the caller writes the
    cell, and calls `discard` on them if that write fails)."""
    check_limits(files, current)
    added, store = [], storage()
    try:
        for upload in files:
            upload.seek(0)
            head = upload.read(8192)
            upload.seek(0)
            file_id = secrets.token_urlsafe(12)
            name = clean_name(upload.name)
            path = store.save(path_for(table, field, file_id, name), upload)
            added.append(
                {
                    "id": file_id,
                    "name": name,
                    "size": upload.size,
                    "mime": sniff(head),
                    "path": path,
                }
            )
    except Exception:
        discard(added)
        raise
    return added


def discard(entries: list) -> None:
    for entry in entries:
        storage().delete(entry["path"])


def _key(table: Table, record_id, actor: Actor) -> dict:
    meta = TableMeta.of(table, actor=actor)
    values = meta.parse_record_id(record_id)
    return {f.title: v for f, v in zip(meta.pk, values, strict=True)}


def attachment_remove(
    *, actor: Actor, table: Table, record_id, field_id: str, file_id: str
) -> list:
    field = _attachment_field(table, field_id, actor)
    require(actor, "records.update", field)
    current = _cell(table, record_id, field, actor)
    kept = [e for e in current if e.get("id") != file_id]
    if len(kept) == len(current):
        raise NotFound("File not found.", code="FILE_NOT_FOUND")
    update_rows(
        table,
        [{**_key(table, record_id, actor), field.title: kept or None}],
        actor=actor,
    )
    for entry in current:
        if entry.get("id") == file_id and _expected(table, field, entry):
            storage().delete(entry["path"])
    return kept


def _expected(table: Table, field: Field, entry: dict) -> bool:
    """The entry's path is the one this table, field and id give (a crafted entry is not)."""
    path = str(entry.get("path") or "")
    prefix = f"attachments/{table.pk}/{field.pk}/{entry.get('id')}/"
    return (
        path.startswith(prefix) and "/" not in path[len(prefix) :] and ".." not in path
    )


def attachment_open(
    *, actor: Actor, table: Table, record_id, field_id: str, file_id: str
) -> Served:
    """The file to serve, after the same checks as reading the cell (404 when the row, the
    field or the file is not the actor's to see)."""
    field = _attachment_field(table, field_id, actor)
    for entry in _cell(table, record_id, field, actor):
        if entry.get("id") == file_id and _expected(table, field, entry):
            try:
                handle = storage().open(entry["path"], "rb")
            except (FileNotFoundError, OSError):
                break
            # The type is decided again from the stored bytes: an entry's `mime` may have
            # been rewritten through the API.
            mime = sniff(handle.read(8192))
            handle.seek(0)
            return Served({**entry, "mime": mime}, handle, mime in INLINE_TYPES)
    raise NotFound("File not found.", code="FILE_NOT_FOUND")
