"""Image files for attachment tests: real ones made with Pillow, and hostile ones by hand."""

import io
import os
import struct
import zlib

from PIL import Image


def image_bytes(width=40, height=30, fmt="PNG", colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, fmt)
    return out.getvalue()


def noisy_png(width=300, height=300) -> bytes:
    """A PNG that does not compress (random pixels): cutting it leaves a truncated image."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        out, "PNG"
    )
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def bomb_png(width: int, height: int) -> bytes:
    """A small, valid-looking PNG whose header claims a huge canvas (a decompression bomb:
    its pixel data would be gigabytes once decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * min(width, 4096)) * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def photo_png(width=400, height=300) -> bytes:
    """A colourful PNG that compresses badly (one noisy channel), like a photo."""
    red = Image.linear_gradient("L").rotate(90).resize((width, height))
    green = Image.effect_noise((width, height), 80)
    blue = Image.radial_gradient("L").resize((width, height))
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "PNG")
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first part of an image file: its header is whole, its pixel data cut short."""
    return data[: int(len(data) * keep)]


def photo_jpeg(width=400, height=300) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_png(width, height))).save(out, "JPEG")
    return out.getvalue()
