"""Thumbnails of image attachments, made with Pillow when a file is uploaded.

A thumbnail is a WebP at most THUMB_SIZE pixels on its longer side, stored through the same
storage next to its original, at `attachments/<table>/<field>/<file id>/thumb/<size>.webp`.
That is a folder inside the file's own: a stored file name never holds a "/"
(attachments.clean_name), so no upload can take a thumbnail's place.

Hostile images. The pixel count is read from the header and checked before anything is
decoded (NOCO_ATTACHMENT_THUMB_MAX_PIXELS); Pillow's own decompression-bomb check is made an
error too, and JPEGs are decoded at a reduced scale. A decompression bomb, a truncated or
corrupt image, or any other decoder error gives no thumbnail: the upload still succeeds (the
file is the user's data, stored and served like any other file, with the type its bytes
show), and the file is shown as a file chip rather than as a picture.
"""

from __future__ import annotations

import io
import logging
import warnings

from django.conf import settings
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

THUMB_SIZE = 256
# Types a thumbnail is made of (the same safe raster types that may show inline).
THUMB_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


def thumb_path(table_id, field_id, file_id) -> str:
    return f"attachments/{table_id}/{field_id}/{file_id}/thumb/{THUMB_SIZE}.webp"


def make_thumbnail(fileobj) -> bytes | None:
    """The WebP thumbnail of the image in `fileobj`, or None when it cannot (or should not) be
    decoded: too many pixels, a decompression bomb, truncated or corrupt data, not an image."""
    max_pixels = settings.NOCO_ATTACHMENT_THUMB_MAX_PIXELS
    try:
        fileobj.seek(0)
        with warnings.catch_warnings():
            # Pillow warns (and, at twice its limit, raises) about decompression bombs.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fileobj, formats=_FORMATS) as im:
                width, height = im.size
                if width < 1 or height < 1 or width * height > max_pixels:
                    return None
                # JPEG: decode at 1/2…1/8 scale when that still covers the thumbnail.
                im.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
                im = ImageOps.exif_transpose(im)
                im.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
                alpha = "A" in im.getbands() or "transparency" in im.info
                im = im.convert("RGBA" if alpha else "RGB")
                out = io.BytesIO()
                im.save(out, "WEBP", quality=80, method=4)
                return out.getvalue()
    except Exception as exc:  # noqa: BLE001 - hostile input: any decoder error means "no thumbnail"
        log.info("No thumbnail: %s: %s", type(exc).__name__, exc)
        return None
    finally:
        fileobj.seek(0)
