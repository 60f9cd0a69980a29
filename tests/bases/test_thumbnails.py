"""Image thumbnails (bases/thumbnails.py): made at upload, stored next to the original,
served through the attachment view with its checks and headers; hostile images get none."""

import io
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from bases import attachments, records, schema_services, thumbnails
from bases.demo import create_demo_base
from nocoplatform.errors import InvalidInput
from permissions.checks import SYSTEM
from permissions.services import field_rule_set, membership_create
from records.writes import update_rows
from tests.images import bomb_png, image_bytes, noisy_png, photo_jpeg, truncated

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(user, actor):
    table = create_demo_base(user).tables.get(title="clients")
    schema_services.field_create(
        actor=actor, table=table, data={"title": "files", "uidt": "Attachment"}
    )
    return table


@pytest.fixture
def files_field(clients):
    return clients.fields.get(title="files")


def url(table, field, entry, record_id=1, thumb=True):
    return (
        f"/bases/{table.base_id}/tables/{table.pk}/attachments/{record_id}/{field.pk}/"
        f"{entry['id']}" + ("?thumb=1" if thumb else "")
    )


def add(table, field, name, data, record_id=1):
    return attachments.attachments_add(
        actor=SYSTEM,
        table=table,
        record_id=record_id,
        field_id=field.pk,
        files=[SimpleUploadedFile(name, data)],
    )[-1]


def thumb_file(table, field, entry) -> Path:
    return Path(django_settings.MEDIA_ROOT) / thumbnails.thumb_path(
        table.pk, field.pk, entry["id"]
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- making them --------------------------------------------------------------------------


def test_a_thumbnail_keeps_the_shape_within_256_pixels():
    data = thumbnails.make_thumbnail(io.BytesIO(image_bytes(1000, 500)))
    im = Image.open(io.BytesIO(data))
    assert im.format == "WEBP" and im.size == (256, 128)
    small = thumbnails.make_thumbnail(io.BytesIO(image_bytes(40, 30, "JPEG")))
    assert Image.open(io.BytesIO(small)).size == (40, 30)  # never enlarged


def test_transparency_animation_and_exif_rotation():
    out = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(out, "PNG")
    im = Image.open(io.BytesIO(thumbnails.make_thumbnail(out)))
    assert im.mode == "RGBA" and im.getpixel((10, 10))[3] == 0
    gif = io.BytesIO()
    frames = [Image.new("P", (64, 64), i) for i in (1, 2, 3)]
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(thumbnails.make_thumbnail(gif))).size == (64, 64)
    # A camera's portrait photo: stored landscape, with an EXIF orientation of 6.
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 200), (9, 9, 9)).save(photo, "JPEG", exif=exif)
    rotated = Image.open(io.BytesIO(thumbnails.make_thumbnail(photo)))
    assert rotated.size == (128, 256)


@pytest.mark.parametrize(
    "width, height, stopped_by",
    [
        (30_000, 30_000, "DecompressionBombError"),  # beyond twice Pillow's limit
        (10_000, 10_000, "DecompressionBombWarning"),  # beyond it: made an error
        (8_000, 7_000, "IMAGE_TOO_LARGE"),  # beyond NOCO_ATTACHMENT_THUMB_MAX_PIXELS
    ],
)
def test_decompression_bombs_give_no_thumbnail_without_being_decoded(
    width, height, stopped_by, caplog
):
    data = bomb_png(width, height)
    assert len(data) < 20_000  # a small file…
    start = time.perf_counter()
    with caplog.at_level("INFO", logger="bases.thumbnails"):
        assert thumbnails.make_thumbnail(io.BytesIO(data)) is None
    assert time.perf_counter() - start < 0.5  # …refused from its header alone
    assert f"No thumbnail: {stopped_by}" in caplog.text


def test_the_pixel_limit_is_a_setting(settings):
    settings.NOCO_ATTACHMENT_THUMB_MAX_PIXELS = 1000
    assert thumbnails.make_thumbnail(io.BytesIO(image_bytes(40, 30))) is None
    assert thumbnails.make_thumbnail(io.BytesIO(image_bytes(30, 30))) is not None


