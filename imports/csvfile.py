"""Reading an uploaded CSV safely: encoding and delimiter detected, bad files refused.

Refused with a clear 400 IMPORT_BAD_FILE, before anything is written: binary data (NUL bytes
or many control characters, e.g. a zip or an image named .csv), a line longer than
MAX_LINE characters (read with a bounded readline: a 1 GB line never reaches memory), more
than MAX_COLUMNS columns, no header row. Cells are text: a cell like `=SUM(A1)` is stored as
that text (nothing here or in the field types evaluates formulas).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass

from nocoplatform.errors import InvalidInput

SAMPLE = 64 * 1024
MAX_LINE = 1024 * 1024  # characters in one physical line
MAX_COLUMNS = 500
PREVIEW_ROWS = 20
DELIMITERS = ",;\t|"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def bad_file(message: str) -> InvalidInput:
    return InvalidInput(message, code="IMPORT_BAD_FILE")


@dataclass
class CsvInfo:
    encoding: str
    delimiter: str


def sniff(path: str) -> CsvInfo:
    """The file's encoding (BOM, else UTF-8, else Latin-1) and delimiter."""
    with open(path, "rb") as f:
        raw = f.read(SAMPLE)
    if not raw.strip():
        raise bad_file("The file is empty.")
    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\x00" in raw:
            raise bad_file("This is not a text file (it holds binary data).")
        try:
            raw.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the sample's end is still UTF-8.
            cut = len(raw) == SAMPLE and exc.start >= len(raw) - 3
            encoding = "utf-8" if cut else "latin-1"
    text = raw.decode(encoding, errors="replace")
    if len(_CONTROL.findall(text)) > max(8, len(text) // 100):
        raise bad_file("This is not a text file (it holds binary data).")
    sample = "\n".join(text.splitlines()[:50])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    return CsvInfo(encoding, delimiter)


def _bounded_lines(f) -> Iterator[str]:
    while True:
        line = f.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE:
            raise bad_file(
                f"A line is longer than {MAX_LINE:,} characters: is this a CSV file?"
            )
        if "\x00" in line:
            raise bad_file("This is not a text file (it holds binary data).")
        yield line


def read_rows(path: str, info: CsvInfo) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row, the header first (line 1). Lines are physical
    line numbers where the row starts (a quoted cell may span lines)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(MAX_LINE)
    try:
        with open(path, encoding=info.encoding, newline="", errors="strict") as f:
            reader = csv.reader(_bounded_lines(f), delimiter=info.delimiter)
            line = 1
            try:
                for cells in reader:
                    if len(cells) > MAX_COLUMNS:
                        raise bad_file(
                            f"Line {line} has {len(cells):,} columns; at most "
                            f"{MAX_COLUMNS} are imported."
                        )
                    yield line, cells
                    line = reader.line_num + 1
            except csv.Error as exc:
                raise bad_file(f"Line {reader.line_num}: {exc}.")
            except UnicodeDecodeError:
                raise bad_file(
                    f"Line {reader.line_num + 1}: the text is not valid {info.encoding}."
                )
    finally:
        csv.field_size_limit(limit)


def header_and_preview(path: str, info: CsvInfo) -> tuple[list[str], list[list[str]]]:
    rows = read_rows(path, info)
    first = next(rows, None)
    if first is None or not any(c.strip() for c in first[1]):
        raise bad_file("The first line must name the columns.")
    header = [c.strip() or f"Column {i + 1}" for i, c in enumerate(first[1])]
    preview = []
    for _, cells in rows:
        preview.append(cells)
        if len(preview) >= PREVIEW_ROWS:
            break
    rows.close()
    return header, preview


_NUMBER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d*[.,]\d+$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://\S+$", re.I)
_BOOL = {"true", "false", "yes", "no", "1", "0", "x", ""}


def detect_type(values: list[str]) -> str:
    """What a column's (preview) values look like: number, decimal, date, checkbox, email,
    url or text — shown next to the mapping, to help choosing the field."""
    filled = [v.strip() for v in values if v.strip()]
    if not filled:
        return "text"
    for name, test in (
        ("number", _NUMBER.match),
        ("decimal", lambda v: _DECIMAL.match(v) or _NUMBER.match(v)),
        ("date", _DATE.match),
        ("checkbox", lambda v: v.lower() in _BOOL),
        ("email", _EMAIL.match),
        ("url", _URL.match),
    ):
        if all(test(v) for v in filled):
            return name
    return "text"
