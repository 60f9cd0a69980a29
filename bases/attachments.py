"""Attachment files: store uploads, add them to a cell, remove them, and find one to serve.

Files go to the "attachments" storage (Django's storage API: local files under
NOCO_VAR_DIR/media by default; any backend, e.g. an S3-compatible one, by settings) at
`attachments/<table id>/<field id>/<file id>/<clean name>`, and an image's thumbnail
(bases/thumbnails.py) in that file's folder. The cell holds JSON
[{"id", "name", "size", "mime", "path", "thumb"}] written through
records.writes.update_rows, so permissions, webhooks and realtime work as for any write.

The server decides the content type from the file's first bytes (`sniff`), never from the
browser's header or the name; names are cleaned of paths and control characters.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from bases import records, thumbnails
from bases.fieldtypes import field_type_for
from bases.models import Field, Table
from bases.table_meta import TableMeta
from nocoplatform.errors import InvalidInput, NotFound
from permissions.checks import Actor, require
from records.writes import update_rows

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
    if field is None or not field_type_for(field).holds_files:
        raise NotFound("Field not found.", code="FIELD_NOT_FOUND")
    return field


def cell_files(table: Table, record_id, field: Field, actor: Actor) -> list:
    """The files stored in a cell, read as `actor` may see them."""
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
    current = cell_files(table, record_id, field, actor)
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


def type_allowed(mime: str, allowed: list[str]) -> bool:
    """Whether a (sniffed) content type is in NOCO_ATTACHMENT_ALLOWED_TYPES (`image/*` style
    wildcards; an empty list allows every type)."""
    if not allowed:
        return True
    major = mime.split("/")[0]
    return any(a == mime or a == f"{major}/*" or a == "*/*" for a in allowed)


def check_limits(files: list, current: list | None = None) -> None:
    """Refuse files of a type not allowed, or over the per-file, per-cell count or per-cell
    size limits (InvalidInput)."""
    current = current or []
    allowed = [a.strip().lower() for a in settings.NOCO_ATTACHMENT_ALLOWED_TYPES]
    for upload in files if allowed else ():
        upload.seek(0)
        mime = sniff(upload.read(8192))
        upload.seek(0)
        if not type_allowed(mime, allowed):
            raise InvalidInput(
                f"'{clean_name(upload.name)}' is a file of type {mime}, which is not "
                f"accepted here (accepted: {', '.join(allowed)}).",
                code="FILE_TYPE_NOT_ALLOWED",
            )
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
    # Last, as it reads the files: bytes that claim an image must be one that decodes
    # safely (bases/thumbnails.py: IMAGE_TOO_LARGE, IMAGE_CORRUPT).
    for upload in files:
        upload.seek(0)
        mime = sniff(upload.read(8192))
        upload.seek(0)
        if mime in thumbnails.THUMB_TYPES:
            thumbnails.check_image(upload, name=clean_name(upload.name))


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
            mime = sniff(head)
            # Decoding is the last check of an image (a truncated JPEG passes the header's):
            # made before the file is stored, refused with the reason when it fails.
            thumb = (
                thumbnails.thumbnail_of(upload, name=name)
                if mime in thumbnails.THUMB_TYPES
                else None
            )
            path = store.save(path_for(table, field, file_id, name), upload)
            entry = {
                "id": file_id,
                "name": name,
                "size": upload.size,
                "mime": mime,
                "path": path,
            }
            added.append(entry)
            if thumb is not None:
                store.save(
                    thumbnails.thumb_path(table.pk, field.pk, file_id),
                    ContentFile(thumb),
                )
                entry["thumb"] = True
    except Exception:
        discard(added)
        raise
    return added


def _thumb_of(entry: dict) -> str | None:
    """The thumbnail path of a stored entry (its folder, from its own path)."""
    path = str(entry.get("path") or "")
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != "attachments" or parts[3] != entry.get("id"):
        return None
    return thumbnails.thumb_path(parts[1], parts[2], parts[3])


def discard(entries: list) -> None:
    store = storage()
    for entry in entries:
        store.delete(entry["path"])
        thumb = _thumb_of(entry)
        if thumb and entry.get("thumb"):
            store.delete(thumb)


def _key(table: Table, record_id, actor: Actor) -> dict:
    meta = TableMeta.of(table, actor=actor)
    values = meta.parse_record_id(record_id)
    return {f.title: v for f, v in zip(meta.pk, values, strict=True)}


def attachment_remove(
    *, actor: Actor, table: Table, record_id, field_id: str, file_id: str
) -> list:
    field = _attachment_field(table, field_id, actor)
    require(actor, "records.update", field)
    current = cell_files(table, record_id, field, actor)
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
            # A thumbnail may exist whatever the entry says (made lazily for older files).
            storage().delete(thumbnails.thumb_path(table.pk, field.pk, entry["id"]))
    return kept


def _expected(table: Table, field: Field, entry: dict) -> bool:
    """The entry's path is the one this table, field and id give (a crafted entry is not)."""
    path = str(entry.get("path") or "")
    prefix = f"attachments/{table.pk}/{field.pk}/{entry.get('id')}/"
    return (
        path.startswith(prefix) and "/" not in path[len(prefix) :] and ".." not in path
    )


def attachment_open(
    *,
    actor: Actor,
    table: Table,
    record_id,
    field_id: str,
    file_id: str,
    thumb: bool = False,
) -> Served:
    """The file to serve (its thumbnail with `thumb` when it has one), after the same checks
    as reading the cell (404 when the row, the field or the file is not the actor's to see)."""
    field = _attachment_field(table, field_id, actor)
    return serve_entry(
        table, field, cell_files(table, record_id, field, actor), file_id, thumb=thumb
    )


def serve_entry(
    table: Table, field: Field, cell: list, file_id: str, *, thumb: bool = False
) -> Served:
    """The file `file_id` of a cell the caller has already been allowed to read."""
    for entry in cell:
        if not (
            isinstance(entry, dict)
            and entry.get("id") == file_id
            and _expected(table, field, entry)
        ):
            continue
        if thumb and entry.get("thumb") is not False:
            served = _open_thumbnail(table, field, entry)
            if served is not None:
                return served
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


def _open_thumbnail(table: Table, field: Field, entry: dict) -> Served | None:
    """The entry's thumbnail; made now for an image stored before thumbnails existed (or
    whose thumbnail went missing). None when the file is no image it can be made of."""
    store = storage()
    path = thumbnails.thumb_path(table.pk, field.pk, entry["id"])
    stem = str(entry.get("name") or "file").rpartition(".")[0] or "file"
    served = {**entry, "mime": "image/webp", "name": f"{stem}.webp"}
    try:
        handle = store.open(path, "rb")
    except (FileNotFoundError, OSError):
        handle = None
    if handle is not None:
        if sniff(handle.read(16)) == "image/webp":
            handle.seek(0)
            return Served(served, handle, True)
        handle.close()
        return None
    try:
        with store.open(entry["path"], "rb") as original:
            if sniff(original.read(8192)) not in thumbnails.THUMB_TYPES:
                return None
            data = thumbnails.make_thumbnail(original)
    except (FileNotFoundError, OSError):
        return None
    if data is None:
        return None
    if not store.exists(path):  # two first views at once: the first one's file is kept
        store.save(path, ContentFile(data))
    return Served(served, ContentFile(data), True)
