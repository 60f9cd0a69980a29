"""Image checks and thumbnails of image attachments, made with Pillow when a file is uploaded.

A thumbnail is a WebP at most THUMB_SIZE pixels on its longer side, stored through the same
storage next to its original, at `attachments/<table>/<field>/<file id>/thumb/<size>.webp`.
That is a folder inside the file's own: a stored file name never holds a "/"
(attachments.clean_name), so no upload can take a thumbnail's place.

Hostile images. A file whose bytes claim an image type (PNG, JPEG, GIF, WebP) must be an
image that decodes safely, or the upload is refused (400, nothing stored):
- IMAGE_TOO_LARGE: the pixel count read from the header is over
  NOCO_ATTACHMENT_THUMB_MAX_PIXELS, or over Pillow's decompression-bomb limit
  (Image.MAX_IMAGE_PIXELS, whose warning is made an error). Nothing is decoded.
- IMAGE_CORRUPT: Pillow cannot read the header, `verify()` fails (PNG chunk checksums, a
  truncated PNG), or the pixel data does not decode when the thumbnail is made (a truncated
  JPEG or GIF passes `verify()`; only decoding tells). JPEGs decode at a reduced scale.
Refusing rather than keeping such a file as a plain download: a file that says it is a
picture but is none is either broken or an attack, and the user learns it at once rather
than finding a grey chip later. Files stored before this check get their thumbnail lazily
(`make_thumbnail`), which answers None for them instead of refusing.
"""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import contextmanager

from django.conf import settings
from PIL import Image, ImageOps

from nocoplatform.errors import InvalidInput

log = logging.getLogger(__name__)

THUMB_SIZE = 256
# Types a thumbnail is made of (the same safe raster types that may show inline).
THUMB_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def thumb_path(table_id, field_id, file_id) -> str:
    return f"attachments/{table_id}/{field_id}/{file_id}/thumb/{THUMB_SIZE}.webp"


def _corrupt(name: str) -> InvalidInput:
    return InvalidInput(
        f"'{name}' looks like an image but is corrupt or truncated; it was not stored.",
        code="IMAGE_CORRUPT",
    )


def _too_large(name: str, size: str) -> InvalidInput:
    ours = settings.NOCO_ATTACHMENT_THUMB_MAX_PIXELS
    limit = min(ours, Image.MAX_IMAGE_PIXELS or ours)
    return InvalidInput(
        f"'{name}' has too many pixels ({size}; at most {limit:,} are accepted); "
        "it was not stored.",
        code="IMAGE_TOO_LARGE",
    )


@contextmanager
def _opened(fileobj, name: str):
    """The image in `fileobj`, opened from its header only (no pixel is decoded yet);
    refused when it is too large to decode or not a readable image."""
    fileobj.seek(0)
    try:
        # Not thread-safe (warnings filters are global), but the pixel check below does not
        # depend on it: it only turns Pillow's own bomb warning into a refusal too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fileobj, formats=_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _too_large(name, "over the decompression-bomb limit") from exc
    except Exception as exc:  # noqa: BLE001 - hostile input: any reader error is "corrupt"
        raise _corrupt(name) from exc
    with im:
        width, height = im.size
        if width < 1 or height < 1:
            raise _corrupt(name)
        if width * height > settings.NOCO_ATTACHMENT_THUMB_MAX_PIXELS:
            raise _too_large(name, f"{width} × {height}")
        yield im


def check_image(fileobj, *, name: str) -> None:
    """Refuse (InvalidInput) an image too large to decode, or whose header or checksums are
    broken, before anything is stored or decoded (cheap: header and PNG chunk walk)."""
    try:
        with _opened(fileobj, name) as im:
            try:
                im.verify()
            except Exception as exc:  # noqa: BLE001 - hostile input
                raise _corrupt(name) from exc
    finally:
        fileobj.seek(0)


def thumbnail_of(fileobj, *, name: str = "file") -> bytes:
    """The WebP thumbnail of the image in `fileobj`; refused (InvalidInput) when it is too
    large to decode or its pixel data does not decode (truncated or corrupt)."""
    try:
        with _opened(fileobj, name) as im:
            try:
                # JPEG: decode at 1/2…1/8 scale when that still covers the thumbnail.
                im.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
                im = ImageOps.exif_transpose(im)
                im.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
                alpha = "A" in im.getbands() or "transparency" in im.info
                im = im.convert("RGBA" if alpha else "RGB")
                out = io.BytesIO()
                im.save(out, "WEBP", quality=80, method=4)
                return out.getvalue()
            except Exception as exc:  # noqa: BLE001 - hostile input: a decoder error
                raise _corrupt(name) from exc
    finally:
        fileobj.seek(0)


def make_thumbnail(fileobj) -> bytes | None:
    """The thumbnail, or None when it cannot (or should not) be made: for files stored
    before uploads were checked, whose thumbnail is made when first asked for."""
    try:
        return thumbnail_of(fileobj)
    except InvalidInput as exc:
        cause = exc.__cause__
        log.info(
            "No thumbnail: %s: %s", type(cause).__name__ if cause else exc.code, cause
        )
        return None