@pytest.mark.parametrize(
    "data",
    [
        noisy_png()[:6000],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # only its first bytes are a PNG's
        b"\xff\xd8\xff" + b"garbage" * 50,  # likewise a JPEG
        b"plain text",
    ],
    ids=["truncated", "fake-png", "fake-jpeg", "text"],
)
def test_broken_images_give_no_thumbnail(data):
    assert thumbnails.make_thumbnail(io.BytesIO(data)) is None


# --- at upload ----------------------------------------------------------------------------


def test_upload_stores_the_thumbnail_next_to_the_original(clients, files_field):
    entry = add(clients, files_field, "photo.jpg", image_bytes(800, 600, "JPEG"))
    assert entry["thumb"] is True and entry["mime"] == "image/jpeg"
    thumb = thumb_file(clients, files_field, entry)
    original = Path(django_settings.MEDIA_ROOT) / entry["path"]
    assert thumb.parent.parent == original.parent  # in the file's own folder
    assert Image.open(thumb).size == (256, 192)
    # The flag survives the records layer (the API reads and writes it).
    row = records.get_record(clients, 1, actor=SYSTEM)
    assert row["files"][0]["thumb"] is True
    # Removing the file removes its thumbnail.
    attachments.attachment_remove(
        actor=SYSTEM,
        table=clients,
        record_id=1,
        field_id=files_field.pk,
        file_id=entry["id"],
    )
    assert not thumb.exists() and not original.exists()


# Images whose bytes claim an image type but that cannot be decoded safely: refused at
# upload with the reason, nothing stored (they were stored, with status 200, before).
HOSTILE = [
    (bomb_png(30_000, 30_000), "IMAGE_TOO_LARGE"),  # beyond twice Pillow's limit
    (bomb_png(10_000, 10_000), "IMAGE_TOO_LARGE"),  # beyond Pillow's limit
    (
        bomb_png(8_000, 7_000),
        "IMAGE_TOO_LARGE",
    ),  # beyond NOCO_ATTACHMENT_THUMB_MAX_PIXELS
    (noisy_png()[:6000], "IMAGE_CORRUPT"),  # truncated PNG (chunk checksums)
    (truncated(photo_jpeg()), "IMAGE_CORRUPT"),  # truncated JPEG (only decoding tells)
    (truncated(image_bytes(300, 300, "GIF"), 0.2), "IMAGE_CORRUPT"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "IMAGE_CORRUPT"),  # only its magic
]
HOSTILE_IDS = [
    "bomb-30k",
    "bomb-10k",
    "bomb-8k",
    "truncated-png",
    "truncated-jpeg",
    "truncated-gif",
    "fake-png",
]


def stored(table) -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT) / "attachments" / str(table.pk)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("data, code", HOSTILE, ids=HOSTILE_IDS)
def test_a_hostile_image_dropped_on_the_grid_is_refused(
    web, clients, files_field, data, code
):
    start = time.perf_counter()
    r = web.post(
        f"/bases/{clients.base_id}/tables/{clients.pk}/cells/1/{files_field.pk}",
        {"files": [SimpleUploadedFile("huge.png", data)]},
        HTTP_X_GRID_EDITOR="1",
    )
    assert time.perf_counter() - start < 2  # refused without decoding a bomb
    assert r.status_code == 400, r.content
    body = r.json()
    assert body["error"] == code and "'huge.png'" in body["message"]
    assert not records.get_record(clients, 1, actor=SYSTEM)["files"]
    assert stored(clients) == []


