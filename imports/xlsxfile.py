"""An uploaded .xlsx turned into the CSV the import reads (imports/csvfile.py), safely.

The archive is checked before openpyxl opens it (a zip bomb never unpacks): at most
MAX_ENTRIES files, MAX_UNPACKED bytes unpacked in all, no file packed more than MAX_RATIO
times. Then the sheet is read with openpyxl's read-only mode, row by row (never the whole
workbook in memory), and written as UTF-8 CSV next to the upload. Formulas are not computed:
a formula cell is imported as its text (`=SUM(A1:A3)`), like any other text.
"""

from __future__ import annotations

import csv
import datetime as dt
import zipfile

from imports.csvfile import MAX_COLUMNS, bad_file

MAX_ENTRIES = 1000
MAX_UNPACKED = 500 * 1024 * 1024
MAX_RATIO = 200


def is_xlsx(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04" and zipfile.is_zipfile(path)


def check_archive(path: str) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            entries = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise bad_file("This is not a valid Excel file.")
    if len(entries) > MAX_ENTRIES:
        raise bad_file("This Excel file holds too many parts to be a workbook.")
    total = 0
    for e in entries:
        total += e.file_size
        if e.file_size > MAX_RATIO * max(e.compress_size, 1) and e.file_size > 1 << 20:
            raise bad_file(
                "This Excel file unpacks to far more than its size (a zip bomb?)."
            )
    if total > MAX_UNPACKED:
        raise bad_file(
            f"This Excel file unpacks to more than {MAX_UNPACKED // (1 << 20)} MB."
        )
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names:
        raise bad_file("This is not an Excel workbook (.xlsx).")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def to_csv(path: str, out_path: str, sheet: str | None = None) -> None:
    """Write the sheet (the first one by default) as UTF-8 CSV to `out_path`."""
    from openpyxl import load_workbook

    check_archive(path)
    source = open(path, "rb")  # a file object: openpyxl would refuse the upload's name
    try:
        workbook = load_workbook(source, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken workbook
        source.close()
        raise bad_file("This Excel file cannot be read.")
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise bad_file(f"There is no sheet called '{sheet}'.")
        ws = workbook[sheet] if sheet else workbook.worksheets[0]
        with open(out_path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
                cells = [_text(v) for v in row]
                while cells and cells[-1] == "":
                    cells.pop()
                if len(cells) > MAX_COLUMNS:
                    raise bad_file(
                        f"Row {n} has {len(cells):,} columns; at most {MAX_COLUMNS} "
                        "are imported."
                    )
                writer.writerow(cells)
    finally:
        workbook.close()
        source.close()


def sheet_names(path: str) -> list[str]:
    """The workbook's sheet names, in order (the archive checked first; read-only mode)."""
    from openpyxl import load_workbook

    check_archive(path)
    with open(path, "rb") as source:
        try:
            workbook = load_workbook(source, read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds for a broken workbook
            raise bad_file("This Excel file cannot be read.")
        try:
            return list(workbook.sheetnames)
        finally:
            workbook.close()
