"""A new table's rows loaded with PostgreSQL's COPY (the built-in store), from a spool file.

The import's check pass (imports/newtable.py) converts every cell by its field type and writes
each row as one line of COPY's text format to a spool file next to the upload; only when no
row was refused is the table created and the spool streamed to `COPY … FROM STDIN` in
CHUNK-byte pieces. So each cell is converted once, memory stays flat (one row and one chunk at
a time), and the server parses the stream while Python reads the next piece. The COPY runs in
one transaction under the schema-edit statement timeout (a long load is a bulk edit, like an
ALTER that rewrites a table), so it is all the rows or none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bases.models import Table
from bases.query import dml
from bases.query.dialects import dialect_for
from bases.sources import config_of, source_alias, user_db

CHUNK = 1024 * 1024


def copy_text(value) -> str:
    """One field of COPY's text format: NULL is \\N; backslash, tab, newline and carriage
    return escaped; true/false as t/f; dates ISO 8601."""
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        text = value
    elif kind is bool:
        return "t" if value else "f"
    elif isinstance(value, dt.date):
        return value.isoformat()
    else:
        return str(value)  # int, Decimal: no character to escape
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def copy_line(values: list) -> str:
    return "\t".join([copy_text(v) for v in values]) + "\n"


def load(
    table: Table,
    fields: list,
    spool_path: str,
    progress: Callable[[int], None],
    check: Callable[[], None] = lambda: None,
) -> int:
    """COPY the spool's rows into `fields` of `table`, all in one transaction; `progress`
    gets the rows sent so far after each chunk, `check` is called before each chunk and
    once more before the commit (the cancel: an exception it raises ends the COPY and
    rolls the transaction back). The number of rows sent."""
    from bases.connections import timeouts

    source = table.source
    schema = config_of(source).effective_schema
    sent = 0
    with user_db(source) as conn:
        statement = dml.copy_from_stdin(
            dialect_for(conn), schema, table.table_name, fields
        )
        with timeouts.schema_edits(source_alias(source)):  # one transaction
            with conn.connection.cursor() as raw, raw.copy(statement) as copy:
                with open(spool_path, "rb") as spool:
                    while chunk := spool.read(CHUNK):
                        check()
                        copy.write(chunk)
                        sent += chunk.count(b"\n")  # one line per row: newlines escaped
                        progress(sent)
                check()  # the last chance before the commit
    return sent