@pytest.mark.parametrize("data, code", HOSTILE, ids=HOSTILE_IDS)
def test_a_hostile_image_uploaded_to_the_files_panel_is_refused(
    web, clients, files_field, data, code
):
    good = SimpleUploadedFile("fine.png", image_bytes())
    r = web.post(
        f"/bases/{clients.base_id}/tables/{clients.pk}/attachments/1/{files_field.pk}",
        {"files": [good, SimpleUploadedFile("bad.jpg", data)]},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "bad.jpg" in html and (
        "too many pixels" in html if code == "IMAGE_TOO_LARGE" else "corrupt" in html
    )
    # The whole upload is refused: the good file next to it is not kept either.
    assert not records.get_record(clients, 1, actor=SYSTEM)["files"]
    assert stored(clients) == []


def test_the_pixel_limit_refuses_uploads(web, clients, files_field, settings):
    settings.NOCO_ATTACHMENT_THUMB_MAX_PIXELS = 1000
    with pytest.raises(InvalidInput) as refused:
        add(clients, files_field, "a.png", image_bytes(40, 30))
    assert refused.value.code == "IMAGE_TOO_LARGE"
    assert "40 × 30" in refused.value.message and "1,000" in refused.value.message
    assert add(clients, files_field, "b.png", image_bytes(30, 30))["thumb"] is True


def test_files_that_are_no_image_are_not_checked_as_images(clients, files_field):
    """Only bytes that claim an image type are decoded: a PDF or a text starting with
    garbage stays a plain file."""
    entry = add(clients, files_field, "a.pdf", b"%PDF-1.4 not really")
    assert entry["mime"] == "application/pdf" and "thumb" not in entry


# --- serving --------------------------------------------------------------------------------


def test_thumbnails_are_served_with_the_same_headers(web, clients, files_field):
    entry = add(clients, files_field, "logo.png", image_bytes(512, 512))
    r = web.get(url(clients, files_field, entry))
    assert r.status_code == 200
    assert r["Content-Type"] == "image/webp"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"] == 'inline; filename="logo.webp"'
    assert "sandbox" in r["Content-Security-Policy"]
    assert r["Cache-Control"] == "private, max-age=300"
    assert Image.open(io.BytesIO(body(r))).size == (256, 256)
    original = web.get(url(clients, files_field, entry, thumb=False))
    assert original["Content-Type"] == "image/png" and len(body(original)) > 0


def test_thumbnails_have_the_access_checks_of_the_cell(
    client, web, other_user, clients, files_field, actor
):
    entry = add(clients, files_field, "a.png", image_bytes())
    thumb = url(clients, files_field, entry)
    client.force_login(other_user)
    assert client.get(thumb).status_code == 404  # not a member
    membership_create(base=clients.base, user=other_user, role="viewer")
    assert client.get(thumb).status_code == 200
    field_rule_set(actor=actor, field=files_field, hidden_below="editor")
    assert client.get(thumb).status_code == 404  # the field is hidden from them
    # Another row (that does not hold the file), or one that does not exist: 404.
    assert web.get(url(clients, files_field, entry, record_id=2)).status_code == 404
    assert web.get(url(clients, files_field, entry, record_id=999)).status_code == 404


def test_files_stored_before_thumbnails_get_one_when_first_shown(
    web, clients, files_field
):
    entry = add(clients, files_field, "old.png", image_bytes(900, 300))
    thumb = thumb_file(clients, files_field, entry)
    thumb.unlink()
    legacy = {k: v for k, v in entry.items() if k != "thumb"}
    update_rows(clients, [{"Id": 1, "files": [legacy]}], actor=SYSTEM)
    r = web.get(url(clients, files_field, legacy))
    assert r.status_code == 200 and r["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(body(r))).size == (256, 85)
    assert thumb.exists()  # kept for the next time
    r = web.get(url(clients, files_field, legacy))
    assert r["Content-Type"] == "image/webp"


def test_a_file_that_is_no_image_never_gets_a_thumbnail(web, clients, files_field):
    """A forged entry (mime and thumb rewritten through the API) changes nothing: the bytes
    decide, and an HTML file stays a download."""
    entry = add(clients, files_field, "page.png", b"<!doctype html><script>1</script>")
    assert entry["mime"] == "text/html" and "thumb" not in entry
    forged = {**entry, "mime": "image/png", "thumb": True}
    update_rows(clients, [{"Id": 1, "files": [forged]}], actor=SYSTEM)
    r = web.get(url(clients, files_field, forged))
    assert r["Content-Type"].startswith("text/html")
    assert r["Content-Disposition"].startswith("attachment")
    assert not thumb_file(clients, files_field, entry).exists()
